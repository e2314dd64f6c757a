//! The matching domain's plug into the platform: what runs beside its pure core
//! (`clio-matching`) and its read models (`clio-matching-projection`). [`MatchingPlug`] is how
//! the `clio` binary, tests and benchmarks run it.
//!
//! # Layout
//! - [`MatchingPlug`]: the matching domain's [`clio_plug::Domain`]: its processor and read
//!   models. Its card holder look-ups run in the retry domain (task type `matching_identity`).

use std::sync::Arc;

use clio_matching::entity::Matching;
use clio_matching_projection::MatchingModel;
use clio_plug::{Core, CoreOf, Domain, Home};
use clio_projection::plugged::Projection;

/// The matching domain, living at its home.
#[derive(Debug, Clone)]
pub struct MatchingPlug {
    home: Home,
}

impl Default for MatchingPlug {
    fn default() -> Self {
        Self { home: Home::production("matching") }
    }
}

impl MatchingPlug {
    /// The matching domain living at `home`.
    pub fn living_at(home: Home) -> Self {
        Self { home }
    }
}

impl Domain for MatchingPlug {
    fn core(&self) -> &dyn Core {
        &CoreOf::<Matching>::NEW
    }

    fn home(&self) -> &Home {
        &self.home
    }

    fn at(&self, home: Home) -> Arc<dyn Domain> {
        Arc::new(Self::living_at(home))
    }

    fn read_models(&self) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(MatchingModel)]
    }
}
