//! The language of a page: the citizen's own choice (`?lang=`, kept in a cookie), else the
//! browser's `Accept-Language`, else English. Plural categories per language.

use rocket::http::{Cookie, SameSite};
use rocket::request::Request;

/// The languages of the pages; English is the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lang {
    En,
    Nl,
    Fr,
    De,
}

/// The citizen's choice from the language switcher; not a secret, not personal.
const LANG_COOKIE: &str = "auth_eid_lang";

/// A plural category (CLDR names); our languages need only these two for cardinals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plural {
    One,
    Other,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Nl, Lang::Fr, Lang::De];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
            Lang::Fr => "fr",
            Lang::De => "de",
        }
    }

    /// The language's own name, as the switcher shows it.
    pub fn endonym(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Nl => "Nederlands",
            Lang::Fr => "Français",
            Lang::De => "Deutsch",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// CLDR cardinal rules for whole numbers: English, Dutch and German say "one" for 1 only;
    /// French for 0 and 1 ("0 essai restant", "2 essais restants").
    pub fn plural(self, n: u64) -> Plural {
        let one = match self {
            Lang::Fr => n <= 1,
            Lang::En | Lang::Nl | Lang::De => n == 1,
        };
        if one {
            Plural::One
        } else {
            Plural::Other
        }
    }

    /// The best supported language of an `Accept-Language` header (by q-value, then order).
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let mut best = (Lang::En, 0.0f32);
        for part in header.unwrap_or("").split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let Some(lang) = Lang::parse(tag.split('-').next().unwrap_or("")) else {
                continue;
            };
            if q > best.1 {
                best = (lang, q);
            }
        }
        best.0
    }

    /// The language of a request: `?lang=` (remembered in a cookie for the next pages), else
    /// the cookie, else `Accept-Language`.
    pub fn of(req: &Request<'_>) -> Lang {
        let asked = req
            .query_value::<&str>("lang")
            .and_then(|v| v.ok())
            .and_then(Lang::parse);
        if let Some(lang) = asked {
            let secure = req.rocket().config().tls_enabled()
                || req
                    .rocket()
                    .state::<super::browser::WebSettings>()
                    .is_some_and(|w| w.secure);
            let cookie = Cookie::build((LANG_COOKIE, lang.code()))
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Lax)
                .max_age(rocket::time::Duration::days(365));
            req.cookies().add(cookie);
            return lang;
        }
        req.cookies()
            .get(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .unwrap_or_else(|| Lang::from_accept_language(req.headers().get_one("Accept-Language")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_accept_language() {
        assert_eq!(Lang::from_accept_language(None), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("nl-BE,nl;q=0.9,en;q=0.8")),
            Lang::Nl
        );
        assert_eq!(
            Lang::from_accept_language(Some("es-ES, fr;q=0.5, en;q=0.4")),
            Lang::Fr
        );
        assert_eq!(
            Lang::from_accept_language(Some("de-DE, fr;q=0.5")),
            Lang::De
        );
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0.2, nl;q=0.9")),
            Lang::Nl
        );
        assert_eq!(Lang::from_accept_language(Some("es, it")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some(";;;,q=,x;q=abc")), Lang::En);
    }

    #[test]
    fn plurals_follow_cldr() {
        use Plural::*;
        let en: Vec<_> = [0, 1, 2].map(|n| Lang::En.plural(n)).into();
        assert_eq!(en, [Other, One, Other]);
        assert_eq!([0, 1, 2].map(|n| Lang::Fr.plural(n)), [One, One, Other]);
        assert_eq!([0, 1, 2].map(|n| Lang::Nl.plural(n)), [Other, One, Other]);
        assert_eq!([0, 1, 2].map(|n| Lang::De.plural(n)), [Other, One, Other]);
    }

    #[test]
    fn every_config_language_is_a_page_language() {
        let codes: Vec<_> = Lang::ALL.iter().map(|l| l.code()).collect();
        assert_eq!(codes, crate::config::LANGUAGES);
    }
}
