//! URLs that came from outside (continuation, attr_url) and the operator's allow-lists.
//!
//! Only the canonical spelling of a URL is accepted: what the WHATWG parser would serialise it
//! to. That refuses `HTTP://`, `0x7f.1`, `2130706433`, `/../` paths, percent-encoded hosts and
//! every other spelling where two parsers could disagree about where a request goes.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("is not an absolute URL")]
    NotAbsolute,
    #[error("must use http or https")]
    BadScheme,
    #[error("must not contain credentials (user info)")]
    UserInfo,
    #[error("must not contain a fragment")]
    Fragment,
    #[error("must not contain control characters or spaces")]
    ControlCharacters,
    #[error("must be written in canonical form")]
    NotCanonical,
    #[error("must not already carry a `result` parameter")]
    HasResultParameter,
    #[error("is not on the allow-list")]
    NotAllowed,
}

/// An absolute http(s) URL in canonical form, without user info or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(Url);

impl HttpUrl {
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(UrlError::ControlCharacters);
        }
        let url = Url::parse(raw).map_err(|_| UrlError::NotAbsolute)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::BadScheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::UserInfo);
        }
        if url.fragment().is_some() || raw.contains('#') {
            return Err(UrlError::Fragment);
        }
        let canonical = url.as_str();
        let same = canonical == raw
            || (url.path() == "/" && url.query().is_none() && canonical == format!("{raw}/"));
        if !same {
            return Err(UrlError::NotCanonical);
        }
        Ok(HttpUrl(url))
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URL without a trailing `/`, to append paths to (`{base}/flow/...`).
    pub fn base(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    pub fn origin_string(&self) -> String {
        self.0.origin().ascii_serialization()
    }
}

/// One allow-list entry: scheme, host and port must be equal; the path must start with the
/// entry's path at a segment boundary (`/ui` allows `/ui` and `/ui/x`, never `/uix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefix(Url);

impl UrlPrefix {
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let url = HttpUrl::parse(raw)?.0;
        if url.query().is_some() {
            return Err(UrlError::NotCanonical);
        }
        Ok(UrlPrefix(url))
    }

    pub fn matches(&self, candidate: &HttpUrl) -> bool {
        let (p, c) = (&self.0, &candidate.0);
        if p.scheme() != c.scheme()
            || p.host_str() != c.host_str()
            || p.port_or_known_default() != c.port_or_known_default()
        {
            return false;
        }
        let (pp, cp) = (p.path(), c.path());
        if pp.ends_with('/') {
            cp.starts_with(pp)
        } else {
            cp == pp
                || cp
                    .strip_prefix(pp)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
    }
}

/// An operator allow-list. Empty means "anything" in demo mode and "nothing" in production.
#[derive(Debug, Clone)]
pub struct AllowList {
    prefixes: Vec<UrlPrefix>,
    empty_allows_all: bool,
}

impl AllowList {
    pub fn new(prefixes: Vec<UrlPrefix>, empty_allows_all: bool) -> Self {
        AllowList {
            prefixes,
            empty_allows_all,
        }
    }

    pub fn check(&self, raw: &str) -> Result<HttpUrl, UrlError> {
        let url = HttpUrl::parse(raw)?;
        let allowed = if self.prefixes.is_empty() {
            self.empty_allows_all
        } else {
            self.prefixes.iter().any(|p| p.matches(&url))
        };
        if allowed {
            Ok(url)
        } else {
            Err(UrlError::NotAllowed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::new(
            entries
                .iter()
                .map(|e| UrlPrefix::parse(e).unwrap())
                .collect(),
            false,
        )
    }

    #[test]
    fn accepts_canonical_urls_under_a_prefix() {
        let l = list(&["https://comm.example/ui", "http://127.0.0.1:9100/"]);
        for ok in [
            "https://comm.example/ui",
            "https://comm.example/ui/x?session=1&a=b",
            "http://127.0.0.1:9100/anything",
            "http://127.0.0.1:9100",
        ] {
            assert!(l.check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bypass_spellings() {
        let l = list(&[
            "https://comm.example/ui",
            "http://127.0.0.1:9200/auth_result",
        ]);
        for bad in [
            "https://evil.example/",
            "//comm.example/ui",
            "https:/\\comm.example/ui",
            "https://comm.example.evil.example/ui",
            "https://comm.example@evil.example/ui",
            "https://user:pw@comm.example/ui",
            "https://comm.example/ui/../../x",
            "https://comm.example/ui/./x",
            "https://comm.example/uix",
            "https://comm.example:8443/ui",
            "https://comm.example:443/ui",
            "http://comm.example/ui",
            "HTTPS://comm.example/ui",
            "https://COMM.example/ui",
            "https://comm.example/ui#frag",
            "https://comm.example/ui\r\nSet-Cookie: a=b",
            "https://comm.example/ui\t",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "tel:+3212345678",
            "file:///etc/passwd",
            "gopher://127.0.0.1:9200/_INFO",
            "http://2130706433:9200/auth_result",
            "http://0x7f.1:9200/auth_result",
            "http://017700000001:9200/auth_result",
            "http://127.0.0.1:9200@evil.example/auth_result",
            "http://[::1]:9200/auth_result",
            "",
            "not a url",
        ] {
            assert!(l.check(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn empty_list_depends_on_mode() {
        assert!(AllowList::new(vec![], true)
            .check("https://any.example/")
            .is_ok());
        assert_eq!(
            AllowList::new(vec![], false).check("https://any.example/"),
            Err(UrlError::NotAllowed)
        );
    }
}
