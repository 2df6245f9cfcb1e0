//! Why a URL was refused, for the operator's log line. The core drops a plugin's 4xx body and
//! answers its own 500, so our log is the only place the reason shows. Only the origin of the
//! caller's URL is quoted (never its path or query, which may carry session ids); the
//! allow-list entries are the operator's own configuration and may be quoted whole.

use url::Url;

use super::{AllowList, UrlError};

/// Longest origin quoted; a longer one is cut (hosts are at most 253 bytes in practice).
const MAX_ORIGIN: usize = 128;

/// The parts of a refused URL that are safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlDiagnosis {
    /// `scheme://host[:port]`, `tel:` for a URL without a host, or `(not a URL)`.
    pub origin: String,
    /// What the operator most likely has to change, when we can tell.
    pub hint: Option<String>,
}

/// The origin of `raw` as it can be logged.
pub fn loggable_origin(raw: &str) -> String {
    let Ok(url) = Url::parse(raw) else {
        return "(not a URL)".into();
    };
    let origin = match url.host_str() {
        Some(_) => url.origin().ascii_serialization(),
        None => format!("{}:", url.scheme()),
    };
    if origin.len() <= MAX_ORIGIN {
        origin
    } else {
        // ASCII serialisation: every byte is a character boundary.
        format!("{}...", &origin[..MAX_ORIGIN])
    }
}

fn is_loopback_name(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

impl AllowList {
    /// Explains `error`, which [`AllowList::check`] gave for `raw`, to the operator whose
    /// allow-list this is; `list_key` names it in the configuration (`allow.continuation`).
    pub fn explain(&self, raw: &str, error: &UrlError, list_key: &str) -> UrlDiagnosis {
        let origin = loggable_origin(raw);
        let hint = match (error, Url::parse(raw)) {
            (UrlError::BadScheme, Ok(u)) if u.scheme() == "tel" => Some(
                "tel: is refused; turn on the core's shim_tel_url for this plugin and allow its \
                 ui_tel_url (docs/idcontact.md)"
                    .to_string(),
            ),
            (UrlError::NotAllowed, Ok(u)) => Some(self.near_miss(&u, list_key)),
            _ => None,
        };
        UrlDiagnosis { origin, hint }
    }

    /// The closest entry and how the refused URL differs from it.
    fn near_miss(&self, url: &Url, list_key: &str) -> String {
        if self.prefixes.is_empty() {
            return format!("{list_key} is empty: production mode allows nothing");
        }
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default();
        let same_origin: Vec<&str> = self
            .prefixes
            .iter()
            .filter(|p| {
                p.url.scheme() == url.scheme()
                    && p.url.host_str() == Some(host)
                    && p.url.port_or_known_default() == port
            })
            .map(|p| p.url.path())
            .collect();
        if !same_origin.is_empty() {
            return format!(
                "{list_key} allows this origin only under the paths {}",
                same_origin.join(", ")
            );
        }
        let origin_of = |u: &Url| u.origin().ascii_serialization();
        for p in &self.prefixes {
            let entry_host = p.url.host_str().unwrap_or("");
            if entry_host == host {
                return format!(
                    "{list_key} has {} for this host: scheme and port must match too",
                    origin_of(&p.url)
                );
            }
        }
        for p in &self.prefixes {
            let entry_host = p.url.host_str().unwrap_or("");
            let same_port = p.url.scheme() == url.scheme() && p.url.port_or_known_default() == port;
            if same_port && is_loopback_name(entry_host) && is_loopback_name(host) {
                return format!(
                    "{list_key} has {}: {host} and {entry_host} are different hosts to an \
                     allow-list (hosts are compared exactly); list the one the core sends",
                    origin_of(&p.url)
                );
            }
        }
        format!("{list_key} has no entry for this origin")
    }
}

#[cfg(test)]
mod tests {
    use super::super::UrlPrefix;
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        let prefixes = entries.iter().map(|e| UrlPrefix::parse(e).unwrap());
        AllowList::new(prefixes.collect(), false)
    }

    fn hint(l: &AllowList, raw: &str) -> String {
        let e = l.check(raw).unwrap_err();
        l.explain(raw, &e, "allow.continuation")
            .hint
            .unwrap_or_default()
    }

    #[test]
    fn the_origin_is_quoted_never_the_path_or_query() {
        let raw = "https://comm.example:8443/ui/secret?session=5e09";
        assert_eq!(loggable_origin(raw), "https://comm.example:8443");
        assert_eq!(loggable_origin("tel:+3212345678"), "tel:");
        assert_eq!(loggable_origin("no url\n"), "(not a URL)");
        let long = format!("https://{}.example/", "a".repeat(300));
        assert!(loggable_origin(&long).len() <= MAX_ORIGIN + 3);
    }

    #[test]
    fn a_loopback_alias_is_named() {
        let l = list(&["http://127.0.0.1:9000/ui"]);
        let h = hint(&l, "http://localhost:9000/ui/x");
        assert!(h.contains("http://127.0.0.1:9000"), "{h}");
        assert!(
            h.contains("localhost and 127.0.0.1 are different hosts"),
            "{h}"
        );
    }

    #[test]
    fn other_near_misses_are_named() {
        let l = list(&["https://comm.example/ui"]);
        assert!(hint(&l, "https://comm.example/admin").contains("only under the paths /ui"));
        assert!(hint(&l, "http://comm.example/ui").contains("scheme and port must match"));
        assert!(hint(&l, "https://other.example/ui").contains("no entry for this origin"));
        let empty = list(&[]);
        assert!(hint(&empty, "https://comm.example/ui").contains("is empty"));
        let e = UrlError::BadScheme;
        let tel = l.explain("tel:+3212345678", &e, "allow.continuation");
        assert!(tel.hint.unwrap().contains("shim_tel_url"));
    }
}
