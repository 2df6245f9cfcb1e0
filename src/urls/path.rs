//! The path an allow-list compares: one spelling per path, and a refusal for every spelling that
//! a server, proxy or framework behind the allowed URL could read as a different path.
//!
//! The WHATWG parser has already removed `.` and `..` segments, and the canonical-form check
//! refuses their `%2e` spellings, so RFC 3986 `remove_dot_segments` has nothing left to remove.
//! What remains are spellings the parser keeps but others decode or normalise: `..;/` (Tomcat,
//! Spring), `%2e%2e%2f`, `%5c`, double encoding (`%252e`), IIS `%u002e`, overlong UTF-8
//! (`%c0%ae`), Windows trimming `...` or `.. ` to `..`, and Unicode look-alikes that
//! compatibility mapping turns into `.`, `/` or `\`.

use super::UrlError;

/// Characters that NFKC or Windows "best fit" mapping turn into `.`, `/`, `\`, `;` or `%`, and
/// the ideographic full stops that IDNA maps to `.`. A hand list: no Unicode tables are linked.
const LOOKALIKES: &[char] = &[
    '\u{037E}', // GREEK QUESTION MARK, NFKC `;`
    '\u{2024}', // ONE DOT LEADER, NFKC `.`
    '\u{2025}', // TWO DOT LEADER, NFKC `..`
    '\u{2026}', // HORIZONTAL ELLIPSIS, NFKC `...`
    '\u{2044}', // FRACTION SLASH
    '\u{2215}', // DIVISION SLASH
    '\u{2216}', // SET MINUS
    '\u{29F8}', // BIG SOLIDUS
    '\u{29F9}', // BIG REVERSE SOLIDUS
    '\u{3002}', // IDEOGRAPHIC FULL STOP
    '\u{FE52}', // SMALL FULL STOP, NFKC `.`
    '\u{FE54}', // SMALL SEMICOLON, NFKC `;`
    '\u{FE68}', // SMALL REVERSE SOLIDUS, NFKC `\`
    '\u{FE6A}', // SMALL PERCENT SIGN, NFKC `%`
    '\u{FF05}', // FULLWIDTH PERCENT SIGN, NFKC `%`
    '\u{FF0E}', // FULLWIDTH FULL STOP, NFKC `.`
    '\u{FF0F}', // FULLWIDTH SOLIDUS, NFKC `/`
    '\u{FF1B}', // FULLWIDTH SEMICOLON, NFKC `;`
    '\u{FF3C}', // FULLWIDTH REVERSE SOLIDUS, NFKC `\`
    '\u{FF61}', // HALFWIDTH IDEOGRAPHIC FULL STOP
];

/// A URL path in the form allow-lists compare: percent-encoded unreserved characters decoded,
/// every other escape in upper-case hex, nothing ambiguous left in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NormalPath(String);

impl NormalPath {
    /// `path` is the path of a canonical URL (it starts with `/`).
    pub(super) fn of(path: &str) -> Result<Self, UrlError> {
        let segments = path
            .split('/')
            .map(normal_segment)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NormalPath(segments.join("/")))
    }

    /// Whether `self` lies under `prefix`: at a segment boundary (`/ui` covers `/ui` and `/ui/x`,
    /// never `/uix`); a prefix ending in `/` covers what starts with it.
    pub(super) fn is_under(&self, prefix: &NormalPath) -> bool {
        let (p, c) = (prefix.0.as_str(), self.0.as_str());
        if p.ends_with('/') {
            c.starts_with(p)
        } else {
            c == p || c.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
        }
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn normal_segment(raw: &str) -> Result<String, UrlError> {
    if raw.contains(';') {
        return Err(UrlError::PathParameter);
    }
    let bytes = raw.as_bytes();
    let mut normal = String::with_capacity(raw.len());
    // What a server that percent-decodes the segment sees, for the checks after the loop.
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            normal.push(char::from(b));
            decoded.push(b);
            i += 1;
            continue;
        }
        let (Some(hi), Some(lo)) = (
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) else {
            return Err(UrlError::BadEscape);
        };
        let value = (hi << 4) | lo;
        if matches!(value, b'.' | b'/' | b'\\' | b';' | b'%') || value.is_ascii_control() {
            return Err(UrlError::EncodedPathByte);
        }
        if unreserved(value) {
            normal.push(char::from(value));
        } else {
            normal.push_str(&format!("%{value:02X}"));
        }
        decoded.push(value);
        i += 3;
    }
    let text = std::str::from_utf8(&decoded).map_err(|_| UrlError::BadEscape)?;
    if text.contains(LOOKALIKES) {
        return Err(UrlError::Lookalike);
    }
    // `...`, `. .` or `..%20`: Windows trims trailing dots and spaces, leaving `..` or `.`.
    if text.contains('.') && text.chars().all(|c| c == '.' || c == ' ') {
        return Err(UrlError::DotSegment);
    }
    Ok(normal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_escapes_decode_and_others_get_upper_case_hex() {
        assert_eq!(
            NormalPath::of("/d%65mo/%7e%41/caf%c3%a9/a%20b"),
            Ok(NormalPath("/demo/~A/caf%C3%A9/a%20b".into()))
        );
        assert_eq!(NormalPath::of("/"), Ok(NormalPath("/".into())));
    }

    #[test]
    fn segment_boundaries() {
        let p = |s: &str| NormalPath::of(s).unwrap();
        assert!(p("/ui").is_under(&p("/ui")));
        assert!(p("/ui/x").is_under(&p("/ui")));
        assert!(!p("/uix").is_under(&p("/ui")));
        assert!(p("/ui/x").is_under(&p("/ui/")));
        assert!(!p("/ui").is_under(&p("/ui/")));
        assert!(p("/u%69/x").is_under(&p("/ui/")));
    }
}
