//! HTML pages: Tera templates and texts compiled into the binary, loaded once at start-up.

use std::collections::BTreeMap;

use figment::providers::{Format, Toml};
use figment::Figment;
use serde::Serialize;
use serde_json::json;
use tera::{Context, Tera};

use super::site::Site;
use crate::attributes::AttributeTag;

/// Every page template, compiled into the binary under its file name.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html.tera",
    "cancel.html.tera",
    "choose_another.html.tera",
    "start.html.tera",
    "test_confirm.html.tera",
    "done.html.tera",
    "error.html.tera",
    "rate_limited.html.tera",
    "card.html.tera",
    "smart_id_form.html.tera",
    "smart_id_wait.html.tera",
    "smart_id_link.html.tera",
    "phone.html.tera",
    "phone_code.html.tera",
    "phone_failed.html.tera",
    "demo_index.html.tera",
    "demo_result.html.tera",
    "demo_api.html.tera",
    "demo_api_done.html.tera",
];

pub use super::lang::{Lang, Plural};

pub type Texts = BTreeMap<String, String>;

fn load_texts(source: &str) -> Result<Texts, Box<figment::Error>> {
    Figment::from(Toml::string(source))
        .extract()
        .map_err(Box::new)
}

/// Templates and texts, ready to render, with the deployment's labels and branding.
pub struct Pages {
    tera: Tera,
    texts: BTreeMap<Lang, Texts>,
    /// Path part of `public_url` (empty, or `/prefix`), for links and form actions.
    base: String,
    site: Site,
}

#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    #[error("template: {0}")]
    Template(#[from] tera::Error),
    #[error("texts: {0}")]
    Texts(#[from] Box<figment::Error>),
}

impl Pages {
    pub fn new(base: &str, site: Site) -> Result<Self, PagesError> {
        let mut tera = Tera::default();
        // Escape every value in every page: attribute values come from cards and phones.
        tera.autoescape_on(vec![".html.tera"]);
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        let texts = BTreeMap::from([
            (Lang::En, load_texts(include_str!("../../locales/en.toml"))?),
            (Lang::Nl, load_texts(include_str!("../../locales/nl.toml"))?),
            (Lang::Fr, load_texts(include_str!("../../locales/fr.toml"))?),
            (Lang::De, load_texts(include_str!("../../locales/de.toml"))?),
        ]);
        Ok(Pages {
            tera,
            texts,
            base: base.trim_end_matches('/').to_string(),
            site,
        })
    }

    pub fn text(&self, lang: Lang, key: &str) -> String {
        self.texts
            .get(&lang)
            .and_then(|t| t.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    /// A text with a count: `key_one` or `key_other` by the language's plural rule, `{n}`
    /// replaced.
    pub fn text_n(&self, lang: Lang, key: &str, n: u64) -> String {
        let form = match lang.plural(n) {
            Plural::One => "one",
            Plural::Other => "other",
        };
        self.text(lang, &format!("{key}_{form}"))
            .replace("{n}", &n.to_string())
    }

    /// What the citizen reads for an attribute tag (site.rs: operator label, else ours).
    pub fn label(&self, lang: Lang, tag: &AttributeTag) -> String {
        self.site.label(lang, tag, |key| {
            self.texts.get(&lang).and_then(|t| t.get(key)).cloned()
        })
    }

    /// A tag some language would show as itself (worth a warning at start-up).
    pub fn unlabelled(&self, tag: &AttributeTag) -> bool {
        self.site.unlabelled(tag, |lang, key| {
            self.texts.get(&lang).and_then(|t| t.get(key)).cloned()
        })
    }

    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Renders `template` with `data` plus `t` (texts), `lang`, `base`, the language
    /// switcher (`langs`) and the branding (`brand`).
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
        let langs: Vec<_> = Lang::ALL
            .iter()
            .map(|l| json!({"code": l.code(), "name": l.endonym(), "current": *l == lang}))
            .collect();
        ctx.insert("langs", &langs);
        // A relying party's flow page carries its id (`rp`, see `flow_data`): its own look.
        let rp = ctx.get("rp").and_then(|v| v.as_str()).map(str::to_string);
        ctx.insert("brand", &self.site.brand(lang, &self.base, rp.as_deref()));
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

    #[test]
    fn every_language_has_every_text() {
        let pages = Pages::new("", Site::default()).unwrap();
        let en: Vec<_> = pages.texts()[&Lang::En].keys().collect();
        for lang in [Lang::Nl, Lang::Fr, Lang::De] {
            let other: Vec<_> = pages.texts()[&lang].keys().collect();
            assert_eq!(en, other, "{lang:?}");
        }
    }

    #[test]
    fn every_template_renders_and_escapes() {
        let pages = Pages::new("/p", Site::default()).unwrap();
        let evil = "<script>alert(1)</script>\"'&";
        let data = json!({
            "id": "AAAAAAAAAAAAAAAAAAAAAA", "csrf": "c", "attributes": [evil],
            "means": [{"id": "test", "label": evil, "need": evil, "icon": "/p/static/test.svg", "unusable": evil}],
            "shared": [{"label": evil, "value": evil}], "service": evil, "download": evil,
            "message": evil, "result": {"status": evil, "claims": [[evil, evil]]},
            "error": evil, "tags": [{"name": evil, "checked": true}], "sid_tags": [evil], "token": evil, "delivery": evil, "raw": evil,
            "connector": "http://127.0.0.1:24801", "countries": [{"code": "EE", "name": evil}],
            "country": "EE", "code": evil, "vc": "1234", "phase": "running", "retry": true,
            "typed": evil, "sent_to": evil, "to": evil, "location": evil, "error_field": "number",
            "by_email": false, "can_resend": true, "resend_wait": evil, "demo": true, "fixed": null, "other_number": true, "phone_demo": {"last": {"to": evil, "code": evil}},
        });
        let mut rendered = 0;
        for (name, _) in TEMPLATES.iter().filter(|(n, _)| {
            !["base", "cancel", "choose_another"]
                .iter()
                .any(|p| n.starts_with(p))
        }) {
            for lang in Lang::ALL {
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
        assert_eq!(rendered, Lang::ALL.len() * (TEMPLATES.len() - 3));
    }
}
