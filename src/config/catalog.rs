//! The enabled means as the flow offers them, from the validated configuration. Built here,
//! not in `means`, so that `means` needs nothing from the configuration layer above it.

use super::Config;
use crate::means::{MeansCatalog, MeansId};

impl Config {
    /// The enabled means, in the order the start page offers them: test, card, Smart-ID.
    pub fn means_catalog(&self) -> MeansCatalog {
        let mut catalog = MeansCatalog::default();
        if self.test_means.enabled {
            catalog = catalog.with_test(&self.test_means.attributes);
        }
        if self.card.enabled {
            catalog = catalog.with_mapped(MeansId::Card, self.card.attributes.clone());
        }
        if self.smart_id.enabled {
            catalog = catalog.with_mapped(MeansId::SmartId, self.smart_id.attributes.clone());
        }
        catalog
    }
}
