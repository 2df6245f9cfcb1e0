//! Who is asking, and how the deployment looks: the display name of the service that started a
//! flow, and the operator's logo, primary colour and footer. No HTTP types here.

use std::collections::BTreeMap;
use std::fmt;

use crate::urls::{AllowList, UrlPrefix};

/// An sRGB colour from `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour {
    r: u8,
    g: u8,
    b: u8,
}

impl Colour {
    pub const WHITE: Colour = Colour {
        r: 255,
        g: 255,
        b: 255,
    };

    pub fn parse(raw: &str) -> Option<Colour> {
        let hex = raw.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Colour {
            r: byte(0)?,
            g: byte(2)?,
            b: byte(4)?,
        })
    }

    /// Relative luminance as WCAG 2.2 defines it (sRGB, linearised).
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.r) + 0.7152 * channel(self.g) + 0.0722 * channel(self.b)
    }

    /// WCAG contrast ratio, 1 to 21.
    pub fn contrast_with(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// The operator's logo, read at start-up.
#[derive(Clone)]
pub struct Logo {
    pub file: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Logo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Logo({}, {} bytes)", self.file, self.bytes.len())
    }
}

/// The deployment's look; every part is optional (the built-in look otherwise).
#[derive(Debug, Clone, Default)]
pub struct Branding {
    /// Checked at load: at least 4.5:1 against white.
    pub primary: Option<Colour>,
    pub logo: Option<Logo>,
    /// Language code -> the logo's text alternative.
    pub logo_alt: BTreeMap<String, String>,
    /// Language code -> footer text.
    pub footer: BTreeMap<String, String>,
}

/// Display names of the services that start flows, by continuation prefix.
#[derive(Debug, Clone, Default)]
pub struct Requesters {
    by_prefix: Vec<(AllowList, String)>,
    default: Option<String>,
}

impl Requesters {
    pub fn new(entries: Vec<(UrlPrefix, String)>, default: Option<String>) -> Self {
        // The longest (most specific) prefix wins: test in that order.
        let mut entries = entries;
        entries.sort_by_key(|(p, _)| std::cmp::Reverse(p.specificity()));
        Requesters {
            by_prefix: entries
                .into_iter()
                .map(|(p, name)| (AllowList::new(vec![p], false), name))
                .collect(),
            default,
        }
    }

    /// The one place a flow's requester is named. The flow's continuation (allow-listed when
    /// it started) picks an entry; else the global default; else none (the pages then say
    /// "a service"). A relying party's own name, once flows carry one, belongs here first.
    pub fn display_name(&self, continuation: &str) -> Option<&str> {
        self.by_prefix
            .iter()
            .find(|(list, _)| list.check(continuation).is_ok())
            .map(|(_, name)| name.as_str())
            .or(self.default.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        let black = Colour::parse("#000000").unwrap();
        assert!((black.contrast_with(Colour::WHITE) - 21.0).abs() < 1e-9);
        // Known pairs: #767676 on white is the lightest grey that passes AA (4.54:1).
        let grey = Colour::parse("#767676").unwrap();
        assert!((grey.contrast_with(Colour::WHITE) - 4.54).abs() < 0.01);
        let light = Colour::parse("#777777").unwrap();
        assert!(light.contrast_with(Colour::WHITE) < 4.5);
        assert_eq!(Colour::parse("#1D4f91").unwrap().to_string(), "#1d4f91");
        for bad in ["1d4f91", "#1d4f9", "#1d4f9g", "#1d4f911", "#+1d4f9"] {
            assert!(Colour::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_most_specific_service_names_the_requester() {
        let p = |s| UrlPrefix::parse(s).unwrap();
        let r = Requesters::new(
            vec![
                (p("https://city.example/"), "City".to_string()),
                (p("https://city.example/tax"), "City taxes".to_string()),
            ],
            Some("ID Contact".into()),
        );
        assert_eq!(
            r.display_name("https://city.example/tax/x"),
            Some("City taxes")
        );
        assert_eq!(r.display_name("https://city.example/taxi"), Some("City"));
        assert_eq!(r.display_name("https://other.example/"), Some("ID Contact"));
        assert_eq!(
            Requesters::default().display_name("https://x.example/"),
            None
        );
    }
}
