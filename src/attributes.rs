//! Attribute tags: the names the core asks for. They have no fixed meaning; the operator maps
//! each tag to a field of each means in configuration.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A checked attribute tag: 1 to 64 characters of `A-Z a-z 0-9 _ - . :`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AttributeTag(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an attribute tag is 1 to 64 characters of letters, digits, '_', '-', '.' or ':'")]
pub struct BadTag;

impl AttributeTag {
    pub fn parse(raw: &str) -> Result<Self, BadTag> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
        if ok {
            Ok(AttributeTag(raw.to_string()))
        } else {
            Err(BadTag)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AttributeTag {
    type Error = BadTag;
    fn try_from(s: String) -> Result<Self, BadTag> {
        AttributeTag::parse(&s)
    }
}

impl From<AttributeTag> for String {
    fn from(t: AttributeTag) -> String {
        t.0
    }
}

impl fmt::Display for AttributeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a means proved about the citizen: named fields with string values. Field names are
/// documented per means in `docs/configuration.md`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub fields: BTreeMap<String, String>,
}

/// Values are personal data: `Debug` names the fields only.
impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Per means: which identity field answers which tag.
#[derive(Debug, Clone, Default)]
pub struct AttributeMapping(pub BTreeMap<AttributeTag, String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the verified identity has no field `{field}` for attribute `{tag}`")]
pub struct MissingField {
    pub tag: AttributeTag,
    pub field: String,
}

impl AttributeMapping {
    pub fn provides_all(&self, tags: &[AttributeTag]) -> bool {
        tags.iter().all(|t| self.0.contains_key(t))
    }

    /// Exactly the requested tags, from the identity, or which one could not be answered.
    pub fn resolve(
        &self,
        tags: &[AttributeTag],
        identity: &Identity,
    ) -> Result<BTreeMap<String, String>, MissingField> {
        tags.iter()
            .map(|tag| {
                let field = self.0.get(tag).cloned().unwrap_or_default();
                identity
                    .fields
                    .get(&field)
                    .map(|v| (tag.to_string(), v.clone()))
                    .ok_or(MissingField {
                        tag: tag.clone(),
                        field,
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked() {
        assert!(AttributeTag::parse("email").is_ok());
        assert!(AttributeTag::parse("age-18:nl.v1_x").is_ok());
        for bad in ["", "a b", "naïve", "x<", &"a".repeat(65)] {
            assert!(AttributeTag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_gives_exactly_the_requested_tags() {
        let tag = |s| AttributeTag::parse(s).unwrap();
        let mapping = AttributeMapping(
            [
                (tag("name"), "full_name".to_string()),
                (tag("nrn"), "national_number".into()),
            ]
            .into(),
        );
        let id = Identity {
            fields: [
                ("full_name".to_string(), "An".to_string()),
                ("national_number".into(), "1".into()),
            ]
            .into(),
        };
        let got = mapping.resolve(&[tag("name")], &id).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got["name"], "An");
        assert!(mapping.resolve(&[tag("other")], &id).is_err());
        assert!(!format!("{id:?}").contains("An"));
    }
}
