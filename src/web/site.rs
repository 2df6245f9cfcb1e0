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
    /// Relying party id -> its own look, over the deployment's.
    rp_branding: BTreeMap<String, Branding>,
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
            rp_branding: config.pages.rp_branding.clone(),
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

    /// The branding as templates see it: `logo` (URL), `logo_alt`, `footer`, `stylesheet`
    /// (URL, when a colour is set). A relying party's flow (`rp`) gets each part it sets, the
    /// deployment's for the rest; a logo and its text go together.
    pub fn brand(&self, lang: Lang, base: &str, rp: Option<&str>) -> Value {
        let own = rp.and_then(|id| self.rp_branding.get(id).map(|b| (id, b)));
        let in_lang =
            |m: &BTreeMap<String, String>| m.get(lang.code()).or_else(|| m.get("en")).cloned();
        let dep = &self.branding;
        let with_logo = own
            .map(|(_, b)| b)
            .filter(|b| b.logo.is_some())
            .unwrap_or(dep);
        let footer = own
            .map(|(_, b)| &b.footer)
            .filter(|f| !f.is_empty())
            .unwrap_or(&dep.footer);
        let stylesheet = match own {
            Some((id, b)) if b.primary.is_some() => Some(format!("{base}/static/site.css?rp={id}")),
            _ => dep.primary.map(|_| format!("{base}/static/site.css")),
        };
        json!({
            "logo": with_logo.logo.as_ref().map(|l| format!("{base}/static/site/{}", l.file)),
            "logo_alt": in_lang(&with_logo.logo_alt),
            "footer": in_lang(footer),
            "stylesheet": stylesheet,
        })
    }

    /// `/static/site.css` (`?rp=<id>` for a relying party's own colour): the colour as the
    /// pages' CSS variables (a stylesheet of its own: the CSP allows no inline styles).
    pub fn stylesheet(&self, rp: Option<&str>) -> String {
        let own = rp.and_then(|id| self.rp_branding.get(id)?.primary);
        match own.or(self.branding.primary) {
            Some(c) => format!(":root {{ --accent: {c}; }}\n"),
            None => String::new(),
        }
    }

    /// The deployment's or a relying party's logo, when `file` names one.
    pub fn logo(&self, file: &str) -> Option<(&'static str, &[u8])> {
        std::iter::once(&self.branding)
            .chain(self.rp_branding.values())
            .find_map(|b| b.logo.as_ref().filter(|l| l.file == file))
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
