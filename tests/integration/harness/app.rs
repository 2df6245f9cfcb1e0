//! The plugin under test, launched on a free loopback port, and a browser-like client.

use std::sync::Arc;
use std::time::Duration;

use auth_eid::config::{Config, StoreKind};
use auth_eid::ids::FlowId;
use auth_eid::store::memory::MemoryStore;
use auth_eid::store::{FlowStore, Versioned};
use figment::providers::{Format, Toml};
use figment::Figment;
use serde_json::{json, Value};

use super::free_port;
pub use super::keys::Opened;
use super::keys::{self, KeySet};
use crate::support::redis::{self as test_redis, RedisServer};

pub const CONTINUATION: &str = "http://127.0.0.1:9100/ui";
/// Every test instance shares this cookie key, as instances behind one load balancer must.
pub const COOKIE_SECRET: &str =
    "dGVzdC1jb29raWUtc2VjcmV0LXRlc3QtY29va2llLXNlY3JldC10ZXN0LWNvb2tpZS1zZWNyZXQtdGVzdC0hIQ==";
/// The key prefix of the server under test (the default one).
pub const REDIS_PREFIX: &str = "auth-eid:";

pub struct Options {
    pub keys: &'static KeySet,
    pub ttl_seconds: u64,
    /// attr_url allow-list entries.
    pub attr_url_allow: Vec<String>,
    pub session_updates: bool,
    /// Appended to the generated configuration.
    pub extra_toml: String,
    pub store: StoreKind,
    /// For `StoreKind::Redis`: this server (shared with other instances); `None` starts a
    /// fresh redis-server for this app alone.
    pub redis_url: Option<String>,
    /// `[server] shutdown_grace_seconds`.
    pub grace_seconds: u64,
    /// `[delivery] timeout_seconds` (the outbox lease is this plus 5 s).
    pub delivery_timeout_seconds: u64,
    /// Listen here (when something must know the app's origin before it starts).
    pub port: Option<u16>,
    /// `[delivery] first_attempt_wait_ms`.
    pub first_attempt_wait_ms: u64,
    /// `[delivery] retry_for_seconds`.
    pub retry_for_seconds: u64,
    /// More `[allow] continuation` entries, after [`CONTINUATION`].
    pub continuation_allow: Vec<String>,
    /// `public_url` with https (the app itself still serves http, as behind a TLS proxy; the
    /// test browser sends Secure cookies to loopback http).
    pub https_public_url: bool,
    /// `[flow] max_live_flows`.
    pub max_live_flows: usize,
    /// The `[limits]` tables; by default [`RELAXED_LIMITS`], so tests that walk many flows
    /// from one address do not meet the production budgets (`limits.rs` tests those).
    pub limits_toml: String,
}

/// Budgets no functional test reaches.
pub const RELAXED_LIMITS: &str = r#"
[limits.smart_id_start]
count = 10000
[limits.smart_id_start_ip]
count = 10000
[limits.card_submit]
count = 10000
[limits.card_submit_ip]
count = 10000
[limits.api_session_create]
count = 100000
[limits.api_session_create_ip]
count = 100000
"#;

impl Default for Options {
    fn default() -> Self {
        Options {
            keys: keys::rsa(),
            ttl_seconds: 900,
            attr_url_allow: vec![],
            session_updates: true,
            extra_toml: String::new(),
            store: StoreKind::Memory,
            redis_url: None,
            grace_seconds: 2,
            delivery_timeout_seconds: 2,
            port: None,
            first_attempt_wait_ms: 2000,
            retry_for_seconds: 60,
            continuation_allow: vec![],
            https_public_url: false,
            max_live_flows: 100_000,
            limits_toml: RELAXED_LIMITS.to_string(),
        }
    }
}

/// Talks to one plugin instance (in this process or not) like the core and a browser do.
pub struct Client {
    pub base: String,
    pub keys: &'static KeySet,
}

pub struct TestApp {
    client: Client,
    /// The server's store; for Redis a second handle on the same keys.
    pub store: Arc<dyn FlowStore>,
    memory: Option<Arc<MemoryStore>>,
    redis_url: Option<String>,
    shutdown: rocket::Shutdown,
    /// A redis-server started for this app alone; stopped after the app (field order).
    _redis: Option<RedisServer>,
}

impl std::ops::Deref for TestApp {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

/// `redis_url` is used when `o.store` is Redis.
pub fn config_text(port: u16, o: &Options, redis_url: Option<&str>) -> String {
    let k = o.keys;
    let attr_allow = serde_json::to_string(&o.attr_url_allow).unwrap();
    let mut continuations = vec![CONTINUATION.to_string()];
    continuations.extend(o.continuation_allow.iter().cloned());
    let continuation_allow = serde_json::to_string(&continuations).unwrap();
    let store = match (o.store, redis_url) {
        (StoreKind::Redis, Some(url)) => format!(
            "kind = \"redis\"\nurl = \"{url}\"\npool_size = 2\ntimeout_ms = {}",
            test_redis::TIMEOUT.as_millis()
        ),
        (StoreKind::Redis, None) => panic!("a Redis store needs a URL"),
        (StoreKind::Memory, _) => "kind = \"memory\"".to_string(),
    };
    format!(
        r#"
mode = "demo"
public_url = "{scheme}://127.0.0.1:{port}"
internal_url = "http://127.0.0.1:{port}"
[server]
address = "127.0.0.1"
port = {port}
cookie_secret = "{COOKIE_SECRET}"
shutdown_grace_seconds = {grace}
shutdown_mercy_seconds = 1
[store]
{store}
[keys.signing]
type = "{kind}"
key = """{sp}"""
[keys.encryption]
type = "{kind}"
key = """{rp}"""
[allow]
continuation = {continuation_allow}
attr_url = {attr_allow}
[flow]
ttl_seconds = {ttl}
session_updates = {su}
max_live_flows = {max_flows}
[delivery]
timeout_seconds = {delivery_timeout}
retry_for_seconds = {retry_for}
initial_backoff_ms = 100
max_backoff_seconds = 1
first_attempt_wait_ms = {first_wait}
[means.test]
enabled = true
[means.test.attributes]
email = "an@example.org"
name = "An Peeters"
evil = "<script>alert(1)</script>\"'&"
{extra}
{limits}
"#,
        kind = k.kind,
        sp = k.signing_private,
        rp = k.receiver_public,
        ttl = o.ttl_seconds,
        su = o.session_updates,
        max_flows = o.max_live_flows,
        grace = o.grace_seconds,
        delivery_timeout = o.delivery_timeout_seconds,
        retry_for = o.retry_for_seconds,
        first_wait = o.first_attempt_wait_ms,
        extra = o.extra_toml,
        limits = o.limits_toml,
        scheme = if o.https_public_url { "https" } else { "http" },
    )
}

impl TestApp {
    /// The default test app on `store`.
    pub async fn with_store(store: StoreKind) -> TestApp {
        Self::spawn(Options {
            store,
            ..Options::default()
        })
        .await
    }

    pub async fn spawn(options: Options) -> TestApp {
        let own_redis = (options.store == StoreKind::Redis && options.redis_url.is_none())
            .then(RedisServer::start);
        let redis_url = match &own_redis {
            Some(server) => Some(server.url()),
            None => options.redis_url.clone(),
        };
        let port = options.port.unwrap_or_else(free_port);
        let text = config_text(port, &options, redis_url.as_deref());
        let config = Config::from_figment(
            Figment::from(Toml::string(&text)),
            std::path::Path::new("."),
        )
        .unwrap_or_else(|e| panic!("test config: {e}"));
        let (rocket, store, memory) = match options.store {
            StoreKind::Memory => {
                let memory = Arc::new(MemoryStore::new(config.flow.max_live_flows));
                let rocket = auth_eid::app::build_with_store(config, memory.clone()).unwrap();
                (rocket, memory.clone() as Arc<dyn FlowStore>, Some(memory))
            }
            // The production path: `app::build` opens the store from `[store]`.
            StoreKind::Redis => {
                let url = redis_url.as_deref().unwrap();
                let store = test_redis::try_store(url, REDIS_PREFIX, 1_000_000)
                    .await
                    .expect("test redis answers");
                let rocket = auth_eid::app::build(config).await.unwrap();
                (rocket, store, None)
            }
        };
        let rocket = rocket.ignite().await.unwrap();
        let shutdown = rocket.shutdown();
        tokio::spawn(rocket.launch());
        let app = TestApp {
            client: Client {
                base: format!("http://127.0.0.1:{port}"),
                keys: options.keys,
            },
            store,
            memory,
            redis_url,
            shutdown,
            _redis: own_redis,
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/health/live", app.base))
                .await
                .is_ok()
            {
                return app;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the plugin did not start");
    }

    /// Live flows the server holds (expired ones count until the memory store sweeps).
    pub async fn flow_count(&self) -> usize {
        if let Some(memory) = &self.memory {
            return memory.flow_count();
        }
        let url = self.redis_url.as_deref().unwrap();
        let mut conn = ::redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{REDIS_PREFIX}flow:*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.len()
    }

    /// The stored flow behind a client_url (to prove a refused step changed nothing).
    pub async fn store_flow(&self, client_url: &str) -> Option<Versioned> {
        let id = FlowId::parse(client_url.rsplit('/').next().unwrap()).unwrap();
        self.store.load_flow(&id).await.unwrap()
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn browser() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }
}

impl Client {
    pub async fn start(&self, body: &Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/start_authentication", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn start_ok(&self, attributes: &[&str], attr_url: Option<&str>) -> String {
        let mut body = json!({"attributes": attributes, "continuation": format!("{CONTINUATION}?session=5e09&x=1")});
        if let Some(url) = attr_url {
            body["attr_url"] = json!(url);
        }
        let res = self.start(&body).await;
        assert_eq!(
            res.status(),
            200,
            "start refused: {}",
            res.text().await.unwrap()
        );
        res.json::<Value>().await.unwrap()["client_url"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Opens client_url and chooses the test means; gives the CSRF token.
    pub async fn choose_test(&self, browser: &reqwest::Client, client_url: &str) -> String {
        self.choose(browser, client_url, "test").await
    }

    /// Opens client_url and chooses `means`; gives the CSRF token.
    pub async fn choose(&self, browser: &reqwest::Client, client_url: &str, means: &str) -> String {
        let page = browser.get(client_url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let csrf = csrf_of(&page.text().await.unwrap());
        let client_url = without_query(client_url);
        let res = browser
            .post(format!("{client_url}/means"))
            .form(&[("csrf", csrf.as_str()), ("means", means)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        csrf
    }

    /// Opens client_url (binding this browser) and presses Cancel; gives the response (a 303).
    pub async fn cancel(&self, browser: &reqwest::Client, client_url: &str) -> reqwest::Response {
        let page = browser.get(client_url).send().await.unwrap();
        let csrf = csrf_of(&page.text().await.unwrap());
        let form = [("csrf", csrf.as_str())];
        let client_url = without_query(client_url);
        browser
            .post(format!("{client_url}/cancel"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Walks the test means to the end; gives the final response (a 303).
    pub async fn walk(&self, browser: &reqwest::Client, client_url: &str) -> reqwest::Response {
        let csrf = self.choose_test(browser, client_url).await;
        let client_url = without_query(client_url);
        let confirm = browser
            .get(format!("{client_url}/test"))
            .send()
            .await
            .unwrap();
        assert_eq!(confirm.status(), 200);
        browser
            .post(format!("{client_url}/test"))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap()
    }

    /// Decrypts with the receiver key and verifies with the plugin key; every header and claim.
    pub fn open_token(&self, token: &str) -> Opened {
        let opened = self.keys.open(token).unwrap();
        assert_eq!(
            opened.outer.len(),
            1,
            "plaintext is exactly {{\"njwt\": ...}}"
        );
        opened
    }
}

/// A flow URL without its query (an API session's `authenticationUrl` may carry `?lang=`), so
/// the next steps' paths can be appended.
pub fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

pub fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[start..].split('"').next().unwrap().to_string()
}

/// The `result` parameter of a redirect Location.
pub fn result_of(location: &str) -> Option<String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "result")
        .map(|(_, v)| v.into_owned())
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_string()
}
