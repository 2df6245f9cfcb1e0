//! The HTTPS server: RP API v2 under `/smart-id-rp/v2/`, v3 under `/smart-id-rp/v3/`
//! (`server_v3.rs`), the control API under `/control/`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::accounts::{self, Account, Behaviour};
use super::faults::{Fault, FaultRequest, Faults};
use super::pki::TestPki;
use super::results::{self, Outcome};
use super::validate;
use super::SimulatorOptions;
use crate::means::smart_id::vc::verification_code;

const API: &str = "/smart-id-rp/v2/";
const API_V3: &str = "/smart-id-rp/v3/";
/// Same body within this window: same session (v2 §2.3.5).
const IDEMPOTENCY: Duration = Duration::from_secs(15);

/// Shared state of one simulator.
pub struct State {
    pub pki: TestPki,
    pub opts: Mutex<SimulatorOptions>,
    pub(super) sessions: Mutex<HashMap<String, Session>>,
    recent_starts: Mutex<HashMap<String, (String, Instant)>>,
    pub(super) faults: Mutex<Faults>,
    pub(super) log: Mutex<VecDeque<Value>>,
    pub requests: AtomicU64,
    pub sessions_created: AtomicU64,
    /// Held: new sessions stay RUNNING until `/control/release` (load tests: every user
    /// answers in the same instant, known to the caller).
    pub(super) hold: AtomicBool,
    pub(super) released: Notify,
    /// Long polls waiting for their session right now.
    waiting: AtomicU64,
    /// `deviceLinkBase` of v3 device-link sessions: this simulator's own address.
    pub link_base: std::sync::OnceLock<String>,
}

pub(super) struct Session {
    pub complete_at: Instant,
    pub held: bool,
    pub result: Value,
    /// RP API v3 device-link sessions: what scanning the link needs.
    pub device_link: Option<super::server_v3::DeviceLink>,
}

/// How far away a held session's completion is: "not until released".
pub(super) const HELD: Duration = Duration::from_secs(24 * 3600);

pub(super) type Resp = Response<Full<Bytes>>;

/// Dropping the connection is answered by returning this error to hyper.
#[derive(Debug, thiserror::Error)]
#[error("simulated dropped connection")]
pub struct Dropped;

impl State {
    pub fn new(pki: TestPki, opts: SimulatorOptions) -> Self {
        State {
            pki,
            opts: Mutex::new(opts),
            sessions: Mutex::default(),
            recent_starts: Mutex::default(),
            faults: Mutex::default(),
            log: Mutex::default(),
            requests: AtomicU64::new(0),
            sessions_created: AtomicU64::new(0),
            hold: AtomicBool::new(false),
            released: Notify::new(),
            waiting: AtomicU64::new(0),
            link_base: std::sync::OnceLock::new(),
        }
    }
}

impl State {
    pub fn add_fault(&self, f: &FaultRequest) {
        lock(&self.faults).add(f);
    }

    pub fn set_hold(&self, hold: bool) {
        self.hold.store(hold, Ordering::SeqCst);
    }

    pub fn recent_requests(&self) -> Vec<Value> {
        lock(&self.log).iter().cloned().collect()
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a lock cannot leave these maps inconsistent in a harmful way.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn json_resp(status: u16, v: &Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        CONTENT_TYPE,
        "application/json;charset=UTF-8".parse().expect("static"),
    );
    r
}

fn error(status: u16) -> Resp {
    let message = match status {
        400 => "Bad request",
        401 => "Relying party account not authorised",
        403 => "Forbidden",
        404 => "Not found",
        471 => "No suitable account of requested type found",
        472 => "Person should view Smart-ID app or Smart-ID self-service portal now",
        480 => "The client is too old and not supported any more",
        580 => "System is under maintenance, retry again later",
        _ => "Internal error",
    };
    json_resp(status, &json!({"code": status, "message": message}))
}

/// One request. Errors close the connection (the `drop_connection` fault).
pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().clone();
    let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(error(400)),
    };
    if path == "/control/device-link" && method == Method::POST {
        // The simulated app signs (a 6144-bit key for one account): off the runtime.
        let state = state.clone();
        return Ok(
            tokio::task::spawn_blocking(move || super::server_v3::scan(&state, &body))
                .await
                .unwrap_or_else(|_| error(500)),
        );
    }
    if let Some(rest) = path.strip_prefix("/control/") {
        return Ok(control(&state, &method, rest, &body));
    }
    let (v3, rest) = match (path.strip_prefix(API), path.strip_prefix(API_V3)) {
        (Some(rest), _) => (false, rest),
        (None, Some(rest)) => (true, rest),
        (None, None) => return Ok(error(404)),
    };
    state.requests.fetch_add(1, Ordering::Relaxed);
    let fault = lock(&state.faults).next_http();
    if let Some(f) = fault {
        match f.fault {
            Fault::Http500 => return Ok(error(500)),
            Fault::Http503 => return Ok(error(503)),
            Fault::Http480 => return Ok(error(480)),
            Fault::Http580 => return Ok(error(580)),
            Fault::DropConnection => return Err(Dropped),
            Fault::BrokenJson => {
                return Ok(Response::new(Full::new(Bytes::from_static(
                    b"{\"sessionID\":\"0000",
                ))))
            }
            Fault::SlowAnswer => tokio::time::sleep(Duration::from_millis(f.delay_ms)).await,
            _ => {}
        }
    }
    if v3 {
        return Ok(super::server_v3::route(state, &method, rest, &query, body).await);
    }
    let resp = match (&method, rest.split_once('/')) {
        (&Method::POST, Some(("authentication", target))) => {
            // Issuing a certificate and signing (a 6144-bit key for one account) take long:
            // off the runtime, so the long polls of a current-thread runtime (the demo) go on.
            let (state, target) = (state.clone(), target.to_string());
            tokio::task::spawn_blocking(move || start(&state, &target, &body))
                .await
                .unwrap_or_else(|_| error(500))
        }
        (&Method::GET, Some(("session", id))) => status(&state, id, &query).await,
        _ => error(404),
    };
    Ok(resp)
}

fn start(state: &State, target: &str, body: &[u8]) -> Resp {
    let account = match target.split_once('/') {
        Some(("etsi", id)) => match validate::semantics_id(id) {
            Err(code) => return error(code),
            Ok(()) => accounts::by_identity(id),
        },
        Some(("document", doc)) => accounts::by_document(doc),
        _ => return error(404),
    };
    let request = match validate::start_request(body) {
        Ok(r) => r,
        Err(code) => return error(code),
    };
    let Some(account) = account else {
        return error(404);
    };
    if let Behaviour::Http(code) = account.behaviour {
        return error(code);
    }
    if account.level < request.level {
        return error(471);
    }
    // Idempotency: identical path and body within 15 s give the same session.
    let key = format!("{target} {}", String::from_utf8_lossy(body));
    let now = Instant::now();
    {
        let mut recent = lock(&state.recent_starts);
        recent.retain(|_, (_, at)| now.duration_since(*at) < IDEMPOTENCY);
        if let Some((id, _)) = recent.get(&key) {
            return json_resp(200, &json!({"sessionID": id}));
        }
    }
    let fault = lock(&state.faults).next_result(&account.semantics_id);
    let (end, interaction) = decide(&account, &request.interactions);
    let outcome = Outcome {
        account: &account,
        hash: &request.hash,
        hash_type: request.hash_type,
        end_result: end,
        interaction_used: interaction,
        fault,
    };
    let result = match results::complete(&state.pki, &outcome) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "simulator could not build a result");
            return error(500);
        }
    };
    let (delay, user_timeout) = {
        let o = lock(&state.opts);
        (o.delay, o.user_timeout)
    };
    let held = state.hold.load(Ordering::SeqCst);
    let wait = if held {
        HELD
    } else if account.behaviour == Behaviour::UserTimeout {
        user_timeout
    } else {
        delay
    };
    let id = new_uuid();
    lock(&state.sessions).insert(
        id.clone(),
        Session {
            complete_at: now + wait,
            held,
            result,
            device_link: None,
        },
    );
    lock(&state.recent_starts).insert(key, (id.clone(), now));
    state.sessions_created.fetch_add(1, Ordering::Relaxed);
    let mut log = lock(&state.log);
    if log.len() >= 100 {
        log.pop_front();
    }
    log.push_back(json!({
        "target": target,
        "sessionID": id,
        "hashType": request.hash_type.as_str(),
        "hash": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &request.hash),
        "verificationCode": verification_code(&request.hash),
        "certificateLevel": request.level.as_str(),
    }));
    json_resp(200, &json!({"sessionID": id}))
}

/// The endResult and interaction of a session, from the account and the allowed list.
pub(super) fn decide(account: &Account, interactions: &[String]) -> (&'static str, &'static str) {
    let first = match interactions.first().map(String::as_str) {
        Some("verificationCodeChoice") => "verificationCodeChoice",
        Some("confirmationMessage") => "confirmationMessage",
        Some("confirmationMessageAndVerificationCodeChoice") => {
            "confirmationMessageAndVerificationCodeChoice"
        }
        _ => "displayTextAndPIN",
    };
    match &account.behaviour {
        Behaviour::End(r) => (r, first),
        Behaviour::UserTimeout => ("TIMEOUT", first),
        Behaviour::OnlyDisplayTextAndPin => {
            if interactions.iter().any(|i| i == "displayTextAndPIN") {
                ("OK", "displayTextAndPIN")
            } else {
                ("REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP", first)
            }
        }
        Behaviour::Ok | Behaviour::Http(_) => ("OK", first),
    }
}

pub(super) async fn status(state: &State, id: &str, query: &str) -> Resp {
    let timeout_ms = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("timeoutMs="))
        .map(|v| v.parse::<u64>().map_err(|_| ()))
        .unwrap_or(Ok(60_500));
    let Ok(timeout_ms) = timeout_ms else {
        return error(400);
    };
    let timeout = Duration::from_millis(timeout_ms.clamp(1000, 120_000));
    let ttl = lock(&state.opts).result_ttl;
    let now = Instant::now();
    let complete_at = {
        let mut sessions = lock(&state.sessions);
        sessions.retain(|_, s| now < s.complete_at + ttl);
        match sessions.get(id) {
            Some(s) => s.complete_at,
            None => return error(404),
        }
    };
    let complete_at = if now < complete_at {
        wait_for(state, id, complete_at.min(now + timeout)).await
    } else {
        complete_at
    };
    if Instant::now() < complete_at {
        return json_resp(
            200,
            &json!({"state": "RUNNING", "result": {}, "simulatorNote": "still waiting"}),
        );
    }
    match lock(&state.sessions).get(id) {
        Some(s) => json_resp(200, &s.result),
        None => error(404),
    }
}

/// Sleeps until `until` or a release, whichever is first; gives the session's completion time
/// then (a release moves it to the release instant).
async fn wait_for(state: &State, id: &str, until: Instant) -> Instant {
    let _counted = Waiting::new(&state.waiting);
    loop {
        // Registered before the check, so a release between the two is not missed.
        let released = state.released.notified();
        let Some(complete_at) = lock(&state.sessions).get(id).map(|s| s.complete_at) else {
            return until;
        };
        if Instant::now() >= complete_at.min(until) {
            return complete_at;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(complete_at.min(until)) => {}
            _ = released => {}
        }
    }
}

/// Counts one long poll in `waiting` for as long as it lives, also when hyper drops it because
/// the client went away.
struct Waiting<'a>(&'a AtomicU64);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Completes every held session now, waking their long polls; gives how many.
pub fn release(state: &State) -> usize {
    let now = Instant::now();
    let mut n = 0;
    for s in lock(&state.sessions).values_mut().filter(|s| s.held) {
        s.held = false;
        s.complete_at = now;
        n += 1;
    }
    state.released.notify_waiters();
    n
}

fn control(state: &State, method: &Method, what: &str, body: &[u8]) -> Resp {
    match (method, what) {
        (&Method::POST, "fault") => match serde_json::from_slice::<FaultRequest>(body) {
            Ok(f) => {
                lock(&state.faults).add(&f);
                json_resp(200, &json!({"ok": true}))
            }
            Err(e) => json_resp(400, &json!({"error": e.to_string()})),
        },
        (&Method::POST, "reset") => {
            *lock(&state.faults) = Faults::default();
            json_resp(200, &json!({"ok": true}))
        }
        (&Method::POST, "delay") => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            match v.get("delay_ms").and_then(Value::as_u64) {
                Some(ms) => {
                    lock(&state.opts).delay = Duration::from_millis(ms);
                    json_resp(200, &json!({"ok": true}))
                }
                None => json_resp(400, &json!({"error": "delay_ms expected"})),
            }
        }
        (&Method::POST, "hold") => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            match v.get("hold").and_then(Value::as_bool) {
                Some(h) => {
                    state.set_hold(h);
                    json_resp(200, &json!({"ok": true}))
                }
                None => json_resp(400, &json!({"error": "hold (true or false) expected"})),
            }
        }
        (&Method::POST, "release") => json_resp(200, &json!({"released": release(state)})),
        (&Method::GET, "stats") => json_resp(200, &stats(state)),
        (&Method::GET, "requests") => json_resp(200, &json!(state.recent_requests())),
        _ => error(404),
    }
}

pub fn stats(state: &State) -> Value {
    json!({
        "requests": state.requests.load(Ordering::Relaxed),
        "sessions_created": state.sessions_created.load(Ordering::Relaxed),
        "waiting": state.waiting.load(Ordering::SeqCst),
    })
}

pub(super) fn new_uuid() -> String {
    let mut b = [0u8; 16];
    // The CSPRNG failing leaves zeros: still a well-formed id, and only a simulator.
    let _ = openssl::rand::rand_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
