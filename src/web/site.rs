//! The deployment's side of the pages: attribute labels, who is asking, and the branding, as
//! the templates and the site stylesheet use them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::attributes::AttributeTag;
use crate::branding::{Branding, Requesters};
use crate::config::Config;

use super::lang::Lang;

/// Everything the pages take from the configuration besides the flow.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Operator labels: tag -> language code -> label.
    labels: BTreeMap<AttributeTag, BTreeMap<String, String>>,
    /// The means' mappings (tag -> identity field), card first: a field names what is shared.
    fields: Vec<BTreeMap<AttributeTag, String>>,
    requesters: Requesters,
    branding: Branding,
    /// Where citizens get the card connector.
    pub connector_download: Option<String>,
}

impl Site {
    pub fn from_config(config: &Config) -> Site {
        Site {
            labels: config.pages.labels.clone(),
            fields: vec![
                config.card.attributes.clone(),
                config.smart_id.attributes.clone(),
            ],
            requesters: config.pages.requesters.clone(),
            branding: config.pages.branding.clone(),
            connector_download: config.card.connector_download_url.clone(),
        }
    }

    /// The operator's label in this language; else our text for the identity field the tag
    /// maps to, or for the tag itself when it is a common one (`attr.<name>` in the locale);
    /// else the operator's English label; only then the tag (check-config warns about it).
    pub fn label(
        &self,
        lang: Lang,
        tag: &AttributeTag,
        ours: impl Fn(&str) -> Option<String>,
    ) -> String {
        let operator = self.labels.get(tag);
        operator
            .and_then(|l| l.get(lang.code()).cloned())
            .or_else(|| {
                self.fields
                    .iter()
                    .filter_map(|m| m.get(tag))
                    .find_map(|field| ours(&format!("attr.{field}")))
            })
            .or_else(|| ours(&format!("attr.{tag}")))
            .or_else(|| operator.and_then(|l| l.get("en").cloned()))
            .unwrap_or_else(|| tag.to_string())
    }

    /// Whether a tag has a label other than itself in every language.
    pub fn unlabelled(
        &self,
        tag: &AttributeTag,
        ours: impl Fn(Lang, &str) -> Option<String>,
    ) -> bool {
        Lang::ALL
            .iter()
            .any(|&l| self.label(l, tag, |k| ours(l, k)) == tag.as_str())
    }

    /// Who is asking, for a flow's continuation (see `Requesters::display_name`).
    pub fn requester(&self, continuation: &str) -> Option<&str> {
        self.requesters.display_name(continuation)
    }

    /// The branding as templates see it: `logo` (URL), `logo_alt`, `footer`, `styled`.
    pub fn brand(&self, lang: Lang, base: &str) -> Value {
        let in_lang =
            |m: &BTreeMap<String, String>| m.get(lang.code()).or_else(|| m.get("en")).cloned();
        json!({
            "logo": self.branding.logo.as_ref().map(|l| format!("{base}/static/site/{}", l.file)),
            "logo_alt": in_lang(&self.branding.logo_alt),
            "footer": in_lang(&self.branding.footer),
            "styled": self.branding.primary.is_some(),
        })
    }

    /// `/static/site.css`: the operator's colour as the pages' CSS variables (a stylesheet of
    /// its own: the CSP allows no inline styles).
    pub fn stylesheet(&self) -> String {
        match self.branding.primary {
            Some(c) => format!(":root {{ --accent: {c}; }}\n"),
            None => String::new(),
        }
    }

    /// The logo, when `file` names it.
    pub fn logo(&self, file: &str) -> Option<(&'static str, &[u8])> {
        self.branding
            .logo
            .as_ref()
            .filter(|l| l.file == file)
            .map(|l| (l.content_type, l.bytes.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> AttributeTag {
        AttributeTag::parse(s).unwrap()
    }

    #[test]
    fn labels_prefer_the_operator_then_the_field_then_the_tag() {
        let site = Site {
            labels: [(
                tag("x_custom"),
                [("en".to_string(), "Membership".to_string())].into(),
            )]
            .into(),
            fields: vec![[(tag("dob"), "date_of_birth".to_string())].into()],
            ..Site::default()
        };
        let ours = |k: &str| match k {
            "attr.date_of_birth" => Some("Geboortedatum".to_string()),
            "attr.email" => Some("E-mailadres".to_string()),
            _ => None,
        };
        assert_eq!(site.label(Lang::Nl, &tag("dob"), ours), "Geboortedatum");
        assert_eq!(site.label(Lang::Nl, &tag("email"), ours), "E-mailadres");
        assert_eq!(site.label(Lang::Nl, &tag("x_custom"), ours), "Membership");
        assert_eq!(site.label(Lang::En, &tag("x_custom"), ours), "Membership");
        assert_eq!(site.label(Lang::Nl, &tag("other"), ours), "other");
        assert!(site.unlabelled(&tag("other"), |_, k| ours(k)));
        assert!(!site.unlabelled(&tag("dob"), |_, k| ours(k)));
    }
}
