//! `POST /api/v1/sessions`: the body parsed into checked values, or an error naming the field.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::attributes::AttributeTag;
use crate::config::relying_party::means_by_api_name;
use crate::config::{ApiSettings, PhoneSettings, RelyingParty};
use crate::means::{MeansCatalog, MeansId};
use crate::urls::UrlError;

/// Longest `externalReference`: a correlation id, not a document.
const MAX_REFERENCE: usize = 128;
/// The languages the citizen's pages may be asked for.
pub const LANGUAGES: &[&str] = &["nl", "fr", "de", "en"];

/// A relying party's mistake in a request (always a 4xx): a stable code, the field, and what
/// is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BadRequest {
    pub code: &'static str,
    pub field: &'static str,
    pub message: String,
}

impl BadRequest {
    fn new(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        BadRequest {
            code,
            field,
            message: message.into(),
        }
    }

    fn invalid(field: &'static str, what: &str) -> Self {
        BadRequest::new("invalid_request", field, format!("`{field}` {what}"))
    }
}

/// The three places the browser may be sent back to, each on the relying party's allow-list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Callbacks {
    pub success: String,
    pub abort: String,
    pub error: String,
}

/// A create request after every check.
#[derive(Debug, Clone)]
pub struct CreateSession {
    pub providers: Vec<MeansId>,
    pub attributes: Vec<AttributeTag>,
    pub callbacks: Callbacks,
    pub external_reference: Option<String>,
    pub language: Option<String>,
    pub lifetime: Duration,
    /// The phone step, when it applies to this session.
    pub phone: Option<super::PhoneGate>,
}

pub fn parse_create(
    body: &[u8],
    rp: &RelyingParty,
    catalog: &MeansCatalog,
    api: &ApiSettings,
    phone: &PhoneSettings,
) -> Result<CreateSession, BadRequest> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| BadRequest::new("malformed_json", "", "the body is not valid JSON"))?;
    let Value::Object(obj) = value else {
        return Err(BadRequest::new(
            "invalid_request",
            "",
            "the body must be a JSON object",
        ));
    };
    const KNOWN: &[&str] = &[
        "allowedProviders",
        "requestedAttributes",
        "callbackUrls",
        "externalReference",
        "language",
        "sessionLifetime",
        "phoneStep",
        "phoneNumber",
    ];
    if let Some(unknown) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        let message = format!("unknown field `{}`", truncated(unknown));
        return Err(BadRequest::new("invalid_request", "", message));
    }
    let providers = providers(&obj, rp)?;
    let attributes = attributes(&obj)?;
    // Only the means this session may use count: one of them must provide every tag.
    let able = catalog.able(&attributes);
    if !providers.iter().any(|m| able.contains(m)) {
        return Err(BadRequest::new(
            "unsupported_attributes",
            "requestedAttributes",
            "`requestedAttributes`: no allowed provider can provide every requested attribute",
        ));
    }
    let callbacks = callbacks(&obj, rp)?;
    let external_reference = match obj.get("externalReference") {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if (1..=MAX_REFERENCE).contains(&s.len()) && s.chars().all(|c| !c.is_control()) =>
        {
            Some(s.clone())
        }
        Some(_) => {
            return Err(BadRequest::invalid(
                "externalReference",
                "must be a string of 1 to 128 characters without control characters",
            ))
        }
    };
    let language = match obj.get("language") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if LANGUAGES.contains(&s.as_str()) => Some(s.clone()),
        Some(_) => {
            return Err(BadRequest::invalid(
                "language",
                "must be one of \"nl\", \"fr\", \"de\", \"en\"",
            ))
        }
    };
    let max = api.max_lifetime.as_secs();
    let lifetime = match obj.get("sessionLifetime") {
        None | Some(Value::Null) => api.default_lifetime,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|s| (1..=max).contains(&s)) => {
            Duration::from_secs(n.as_u64().unwrap_or(max))
        }
        Some(_) => {
            let what = format!("must be a whole number of seconds between 1 and {max}");
            return Err(BadRequest::invalid("sessionLifetime", &what));
        }
    };
    let phone = phone_gate(&obj, rp, phone)?;
    Ok(CreateSession {
        providers,
        attributes,
        callbacks,
        external_reference,
        language,
        lifetime,
        phone,
    })
}

/// `phoneStep: true` asks for the step (false or absent: the relying party's setting, else
/// the deployment's); `phoneNumber` fixes the number the code goes to.
fn phone_gate(
    obj: &Map<String, Value>,
    rp: &RelyingParty,
    phone: &PhoneSettings,
) -> Result<Option<super::PhoneGate>, BadRequest> {
    let asked = match obj.get("phoneStep") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(BadRequest::invalid("phoneStep", "must be true or false")),
    };
    let on = asked || rp.phone_step.unwrap_or(phone.enabled);
    let number = match obj.get("phoneNumber") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(BadRequest::invalid("phoneNumber", "must be a string")),
    };
    if !on {
        return match number {
            Some(_) => Err(BadRequest::invalid(
                "phoneNumber",
                "is only used with the phone step (`phoneStep: true`)",
            )),
            None => Ok(None),
        };
    }
    if phone.sender.is_none() {
        return Err(BadRequest::new(
            "phone_step_unavailable",
            "phoneStep",
            "this deployment has no sender for one-time codes",
        ));
    }
    let fixed = match number {
        None => None,
        Some(_) if phone.by_email() => {
            return Err(BadRequest::invalid(
                "phoneNumber",
                "cannot be used: this deployment sends the codes by e-mail",
            ))
        }
        Some(n) => match phone.policy.parse(n) {
            Ok(n) => Some(n.e164().to_string()),
            Err(crate::phone::NumberError::CountryNotAllowed(_)) => {
                return Err(BadRequest::new(
                    "phone_country_not_allowed",
                    "phoneNumber",
                    "`phoneNumber` is of a country this deployment does not send codes to",
                ))
            }
            Err(_) => {
                return Err(BadRequest::invalid(
                    "phoneNumber",
                    "must be a valid phone number, e.g. \"+32470123456\"",
                ))
            }
        },
    };
    Ok(Some(super::PhoneGate { fixed, step: None }))
}

fn strings<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Vec<&'a str>, BadRequest> {
    let Some(Value::Array(items)) = obj.get(field) else {
        return Err(BadRequest::invalid(field, "must be a list of strings"));
    };
    let out: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
    let out = out.ok_or_else(|| BadRequest::invalid(field, "must be a list of strings"))?;
    if out.is_empty() || out.len() > 32 {
        return Err(BadRequest::invalid(field, "must hold 1 to 32 entries"));
    }
    Ok(out)
}

fn providers(obj: &Map<String, Value>, rp: &RelyingParty) -> Result<Vec<MeansId>, BadRequest> {
    let field = "allowedProviders";
    let mut out = Vec::new();
    for name in strings(obj, field)? {
        let means = means_by_api_name(name).ok_or_else(|| {
            BadRequest::invalid(
                field,
                "holds a provider other than \"beid\", \"smart-id\", \"test\"",
            )
        })?;
        if !rp.means.contains(&means) {
            return Err(BadRequest::new(
                "provider_not_allowed",
                field,
                format!("`{field}` names \"{name}\", which this relying party may not use"),
            ));
        }
        if !out.contains(&means) {
            out.push(means);
        }
    }
    out.sort();
    Ok(out)
}

fn attributes(obj: &Map<String, Value>) -> Result<Vec<AttributeTag>, BadRequest> {
    let field = "requestedAttributes";
    let mut out: Vec<AttributeTag> = Vec::new();
    for raw in strings(obj, field)? {
        let tag = AttributeTag::parse(raw)
            .map_err(|_| BadRequest::invalid(field, "holds a malformed attribute name"))?;
        if out.contains(&tag) {
            return Err(BadRequest::invalid(field, "names the same attribute twice"));
        }
        out.push(tag);
    }
    Ok(out)
}

fn callbacks(obj: &Map<String, Value>, rp: &RelyingParty) -> Result<Callbacks, BadRequest> {
    let Some(Value::Object(urls)) = obj.get("callbackUrls") else {
        return Err(BadRequest::invalid(
            "callbackUrls",
            "must be an object with `success`, `abort` and `error`",
        ));
    };
    let one = |name: &'static str, field: &'static str| -> Result<String, BadRequest> {
        let raw = urls
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| BadRequest::invalid(field, "must be a URL string"))?;
        match rp.callbacks.check(raw) {
            Ok(url) => Ok(url.as_str().to_string()),
            Err(UrlError::NotAllowed) => Err(BadRequest::new(
                "callback_not_allowed",
                field,
                format!("`{field}` is not under one of this relying party's callback prefixes"),
            )),
            Err(e) => Err(BadRequest::new(
                "invalid_callback",
                field,
                format!("`{field}` {e}"),
            )),
        }
    };
    if urls.len() != 3 {
        return Err(BadRequest::invalid(
            "callbackUrls",
            "must have exactly `success`, `abort` and `error`",
        ));
    }
    Ok(Callbacks {
        success: one("success", "callbackUrls.success")?,
        abort: one("abort", "callbackUrls.abort")?,
        error: one("error", "callbackUrls.error")?,
    })
}

/// An unknown key is echoed, but briefly.
fn truncated(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}
