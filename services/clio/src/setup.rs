//! Preparing a platform: the database, the topics and the schemas. Every step is idempotent.

use anyhow::Context as _;
use clio_runtime::catalogue::Catalogue;
use clio_runtime::kafka::{self, TopicOutcome};
use clio_runtime::settings::{KafkaSettings, SchemaSettings};

use crate::cli::{AsyncapiSettings, SchemasSettings, TopicsSettings};

pub fn catalogue(settings: &SchemaSettings) -> anyhow::Result<Catalogue> {
    let dir = settings.dir();
    Catalogue::load(&dir).with_context(|| format!("loading the topic catalogue from {}", dir.display()))
}

pub use clio_runtime::database::{connect_creating, redact};

/// Creates the catalogue's missing topics and says what it did.
pub async fn create_topics(kafka_settings: &KafkaSettings, catalogue: &Catalogue) -> anyhow::Result<()> {
    let topics: Vec<_> = catalogue.topics.iter().collect();
    let outcomes = kafka::create_topics(kafka_settings, &topics)
        .await
        .with_context(|| format!("creating topics on {}", kafka_settings.brokers))?;
    for (name, outcome) in outcomes {
        match outcome {
            TopicOutcome::Created => tracing::info!(topic = %name, "topic created"),
            TopicOutcome::AlreadyExisted => tracing::debug!(topic = %name, "topic exists"),
        }
    }
    Ok(())
}

pub async fn topics_create(settings: &TopicsSettings) -> anyhow::Result<()> {
    let catalogue = catalogue(&settings.schemas)?;
    let topics: Vec<_> = catalogue.topics.iter().collect();
    let outcomes = kafka::create_topics(&settings.kafka, &topics)
        .await
        .with_context(|| format!("creating topics on {}", settings.kafka.brokers))?;
    for (name, outcome) in outcomes {
        let what = match outcome {
            TopicOutcome::Created => "created",
            TopicOutcome::AlreadyExisted => "exists",
        };
        println!("{what:8} {name}");
    }
    Ok(())
}

pub fn topics_list(settings: &TopicsSettings) -> anyhow::Result<()> {
    let catalogue = catalogue(&settings.schemas)?;
    for topic in &catalogue.topics {
        println!(
            "{:28} partitions={:<3} cleanup={:8} retention={:8} records={}",
            topic.name,
            topic.partitions,
            topic.cleanup_policy.as_kafka(),
            topic.retention.to_string(),
            if topic.values.is_empty() { "-".to_string() } else { topic.values.join(",") }
        );
    }
    Ok(())
}

/// Registers every subject of the catalogue with the registry at `registry_url`, with
/// `api_key` when its writes need one.
pub async fn register_schemas(
    registry_url: &str,
    api_key: Option<&str>,
    catalogue: &Catalogue,
) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(catalogue.register_all(registry_url, api_key).await?)
}

pub async fn schemas_register(settings: &SchemasSettings) -> anyhow::Result<()> {
    let catalogue = catalogue(&settings.schemas)?;
    for (subject, id) in register_schemas(
        &settings.registry.registry_url,
        settings.api_key.as_deref().or(settings.registry.registry_token.as_deref()),
        &catalogue,
    )
    .await?
    {
        println!("id={id:<5} {subject}");
    }
    Ok(())
}

/// Writes (or checks) the AsyncAPI document.
pub fn asyncapi(settings: &AsyncapiSettings) -> anyhow::Result<()> {
    let catalogue = catalogue(&settings.schemas)?;
    let text = clio_runtime::asyncapi::yaml(&catalogue, &clio_runtime::asyncapi::Endpoints::default())?;
    if settings.check {
        let current = std::fs::read_to_string(&settings.output).unwrap_or_default();
        anyhow::ensure!(
            current == text,
            "{} is out of date with the catalogue and schemas; run `make asyncapi`",
            settings.output.display()
        );
        println!("{} is up to date", settings.output.display());
        return Ok(());
    }
    if let Some(dir) = settings.output.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&settings.output, text).with_context(|| format!("writing {}", settings.output.display()))?;
    println!("wrote {}", settings.output.display());
    Ok(())
}
