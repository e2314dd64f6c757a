//! The platform's sections of `/console/`: topics with their end offsets, each processor's lag
//! (its group's committed offsets against the end), each read model's lag, then the dead
//! letters (with their replay buttons) and every domain's own sections.

use std::sync::Arc;

use clio_gateway::console::{Panel, Panels, Reading, Table};
use clio_runtime::catalogue::Catalogue;
use clio_runtime::kafka;
use clio_runtime::settings::KafkaSettings;
use sqlx::PgPool;

fn table(columns: &[&str]) -> Table {
    Table { columns: columns.iter().map(|c| (*c).to_string()).collect(), ..Table::default() }
}

/// Runs blocking broker calls off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work).await.map_err(|error| error.to_string())?
}

struct Topics {
    kafka: KafkaSettings,
    names: Vec<String>,
}

impl Panel for Topics {
    fn title(&self) -> String {
        "Topics".into()
    }

    fn read(&self) -> Reading<'_> {
        let (kafka, names) = (self.kafka.clone(), self.names.clone());
        Box::pin(blocking(move || {
            let reader = kafka::reader(&kafka).map_err(|e| e.to_string())?;
            let marks = kafka::watermarks(&reader, &names).map_err(|e| e.to_string())?;
            let mut out = table(&["topic", "partitions", "records (end offsets, summed)"]);
            for name in &names {
                let ends: Vec<i64> =
                    marks.iter().filter(|((topic, _), _)| topic == name).map(|(_, (_, high))| *high).collect();
                out.rows.push(vec![name.clone(), ends.len().to_string(), ends.iter().sum::<i64>().to_string()]);
            }
            Ok(out)
        }))
    }
}

struct ProcessorLag {
    kafka: KafkaSettings,
    groups: Vec<(String, String)>,
}

impl Panel for ProcessorLag {
    fn title(&self) -> String {
        "Processors: lag".into()
    }

    fn read(&self) -> Reading<'_> {
        let (kafka, groups) = (self.kafka.clone(), self.groups.clone());
        Box::pin(blocking(move || {
            let mut out = table(&["processor", "topic", "partition", "committed", "end", "lag"]);
            for at in crate::lag::processors(&kafka, &groups)? {
                let lag = at.lag();
                out.rows.push(vec![
                    at.group,
                    at.topic,
                    at.partition.to_string(),
                    at.committed.map_or_else(|| "-".into(), |o| o.to_string()),
                    at.end.to_string(),
                    lag.to_string(),
                ]);
            }
            Ok(out)
        }))
    }
}

struct ReadModelLag {
    kafka: KafkaSettings,
    pool: PgPool,
    known: Vec<(String, Vec<String>)>,
}

impl Panel for ReadModelLag {
    fn title(&self) -> String {
        "Read models: lag".into()
    }

    fn read(&self) -> Reading<'_> {
        Box::pin(async move {
            let rows = clio_projection::status::status(&self.kafka, &self.pool, &self.known)
                .await
                .map_err(|error| error.to_string())?;
            let mut out = table(&["read model", "topic", "partition", "applied through", "end", "lag"]);
            for row in rows {
                out.rows.push(vec![
                    row.projection,
                    row.topic,
                    row.partition.to_string(),
                    row.next_offset.map_or_else(|| "-".into(), |n| n.to_string()),
                    row.end_offset.to_string(),
                    row.lag.to_string(),
                ]);
            }
            Ok(out)
        })
    }
}

/// The sections of `clio up`'s console, in page order.
pub fn panels(
    catalogue: &Catalogue,
    dead_letters: &clio_dead_letters::DeadLetters,
    domains: &[Arc<dyn clio_plug::Domain>],
    resources: &clio_plug::Resources,
) -> Panels {
    let kafka = resources.kafka.clone();
    let known =
        crate::projections::read_models(domains).into_iter().map(|(config, _)| (config.name, config.topics)).collect();
    let groups = crate::lag::processor_groups(domains);
    let mut panels: Panels = vec![
        Arc::new(Topics { kafka: kafka.clone(), names: catalogue.topics.iter().map(|t| t.name.clone()).collect() }),
        Arc::new(ProcessorLag { kafka: kafka.clone(), groups }),
        Arc::new(ReadModelLag { kafka, pool: resources.pool.clone(), known }),
        Arc::new(dead_letters.clone()),
    ];
    for domain in domains {
        panels.extend(clio_plug::panel::panels_of(domain.as_ref(), resources));
    }
    panels
}
