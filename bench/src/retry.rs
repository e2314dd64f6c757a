//! The retry domain's figures, on the embedded stack (its processor and worker in this process,
//! the sandbox's echo server as the outside world):
//! - tasks/s from CreateTask to SUCCESS, beside a Postgres job queue (`SELECT … FOR UPDATE
//!   SKIP LOCKED`, the pattern graphile-worker and River use) making the same calls with as
//!   many workers as Clio's worker runs at once;
//! - how late a due run starts: retries due 3 s after a 503, from their due time to their
//!   AttemptStarted on the events topic;
//! - the memory of the process (processor and worker) holding many tasks scheduled a day ahead,
//!   beside the size of the same jobs in the queue's table.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clio_plug::Home;
use clio_retry::decide::Retry;
use clio_retry::messages::{CreateTask, RetryCommand, RetryEvent};
use clio_retry_plug::RetryPlug;
use clio_retry_plug::client::{RetryClient, now_micros};
use clio_retry_plug::handlers::Handlers;
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::processor;
use clio_runtime::settings::KafkaSettings;
use futures::StreamExt as _;
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::end_to_end::Latency;

/// The retry run's figures.
pub struct RetryRun {
    pub tasks: usize,
    pub concurrency: usize,
    pub clio_seconds: f64,
    pub queue_seconds: f64,
    pub lateness: Latency,
    pub late_tasks: usize,
    pub scheduled: usize,
    pub rss_growth_bytes: i64,
    pub queue_table_bytes: i64,
}

/// What the bench's own reader of the events topic saw.
#[derive(Default)]
struct Seen {
    succeeded: AtomicUsize,
    created: AtomicUsize,
    /// Retries due, by task: when.
    due: Mutex<HashMap<String, i64>>,
    /// From due to AttemptStarted seen, microseconds.
    lateness: Mutex<Vec<i64>>,
}

pub async fn figures(
    kafka: &KafkaSettings,
    database_url: &str,
    registry_url: &str,
    prefix: &str,
    tasks: usize,
    scheduled: usize,
) -> anyhow::Result<RetryRun> {
    let token = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("a port for the sandbox")?;
    let sandbox = format!("http://{}", listener.local_addr()?);
    tokio::spawn(clio_sandbox::serve(listener, token.clone()));

    let catalogue = Catalogue::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"))?;
    let home = Home::prefixed("retry", &format!("{prefix}-retry"));
    clio_plug::provision::provision(kafka, registry_url, &catalogue, &home).await?;
    let codec = Codec::new(registry_url);
    let plug = RetryPlug::living_at(home.clone());
    let processing = {
        let (kafka, codec, config, token) = (kafka.clone(), codec.clone(), home.processor_config(), token.clone());
        tokio::spawn(async move { processor::run::<Retry>(&kafka, codec, config, token).await.map(|_| ()) })
    };
    let worker_config = plug.worker_config(CONCURRENCY, "http://127.0.0.1:9");
    let working = {
        let (kafka, client, token) = (kafka.clone(), plug.client(kafka, &codec)?, token.clone());
        let handlers = Handlers::new(&format!("{sandbox}/schemes/{{scheme}}"));
        tokio::spawn(async move { clio_retry_plug::worker::run(&kafka, worker_config, client, handlers, token).await })
    };
    let seen = Arc::new(Seen::default());
    let watching = tokio::spawn(watch(kafka.clone(), codec.clone(), home.topic("events"), seen.clone(), token.clone()));
    let client = plug.client(kafka, &codec)?;

    let outcome = async {
        eprintln!("  retry: {tasks} HTTP tasks, create → SUCCESS, {CONCURRENCY} runs at once");
        let started = Instant::now();
        let commands = (0..tasks).map(|n| http_task(&format!("tp-{n}"), &format!("{sandbox}/echo/bench/{n}"), 0, ""));
        send_all(&client, commands).await?;
        wait_for(&seen.succeeded, tasks, "tasks succeeded").await?;
        let clio_seconds = started.elapsed().as_secs_f64();

        eprintln!("  queue: the same {tasks} calls through a Postgres SKIP LOCKED job queue");
        let queue_seconds = job_queue(database_url, &sandbox, tasks).await?;

        let late_tasks = tasks.min(2_000);
        eprintln!("  retry: {late_tasks} tasks failing once (503), each retried 3 s later: how late the retry starts");
        let commands: Vec<RetryCommand> = (0..late_tasks)
            .map(|n| http_task(&format!("lt-{n}"), &format!("{sandbox}/echo/late/{n}"), 1, RETRY_IN_3_S))
            .collect();
        // At a steady 1,000 tasks/s, so that the retries come due one after another.
        for chunk in commands.chunks(100) {
            send_all(&client, chunk.iter().cloned()).await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_for(&seen.succeeded, tasks + late_tasks, "tasks succeeded").await?;
        let lateness = Latency::of(seen.lateness.lock().await.iter().map(|&micros| micros as f64 / 1_000.0).collect());

        eprintln!("  retry: {scheduled} tasks scheduled a day ahead, held by the processor");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = rss_bytes()?;
        let created_before = seen.created.load(Ordering::Relaxed);
        let tomorrow = now_micros() + 86_400_000_000;
        let decided = || seen.created.load(Ordering::Relaxed) - created_before;
        for start in (0..scheduled).step_by(10_000) {
            // At most 50,000 ahead of the processor: a flood of commands it has not read yet
            // measures the broker's backlog, not the processor.
            while start > decided() + 50_000 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let end = (start + 10_000).min(scheduled);
            let chunk = (start..end).map(|n| http_task(&format!("sc-{n}"), &format!("{sandbox}/echo/s/{n}"), 0, ""));
            send_all(&client, chunk.map(|command| scheduled_at(command, tomorrow))).await?;
            eprint!("\r    {end}/{scheduled} produced, {} decided", decided());
        }
        wait_for(&seen.created, created_before + scheduled, "scheduled tasks created").await?;
        eprintln!();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let rss_growth_bytes = rss_bytes()? - before;
        let queue_table_bytes = queue_table_size(database_url, &sandbox, scheduled).await?;
        Ok::<_, anyhow::Error>(RetryRun {
            tasks,
            concurrency: CONCURRENCY,
            clio_seconds,
            queue_seconds,
            lateness,
            late_tasks,
            scheduled,
            rss_growth_bytes,
            queue_table_bytes,
        })
    }
    .await;
    token.cancel();
    processing.await??;
    working.await??;
    watching.await??;
    outcome
}

/// Runs the worker (and the queue's workers) perform at once.
const CONCURRENCY: usize = 32;

/// A policy whose first retry comes 3 s after the failure, exactly (no jitter).
const RETRY_IN_3_S: &str = r#"{"backoff": {"base": 1.0, "unit_seconds": 3.0, "cap_seconds": 3.0, "jitter": 0.0}}"#;

fn http_task(task_id: &str, url: &str, fail_first: u32, policy: &str) -> RetryCommand {
    let headers = if fail_first > 0 { json!({"X-Sandbox-Fail-First": fail_first.to_string()}) } else { json!({}) };
    RetryCommand::CreateTask(CreateTask {
        task_id: task_id.into(),
        task_type: "http".into(),
        params: json!({"method": "POST", "url": url, "headers": headers, "body": {"n": task_id}}).to_string(),
        idempotency_key: String::new(),
        reply_topic: String::new(),
        reply_key: String::new(),
        policy: policy.into(),
        not_before: 0,
        ts: now_micros(),
    })
}

fn scheduled_at(mut command: RetryCommand, at: i64) -> RetryCommand {
    if let RetryCommand::CreateTask(c) = &mut command {
        c.not_before = at;
    }
    command
}

/// Produces the commands, a thousand in flight at a time.
async fn send_all(client: &RetryClient, commands: impl Iterator<Item = RetryCommand>) -> anyhow::Result<()> {
    let sends = futures::stream::iter(commands).map(|command| async move { client.send(&command).await });
    let results: Vec<anyhow::Result<()>> = sends.buffer_unordered(1_000).collect().await;
    results.into_iter().collect()
}

async fn wait_for(counter: &AtomicUsize, target: usize, what: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while counter.load(Ordering::Relaxed) < target {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "only {} of {target} {what} after 15 minutes",
            counter.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Reads the events topic from its start: counts successes and creations, and times each
/// retry's start against its due time.
async fn watch(
    kafka: KafkaSettings,
    codec: Codec,
    topic: String,
    seen: Arc<Seen>,
    token: CancellationToken,
) -> anyhow::Result<()> {
    let group = format!("{topic}-bench-watch");
    let consumer: StreamConsumer = clio_runtime::kafka::consumer_config(&kafka, &group)?.create()?;
    consumer.subscribe(&[&topic])?;
    let mut stream = consumer.stream();
    loop {
        let message = tokio::select! {
            () = token.cancelled() => return Ok(()),
            message = stream.next() => message,
        };
        let Some(message) = message else { return Ok(()) };
        let message = message?;
        let Some(payload) = message.payload() else { continue };
        let Ok(event) = codec.decode_as::<RetryEvent>(payload).await else { continue };
        match event {
            RetryEvent::TaskSucceeded(_) => {
                seen.succeeded.fetch_add(1, Ordering::Relaxed);
            }
            RetryEvent::TaskCreated(c) if c.task_id.starts_with("sc-") => {
                seen.created.fetch_add(1, Ordering::Relaxed);
            }
            RetryEvent::RetryScheduled(r) if r.task_id.starts_with("lt-") => {
                seen.due.lock().await.insert(r.task_id, r.at);
            }
            RetryEvent::AttemptStarted(s) if s.attempt == 2 => {
                if let Some(due) = seen.due.lock().await.remove(&s.task_id) {
                    seen.lateness.lock().await.push(now_micros() - due);
                }
            }
            _ => {}
        }
    }
}

/// The baseline: a jobs table, `workers` loops each taking one due job with `FOR UPDATE SKIP
/// LOCKED`, calling the same sandbox endpoint with its idempotency key, and marking it done.
/// Returns the seconds from the insert of every job to the last one done.
async fn job_queue(database_url: &str, sandbox: &str, jobs: usize) -> anyhow::Result<f64> {
    let pool = queue_pool(database_url).await?;
    fresh_queue(&pool).await?;
    let started = Instant::now();
    let ids: Vec<i64> = (0..jobs as i64).collect();
    sqlx::query(
        "INSERT INTO bench_jobs (id, url, idempotency_key) SELECT n, $2 || n, 'q-' || n FROM unnest($1::bigint[]) n",
    )
    .bind(&ids)
    .bind(format!("{sandbox}/echo/queue/"))
    .execute(&pool)
    .await
    .context("inserting the jobs")?;
    let done = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (pool, done, http) = (pool.clone(), done.clone(), http.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let job: Option<(i64, String, String)> = sqlx::query_as(
                    "UPDATE bench_jobs SET status = 'running', locked_at = now(), attempts = attempts + 1
                      WHERE id = (SELECT id FROM bench_jobs WHERE status = 'pending' AND run_at <= now()
                                   ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                      RETURNING id, url, idempotency_key",
                )
                .fetch_optional(&pool)
                .await?;
                let Some((id, url, key)) = job else {
                    if done.load(Ordering::Relaxed) >= jobs {
                        return Ok::<_, anyhow::Error>(());
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let answer = http
                    .post(&url)
                    .header("Idempotency-Key", &key)
                    .json(&json!({"n": id}))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                let ok = answer.is_ok_and(|a| a.status().is_success());
                let next = if ok {
                    "UPDATE bench_jobs SET status = 'done', locked_at = NULL WHERE id = $1"
                } else {
                    "UPDATE bench_jobs SET status = 'pending', locked_at = NULL, run_at = now() + interval '1 second' WHERE id = $1"
                };
                sqlx::query(next).bind(id).execute(&pool).await?;
                if ok {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE bench_jobs").execute(&pool).await?;
    pool.close().await;
    Ok(seconds)
}

async fn queue_pool(database_url: &str) -> anyhow::Result<PgPool> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(CONCURRENCY).unwrap_or(32) + 2)
        .connect(database_url)
        .await
        .context("connecting the job queue's pool")
}

async fn fresh_queue(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("DROP TABLE IF EXISTS bench_jobs").execute(pool).await?;
    sqlx::query(
        "CREATE TABLE bench_jobs (
             id bigint PRIMARY KEY, url text NOT NULL, idempotency_key text NOT NULL,
             status text NOT NULL DEFAULT 'pending', attempts integer NOT NULL DEFAULT 0,
             run_at timestamptz NOT NULL DEFAULT now(), locked_at timestamptz)",
    )
    .execute(pool)
    .await?;
    sqlx::query("CREATE INDEX bench_jobs_due ON bench_jobs (run_at, id) WHERE status = 'pending'")
        .execute(pool)
        .await?;
    Ok(())
}

/// The queue's table and indexes holding `jobs` jobs scheduled a day ahead.
async fn queue_table_size(database_url: &str, sandbox: &str, jobs: usize) -> anyhow::Result<i64> {
    let pool = queue_pool(database_url).await?;
    fresh_queue(&pool).await?;
    let ids: Vec<i64> = (0..jobs as i64).collect();
    sqlx::query(
        "INSERT INTO bench_jobs (id, url, idempotency_key, run_at)
         SELECT n, $2 || n, 's-' || n, now() + interval '1 day' FROM unnest($1::bigint[]) n",
    )
    .bind(&ids)
    .bind(format!("{sandbox}/echo/s/"))
    .execute(&pool)
    .await?;
    let bytes: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('bench_jobs')").fetch_one(&pool).await?;
    sqlx::query("DROP TABLE bench_jobs").execute(&pool).await?;
    pool.close().await;
    Ok(bytes)
}

/// This process's resident memory.
pub fn rss_bytes() -> anyhow::Result<i64> {
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let kilobytes = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse::<i64>().ok())
        .context("no VmRSS in /proc/self/status")?;
    Ok(kilobytes * 1024)
}
