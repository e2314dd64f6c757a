//! [`RetryPlug`]: the retry domain as the platform runs it.

use clio_plug::gauge::Gauge;
use clio_projection::query::Query;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args as _, FromArgMatches as _, Subcommand as _};
use clio_plug::{Core, CoreOf, Domain, Home, Resources, Routes, Worker};
use clio_projection::plugged::Projection;
use clio_retry::decide::Retry;
use clio_retry::messages::{CancelTask, PurgeTask, RequeueTask, RetryCommand};
use clio_retry_projection::{RetryModel, queries};
use clio_runtime::codec::Codec;
use clio_runtime::settings::KafkaSettings;
use futures::future::BoxFuture;
use serde_json::Value;

use crate::cli::{RetryAccess, RetryAction, RetrySeedSettings, RetryUpSettings};
use crate::client::{RetryClient, now_micros};
use crate::handlers::Handlers;
use crate::worker::WorkerConfig;

/// The retry domain, living at its home.
#[derive(Debug, Clone)]
pub struct RetryPlug {
    home: Home,
}

impl Default for RetryPlug {
    fn default() -> Self {
        Self { home: Home::production("retry") }
    }
}

impl RetryPlug {
    /// The retry domain living at `home`.
    pub fn living_at(home: Home) -> Self {
        Self { home }
    }

    /// A client for its commands topic.
    pub fn client(&self, kafka: &KafkaSettings, codec: &Codec) -> anyhow::Result<RetryClient> {
        let producer = clio_runtime::kafka::producer(kafka).context("creating the retry producer")?;
        Ok(RetryClient { producer, codec: codec.clone(), commands_topic: self.home.topic("commands") })
    }

    /// The worker's settings here.
    pub fn worker_config(&self, concurrency: usize, gateway_url: &str) -> WorkerConfig {
        WorkerConfig {
            events_topic: self.home.topic("events"),
            group_id: format!("clio-{}-worker", self.home.prefix()),
            concurrency,
            gateway_url: gateway_url.to_string(),
        }
    }
}

impl Domain for RetryPlug {
    fn core(&self) -> &dyn Core {
        &CoreOf::<Retry>::NEW
    }

    fn home(&self) -> &Home {
        &self.home
    }

    fn at(&self, home: Home) -> Arc<dyn Domain> {
        Arc::new(Self::living_at(home))
    }

    fn read_models(&self) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(RetryModel)]
    }

    fn console(&self) -> Vec<(&'static str, Query)> {
        use clio_retry_projection::queries;
        vec![("Retry: tasks needing attention", queries::CONSOLE_ATTENTION)]
    }

    fn gauges(&self) -> Vec<Gauge> {
        vec![
            Gauge {
                source: "retry_tasks",
                name: "clio_retry_tasks",
                help: "Retry tasks by status and type.",
                labels: &["status", "task_type"],
                query: clio_retry_projection::queries::METRICS_TASKS,
            },
            Gauge {
                source: "retry_attempts",
                name: "clio_retry_failed_attempts",
                help: "Failed attempts on the audit (retry.attempts), by error class and task type.",
                labels: &["error_class", "task_type"],
                query: clio_retry_projection::queries::METRICS_ATTEMPTS,
            },
        ]
    }

    fn routes(&self, resources: &Resources) -> Routes {
        match self.client(&resources.kafka, &resources.codec) {
            Ok(client) => crate::routes::routes(resources.pool.clone(), &self.home.schema(), client),
            Err(error) => {
                // Without a producer the routes could only fail; the gateway still serves the rest.
                tracing::error!(error = %format!("{error:#}"), "the retry routes are not served");
                Routes::default()
            }
        }
    }

    fn command(&self) -> Option<clap::Command> {
        let retry = RetryAction::augment_subcommands(clap::Command::new("retry"));
        Some(retry.about("Retry tasks: list, show, cancel, requeue, purge").subcommand_required(true))
    }

    fn run_command<'a>(&'a self, matches: &'a clap::ArgMatches) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { operate(RetryAction::from_arg_matches(matches)?).await })
    }

    fn up_args(&self, up: clap::Command) -> clap::Command {
        RetryUpSettings::augment_args(up)
    }

    fn workers(&self, up: &clap::ArgMatches, resources: &Resources, demo: bool) -> anyhow::Result<Vec<Worker>> {
        let settings = RetryUpSettings::from_arg_matches(up)?;
        let config = self.worker_config(settings.retry_concurrency, &settings.retry_callback_base);
        let handlers = Handlers::new(&settings.retry_scheme_url)
            .with_identity(&settings.retry_identity_url)
            .with_merchants(&settings.retry_merchant_url)
            .with_orders(settings.orders_peers());
        let (plug, demo_plug, demo_resources) = (self.clone(), self.clone(), resources.clone());
        let resources = resources.clone();
        let mut workers = vec![Worker {
            name: "retry worker".into(),
            summary: format!(
                "{} runs at once; loyalty schemes at {}; identity service at {}; merchants at {}; marketplace at {}; tracker at {}",
                settings.retry_concurrency,
                settings.retry_scheme_url,
                settings.retry_identity_url,
                settings.retry_merchant_url,
                settings.retry_marketplace_url,
                settings.retry_tracker_url
            ),
            start: Box::new(move || {
                let (plug, resources, config, handlers) =
                    (plug.clone(), resources.clone(), config.clone(), handlers.clone());
                Box::pin(async move {
                    let client = plug.client(&resources.kafka, &resources.codec)?;
                    crate::worker::run(&resources.kafka, config, client, handlers, resources.shutdown.clone()).await
                })
            }),
        }];
        if demo {
            let sandbox = settings.retry_sandbox_url.clone();
            workers.push(Worker {
                name: "retry demo".into(),
                summary: format!(
                    "{} tasks against the sandbox at {sandbox} (clio retry list)",
                    crate::demo::tasks(&sandbox).len()
                ),
                start: Box::new(move || {
                    let (plug, resources, sandbox) = (demo_plug.clone(), demo_resources.clone(), sandbox.clone());
                    Box::pin(async move {
                        let client = plug.client(&resources.kafka, &resources.codec)?;
                        let created = crate::demo::seed(&client, &sandbox).await?;
                        tracing::info!(created, "retry demo tasks sent");
                        Ok(())
                    })
                }),
            });
        }
        Ok(workers)
    }

    fn seed_args(&self, seed: clap::Command) -> clap::Command {
        RetrySeedSettings::augment_args(seed)
    }

    fn seed<'a>(
        &'a self,
        seed: &'a clap::ArgMatches,
        resources: &'a Resources,
        _progress: bool,
    ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let settings = RetrySeedSettings::from_arg_matches(seed)?;
            let client = self.client(&resources.kafka, &resources.codec)?;
            let created = crate::demo::seed(&client, &settings.retry_sandbox_url).await?;
            Ok(Some(format!(
                "retry: {created} demo tasks against the sandbox (clio retry list shows where each stands)"
            )))
        })
    }
}

/// `clio retry ...`.
async fn operate(action: RetryAction) -> anyhow::Result<()> {
    match action {
        RetryAction::List { status, task_type, limit, access } => {
            let (pool, _) = open(&access, false).await?;
            let page: Value = sqlx::query_scalar(&queries::TASKS_PAGE.in_schema(&access.schema))
                .bind(&status)
                .bind(&task_type)
                .bind("")
                .bind(limit.clamp(1, 10_000))
                .fetch_one(&pool)
                .await
                .context("reading retry.tasks")?;
            println!(
                "{:<40} {:<14} {:<14} {:>8}  {:<25} last error",
                "task", "type", "status", "attempts", "next attempt"
            );
            for task in page.as_array().into_iter().flatten() {
                println!(
                    "{:<40} {:<14} {:<14} {:>8}  {:<25} {}",
                    task["task_id"].as_str().unwrap_or_default(),
                    task["task_type"].as_str().unwrap_or_default(),
                    task["status"].as_str().unwrap_or_default(),
                    task["attempts"],
                    task["next_attempt_at"].as_str().unwrap_or("-"),
                    task["last_error"].as_str().unwrap_or(""),
                );
            }
            Ok(())
        }
        RetryAction::Show { task_id, access } => {
            let (pool, _) = open(&access, false).await?;
            let task: Option<Value> = sqlx::query_scalar(&queries::TASK.in_schema(&access.schema))
                .bind(&task_id)
                .fetch_optional(&pool)
                .await
                .context("reading retry.tasks")?;
            let task = task.with_context(|| format!("no task {task_id}"))?;
            println!("{}", serde_json::to_string_pretty(&task)?);
            Ok(())
        }
        RetryAction::Cancel { task_id, access } => {
            let (_, client) = open(&access, true).await?;
            let command =
                RetryCommand::CancelTask(CancelTask { task_id: task_id.clone(), by: operator(), ts: now_micros() });
            client.context("a producer")?.send(&command).await?;
            println!("cancel sent for {task_id} (clio retry show {task_id} shows what came of it)");
            Ok(())
        }
        RetryAction::Requeue { task_id, new_task_id, access } => {
            let (_, client) = open(&access, true).await?;
            let new_task_id = new_task_id.unwrap_or_else(|| format!("{task_id}-requeued-{}", now_micros()));
            let command = RetryCommand::RequeueTask(RequeueTask {
                task_id: task_id.clone(),
                new_task_id: new_task_id.clone(),
                by: operator(),
                ts: now_micros(),
            });
            client.context("a producer")?.send(&command).await?;
            println!("requeue sent for {task_id}: the new task is {new_task_id}");
            Ok(())
        }
        RetryAction::Purge { before, access } => {
            let (pool, client) = open(&access, true).await?;
            let client = client.context("a producer")?;
            let ids: Vec<String> = sqlx::query_scalar(&queries::PURGEABLE.in_schema(&access.schema))
                .bind(before)
                .fetch_all(&pool)
                .await
                .context("reading retry.tasks")?;
            for (n, task_id) in ids.iter().enumerate() {
                let command = RetryCommand::PurgeTask(PurgeTask {
                    task_id: task_id.clone(),
                    before: before.timestamp_micros(),
                    ts: now_micros(),
                });
                client.send(&command).await?;
                if (n + 1) % 1_000 == 0 {
                    eprintln!("  {}/{} purges sent", n + 1, ids.len());
                }
            }
            println!("{} finished tasks created before {} purged", ids.len(), before.to_rfc3339());
            Ok(())
        }
    }
}

/// Who runs the command, for the audit.
fn operator() -> String {
    clio_plug::cli_operator("retry")
}

async fn open(access: &RetryAccess, produce: bool) -> anyhow::Result<(sqlx::PgPool, Option<RetryClient>)> {
    let pool = access.database.connect().await?;
    let client = if produce {
        let producer = clio_runtime::kafka::producer(&access.kafka).context("creating the producer")?;
        let codec = access.registry.codec();
        Some(RetryClient { producer, codec, commands_topic: access.topic.clone() })
    } else {
        None
    };
    Ok((pool, client))
}
