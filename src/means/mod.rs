//! Means of authentication. A means turns a flow into a verified [`Identity`]; the operator maps
//! attribute tags to its identity fields. A means is offered only if it can provide every
//! requested tag.

pub mod card;
pub mod smart_id;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attributes::{AttributeMapping, AttributeTag, Identity};
use crate::contract::ContractError;

/// Identity fields the card provides (a token without the `beid` data: the first four).
pub const CARD_FIELDS: &[&str] = &[
    "national_number",
    "surname",
    "given_names",
    "full_name",
    "date_of_birth",
    "place_of_birth",
    "gender",
    "nationality",
    "card_number",
    "card_valid_from",
    "card_valid_until",
    "street",
    "postal_code",
    "municipality",
];

/// Identity fields Smart-ID provides (`date_of_birth` when the certificate or code tells it).
pub const SMART_ID_FIELDS: &[&str] = &[
    "national_identity_number",
    "personal_code",
    "identifier_type",
    "country",
    "given_name",
    "surname",
    "full_name",
    "date_of_birth",
    "document_number",
    "certificate_level",
];

/// Every means this build knows. The browser path of a means is `/flow/<id>/<path>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeansId {
    Test,
    Card,
    SmartId,
}

impl MeansId {
    pub fn path(self) -> &'static str {
        match self {
            MeansId::Test => "test",
            MeansId::Card => "card",
            MeansId::SmartId => "smart-id",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [MeansId::Test, MeansId::Card, MeansId::SmartId]
            .into_iter()
            .find(|m| m.path() == raw)
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
    /// Adds the test means: it provides exactly the tags it has fixed values for.
    pub fn with_test(mut self, values: &BTreeMap<AttributeTag, String>) -> Self {
        let mapping = values.keys().map(|t| (t.clone(), t.to_string())).collect();
        self.test_identity = Identity {
            fields: values
                .iter()
                .map(|(t, v)| (t.to_string(), v.clone()))
                .collect(),
        };
        self.with_mapped(MeansId::Test, mapping)
    }

    /// Adds a means whose identity fields answer tags as `mapping` says (tag -> field).
    pub fn with_mapped(mut self, id: MeansId, mapping: BTreeMap<AttributeTag, String>) -> Self {
        self.offers.push(MeansOffer {
            id,
            mapping: AttributeMapping(mapping),
        });
        self
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
            return Err(ContractError::UnknownAttribute(unknown.clone()));
        }
        if self.able(tags).is_empty() {
            return Err(ContractError::NoMeansForAll);
        }
        Ok(())
    }

    /// Every tag some enabled means provides, and whether all of them do.
    pub fn tags(&self) -> Vec<(AttributeTag, bool)> {
        let all: std::collections::BTreeSet<&AttributeTag> = self
            .offers
            .iter()
            .flat_map(|o| o.mapping.0.keys())
            .collect();
        all.into_iter()
            .map(|t| {
                (
                    t.clone(),
                    self.offers.iter().all(|o| o.mapping.0.contains_key(t)),
                )
            })
            .collect()
    }

    pub fn mapping(&self, id: MeansId) -> Option<&AttributeMapping> {
        self.offers.iter().find(|o| o.id == id).map(|o| &o.mapping)
    }

    pub fn test_identity(&self) -> &Identity {
        &self.test_identity
    }
}
