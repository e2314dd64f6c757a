//! A domain's topics and schemas under a home of a test's or a benchmark's own (`clio up` does
//! the same for the whole catalogue under the domains' own names).

use anyhow::Context as _;
use clio_runtime::catalogue::Catalogue;
use clio_runtime::kafka;
use clio_runtime::settings::KafkaSettings;

use crate::Home;

/// Creates the domain's topics of `catalogue` as they are named at `home`, and registers their
/// records' schemas; returns that part of the catalogue.
pub async fn provision(
    kafka: &KafkaSettings,
    registry_url: &str,
    catalogue: &Catalogue,
    home: &Home,
) -> anyhow::Result<Catalogue> {
    let here = home.catalogue(catalogue);
    let topics: Vec<_> = here.topics.iter().collect();
    kafka::create_topics(kafka, &topics).await.with_context(|| format!("creating the topics of {}", home.prefix()))?;
    here.register_all(registry_url, None)
        .await
        .with_context(|| format!("registering the schemas of {}", home.prefix()))?;
    Ok(here)
}
