//! `[pages]`: what the citizen's pages show besides the flow itself: attribute labels, who is
//! asking, and the deployment's branding. Checked once, with errors that name the key.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::ConfigError;
use crate::attributes::AttributeTag;
use crate::branding::{Branding, Colour, Logo, Requesters};
use crate::urls::UrlPrefix;

/// The page languages (codes as in `lang` attributes); `web::pages::Lang` has one per code.
pub const LANGUAGES: &[&str] = &["en", "nl", "fr", "de"];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawPages {
    /// Who is asking, when no `services` entry matches the flow's continuation.
    pub display_name: Option<String>,
    /// `[[pages.services]]`: a name per continuation prefix (each under `allow.continuation`).
    pub services: Vec<RawService>,
    /// `[pages.labels.<tag>]`: language code = label.
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Directory of the deployment's own files (the logo), served under `/static/site/`.
    pub static_dir: Option<String>,
    /// File name of the logo inside `static_dir` (SVG, PNG or JPEG).
    pub logo: Option<String>,
    /// Alternative text of the logo (the organisation's name), per language.
    pub logo_alt: BTreeMap<String, String>,
    /// `#rrggbb`: buttons, links and the top bar; must reach WCAG AA contrast on white.
    pub primary_color: Option<String>,
    /// Footer text per language.
    pub footer: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub prefix: String,
    pub name: String,
}

/// `[relying_party.branding]`: one relying party's look over the deployment's (each part
/// optional; the logo is a file in `pages.static_dir`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawBranding {
    pub logo: Option<String>,
    pub logo_alt: BTreeMap<String, String>,
    pub primary_color: Option<String>,
    pub footer: BTreeMap<String, String>,
}

/// The validated `[pages]`.
#[derive(Debug, Clone, Default)]
pub struct PagesSettings {
    /// Operator labels: tag -> language code -> label.
    pub labels: BTreeMap<AttributeTag, BTreeMap<String, String>>,
    pub requesters: Requesters,
    pub branding: Branding,
    /// Relying party id -> its own branding (only those that set one).
    pub rp_branding: BTreeMap<String, Branding>,
}

/// Each value's keys are page languages; empty values are refused.
fn per_language(
    raw: &BTreeMap<String, String>,
    key: &str,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (lang, text) in raw {
        let at = format!("{key}.{lang}");
        if !LANGUAGES.contains(&lang.as_str()) {
            errors.push(ConfigError::key(
                at,
                format!(
                    "is not a page language; use one of: {}",
                    LANGUAGES.join(", ")
                ),
            ));
        } else if text.trim().is_empty() || text.chars().count() > 200 {
            errors.push(ConfigError::key(at, "must be 1 to 200 characters"));
        } else {
            out.insert(lang.clone(), text.trim().to_string());
        }
    }
    out
}

fn display_name(raw: &str, key: &str, errors: &mut Vec<ConfigError>) -> Option<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 80 {
        errors.push(ConfigError::key(key, "must be 1 to 80 characters"));
        return None;
    }
    Some(name.to_string())
}

pub(super) fn pages(
    raw: &RawPages,
    continuation: &[UrlPrefix],
    relying_parties: &[(String, &RawBranding)],
    base_dir: &Path,
    errors: &mut Vec<ConfigError>,
) -> PagesSettings {
    let mut labels = BTreeMap::new();
    for (tag, texts) in &raw.labels {
        let key = format!("pages.labels.{tag}");
        match AttributeTag::parse(tag) {
            Ok(t) => {
                labels.insert(t, per_language(texts, &key, errors));
            }
            Err(e) => errors.push(ConfigError::key(key, e.to_string())),
        }
    }
    let default = raw
        .display_name
        .as_deref()
        .and_then(|n| display_name(n, "pages.display_name", errors));
    let mut services = Vec::new();
    for (i, s) in raw.services.iter().enumerate() {
        let key = format!("pages.services[{i}]");
        let Some(name) = display_name(&s.name, &format!("{key}.name"), errors) else {
            continue;
        };
        match UrlPrefix::parse(&s.prefix) {
            Ok(p) if continuation.contains(&p) => services.push((p, name)),
            Ok(_) => errors.push(ConfigError::key(
                format!("{key}.prefix"),
                "must be one of the allow.continuation entries, written the same way",
            )),
            Err(e) => errors.push(ConfigError::key(format!("{key}.prefix"), e.to_string())),
        }
    }
    PagesSettings {
        labels,
        requesters: Requesters::new(services, default),
        branding: branding(&raw.branding(), "pages", raw, base_dir, errors),
        rp_branding: relying_parties
            .iter()
            .enumerate()
            .filter(|(_, (_, b))| {
                b.logo.is_some() || b.primary_color.is_some() || !b.footer.is_empty()
            })
            .map(|(i, (id, b))| {
                let key = format!("relying_party[{i}].branding");
                (id.clone(), branding(b, &key, raw, base_dir, errors))
            })
            .collect(),
    }
}

impl RawPages {
    /// The deployment's branding keys, in the shape a relying party's take.
    fn branding(&self) -> RawBranding {
        RawBranding {
            logo: self.logo.clone(),
            logo_alt: self.logo_alt.clone(),
            primary_color: self.primary_color.clone(),
            footer: self.footer.clone(),
        }
    }
}

/// One look, checked: `at` is where its keys are (`pages`, `relying_party[0].branding`); the
/// logo is read from `pages.static_dir` for every one of them.
fn branding(
    raw: &RawBranding,
    at: &str,
    pages: &RawPages,
    base_dir: &Path,
    errors: &mut Vec<ConfigError>,
) -> Branding {
    let primary = raw.primary_color.as_deref().and_then(|c| {
        let parsed = Colour::parse(c).ok_or_else(|| {
            errors.push(ConfigError::key(
                format!("{at}.primary_color"),
                "must be #rrggbb (six hex digits)",
            ))
        });
        let colour = parsed.ok()?;
        // White text on the colour (buttons) and the colour on white (links): the same ratio.
        let ratio = colour.contrast_with(Colour::WHITE);
        if ratio < 4.5 {
            errors.push(ConfigError::key(
                format!("{at}.primary_color"),
                format!(
                    "has a contrast ratio of {ratio:.2}:1 with white; WCAG AA needs at least 4.5:1 (choose a darker colour)"
                ),
            ));
            return None;
        }
        Some(colour)
    });
    let logo_key = format!("{at}.logo");
    let logo = match (&pages.static_dir, &raw.logo) {
        (_, None) => None,
        (None, Some(_)) => {
            errors.push(ConfigError::key(
                &logo_key,
                "needs pages.static_dir (the directory the logo is in)",
            ));
            None
        }
        (Some(dir), Some(file)) => logo(&base_dir.join(dir), file, &logo_key, errors),
    };
    if logo.is_some() && raw.logo_alt.is_empty() {
        errors.push(ConfigError::key(
            format!("{at}.logo_alt"),
            "give the logo's text (the organisation's name) at least in English",
        ));
    }
    Branding {
        primary,
        logo,
        logo_alt: per_language(&raw.logo_alt, &format!("{at}.logo_alt"), errors),
        footer: per_language(&raw.footer, &format!("{at}.footer"), errors),
    }
}

/// A logo is read once at start-up: a plain file name (no path), of a known type, at most
/// 256 KiB (it is sent with every page view).
fn logo(dir: &Path, file: &str, key: &str, errors: &mut Vec<ConfigError>) -> Option<Logo> {
    let kind = match file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()) {
        Some(e) if e == "svg" => "image/svg+xml",
        Some(e) if e == "png" => "image/png",
        Some(e) if e == "jpg" || e == "jpeg" => "image/jpeg",
        _ => {
            errors.push(ConfigError::key(key, "must be an .svg, .png or .jpg file"));
            return None;
        }
    };
    let plain = file
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !file.starts_with('.');
    if !plain {
        errors.push(ConfigError::key(
            key,
            "must be a file name in pages.static_dir (letters, digits, '.', '_', '-')",
        ));
        return None;
    }
    match std::fs::read(dir.join(file)) {
        Ok(bytes) if bytes.len() <= 256 * 1024 => Some(Logo {
            file: file.to_string(),
            content_type: kind,
            bytes,
        }),
        Ok(_) => {
            errors.push(ConfigError::key(key, "must be at most 256 KiB"));
            None
        }
        Err(e) => {
            errors.push(ConfigError::key(key, format!("cannot read {file}: {e}")));
            None
        }
    }
}
