//! URLs that came from outside (continuation, attr_url) and the operator's allow-lists.
//!
//! Only the canonical spelling of a URL is accepted: what the WHATWG parser would serialise it
//! to. That refuses `HTTP://`, `0x7f.1`, `2130706433`, `/../` paths, percent-encoded hosts and
//! every other spelling where two parsers could disagree about where a request goes. The
//! allow-lists compare paths in one normal form and refuse spellings that a server behind the
//! URL could read as another path (`path.rs`).

mod explain;
mod path;

use url::Url;

pub use explain::{loggable_origin, UrlDiagnosis};
use path::NormalPath;

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
    #[error("must not percent-encode `.`, `/`, `\\`, `;`, `%` or a control character in its path")]
    EncodedPathByte,
    #[error("must not have `;` path parameters")]
    PathParameter,
    #[error("must not have a `%` that is not two hex digits of UTF-8 in its path")]
    BadEscape,
    #[error("must not have a path segment of only dots and spaces")]
    DotSegment,
    #[error("must not have characters that look like `.`, `/`, `\\`, `;` or `%` in its path")]
    Lookalike,
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

/// One allow-list entry: scheme, host and port must be equal; the path, in normal form, must
/// start with the entry's path at a segment boundary (`/ui` allows `/ui` and `/ui/x`, never
/// `/uix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefix {
    url: Url,
    path: NormalPath,
}

impl UrlPrefix {
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let url = HttpUrl::parse(raw)?.0;
        if url.query().is_some() {
            return Err(UrlError::NotCanonical);
        }
        let path = NormalPath::of(url.path())?;
        Ok(UrlPrefix { url, path })
    }

    /// How specific the prefix is (its length): a longer prefix matches fewer URLs.
    pub fn specificity(&self) -> usize {
        self.url.as_str().len()
    }

    fn matches(&self, candidate: &HttpUrl, path: &NormalPath) -> bool {
        let (p, c) = (&self.url, &candidate.0);
        p.scheme() == c.scheme()
            && p.host_str() == c.host_str()
            && p.port_or_known_default() == c.port_or_known_default()
            && path.is_under(&self.path)
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

    /// The URL, if it is canonical, has an unambiguous path (even when the empty list allows
    /// anything) and lies under an entry.
    pub fn check(&self, raw: &str) -> Result<HttpUrl, UrlError> {
        let url = HttpUrl::parse(raw)?;
        let path = NormalPath::of(url.0.path())?;
        let allowed = if self.prefixes.is_empty() {
            self.empty_allows_all
        } else {
            self.prefixes.iter().any(|p| p.matches(&url, &path))
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

    /// Spellings the WHATWG parser keeps as one segment but servers, proxies and frameworks
    /// behind the allowed URL read as `..` (issue 18): each refused with a reason.
    #[test]
    fn refuses_dot_segments_in_disguise() {
        use UrlError::*;
        let l = list(&["http://host/demo/"]);
        let cases: &[(&str, UrlError)] = &[
            ("..;/x", PathParameter),
            ("%2e%2e;/x", PathParameter),
            (".;/x", PathParameter),
            ("x;jsessionid=1/../y", NotCanonical),
            ("x;a=b", PathParameter),
            ("%2e%2e%2fx", EncodedPathByte),
            ("%2E%2E%2Fx", EncodedPathByte),
            ("..%2f..%2fx", EncodedPathByte),
            ("..%2F..%2Fx", EncodedPathByte),
            ("..%5c..%5cx", EncodedPathByte),
            ("..%5C..%5Cx", EncodedPathByte),
            ("%2e%2e%5cx", EncodedPathByte),
            ("%2e%2e", NotCanonical),
            (".%2e/x", NotCanonical),
            ("%2e./x", NotCanonical),
            (".%2E/x", NotCanonical),
            (".%2e%2fx", EncodedPathByte),
            ("%2e.%2fx", EncodedPathByte),
            ("file%2etxt", EncodedPathByte),
            ("%252e%252e%252fx", EncodedPathByte),
            ("%25252e%25252e/x", EncodedPathByte),
            ("%25/x", EncodedPathByte),
            ("%3b/x", EncodedPathByte),
            ("..%00/x", EncodedPathByte),
            ("x%0d%0aSet-Cookie:%20a=b", EncodedPathByte),
            ("%u002e%u002e/x", BadEscape),
            ("%%32%65%%32%65/x", BadEscape),
            ("%2/x", BadEscape),
            ("x%", BadEscape),
            ("%c0%ae%c0%ae/x", BadEscape),
            ("%e0%80%ae%e0%80%ae/x", BadEscape),
            ("%ff/x", BadEscape),
            ("...", DotSegment),
            (".../x", DotSegment),
            ("..%20/x", DotSegment),
            (".%20./x", DotSegment),
            ("%20../x", DotSegment),
            ("%ef%bc%8e%ef%bc%8e/x", Lookalike),
            ("%E2%80%A5/x", Lookalike),
            ("..%ef%bc%8fx", Lookalike),
            ("..%ef%bc%bcx", Lookalike),
            ("%e3%80%82%e3%80%82/x", Lookalike),
            ("..\\x", NotCanonical),
            ("..\\..\\x", NotCanonical),
        ];
        for (tail, expected) in cases {
            let url = format!("http://host/demo/{tail}");
            assert_eq!(l.check(&url).as_ref().err(), Some(expected), "{url}");
        }
        // Refused whatever the list: an empty demo list allows any URL, not any spelling.
        let anything = AllowList::new(vec![], true);
        assert_eq!(anything.check("http://host/demo/..;/x"), Err(PathParameter));
        // The same matcher serves attr_url lists, with or without a trailing `/`.
        let attr = list(&["http://127.0.0.1:9200/auth_result"]);
        for bad in ["/auth_result/..;/admin", "/auth_result/%2e%2e%2fadmin"] {
            assert!(attr.check(&format!("http://127.0.0.1:9200{bad}")).is_err());
        }
    }

    #[test]
    fn paths_compare_in_normal_form() {
        let l = list(&["http://host/demo/", "http://host/caf%C3%A9"]);
        for ok in [
            "http://host/demo/x",
            "http://host/d%65mo/x",
            "http://host/demo/a%20b/c%7e",
            "http://host/demo/..x/x..",
            "http://host/demo/x.y.z/",
            "http://host/caf%c3%a9/x",
            "http://host/demo/x?q=..;/%2e%2e%2f",
        ] {
            assert!(l.check(ok).is_ok(), "{ok}");
        }
        assert_eq!(l.check("http://host/dem%6f"), Err(UrlError::NotAllowed));
        // An operator's entry is held to the same rules.
        for bad in ["http://host/demo/..;/", "http://host/%2e%2e%2fx/"] {
            assert!(UrlPrefix::parse(bad).is_err(), "{bad}");
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
