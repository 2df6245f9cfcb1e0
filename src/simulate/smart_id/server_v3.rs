//! RP API v3 under `/smart-id-rp/v3/`: notification and device-link authentication starts,
//! the session status (shared with v2), and `POST /control/device-link`, the simulated app:
//! it "scans" a device link the way SK's demo Mock Service does (`POST /mock/device-link` with
//! `{documentNumber, deviceLink, flowType, initialCallbackUrl?}`), checking the link and its
//! authCode bit for bit, and for Web2App gives back the callback URL the app would open.
//!
//! A QR link is refused as stale when its `elapsedSeconds` is more than 3 s behind the
//! session's age (SK's UX rules: a new code every second, never one older than 3 s) or ahead
//! of it by more than 1 s. A device-link session nobody scans ends with TIMEOUT after the user
//! timeout.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use hyper::body::Bytes;
use hyper::Method;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::accounts::{self, Account, Behaviour};
use super::results_v3::{self, V3Outcome};
use super::server::{decide, json_resp, lock, new_uuid, status, Resp, Session, State, HELD};
use super::validate::semantics_id;
use super::validate_v3::{self, V3Start};
use crate::means::smart_id::v3::device_link::{
    build_link, same, LinkKind, LinkParts, SessionSecret,
};
use crate::means::smart_id::v3::{FlowType, SCHEME_DEMO};

/// The account that scans an anonymous link when the control request names none.
const DEFAULT_SCANNER: &str = "PNOEE-40504040001-DEMO-Q";

/// What scanning a device-link session needs.
pub struct DeviceLink {
    token: String,
    secret: SessionSecret,
    start: V3Start,
    /// The person asked for (`device-link/etsi/…`); `None` for anonymous.
    account: Option<Account>,
    answered_at: Instant,
    scanned: bool,
}

/// An RFC 9457 problem, as v3.2 answers errors (471/472 became 404 with a code).
fn problem(status: u16, code: Option<&str>) -> Resp {
    let title = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        480 => "Client too old",
        580 => "System under maintenance",
        _ => "Internal Server Error",
    };
    let mut v = json!({"type": "about:blank", "status": status, "title": title});
    if let Some(code) = code {
        v["errors"] = json!([{"code": code, "detail": "No suitable account found"}]);
    }
    json_resp(status, &v)
}

/// The person a start names (`None` for anonymous), or the HTTP status refusing it.
fn account_for(target: &str) -> Result<Option<Account>, u16> {
    match target.split_once('/') {
        Some(("etsi", id)) => {
            semantics_id(id)?;
            accounts::by_identity(id).map(Some).ok_or(404)
        }
        Some(("document", doc)) => accounts::by_document(doc).map(Some).ok_or(404),
        None if target == "anonymous" => Ok(None),
        _ => Err(404),
    }
}

pub async fn route(
    state: Arc<State>,
    method: &Method,
    rest: &str,
    query: &str,
    body: Bytes,
) -> Resp {
    let start = |device_link: bool, target: String| {
        let state = state.clone();
        async move {
            tokio::task::spawn_blocking(move || start(&state, device_link, &target, &body))
                .await
                .unwrap_or_else(|_| problem(500, None))
        }
    };
    match (method, rest.split_once('/')) {
        (&Method::POST, Some(("authentication", path))) => match path.split_once('/') {
            Some(("notification", target)) if target != "anonymous" => {
                start(false, target.to_string()).await
            }
            Some(("device-link", target)) => start(true, target.to_string()).await,
            _ => problem(404, None),
        },
        (&Method::GET, Some(("session", id))) => status(&state, id, query).await,
        _ => problem(404, None),
    }
}

fn start(state: &State, device_link: bool, target: &str, body: &[u8]) -> Resp {
    let account = match account_for(target) {
        Ok(a) => a,
        Err(code) => return problem(code, None),
    };
    let request = match validate_v3::start_request(body, device_link) {
        Ok(r) => r,
        Err(code) => return problem(code, None),
    };
    if let Some(a) = &account {
        match a.behaviour {
            Behaviour::Http(404) => return problem(404, None),
            Behaviour::Http(_) => return problem(404, Some("NO_SUITABLE_ACCOUNT_FOUND")),
            _ if a.level < request.level => return problem(404, Some("NO_SUITABLE_ACCOUNT_FOUND")),
            _ => {}
        }
    }
    let now = Instant::now();
    let id = new_uuid();
    let (user_timeout, delay) = {
        let o = lock(&state.opts);
        (o.user_timeout, o.delay)
    };
    let (session, answer) = if device_link {
        let secret = random_b64(32);
        let Ok(secret) = SessionSecret::parse(&secret) else {
            return problem(500, None);
        };
        let token = random_token();
        let base = state.link_base.get().cloned().unwrap_or_default();
        let answer = json!({
            "sessionID": id, "sessionToken": token, "sessionSecret": secret_text(&secret),
            "deviceLinkBase": base, "unknownField": "ignore me",
        });
        let session = Session {
            // Nobody scans: the app never saw it, and the session times out.
            complete_at: now + user_timeout,
            held: false,
            result: json!({"state": "COMPLETE", "result": {"endResult": "TIMEOUT"}}),
            device_link: Some(DeviceLink {
                token,
                secret,
                start: request.clone(),
                account,
                answered_at: now,
                scanned: false,
            }),
        };
        (session, answer)
    } else {
        let Some(account) = account else {
            return problem(404, None);
        };
        let fault = lock(&state.faults).next_result(&account.semantics_id);
        let (end, used) = decide(&account, &request.interaction_types);
        let (_, user_challenge) = verifier_and_challenge();
        let outcome = V3Outcome {
            account: &account,
            start: &request,
            scheme_name: SCHEME_DEMO,
            end_result: end,
            interaction_used: used,
            flow_type: FlowType::Notification,
            user_challenge: &user_challenge,
            fault,
        };
        let result = match results_v3::complete(&state.pki, &outcome) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "simulator could not build a v3 result");
                return problem(500, None);
            }
        };
        let held = state.hold.load(Ordering::SeqCst);
        let wait = match (held, &account.behaviour) {
            (true, _) => HELD,
            (false, Behaviour::UserTimeout) => user_timeout,
            _ => delay,
        };
        let session = Session {
            complete_at: now + wait,
            held,
            result,
            device_link: None,
        };
        (session, json!({"sessionID": id, "unknownField": 1}))
    };
    lock(&state.sessions).insert(id.clone(), session);
    state.sessions_created.fetch_add(1, Ordering::Relaxed);
    let mut log = lock(&state.log);
    if log.len() >= 100 {
        log.pop_front();
    }
    let challenge = B64.decode(&request.rp_challenge).unwrap_or_default();
    log.push_back(json!({
        "api": "v3",
        "target": if device_link { format!("device-link/{target}") } else { format!("notification/{target}") },
        "sessionID": id,
        "rpChallenge": request.rp_challenge,
        "hashAlgorithm": request.hash.v3_name(),
        "interactions": request.interactions,
        "initialCallbackUrl": request.initial_callback_url,
        "verificationCode": crate::means::smart_id::vc::verification_code(&challenge),
        "certificateLevel": request.level.as_str(),
    }));
    json_resp(200, &answer)
}

fn secret_text(secret: &SessionSecret) -> String {
    // The simulator hands the secret out once, in the start answer, as SK does.
    serde_json::to_value(secret)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = openssl::rand::rand_bytes(&mut b);
    B64.encode(b)
}

fn random_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut b = [0u8; 24];
    let _ = openssl::rand::rand_bytes(&mut b);
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

/// A fresh verifier and its `userChallenge` = BASE64URL(SHA-256(verifier)).
fn verifier_and_challenge() -> (String, String) {
    let mut b = [0u8; 32];
    let _ = openssl::rand::rand_bytes(&mut b);
    let verifier = B64URL.encode(b);
    let challenge = B64URL.encode(openssl::sha::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

fn refused(why: &str) -> Resp {
    json_resp(400, &json!({"error": why}))
}

/// The parameters of a device link in SK's fixed order; `None` if anything else is there.
fn parse_link<'a>(link: &'a str, base: &str) -> Option<(LinkKind, &'a str, &'a str, &'a str)> {
    let query = link.strip_prefix(base)?.strip_prefix('?')?;
    let mut it = query.split('&').map(|kv| kv.split_once('='));
    let mut next = |key: &str| match it.next() {
        Some(Some((k, v))) if k == key => Some(v),
        _ => None,
    };
    let kind = match next("deviceLinkType")? {
        "QR" => LinkKind::Qr {
            elapsed_seconds: next("elapsedSeconds")?.parse().ok()?,
        },
        "Web2App" => LinkKind::Web2App,
        _ => return None,
    };
    let token = next("sessionToken")?;
    if next("sessionType")? != "auth" || next("version")? != "1.0" {
        return None;
    }
    let lang = next("lang")?;
    let auth_code = next("authCode")?;
    if it.next().is_some() || lang.len() != 3 || !lang.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Some((kind, token, lang, auth_code))
}

/// `POST /control/device-link`: the simulated app opens `deviceLink`.
pub fn scan(state: &State, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return refused("JSON body expected");
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let (Some(link), Some(flow)) = (s("deviceLink"), s("flowType")) else {
        return refused("deviceLink and flowType expected");
    };
    let base = state.link_base.get().cloned().unwrap_or_default();
    let Some((kind, token, lang, auth_code)) = parse_link(link, &base) else {
        return refused("not a device link of this simulator in SK's form");
    };
    let flow_type = match (kind, flow) {
        (LinkKind::Qr { .. }, "QR") => FlowType::Qr,
        (LinkKind::Web2App, "Web2App") => FlowType::Web2App,
        _ => return refused("flowType differs from the link's deviceLinkType"),
    };
    let now = Instant::now();
    let mut sessions = lock(&state.sessions);
    let Some((id, session)) = sessions
        .iter_mut()
        .find(|(_, s)| s.device_link.as_ref().is_some_and(|d| d.token == token))
    else {
        return refused("unknown sessionToken");
    };
    let id = id.clone();
    let Some(dl) = session.device_link.as_mut() else {
        return refused("unknown sessionToken");
    };
    if dl.scanned || now >= session.complete_at {
        return refused("session already used or over");
    }
    let callback = dl.start.initial_callback_url.clone();
    if flow_type == FlowType::Web2App {
        let given = s("initialCallbackUrl");
        if callback.is_none() || given.is_some_and(|g| Some(g) != callback.as_deref()) {
            return refused("Web2App needs the session's initialCallbackUrl");
        }
    }
    let parts = LinkParts {
        device_link_base: &base,
        session_token: token,
        session_type: "auth",
        lang,
        scheme_name: SCHEME_DEMO,
        signature_protocol: "ACSP_V2",
        digest: &dl.start.rp_challenge,
        relying_party_name: &dl.start.relying_party_name,
        brokered_rp_name: "",
        interactions: &dl.start.interactions,
        initial_callback_url: callback.as_deref(),
    };
    let expected = build_link(&parts, &dl.secret, kind);
    let expected_code = expected
        .rsplit_once("&authCode=")
        .map(|(_, c)| c)
        .unwrap_or("");
    if !same(expected_code, auth_code) {
        return refused("authCode does not verify");
    }
    if let LinkKind::Qr { elapsed_seconds } = kind {
        let age = now.duration_since(dl.answered_at).as_secs();
        if elapsed_seconds + 3 < age || elapsed_seconds > age + 1 {
            return refused("stale QR code: elapsedSeconds is not the session's age");
        }
    }
    let account = match dl.account.clone() {
        Some(a) => a,
        None => {
            let doc = s("documentNumber").unwrap_or(DEFAULT_SCANNER);
            match accounts::by_document(doc) {
                Some(a) => a,
                None => return refused("unknown documentNumber"),
            }
        }
    };
    let fault = lock(&state.faults).next_result(&account.semantics_id);
    let (end, used) = decide(&account, &dl.start.interaction_types);
    let (verifier, user_challenge) = verifier_and_challenge();
    let outcome = V3Outcome {
        account: &account,
        start: &dl.start,
        scheme_name: SCHEME_DEMO,
        end_result: end,
        interaction_used: used,
        flow_type,
        user_challenge: &user_challenge,
        fault,
    };
    let result = match results_v3::complete(&state.pki, &outcome) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "simulator could not build a v3 result");
            return json_resp(500, &json!({"error": "result"}));
        }
    };
    let secret_digest = dl.secret.digest();
    dl.scanned = true;
    let (delay, user_timeout) = {
        let o = lock(&state.opts);
        (o.delay, o.user_timeout)
    };
    session.complete_at = now
        + if account.behaviour == Behaviour::UserTimeout {
            user_timeout
        } else {
            delay
        };
    session.result = result;
    drop(sessions);
    state.released.notify_waiters();
    let mut answer = json!({"ok": true, "sessionID": id});
    if flow_type == FlowType::Web2App {
        if let Some(cb) = callback {
            answer["callbackUrl"] = json!(format!(
                "{cb}&sessionSecretDigest={secret_digest}&userChallengeVerifier={verifier}"
            ));
        }
    }
    json_resp(200, &answer)
}
