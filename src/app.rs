//! Builds the Rocket application from a validated configuration.

use std::sync::{Arc, Mutex};

use rocket::config::{Ident, LogLevel, SecretKey};
use rocket::fairing::AdHoc;
use rocket::shield::Shield;
use rocket::{Build, Rocket};
use tokio::task::JoinHandle;

use crate::config::{Config, StoreKind};
use crate::delivery::{Courier, DeliveryWorker};
use crate::flow::FlowService;
use crate::store::{self, FlowStore, StoreError};
use crate::token::TokenError;
use crate::web::{
    self, browser::WebSettings, fast_start::FastStart, headers, pages::Pages, Lifecycle,
};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("server: {0}")]
    Rocket(#[from] Box<rocket::Error>),
    #[error("{0}")]
    Serve(#[from] web::server::ServeError),
    #[error("result token keys: {0}")]
    Keys(#[from] TokenError),
    #[error("pages: {0}")]
    Pages(#[from] web::pages::PagesError),
    #[error("delivery client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("flow store: {0}")]
    Store(#[from] StoreError),
    #[error("demo: {0}")]
    Demo(String),
    #[error("phone step: {0}")]
    Phone(&'static str),
    #[error("smart-id: {0}")]
    SmartId(#[from] crate::means::smart_id::ClientBuildError),
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
        // Our request fairing logs each request; the log setup drops Rocket's own records.
        log_level: LogLevel::Critical,
        ident: Ident::none(),
        cli_colors: false,
        // Connections, signals, grace and mercy are web::server's.
        ..rocket::Config::default()
    }
}

/// The plugin server with the store its configuration names.
pub async fn build(config: Config) -> Result<Rocket<Build>, AppError> {
    let store = open_store(&config).await?;
    build_with_store(config, store)
}

/// With Redis down at start-up the server starts anyway, unready: `/health/ready` and the
/// requests that need the store answer 503 until Redis answers, and the store connects by
/// itself then. A restart loop (exit, restart, exit) would give the same 503s with less
/// information, and every instance of a fleet would die together during a Redis outage.
/// A configuration error (an unusable URL) still stops the start.
async fn open_store(config: &Config) -> Result<Arc<dyn FlowStore>, AppError> {
    let max_flows = config.flow.max_live_flows;
    match store::open(&config.store, max_flows).await {
        Ok(store) => {
            tracing::info!(store = ?config.store, "flow store ready");
            Ok(store)
        }
        Err(StoreError::Unavailable(reason)) if config.store.kind == StoreKind::Redis => {
            tracing::warn!(error = %reason, "redis is unreachable at start-up: starting unready, connecting when it answers");
            let store = store::redis::RedisStore::new_lazy(&config.store, max_flows)?;
            Ok(Arc::new(store))
        }
        Err(e) => Err(e.into()),
    }
}

/// The plugin server on a given store: routes, state, fairings, and the delivery worker.
pub fn build_with_store(
    config: Config,
    store: Arc<dyn FlowStore>,
) -> Result<Rocket<Build>, AppError> {
    if config.server.cookie_secret.is_none() {
        tracing::warn!("server.cookie_secret is not set: flow cookies end with this process and are not shared between instances");
        if config.store.kind == StoreKind::Redis {
            // Shared flows but per-instance cookie keys: every browser step that lands on
            // another instance is refused as a stranger.
            tracing::warn!("store.kind = \"redis\" without server.cookie_secret: instances behind one load balancer will refuse each other's browsers");
        }
    }
    for warning in config.smart_id.pin_warnings(std::time::SystemTime::now()) {
        tracing::warn!("{warning}");
    }
    if config.test_means.enabled {
        tracing::warn!("the test means is enabled: anyone can complete a flow with fixed attributes (demo only)");
    }
    let webhooks = config
        .relying_parties
        .iter()
        .filter_map(|rp| {
            Some((
                rp.id.as_str().to_string(),
                rp.webhook.as_ref()?.secret.clone(),
            ))
        })
        .collect();
    let keep_delivered = config.api.max_lifetime + config.api.status_retention;
    let courier = Courier::with_webhooks(
        store.clone(),
        config.delivery.clone(),
        webhooks,
        keep_delivered,
    )?;
    let flows = Arc::new(FlowService::new(&config, store, courier.clone())?);
    let worker = DeliveryWorker::new(courier);
    let site = web::site::Site::from_config(&config);
    let pages = Pages::new(config.public_url.as_url().path(), site)?;
    for (tag, _) in config.means_catalog().tags() {
        if pages.unlabelled(&tag) {
            tracing::warn!(%tag, "attribute tag has no label in every language: pages show the tag itself; set [pages.labels.<tag>]");
        }
    }
    let web = WebSettings {
        secure: config.public_url.as_url().scheme() == "https",
        public_origin: config.public_url.origin_string(),
        flow_ttl_secs: config.flow.ttl.as_secs() as i64,
    };
    let hsts = web.secure;
    let address = format!("{}:{}", config.server.address, config.server.port);
    let grace = config.server.shutdown_grace;
    let mercy = config.server.shutdown_mercy;
    let lifecycle = Arc::new(Lifecycle::default());
    let draining = lifecycle.clone();
    // The worker's task, so shutdown can wait for it to finish or hand its entries back.
    let worker_task = Background::default();
    let worker_slot = worker_task.clone();

    let card = config.card.enabled.then(|| {
        let origin = config.public_url.origin_string();
        crate::flow::card::CardFlow::new(config.card.clone(), config.trust.clone(), origin)
    });

    let limits = Arc::new(crate::limits::Limits::from_config(&config)?);
    let phone =
        crate::flow::phone::PhoneFlow::new(&config.phone, config.server.cookie_secret.as_deref());
    if config.phone.sender.is_some() && phone.is_none() {
        return Err(AppError::Phone(
            "the one-time-code sender could not be set up",
        ));
    }
    let fast_start = FastStart::new(
        flows.clone(),
        limits.clone(),
        headers::SecurityHeaders { hsts },
    );
    let rocket = rocket::custom(rocket_config(&config))
        .manage(flows)
        .manage(fast_start)
        .manage(limits)
        .manage(pages)
        .manage(web)
        .manage(lifecycle)
        // Rocket's default Shield off: SecurityHeaders sends its headers too, in one pass.
        .attach(Shield::new())
        .attach(headers::SecurityHeaders { hsts })
        .attach(headers::RequestLog)
        .attach(AdHoc::on_liftoff("delivery worker", move |rocket| {
            Box::pin(async move {
                let shutdown = rocket.shutdown();
                // Not ready from the moment shutdown is requested, before the drain fairing
                // runs (the server runs it once the connections are closed).
                let notice = shutdown.clone();
                tokio::spawn(async move {
                    notice.await;
                    draining.start_draining();
                    tracing::info!(
                        grace_seconds = grace.as_secs(),
                        "shutting down: not ready, finishing in-flight requests and deliveries"
                    );
                });
                worker_slot.set(tokio::spawn(worker.run(shutdown, grace)));
                tracing::info!(%address, "auth-eid listening");
            })
        }))
        // The worker has been told to stop since shutdown was requested; this waits for it to
        // finish or hand its entries back.
        .attach(AdHoc::on_shutdown("drain", move |_| {
            Box::pin(async move {
                worker_task
                    .join_within(grace + mercy, "delivery worker")
                    .await
            })
        }))
        .mount("/", web::routes())
        .register("/", web::html_catchers())
        .register("/start_authentication", web::json_catchers())
        .register("/session", web::json_catchers())
        .register("/health", web::json_catchers())
        .register("/api", web::json_catchers());
    // The phone step's state exists only with a sender; its routes answer 404 otherwise.
    let rocket = match phone {
        Some(phone) => rocket.manage(phone),
        None => rocket,
    };
    // Each means' state exists only when it is enabled; its routes answer 404 otherwise.
    let rocket = match card {
        Some(card) => rocket.manage(card),
        None => rocket,
    };
    let rocket = if config.smart_id.enabled {
        let smart_id = crate::flow::SmartIdFlow::new(&config)?;
        let watcher = smart_id.clone();
        let watcher_task = Background::default();
        let watcher_slot = watcher_task.clone();
        // Renews this instance's waiting sessions and resumes those of stopped instances;
        // when shutdown is asked it hands its own back at once (flow/smart_id/watch.rs), and
        // the server waits for that before it exits.
        rocket
            .manage(smart_id)
            .attach(AdHoc::on_liftoff("smart-id sessions", move |rocket| {
                Box::pin(async move {
                    let flows = rocket.state::<Arc<FlowService>>().cloned();
                    if let Some(flows) = flows {
                        let run = watcher.watch_sessions(flows, rocket.shutdown());
                        watcher_slot.set(tokio::spawn(run));
                    }
                })
            }))
            .attach(AdHoc::on_shutdown("smart-id hand back", move |_| {
                Box::pin(async move {
                    watcher_task
                        .join_within(grace + mercy, "smart-id session watcher")
                        .await
                })
            }))
    } else {
        rocket
    };
    Ok(rocket)
}

/// A task started at liftoff that shutdown waits for, within a bound.
#[derive(Clone, Default)]
struct Background(Arc<Mutex<Option<JoinHandle<()>>>>);

impl Background {
    fn set(&self, task: JoinHandle<()>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    async fn join_within(&self, limit: std::time::Duration, what: &str) {
        let task = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            if tokio::time::timeout(limit, task).await.is_err() {
                tracing::warn!("{what} did not stop in time");
            }
        }
    }
}
