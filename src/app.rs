//! Builds the Rocket application from a validated configuration.

use std::sync::Arc;

use rocket::config::{Ident, LogLevel, SecretKey, Shutdown};
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use tokio::sync::Notify;

use crate::config::{Config, StoreKind};
use crate::delivery::DeliveryWorker;
use crate::flow::FlowService;
use crate::store::memory::MemoryStore;
use crate::store::FlowStore;
use crate::token::TokenError;
use crate::web::{self, browser::WebSettings, headers, pages::Pages};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("server: {0}")]
    Rocket(#[from] Box<rocket::Error>),
    #[error("result token keys: {0}")]
    Keys(#[from] TokenError),
    #[error("pages: {0}")]
    Pages(#[from] web::pages::PagesError),
    #[error("delivery client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("store.kind = \"redis\" is not available in this build yet")]
    StoreKind,
}

impl From<rocket::Error> for AppError {
    fn from(e: rocket::Error) -> Self {
        AppError::Rocket(Box::new(e))
    }
}

fn rocket_config(config: &Config) -> rocket::Config {
    let secret_key = match &config.server.cookie_secret {
        Some(bytes) => SecretKey::from(bytes),
        None => SecretKey::generate().unwrap_or_else(|| SecretKey::from(&[0u8; 64])),
    };
    rocket::Config {
        address: config.server.address,
        port: config.server.port,
        secret_key,
        // Our request fairing logs each request; Rocket's own lines stay at errors.
        log_level: LogLevel::Critical,
        ident: Ident::none(),
        cli_colors: false,
        shutdown: Shutdown {
            ctrlc: true,
            grace: 5,
            mercy: 5,
            ..Shutdown::default()
        },
        ..rocket::Config::default()
    }
}

/// The plugin server with the store its configuration names.
pub async fn build(config: Config) -> Result<Rocket<Build>, AppError> {
    let store: Arc<dyn FlowStore> = match config.store.kind {
        StoreKind::Memory => Arc::new(MemoryStore::new(config.flow.max_live_flows)),
        StoreKind::Redis => return Err(AppError::StoreKind),
    };
    build_with_store(config, store)
}

/// The plugin server on a given store: routes, state, fairings, and the delivery worker.
pub fn build_with_store(
    config: Config,
    store: Arc<dyn FlowStore>,
) -> Result<Rocket<Build>, AppError> {
    if config.server.cookie_secret.is_none() {
        tracing::warn!("server.cookie_secret is not set: flow cookies end with this process and are not shared between instances");
    }
    if config.test_means.enabled {
        tracing::warn!("the test means is enabled: anyone can complete a flow with fixed attributes (demo only)");
    }
    let wake = Arc::new(Notify::new());
    let flows = Arc::new(FlowService::new(&config, store.clone(), wake.clone())?);
    let worker = DeliveryWorker::new(store, config.delivery.clone(), wake)?;
    let pages = Pages::new(config.public_url.as_url().path())?;
    let web = WebSettings {
        secure: config.public_url.as_url().scheme() == "https",
        public_origin: config.public_url.origin_string(),
        flow_ttl_secs: config.flow.ttl.as_secs() as i64,
    };
    let hsts = web.secure;
    let address = format!("{}:{}", config.server.address, config.server.port);

    Ok(rocket::custom(rocket_config(&config))
        .manage(flows)
        .manage(pages)
        .manage(web)
        .attach(headers::SecurityHeaders { hsts })
        .attach(headers::RequestLog)
        .attach(AdHoc::on_liftoff("delivery worker", move |rocket| {
            Box::pin(async move {
                let shutdown = rocket.shutdown();
                tokio::spawn(worker.run(async move {
                    shutdown.await;
                }));
                tracing::info!(%address, "auth-eid listening");
            })
        }))
        .mount("/", web::routes())
        .register("/", web::html_catchers())
        .register("/start_authentication", web::json_catchers())
        .register("/session", web::json_catchers())
        .register("/health", web::json_catchers()))
}
