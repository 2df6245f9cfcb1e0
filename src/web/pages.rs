//! HTML pages: Tera templates and texts compiled into the binary, loaded once at start-up.

use std::collections::BTreeMap;

use figment::providers::{Format, Toml};
use figment::Figment;
use rocket::request::Request;
use serde::Serialize;
use tera::{Context, Tera};

/// Every page template, compiled into the binary under its file name.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html.tera",
    "cancel.html.tera",
    "start.html.tera",
    "test_confirm.html.tera",
    "done.html.tera",
    "error.html.tera",
    "card.html.tera",
    "smart_id_form.html.tera",
    "smart_id_wait.html.tera",
    "smart_id_link.html.tera",
    "demo_index.html.tera",
    "demo_result.html.tera",
];

/// Languages of the pages; English is the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lang {
    En,
    Nl,
    Fr,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
            Lang::Fr => "fr",
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
            let lang = match tag.split('-').next().unwrap_or("") {
                "nl" => Lang::Nl,
                "fr" => Lang::Fr,
                "en" => Lang::En,
                _ => continue,
            };
            if q > best.1 {
                best = (lang, q);
            }
        }
        best.0
    }

    /// The language of a request, from its Accept-Language header.
    pub fn of(req: &Request<'_>) -> Lang {
        Lang::from_accept_language(req.headers().get_one("Accept-Language"))
    }
}

pub type Texts = BTreeMap<String, String>;

fn load_texts(source: &str) -> Result<Texts, Box<figment::Error>> {
    Figment::from(Toml::string(source))
        .extract()
        .map_err(Box::new)
}

/// Templates and texts, ready to render.
pub struct Pages {
    tera: Tera,
    texts: BTreeMap<Lang, Texts>,
    /// Path part of `public_url` (empty, or `/prefix`), for links and form actions.
    base: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    #[error("template: {0}")]
    Template(#[from] tera::Error),
    #[error("texts: {0}")]
    Texts(#[from] Box<figment::Error>),
}

impl Pages {
    pub fn new(base: &str) -> Result<Self, PagesError> {
        let mut tera = Tera::default();
        // Escape every value in every page: attribute values come from cards and phones.
        tera.autoescape_on(vec![".html.tera"]);
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        let texts = BTreeMap::from([
            (Lang::En, load_texts(include_str!("../../locales/en.toml"))?),
            (Lang::Nl, load_texts(include_str!("../../locales/nl.toml"))?),
            (Lang::Fr, load_texts(include_str!("../../locales/fr.toml"))?),
        ]);
        Ok(Pages {
            tera,
            texts,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    pub fn text(&self, lang: Lang, key: &str) -> String {
        self.texts
            .get(&lang)
            .and_then(|t| t.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    /// Renders `template` with `data` plus `t` (texts), `lang` and `base`.
    pub fn render(
        &self,
        template: &str,
        lang: Lang,
        data: &impl Serialize,
    ) -> Result<String, tera::Error> {
        let mut ctx = Context::from_serialize(data)?;
        ctx.insert("t", &self.texts[&lang]);
        ctx.insert("lang", lang.code());
        ctx.insert("base", &self.base);
        self.tera.render(template, &ctx)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    #[cfg(test)]
    fn texts(&self) -> &BTreeMap<Lang, Texts> {
        &self.texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn language_follows_accept_language() {
        assert_eq!(Lang::from_accept_language(None), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("nl-BE,nl;q=0.9,en;q=0.8")),
            Lang::Nl
        );
        assert_eq!(
            Lang::from_accept_language(Some("de-DE, fr;q=0.5, en;q=0.4")),
            Lang::Fr
        );
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0.2, nl;q=0.9")),
            Lang::Nl
        );
        assert_eq!(Lang::from_accept_language(Some("de, es")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some(";;;,q=,x;q=abc")), Lang::En);
    }

    #[test]
    fn every_language_has_every_text() {
        let pages = Pages::new("").unwrap();
        let en: Vec<_> = pages.texts()[&Lang::En].keys().collect();
        for lang in [Lang::Nl, Lang::Fr] {
            let other: Vec<_> = pages.texts()[&lang].keys().collect();
            assert_eq!(en, other, "{lang:?}");
        }
    }

    #[test]
    fn every_template_renders_and_escapes() {
        let pages = Pages::new("/p").unwrap();
        let evil = "<script>alert(1)</script>\"'&";
        let data = json!({
            "id": "AAAAAAAAAAAAAAAAAAAAAA", "csrf": "c", "attributes": [evil],
            "means": [{"id": "test", "label": evil}], "shared": [{"tag": "x", "value": evil}],
            "message": evil, "result": {"status": evil, "claims": [[evil, evil]]},
            "error": evil, "tags": [{"name": evil, "checked": true}], "sid_tags": [evil], "token": evil, "delivery": evil, "raw": evil,
            "connector": "http://127.0.0.1:24801", "countries": [{"code": "EE", "name": evil}],
            "country": "EE", "code": evil, "vc": "1234", "phase": "running", "retry": true,
        });
        let mut rendered = 0;
        for (name, _) in TEMPLATES
            .iter()
            .filter(|(n, _)| !n.starts_with("base") && !n.starts_with("cancel"))
        {
            for lang in [Lang::En, Lang::Nl, Lang::Fr] {
                let html = pages
                    .render(name, lang, &data)
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert!(!html.contains("<script>alert"), "{name} does not escape");
                // Tera escapes '/' as well; browsers decode it in attributes.
                assert!(
                    html.contains("&#x2F;p/static/style.css"),
                    "{name} links the base path"
                );
                rendered += 1;
            }
        }
        assert_eq!(rendered, 3 * (TEMPLATES.len() - 2));
    }
}
