//! The projection runtime (clio-projection) with the tally read model, against the real
//! broker and Postgres. The crash test runs this package's `tally-projector` binary as a child.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use clio_projection::projector::{self, Counters, ProjectorConfig};
use clio_projection::rebuild::{self, Progress};
use clio_projection::status;
use clio_runtime::codec::Codec;
use clio_runtime::processor::ProcessorTopics;
use clio_testkit::harness::TestEnv;
use clio_testkit::records::{eventually, produce_events, produce_raw, read_all};
use clio_testkit::tally::{Balance, Bumped, Deposited, TallyEvent, Withdrawn};
use clio_testkit::tally_model::TallyModel;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

type Event = (String, String, TallyEvent);

/// A stream of tally events over `counters` counters, with about 5 % of them repeated later
/// with the same id (what a processor's re-run after a crash can leave on the log).
fn event_stream(seed: u64, len: usize, counters: usize) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut totals = vec![0i64; counters];
    let mut bumps = vec![0i64; counters];
    let mut stream: Vec<Event> = Vec::new();
    for n in 0..len {
        let c = rng.random_range(0..counters);
        let counter = format!("counter-{c}");
        let id = format!("{:032x}", (seed as u128) << 64 | n as u128);
        let event = if n > 20 && rng.random_bool(0.05) {
            stream[rng.random_range(0..stream.len())].clone()
        } else if rng.random_bool(0.2) {
            bumps[c] += 1;
            (counter.clone(), id, TallyEvent::Bumped(Bumped { counter, bumps: bumps[c] }))
        } else if rng.random_bool(0.35) {
            totals[c] += 10;
            (counter.clone(), id, TallyEvent::Balance(Balance { counter, total: totals[c] }))
        } else if rng.random_bool(0.6) {
            let amount = rng.random_range(1..100);
            (counter.clone(), id, TallyEvent::Deposited(Deposited { command_id: format!("d{n}"), counter, amount }))
        } else {
            let amount = rng.random_range(1..100);
            let to = format!("counter-{}", rng.random_range(0..counters));
            (counter.clone(), id, TallyEvent::Withdrawn(Withdrawn { command_id: format!("w{n}"), counter, to, amount }))
        };
        stream.push(event);
    }
    stream
}

struct Setup {
    env: TestEnv,
    codec: Codec,
    topics: ProcessorTopics,
}

async fn setup(name: &str, partitions: i32) -> Setup {
    let env = TestEnv::start().await.expect("env");
    let prefix = env.unique(name);
    let topics = env.tally_topics(&prefix, partitions).await.expect("topics");
    clio_projection::schema::migrate_platform(&env.pool).await.expect("platform tables");
    let codec = Codec::new(&env.registry_url);
    Setup { env, codec, topics }
}

impl Setup {
    fn config(&self, name: &str) -> ProjectorConfig {
        let mut config = ProjectorConfig::new(name, &[&self.topics.events]);
        config.dead_letters = self.topics.dead_letters.clone();
        config.group_id = format!("{name}-group");
        config.max_batch = 300;
        config
    }

    fn start(&self, name: &str) -> Running {
        let token = CancellationToken::new();
        let (kafka, pool, codec, config, stop) =
            (self.env.kafka.clone(), self.env.pool.clone(), self.codec.clone(), self.config(name), token.clone());
        let task = tokio::spawn(async move { projector::run(&kafka, pool, codec, TallyModel, config, stop).await });
        Running { token, task: Some(task) }
    }

    /// Builds `name` from the whole log with the rebuild (no projector, no crash): the clean
    /// replay the tests compare with.
    async fn clean_replay(&self, name: &str) {
        rebuild::rebuild(
            &self.env.kafka,
            &self.env.pool,
            &self.codec,
            &TallyModel,
            &self.config(name),
            Progress::Hidden,
            &CancellationToken::new(),
        )
        .await
        .expect("clean replay");
    }

    /// Produces `events` in the background, `chunk` at a time with a pause between chunks,
    /// as a processor would while a projector runs.
    fn produce_slowly(&self, events: &[Event], chunk: usize, pause: Duration) -> tokio::task::JoinHandle<()> {
        let (kafka, codec, topic, events) =
            (self.env.kafka.clone(), self.codec.clone(), self.topics.events.clone(), events.to_vec());
        tokio::spawn(async move {
            for part in events.chunks(chunk) {
                produce_events(&kafka, &codec, &topic, part).await;
                tokio::time::sleep(pause).await;
            }
        })
    }

    async fn lag(&self, name: &str) -> i64 {
        let rows =
            status::status(&self.env.kafka, &self.env.pool, &[(name.to_string(), vec![self.topics.events.clone()])])
                .await
                .expect("status");
        rows.iter().filter(|r| r.projection == name).map(|r| r.lag).sum()
    }

    async fn caught_up(&self, name: &str, seconds: u64) -> bool {
        eventually(seconds, async || self.lag(name).await == 0).await
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.env.pool).await.expect(sql)
    }

    /// Rows of `table` in one model and not the other, both ways.
    async fn differences(&self, table: &str, a: &str, b: &str) -> i64 {
        self.count(&format!(
            "SELECT (SELECT count(*) FROM (SELECT * FROM \"{a}\".{table} EXCEPT SELECT * FROM \"{b}\".{table}) x)
                  + (SELECT count(*) FROM (SELECT * FROM \"{b}\".{table} EXCEPT SELECT * FROM \"{a}\".{table}) y)"
        ))
        .await
    }

    /// The model equals a clean replay row for row, and the facts of the stream.
    async fn assert_equals_clean_replay(&self, name: &str, stream: &[Event]) {
        let clean = format!("{name}-c");
        self.clean_replay(&clean).await;
        for table in ["counters", "movements"] {
            let rows = self.count(&format!("SELECT count(*) FROM \"{name}\".{table}")).await;
            let clean_rows = self.count(&format!("SELECT count(*) FROM \"{clean}\".{table}")).await;
            assert_eq!(rows, clean_rows, "{table}: as many rows as a clean replay");
            assert_eq!(self.differences(table, name, &clean).await, 0, "{table}: the same rows as a clean replay");
        }
        // And what the stream itself says, computed without the runtime.
        let distinct: BTreeMap<&str, &TallyEvent> = stream.iter().map(|(_, id, e)| (id.as_str(), e)).collect();
        let movements =
            distinct.values().filter(|e| matches!(e, TallyEvent::Deposited(_) | TallyEvent::Withdrawn(_))).count();
        assert_eq!(
            self.count(&format!("SELECT count(*) FROM \"{name}\".movements")).await,
            movements as i64,
            "one movement per distinct deposit or withdrawal: none missing, none twice"
        );
        let deposits = distinct.values().filter(|e| matches!(e, TallyEvent::Deposited(_))).count();
        assert_eq!(
            self.count(&format!("SELECT coalesce(sum(deposits), 0)::bigint FROM \"{name}\".counters")).await,
            deposits as i64,
            "every deposit counted once"
        );
        let counters: BTreeSet<&str> = stream.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(self.count(&format!("SELECT count(*) FROM \"{name}\".counters")).await, counters.len() as i64);
    }
}

struct Running {
    token: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<Counters>>>,
}

impl Running {
    async fn stop(mut self) -> Counters {
        self.token.cancel();
        self.task.take().expect("running").await.expect("joined").expect("projector ran cleanly")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_row_records_the_event_that_last_changed_it_and_a_repeated_event_changes_nothing() {
    let s = setup("rows", 2).await;
    let name = s.env.unique("rows");
    let first = (
        "counter-a".to_string(),
        format!("{:032x}", 1),
        TallyEvent::Deposited(Deposited { command_id: "d1".into(), counter: "counter-a".into(), amount: 5 }),
    );
    let stream = vec![
        first.clone(),
        first.clone(),
        (
            "counter-a".to_string(),
            format!("{:032x}", 2),
            TallyEvent::Balance(Balance { counter: "counter-a".into(), total: 5 }),
        ),
    ];
    produce_events(&s.env.kafka, &s.codec, &s.topics.events, &stream).await;
    let running = s.start(&name);
    assert!(s.caught_up(&name, 60).await, "the projector caught up");
    let counters = running.stop().await;
    assert_eq!((counters.events, counters.duplicates), (2, 1), "the repeated event was recognised by its id");

    let (deposits, total, offset, event_id): (i64, i64, i64, String) = sqlx::query_as(&format!(
        "SELECT deposits, total, source_offset, replace(event_id::text, '-', '') FROM \"{name}\".counters WHERE counter = 'counter-a'"
    ))
    .fetch_one(&s.env.pool)
    .await
    .expect("the counter's row");
    assert_eq!((deposits, total), (1, 5));
    assert_eq!((offset, event_id), (2, format!("{:032x}", 2)), "the row names the event that last changed it");
    let stored: Vec<i64> = sqlx::query_scalar("SELECT next_offset FROM clio.projection_offsets WHERE projection = $1")
        .bind(&name)
        .fetch_all(&s.env.pool)
        .await
        .expect("offsets");
    assert_eq!(stored.iter().sum::<i64>(), 3, "the stored offsets cover all three records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_the_read_model_cannot_take_become_dead_letters_and_the_next_ones_are_applied() {
    let s = setup("dead", 1).await;
    let name = s.env.unique("dead");
    produce_raw(&s.env.kafka, &s.topics.events, Some(0), Some("counter-x"), b"not avro at all", &[]).await;
    let zero = vec![(
        "counter-x".to_string(),
        format!("{:032x}", 7),
        TallyEvent::Deposited(Deposited { command_id: "d0".into(), counter: "counter-x".into(), amount: 0 }),
    )];
    produce_events(&s.env.kafka, &s.codec, &s.topics.events, &zero).await;
    let good = vec![
        (
            "counter-x".to_string(),
            format!("{:032x}", 8),
            TallyEvent::Deposited(Deposited { command_id: "d1".into(), counter: "counter-x".into(), amount: 3 }),
        ),
        (
            "counter-x".to_string(),
            format!("{:032x}", 9),
            TallyEvent::Balance(Balance { counter: "counter-x".into(), total: 3 }),
        ),
    ];
    produce_events(&s.env.kafka, &s.codec, &s.topics.events, &good).await;

    let running = s.start(&name);
    assert!(s.caught_up(&name, 60).await, "the projector passed the bad records");
    let counters = running.stop().await;
    assert_eq!(counters.dead_letters, 2);
    let dead = read_all(&s.env.kafka, &s.topics.dead_letters).await;
    let reasons: Vec<String> = dead
        .iter()
        .map(|m| clio_runtime::headers::get(m, clio_runtime::headers::DLQ_REASON).unwrap_or_default().to_string())
        .collect();
    assert_eq!(dead.len(), 2, "two dead letters: {reasons:?}");
    assert!(reasons[0].starts_with("cannot decode"), "{}", reasons[0]);
    assert!(reasons[1].contains("movements_amount_check"), "{}", reasons[1]);
    let original = s.codec.encode(&s.topics.events, &zero[0].2).await.expect("encodes");
    assert_eq!(dead[1].payload(), Some(original.as_slice()), "the record is kept unchanged");
    assert_eq!(dead[0].payload(), Some(&b"not avro at all"[..]));
    assert_eq!(s.count(&format!("SELECT total FROM \"{name}\".counters WHERE counter = 'counter-x'")).await, 3);
    assert_eq!(s.count(&format!("SELECT count(*) FROM \"{name}\".movements")).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_projector_at_random_moments_leaves_the_tables_of_a_clean_replay() {
    let s = setup("pcrash", 4).await;
    let name = s.env.unique("pcrash");
    let stream = event_stream(11, 6_000, 40);
    let producing = s.produce_slowly(&stream, 200, Duration::from_millis(100));
    let spawn = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_tally-projector"))
            .env("CLIO_BROKERS", &s.env.kafka.brokers)
            .env("CLIO_REGISTRY_URL", &s.env.registry_url)
            .env("CLIO_DATABASE_URL", clio_testkit::harness::test_database_url())
            .env("CLIO_SESSION_TIMEOUT_MS", "2000")
            .env("TALLY_PROJECTION", &name)
            .env("TALLY_EVENTS", &s.topics.events)
            .env("TALLY_DEAD_LETTERS", &s.topics.dead_letters)
            .env("TALLY_MAX_BATCH", "150")
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .expect("tally-projector starts")
    };
    let mut rng = StdRng::seed_from_u64(7);
    let mut kills = 0;
    while !producing.is_finished() || kills < 10 {
        let mut child = spawn();
        tokio::time::sleep(Duration::from_millis(rng.random_range(600..2_500))).await;
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
        kills += 1;
    }
    producing.await.expect("all events produced");
    let mut child = spawn();
    let settled = s.caught_up(&name, 120).await;
    child.start_kill().expect("stop");
    child.wait().await.expect("reaped");
    assert!(settled, "the projector caught up after {kills} kills");
    s.assert_equals_clean_replay(&name, &stream).await;
    eprintln!("projection crash test: {kills} SIGKILLs, {} events, tables equal to a clean replay", stream.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projector_instances_share_the_partitions_and_rebalancing_loses_and_doubles_nothing() {
    let s = setup("pair", 4).await;
    let name = s.env.unique("pair");
    let stream = event_stream(12, 4_000, 30);
    let producing = s.produce_slowly(&stream, 100, Duration::from_millis(60));
    // Instances come and go while events arrive: every change is a rebalance.
    let mut a = s.start(&name);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let b = s.start(&name);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let first = a.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    a = s.start(&name);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let second = b.stop().await;
    producing.await.expect("all events produced");
    assert!(s.caught_up(&name, 120).await, "the remaining instance caught up");
    let third = a.stop().await;
    assert!(first.events > 0 && second.events > 0, "both instances applied events: {first:?} {second:?}");
    eprintln!("instances: {first:?} / {second:?} / {third:?}");
    s.assert_equals_clean_replay(&name, &stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_swaps_in_while_readers_query_and_they_never_see_an_empty_or_half_built_model() {
    let s = setup("rebuild", 4).await;
    let name = s.env.unique("rebuild");
    let stream = event_stream(13, 8_000, 50);
    let (before, during) = stream.split_at(5_000);
    produce_events(&s.env.kafka, &s.codec, &s.topics.events, before).await;
    let live = s.start(&name);
    assert!(s.caught_up(&name, 90).await, "the live model caught up");
    let initial = s.count(&format!("SELECT count(*) FROM \"{name}\".movements")).await;
    assert!(initial > 1_000);

    // Readers query all along; the movements only ever grow, so a smaller count is a reader
    // seeing an empty or half-built model.
    let stop = Arc::new(AtomicBool::new(false));
    let smallest = Arc::new(AtomicI64::new(i64::MAX));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (pool, stop, smallest, sql) =
            (s.env.pool.clone(), stop.clone(), smallest.clone(), format!("SELECT count(*) FROM \"{name}\".movements"));
        readers.push(tokio::spawn(async move {
            let mut queries = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let count: i64 = sqlx::query_scalar(&sql).fetch_one(&pool).await.expect("readers never get an error");
                smallest.fetch_min(count, Ordering::Relaxed);
                queries += 1;
            }
            queries
        }));
    }
    let producing = s.produce_slowly(during, 100, Duration::from_millis(40));
    let report = rebuild::rebuild(
        &s.env.kafka,
        &s.env.pool,
        &s.codec,
        &TallyModel,
        &s.config(&name),
        Progress::Hidden,
        &CancellationToken::new(),
    )
    .await
    .expect("the rebuild swapped in");
    producing.await.expect("produced");
    assert!(s.caught_up(&name, 90).await, "the live projector carried on after the swap");
    stop.store(true, Ordering::Relaxed);
    let mut queries = 0;
    for reader in readers {
        queries += reader.await.expect("reader");
    }
    let live_counters = live.stop().await;
    assert!(queries > 10, "readers queried during the rebuild ({queries} queries)");
    assert!(smallest.load(Ordering::Relaxed) >= initial, "readers never saw fewer rows than before the rebuild");
    assert!(report.records >= 5_000, "{report:?}");
    let schemas: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1 || '%'")
            .bind(&name)
            .fetch_all(&s.env.pool)
            .await
            .expect("schemas");
    assert_eq!(schemas, vec![name.clone()], "the old model was dropped and nothing else is left");
    eprintln!("rebuild: {report:?}; live projector: {live_counters:?}; {queries} reader queries");
    s.assert_equals_clean_replay(&name, &stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_starts_from_the_offsets_stored_in_postgres_and_ignores_where_kafka_would_start() {
    let s = setup("seek", 1).await;
    let name = s.env.unique("seek");
    let stream: Vec<Event> = (0..3)
        .map(|n| {
            let counter = format!("counter-{n}");
            let event = TallyEvent::Balance(Balance { counter: counter.clone(), total: n });
            (counter, format!("{n:032x}"), event)
        })
        .collect();
    produce_events(&s.env.kafka, &s.codec, &s.topics.events, &stream).await;
    // The model already holds the first two events (say, restored from a backup); the group
    // has no offsets in Kafka, so Kafka alone would start at the beginning.
    projector::prepare(&s.env.pool, &TallyModel, &name).await.expect("prepared");
    sqlx::query(
        "INSERT INTO clio.projection_offsets (projection, topic, partition, next_offset) VALUES ($1, $2, 0, 2)",
    )
    .bind(&name)
    .bind(&s.topics.events)
    .execute(&s.env.pool)
    .await
    .expect("stored offset");
    let running = s.start(&name);
    assert!(s.caught_up(&name, 60).await, "the projector caught up");
    let counters = running.stop().await;
    let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT counter FROM \"{name}\".counters ORDER BY counter"))
        .fetch_all(&s.env.pool)
        .await
        .expect("rows");
    assert_eq!(rows, vec!["counter-2".to_string()], "only the event at the stored offset was applied");
    assert_eq!(counters.events, 1);
}

/// The tally model, which cancels a token after a number of batches: an interruption at a
/// known point in a rebuild.
struct InterruptingModel {
    batches_left: std::sync::atomic::AtomicUsize,
    token: CancellationToken,
}

impl clio_projection::ReadModel for InterruptingModel {
    type Event = TallyEvent;

    fn name(&self) -> &'static str {
        TallyModel.name()
    }

    fn topics(&self) -> &'static [&'static str] {
        TallyModel.topics()
    }

    fn migrations(&self) -> &[clio_projection::Migration] {
        clio_testkit::tally_model::MIGRATIONS
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        events: &'a [clio_projection::Envelope<TallyEvent>],
    ) -> futures::future::BoxFuture<'a, Result<(), sqlx::Error>> {
        if self.batches_left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.token.cancel();
        }
        TallyModel.apply(tx, events)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rebuild_leaves_the_live_model_untouched_and_can_be_started_again() {
    let s = setup("halt", 2).await;
    let name = s.env.unique("halt");
    let stream = event_stream(14, 3_000, 20);
    produce_events(&s.env.kafka, &s.codec, &s.topics.events, &stream).await;
    let live = s.start(&name);
    assert!(s.caught_up(&name, 90).await, "the live model caught up");
    live.stop().await;
    let before = s.count(&format!("SELECT count(*) FROM \"{name}\".movements")).await;

    let token = CancellationToken::new();
    let interrupting = InterruptingModel { batches_left: 3.into(), token: token.clone() };
    let mut config = s.config(&name);
    config.max_batch = 200;
    let interrupted =
        rebuild::rebuild(&s.env.kafka, &s.env.pool, &s.codec, &interrupting, &config, Progress::Hidden, &token).await;
    assert!(interrupted.is_err(), "the rebuild stopped part-way");
    let half_built = s.count(&format!("SELECT count(*) FROM \"{name}__rebuild\".movements")).await;
    assert!(half_built > 0 && half_built < before, "a half-built model was left aside ({half_built} of {before} rows)");
    assert_eq!(
        s.count(&format!("SELECT count(*) FROM \"{name}\".movements")).await,
        before,
        "the live model is untouched"
    );
    assert_eq!(s.lag(&name).await, 0, "the live offsets are untouched");

    s.clean_replay(&name).await; // the same rebuild, started again
    let schemas: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1 || '%'")
            .bind(&name)
            .fetch_all(&s.env.pool)
            .await
            .expect("schemas");
    assert_eq!(schemas, vec![name.clone()], "nothing of the interrupted rebuild is left");
    s.assert_equals_clean_replay(&name, &stream).await;
}
