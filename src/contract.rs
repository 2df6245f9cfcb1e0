//! ID Contact wire types: the start request and response, and session activity updates.
//! Parsing gives checked values or an error that says, without echoing input, what is wrong.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::attributes::AttributeTag;
use crate::urls::{AllowList, HttpUrl, UrlError};

/// Lifetime of a result token (`exp` = `iat` + this), as in the reference library.
pub const TOKEN_LIFETIME_SECS: u64 = 300;

/// Most tags one flow may ask for; real purposes ask for a handful.
pub const MAX_ATTRIBUTES: usize = 64;

/// Borrows from the body where it can (a string with escapes is copied): nothing is allocated
/// for a value before its check, only the checked values are kept.
#[derive(Deserialize)]
struct StartAuthWire<'a> {
    #[serde(borrow)]
    attributes: Vec<WireStr<'a>>,
    #[serde(borrow)]
    continuation: WireStr<'a>,
    #[serde(default, borrow)]
    attr_url: Option<WireStr<'a>>,
}

/// A JSON string, borrowed unless it holds escapes. (serde borrows a `Cow` only as a field of
/// its own, not as the element of a `Vec`, hence the newtype.)
#[derive(Deserialize)]
struct WireStr<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StartAuthResponse {
    pub client_url: String,
}

/// A start request after every check.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub attributes: Vec<AttributeTag>,
    pub continuation: HttpUrl,
    pub attr_url: Option<HttpUrl>,
}

/// A caller's mistake in `POST /start_authentication` (always a 4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("the body is not valid JSON")]
    MalformedJson,
    #[error("the body must be a JSON object with `attributes` (list of strings), `continuation` (string) and optionally `attr_url` (string)")]
    WrongShape,
    #[error("the field `{0}` is given twice")]
    DuplicateField(String),
    #[error("`attributes` must not be empty")]
    EmptyAttributes,
    #[error("`attributes` may hold at most {MAX_ATTRIBUTES} tags")]
    TooManyAttributes,
    #[error("`attributes` holds a malformed tag")]
    MalformedAttribute,
    #[error("`attributes` names the same tag twice")]
    DuplicateAttribute,
    /// Quotes the tag: it passed `AttributeTag`'s rules (at most 64 characters of letters,
    /// digits and `_-.:`), so the echo is short and needs no escaping, and it tells the operator
    /// which mapping is missing.
    #[error("no enabled means can provide every requested attribute (unknown: {0})")]
    UnknownAttribute(AttributeTag),
    #[error("no single enabled means can provide all requested attributes together")]
    NoMeansForAll,
    #[error("`continuation` {0}")]
    Continuation(UrlError),
    #[error("`attr_url` {0}")]
    AttrUrl(UrlError),
}

impl ContractError {
    /// The stable `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        use ContractError::*;
        match self {
            MalformedJson => "malformed_json",
            WrongShape | DuplicateField(_) => "invalid_request",
            EmptyAttributes | TooManyAttributes | MalformedAttribute | DuplicateAttribute => {
                "invalid_attributes"
            }
            UnknownAttribute(_) | NoMeansForAll => "unsupported_attributes",
            Continuation(UrlError::NotAllowed) => "continuation_not_allowed",
            Continuation(_) => "invalid_continuation",
            AttrUrl(UrlError::NotAllowed) => "attr_url_not_allowed",
            AttrUrl(_) => "invalid_attr_url",
        }
    }
}

/// Parses the body and checks it against the allow-lists. Whether a means can provide the
/// tags is decided by the caller, which knows the means.
pub fn parse_start(
    body: &[u8],
    continuations: &AllowList,
    attr_urls: &AllowList,
) -> Result<StartRequest, ContractError> {
    let wire: StartAuthWire = serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        if e.is_syntax() || e.is_eof() {
            ContractError::MalformedJson
        } else if let Some(field) = text.strip_prefix("duplicate field `") {
            ContractError::DuplicateField(field.split('`').next().unwrap_or("").to_string())
        } else {
            ContractError::WrongShape
        }
    })?;
    if wire.attributes.is_empty() {
        return Err(ContractError::EmptyAttributes);
    }
    if wire.attributes.len() > MAX_ATTRIBUTES {
        return Err(ContractError::TooManyAttributes);
    }
    let mut attributes: Vec<AttributeTag> = Vec::with_capacity(wire.attributes.len());
    for raw in &wire.attributes {
        let tag = AttributeTag::parse(&raw.0).map_err(|_| ContractError::MalformedAttribute)?;
        // At most MAX_ATTRIBUTES tags: a scan costs less than a set's allocations.
        if attributes.contains(&tag) {
            return Err(ContractError::DuplicateAttribute);
        }
        attributes.push(tag);
    }
    let continuation = continuations
        .check(&wire.continuation.0)
        .map_err(ContractError::Continuation)?;
    if continuation
        .as_url()
        .query_pairs()
        .any(|(k, _)| k == "result")
    {
        return Err(ContractError::Continuation(UrlError::HasResultParameter));
    }
    let attr_url = wire
        .attr_url
        .as_ref()
        .map(|u| attr_urls.check(&u.0))
        .transpose()
        .map_err(ContractError::AttrUrl)?;
    Ok(StartRequest {
        attributes,
        continuation,
        attr_url,
    })
}

/// What the operator's log says of a refused start, beside the error's code and message:
/// which field, and for a URL only its origin plus a hint (never path or query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRefusal {
    pub field: &'static str,
    pub origin: Option<String>,
    pub hint: Option<String>,
}

/// Explains `error`, which [`parse_start`] (or the caller's means check) gave for `body`.
pub fn explain_refusal(
    body: &[u8],
    error: &ContractError,
    continuations: &AllowList,
    attr_urls: &AllowList,
) -> StartRefusal {
    use ContractError::*;
    let (field, list, key, url_error) = match error {
        Continuation(e) => ("continuation", continuations, "allow.continuation", e),
        AttrUrl(e) => ("attr_url", attr_urls, "allow.attr_url", e),
        MalformedJson | WrongShape | DuplicateField(_) => {
            return StartRefusal {
                field: "body",
                origin: None,
                hint: None,
            }
        }
        _ => {
            return StartRefusal {
                field: "attributes",
                origin: None,
                hint: None,
            }
        }
    };
    // Parsed once more, only on this error path: the URL passed the JSON checks.
    let raw = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get(field)?.as_str().map(str::to_string))
        .unwrap_or_default();
    let d = list.explain(&raw, url_error, key);
    StartRefusal {
        field,
        origin: Some(d.origin),
        hint: d.hint,
    }
}

/// `POST <session_url>?type=...`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionActivity {
    UserActive,
    Logout,
}

impl SessionActivity {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user_active" => Some(SessionActivity::UserActive),
            "logout" => Some(SessionActivity::Logout),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urls::UrlPrefix;

    fn lists() -> (AllowList, AllowList) {
        let c = AllowList::new(
            vec![UrlPrefix::parse("https://comm.example/ui").unwrap()],
            false,
        );
        let a = AllowList::new(
            vec![UrlPrefix::parse("https://comm.internal/auth_result/").unwrap()],
            false,
        );
        (c, a)
    }

    fn parse(body: &str) -> Result<StartRequest, ContractError> {
        let (c, a) = lists();
        parse_start(body.as_bytes(), &c, &a)
    }

    #[test]
    fn a_valid_request_parses() {
        let r = parse(r#"{"attributes":["email","name"],"continuation":"https://comm.example/ui?session=5e09","attr_url":"https://comm.internal/auth_result/a1"}"#).unwrap();
        assert_eq!(r.attributes.len(), 2);
        assert!(r.attr_url.is_some());
        assert!(parse(r#"{"attributes":["email"],"continuation":"https://comm.example/ui","attr_url":null,"extra":1}"#).is_ok());
    }

    #[test]
    fn bad_requests_get_the_right_error() {
        use ContractError::*;
        let cases: &[(&str, ContractError)] = &[
            ("{", MalformedJson),
            ("", MalformedJson),
            ("null", WrongShape),
            ("[]", WrongShape),
            (r#""x""#, WrongShape),
            (
                r#"{"attributes":"email","continuation":"https://comm.example/ui"}"#,
                WrongShape,
            ),
            (
                r#"{"attributes":[1],"continuation":"https://comm.example/ui"}"#,
                WrongShape,
            ),
            (r#"{"attributes":["email"]}"#, WrongShape),
            (
                r#"{"attributes":[],"continuation":"https://comm.example/ui"}"#,
                EmptyAttributes,
            ),
            (
                r#"{"attributes":["a b"],"continuation":"https://comm.example/ui"}"#,
                MalformedAttribute,
            ),
            (
                r#"{"attributes":["a","a"],"continuation":"https://comm.example/ui"}"#,
                DuplicateAttribute,
            ),
            (
                r#"{"attributes":["a"],"continuation":"https://comm.example/ui","continuation":"https://evil.example/"}"#,
                DuplicateField("continuation".into()),
            ),
            (
                r#"{"attributes":["a"],"continuation":"javascript:alert(1)"}"#,
                Continuation(UrlError::BadScheme),
            ),
            (
                r#"{"attributes":["a"],"continuation":"https://evil.example/"}"#,
                Continuation(UrlError::NotAllowed),
            ),
            (
                r#"{"attributes":["a"],"continuation":"https://comm.example/ui?result=AAAA"}"#,
                Continuation(UrlError::HasResultParameter),
            ),
            (
                r#"{"attributes":["a"],"continuation":"https://comm.example/ui","attr_url":"http://169.254.169.254/"}"#,
                AttrUrl(UrlError::NotAllowed),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(body).err().as_ref(), Some(expected), "{body}");
        }
        let many = format!(
            r#"{{"attributes":[{}],"continuation":"https://comm.example/ui"}}"#,
            (0..65)
                .map(|i| format!("\"t{i}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(parse(&many).err(), Some(TooManyAttributes));
    }

    #[test]
    fn messages_do_not_echo_parser_internals() {
        for body in ["{", r#"{"attributes":[1],"continuation":"x"}"#] {
            let msg = parse(body).unwrap_err().to_string();
            for word in ["serde", "line", "column", "Vec<", "String"] {
                assert!(!msg.contains(word), "{msg}");
            }
        }
    }
}
