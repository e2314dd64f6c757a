//! What `/metrics` reads at each scrape besides the process's counters: each processor's and
//! read model's lag per partition, and the dead letters by status and source topic. (Each domain adds its own
//! figures through `Domain::metrics`.)

use std::sync::Arc;

use clio_gateway::metrics::{Collecting, Sample, Source, Sources};
use clio_runtime::settings::KafkaSettings;
use sqlx::PgPool;

/// Each read model's stored offset against the broker's end, per partition.
struct ProjectionLag {
    kafka: KafkaSettings,
    pool: PgPool,
    known: Vec<(String, Vec<String>)>,
}

impl Source for ProjectionLag {
    fn collect(&self) -> Collecting<'_> {
        Box::pin(async move {
            let rows = clio_projection::status::status(&self.kafka, &self.pool, &self.known)
                .await
                .map_err(|error| error.to_string())?;
            let mut samples = Vec::new();
            for row in rows {
                let partition = row.partition.to_string();
                let labels =
                    [("projection", row.projection.as_str()), ("topic", row.topic.as_str()), ("partition", &partition)];
                samples.push(Sample::new(
                    "clio_projection_lag",
                    "Events on the log a read model has not applied yet.",
                    &labels,
                    row.lag as f64,
                ));
                samples.push(Sample::new(
                    "clio_topic_end_offset",
                    "The broker's end offset of a partition a read model reads.",
                    &labels[1..],
                    row.end_offset as f64,
                ));
            }
            Ok(samples)
        })
    }
}

/// Each processor's committed offsets against the end of its commands topic.
struct ProcessorLag {
    kafka: KafkaSettings,
    groups: Vec<(String, String)>,
}

impl Source for ProcessorLag {
    fn collect(&self) -> Collecting<'_> {
        let (kafka, groups) = (self.kafka.clone(), self.groups.clone());
        Box::pin(async move {
            let positions = crate::console::blocking(move || crate::lag::processors(&kafka, &groups)).await?;
            Ok(positions
                .iter()
                .map(|at| {
                    let partition = at.partition.to_string();
                    let labels =
                        [("processor", at.group.as_str()), ("topic", at.topic.as_str()), ("partition", &partition)];
                    Sample::new(
                        "clio_processor_lag",
                        "Commands on the log a processor has not committed yet.",
                        &labels,
                        at.lag() as f64,
                    )
                })
                .collect())
        })
    }
}

/// The sources of `clio up`'s gateway: read-model lag, dead letters, and each domain's own.
pub fn sources(
    kafka: &KafkaSettings,
    pool: &PgPool,
    dead_letters: &clio_dead_letters::DeadLetters,
    domains: &[Arc<dyn clio_plug::Domain>],
    resources: &clio_plug::Resources,
) -> Sources {
    let known =
        crate::projections::read_models(domains).into_iter().map(|(config, _)| (config.name, config.topics)).collect();
    let mut sources: Sources = vec![
        (
            "projections".into(),
            Arc::new(ProjectionLag { kafka: kafka.clone(), pool: pool.clone(), known }) as Arc<dyn Source>,
        ),
        ("dead_letters".into(), Arc::new(dead_letters.clone())),
        (
            "processors".into(),
            Arc::new(ProcessorLag { kafka: kafka.clone(), groups: crate::lag::processor_groups(domains) }),
        ),
    ];
    for domain in domains {
        sources.extend(clio_plug::gauge::sources_of(domain.as_ref(), resources));
    }
    sources
}
