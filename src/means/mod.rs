//! Means of authentication. A means turns a flow into a verified [`Identity`]; the operator maps
//! attribute tags to its identity fields. A means is offered only if it can provide every
//! requested tag.

pub mod card;
pub mod smart_id;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attributes::{AttributeMapping, AttributeTag, Identity};
use crate::config::Config;
use crate::contract::ContractError;

/// Every means this build knows. The browser path of a means is `/flow/<id>/<path>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeansId {
    Test,
}

impl MeansId {
    pub fn path(self) -> &'static str {
        match self {
            MeansId::Test => "test",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "test" => Some(MeansId::Test),
            _ => None,
        }
    }
}

/// One enabled means and what it can answer.
#[derive(Debug, Clone)]
pub struct MeansOffer {
    pub id: MeansId,
    pub mapping: AttributeMapping,
}

/// The enabled means, in the order the start page offers them.
#[derive(Debug, Clone, Default)]
pub struct MeansCatalog {
    offers: Vec<MeansOffer>,
    /// Fixed identity of the test means (tag = value).
    test_identity: Identity,
}

impl MeansCatalog {
    pub fn from_config(config: &Config) -> Self {
        let mut catalog = MeansCatalog::default();
        let test = &config.test_means;
        if test.enabled {
            let mapping: BTreeMap<AttributeTag, String> = test
                .attributes
                .keys()
                .map(|t| (t.clone(), t.to_string()))
                .collect();
            catalog.test_identity = Identity {
                fields: test
                    .attributes
                    .iter()
                    .map(|(t, v)| (t.to_string(), v.clone()))
                    .collect(),
            };
            catalog.offers.push(MeansOffer {
                id: MeansId::Test,
                mapping: AttributeMapping(mapping),
            });
        }
        catalog
    }

    /// The means that can provide every one of `tags`.
    pub fn able(&self, tags: &[AttributeTag]) -> Vec<MeansId> {
        self.offers
            .iter()
            .filter(|o| o.mapping.provides_all(tags))
            .map(|o| o.id)
            .collect()
    }

    /// A start request's tags are acceptable if one enabled means provides them all.
    pub fn check(&self, tags: &[AttributeTag]) -> Result<(), ContractError> {
        if let Some(unknown) = tags
            .iter()
            .find(|t| !self.offers.iter().any(|o| o.mapping.0.contains_key(*t)))
        {
            return Err(ContractError::UnknownAttribute(unknown.to_string()));
        }
        if self.able(tags).is_empty() {
            return Err(ContractError::NoMeansForAll);
        }
        Ok(())
    }

    pub fn mapping(&self, id: MeansId) -> Option<&AttributeMapping> {
        self.offers.iter().find(|o| o.id == id).map(|o| &o.mapping)
    }

    pub fn test_identity(&self) -> &Identity {
        &self.test_identity
    }
}
