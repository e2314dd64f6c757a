//! Topic creation against existing topics on a real broker: one made as the catalogue says is
//! left alone; one with another partition count or cleanup policy, or a shorter retention, is
//! refused by name, since starting on it would send keys to partitions their history is not
//! on, or compact or delete history. New topics take the environment's replication settings
//! and keep their records as long as the catalogue says (forever unless it says otherwise).

use clio_runtime::catalogue::{CleanupPolicy, Compression, Retention, TopicSpec, ValueFormat};
use clio_runtime::kafka::{self, TopicOutcome};
use clio_testkit::harness::TestEnv;

fn spec(name: &str, partitions: i32, cleanup_policy: CleanupPolicy) -> TopicSpec {
    TopicSpec {
        name: name.to_string(),
        description: String::new(),
        partitions,
        cleanup_policy,
        retention: Retention::Forever,
        compression: Compression::default(),
        key: String::new(),
        format: ValueFormat::Raw,
        values: Vec::new(),
        producers: Vec::new(),
        consumers: Vec::new(),
    }
}

#[tokio::test]
async fn an_existing_topic_unlike_the_catalogue_is_refused_by_name() {
    let env = TestEnv::start().await.expect("env");
    let events = env.unique("check.events");
    let state = env.unique("check.state");
    let created = kafka::create_topics(
        &env.kafka,
        &[&spec(&events, 2, CleanupPolicy::Delete), &spec(&state, 2, CleanupPolicy::Compact)],
    )
    .await
    .expect("created");
    assert!(created.iter().all(|(_, outcome)| *outcome == TopicOutcome::Created), "{created:?}");

    let again = kafka::create_topics(&env.kafka, &[&spec(&events, 2, CleanupPolicy::Delete)]).await.expect("as it is");
    assert_eq!(again, vec![(events.clone(), TopicOutcome::AlreadyExisted)]);

    let more = kafka::create_topics(&env.kafka, &[&spec(&events, 4, CleanupPolicy::Delete)]).await;
    match more {
        Err(clio_runtime::Error::TopicMismatch { topic, difference }) => {
            assert_eq!(topic, events);
            assert_eq!(difference, "it has 2 partitions, the catalogue says 4");
        }
        other => panic!("another partition count must be refused: {other:?}"),
    }

    let deleting = kafka::create_topics(&env.kafka, &[&spec(&state, 2, CleanupPolicy::Delete)]).await;
    match deleting {
        Err(error @ clio_runtime::Error::TopicMismatch { .. }) => {
            let text = error.to_string();
            assert!(text.contains(&state) && text.contains("cleanup.policy is compact"), "{text}");
            assert!(text.contains("docs/deploy.md"), "the refusal says where to read how: {text}");
        }
        other => panic!("another cleanup policy must be refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_topic_keeps_its_records_as_long_as_the_catalogue_says_and_a_shorter_retention_is_refused() {
    let env = TestEnv::start().await.expect("env");
    let forever = env.unique("kept.events");
    let month = env.unique("month.events");
    let mut monthly = spec(&month, 1, CleanupPolicy::Delete);
    monthly.retention = Retention::try_from("30d".to_string()).expect("a retention");
    kafka::create_topics(&env.kafka, &[&spec(&forever, 1, CleanupPolicy::Delete), &monthly]).await.expect("created");
    assert_eq!(
        described(&env.kafka.brokers, &forever, "retention.ms").await.as_deref(),
        Some("-1"),
        "not the broker's 7 days"
    );
    assert_eq!(described(&env.kafka.brokers, &month, "retention.ms").await.as_deref(), Some("2592000000"));

    // The catalogue now wants the 30-day topic kept forever: its records would be deleted.
    let refused = kafka::create_topics(&env.kafka, &[&spec(&month, 1, CleanupPolicy::Delete)]).await;
    match refused {
        Err(clio_runtime::Error::TopicMismatch { topic, difference }) => {
            assert_eq!(topic, month);
            assert_eq!(difference, "it keeps records for 30d (retention.ms 2592000000), the catalogue says forever");
        }
        other => panic!("a shorter retention must be refused: {other:?}"),
    }
    // Kept longer than the catalogue asks: the operator's choice.
    let mut weekly = spec(&forever, 1, CleanupPolicy::Delete);
    weekly.retention = Retention::try_from("7d".to_string()).expect("a retention");
    kafka::create_topics(&env.kafka, &[&weekly]).await.expect("a longer retention is fine");
}

/// One configuration value of a topic, as the broker describes it.
async fn described(brokers: &str, topic: &str, name: &str) -> Option<String> {
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    use rdkafka::client::DefaultClientContext;

    let admin: AdminClient<DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", brokers).create().expect("an admin client");
    let described = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("described")
        .remove(0)
        .expect("the topic's configuration");
    described.get(name).and_then(|entry| entry.value.clone())
}

#[tokio::test]
async fn topics_take_the_environment_s_replication_settings() {
    let env = TestEnv::start().await.expect("env");
    let settings = clio_runtime::settings::KafkaSettings {
        min_insync_replicas: Some(2),
        replication_factor: 2,
        ..env.kafka.clone()
    };
    let name = env.unique("replicated.events");
    kafka::create_topics(&settings, &[&spec(&name, 1, CleanupPolicy::Delete)]).await.expect("created");
    let value = described(&settings.brokers, &name, "min.insync.replicas").await;
    assert_eq!(value.as_deref(), Some("2"), "not the broker's default");
}
