//! Demo data for the ledger, made the way an integrator would: commands produced to
//! `ledger.commands`, answers read from the read models.
//!
//! - [`seed`] (`clio seed`, and `clio up --demo`): a debtor whose root account pays interest,
//!   holders' accounts, and money issued to each. Safe to run again: an account that exists is
//!   not configured again, and a holder whose issuing request (coordinator `issuing`, the
//!   debtor, request id = the holder's creditor id) was committed (`ledger.finalized_transfers`)
//!   gets nothing more. A request the ledger has prepared but not finalized is finalized, not
//!   made again, so an interrupted seed picks up where it stopped.
//! - [`stream`] (`clio up --demo`): random two-phase transfers between the holders, a few per
//!   second, until shutdown, so balances change while you watch.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clio_ledger::LedgerCommand;
use clio_ledger::messages::{ConfigureAccount, FinalizeTransfer, PrepareTransfer};
use clio_ledger::rules::{self, ROOT_CREDITOR_ID};
use clio_runtime::codec::Codec;
use clio_runtime::outage::{self, Outage};
use rand::Rng as _;
use rdkafka::producer::FutureProducer;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::scan::{LedgerTarget, send_commands};
use clio_ledger_projection::queries;
use clio_projection::query::Query;
use clio_runtime::database::quote_ident;

/// What to seed.
#[derive(Debug, Clone)]
pub struct Demo {
    pub debtor_id: i64,
    /// Holders, creditor ids 1..=accounts.
    pub accounts: i64,
    /// Issued to each holder.
    pub amount: i64,
}

/// The root account's configuration: 2.5 % a year, and a limit the demo stays far below.
const ROOT_CONFIG: &str = r#"{"type":"RootConfigData","rate":2.5,"limit":1000000000000,"info":{"type":"DebtorInfo","iri":"https://example.com/demo-currency","contentType":"text/plain"}}"#;
/// "No constraint" for final_interest_rate_ts: 9999-12-31.
const NO_CONSTRAINT: i64 = 253_402_214_400_000_000;
const PATIENCE: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_millis(200);

/// What a seed did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub configured: usize,
    pub issued: usize,
}

/// The ledger's read models and commands topic, with what it takes to use them.
pub struct LedgerClient<'a> {
    pub pool: &'a PgPool,
    pub target: &'a LedgerTarget,
    pub producer: &'a FutureProducer,
    pub codec: &'a Codec,
}

impl LedgerClient<'_> {
    fn sql(&self, query: Query) -> String {
        query.in_schema(&self.target.schema)
    }

    async fn send(&self, commands: &[(String, LedgerCommand)]) -> anyhow::Result<()> {
        send_commands(self.producer, self.codec, &self.target.commands_topic, commands).await
    }

    /// Waits until the projector has created the read model's tables.
    async fn read_model_ready(&self) -> anyhow::Result<()> {
        let table = format!("{}.finalized_transfers", quote_ident(&self.target.schema));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found: Option<String> =
                sqlx::query_scalar("SELECT to_regclass($1)::text").bind(&table).fetch_one(self.pool).await?;
            if found.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{table} does not exist: is the ledger projector running (clio up, or clio run projector ledger)?"
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn existing_accounts(&self, debtor_id: i64) -> anyhow::Result<BTreeSet<i64>> {
        let rows: Vec<i64> =
            sqlx::query_scalar(&self.sql(queries::LIVE_ACCOUNTS)).bind(debtor_id).fetch_all(self.pool).await?;
        Ok(rows.into_iter().collect())
    }

    /// Open prepared transfers of one coordinator: request id → (sender, transfer id, locked).
    async fn prepared(
        &self,
        debtor_id: i64,
        kind: &str,
        coordinator_id: Option<i64>,
        requests_from: i64,
    ) -> anyhow::Result<BTreeMap<i64, (i64, i64, i64)>> {
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&self.sql(queries::OPEN_REQUESTS))
            .bind(debtor_id)
            .bind(kind)
            .bind(coordinator_id)
            .bind(requests_from)
            .fetch_all(self.pool)
            .await?;
        Ok(rows.into_iter().map(|(request, sender, transfer, locked)| (request, (sender, transfer, locked))).collect())
    }
}

fn configure(debtor_id: i64, creditor_id: i64, now: i64) -> (String, LedgerCommand) {
    let config_data = if creditor_id == ROOT_CREDITOR_ID { ROOT_CONFIG } else { "" };
    let command = ConfigureAccount {
        debtor_id,
        creditor_id,
        ts: now,
        seqnum: 1,
        negligible_amount: 0.0,
        config_flags: 0,
        config_data: config_data.into(),
    };
    (rules::account_key(debtor_id, creditor_id), LedgerCommand::ConfigureAccount(command))
}

#[allow(clippy::too_many_arguments)]
fn prepare(
    debtor_id: i64,
    from: i64,
    to: i64,
    kind: &str,
    coordinator_id: i64,
    request: i64,
    min: i64,
    max: i64,
    now: i64,
) -> (String, LedgerCommand) {
    let command = PrepareTransfer {
        debtor_id,
        creditor_id: from,
        coordinator_type: kind.into(),
        coordinator_id,
        coordinator_request_id: request,
        min_locked_amount: min,
        max_locked_amount: max,
        recipient: rules::creditor_text(to),
        final_interest_rate_ts: NO_CONSTRAINT,
        max_commit_delay: 3_600,
        ts: now,
    };
    (rules::account_key(debtor_id, from), LedgerCommand::PrepareTransfer(command))
}

#[allow(clippy::too_many_arguments)]
fn finalize(
    debtor_id: i64,
    sender: i64,
    transfer_id: i64,
    kind: &str,
    coordinator_id: i64,
    request: i64,
    amount: i64,
    note: &str,
    now: i64,
) -> (String, LedgerCommand) {
    let command = FinalizeTransfer {
        debtor_id,
        creditor_id: sender,
        transfer_id,
        coordinator_type: kind.into(),
        coordinator_id,
        coordinator_request_id: request,
        committed_amount: amount,
        transfer_note: note.into(),
        transfer_note_format: "text".into(),
        ts: now,
    };
    (rules::account_key(debtor_id, sender), LedgerCommand::FinalizeTransfer(command))
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Seeds the demo debtor (see the module docs); `progress` draws bars on stderr.
pub async fn seed(ledger: &LedgerClient<'_>, demo: &Demo, progress: bool) -> anyhow::Result<SeedReport> {
    if demo.accounts < 1 || demo.amount < 1 {
        bail!("a demo needs at least one account and a positive amount");
    }
    ledger.read_model_ready().await?;
    let debtor = demo.debtor_id;
    let wanted: BTreeSet<i64> = (0..=demo.accounts).collect();
    let existing = ledger.existing_accounts(debtor).await.context("reading the ledger's accounts")?;
    let now = now_micros();
    let configs: Vec<_> = wanted.difference(&existing).map(|&c| configure(debtor, c, now)).collect();
    ledger.send(&configs).await?;
    let accounts = clio_plug::progress_bar(wanted.len() as u64, "accounts", progress);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let existing = ledger.existing_accounts(debtor).await?;
        let present = wanted.intersection(&existing).count();
        accounts.set_position(present as u64);
        if present == wanted.len() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {present} of {} accounts appeared in the read model: is the ledger processor running?",
                wanted.len()
            );
        }
        tokio::time::sleep(POLL).await;
    }
    accounts.finish();

    // Issue to every holder whose issuing request has not been committed yet.
    let committed_sql = ledger.sql(queries::ISSUED_REQUESTS);
    let rejected_sql = ledger.sql(queries::ISSUING_REFUSALS);
    let started = chrono::Utc::now() - chrono::Duration::seconds(5);
    let issued = clio_plug::progress_bar(demo.accounts as u64, "issued", progress);
    let (mut prepares_sent, mut finalizes_sent) = (BTreeSet::new(), BTreeSet::new());
    let mut report = SeedReport { configured: configs.len(), issued: 0 };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let done: BTreeSet<i64> =
            sqlx::query_scalar(&committed_sql).bind(debtor).fetch_all(ledger.pool).await?.into_iter().collect();
        let remaining: Vec<i64> = (1..=demo.accounts).filter(|c| !done.contains(c)).collect();
        issued.set_position((demo.accounts as usize - remaining.len()) as u64);
        if remaining.is_empty() {
            break;
        }
        let refused: Vec<String> = sqlx::query_scalar(&rejected_sql)
            .bind(debtor)
            .bind(&remaining)
            .bind(started)
            .fetch_all(ledger.pool)
            .await?;
        if let Some(code) = refused.first() {
            bail!("the root account refused to issue: {code}");
        }
        if Instant::now() > deadline {
            bail!("{} holders still wait for their money: is the ledger processor running?", remaining.len());
        }
        let open = ledger.prepared(debtor, "issuing", Some(debtor), 1).await?;
        let now = now_micros();
        let mut commands = Vec::new();
        for &holder in &remaining {
            match open.get(&holder) {
                Some(&(_, transfer_id, _)) if finalizes_sent.insert(holder) => {
                    let note = "demo: issued by the debtor";
                    commands.push(finalize(debtor, 0, transfer_id, "issuing", debtor, holder, demo.amount, note, now));
                    report.issued += 1;
                }
                None if prepares_sent.insert(holder) => {
                    commands.push(prepare(debtor, 0, holder, "issuing", debtor, holder, demo.amount, demo.amount, now));
                }
                _ => {}
            }
        }
        ledger.send(&commands).await?;
        tokio::time::sleep(POLL).await;
    }
    issued.finish();
    Ok(report)
}

/// What a transfer stream sent and the broker acknowledged (for a driver that checks each
/// request's outcome on the log afterwards).
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// Coordinator `direct`'s request ids, each prepared by its sender (the coordinator id).
    pub prepared: Vec<(i64, i64)>,
    /// (sender, request id, committed amount) of each transfer finalized.
    pub finalized: Vec<(i64, i64, i64)>,
}

/// Random transfers between the demo's holders at `per_second`, until shutdown.
pub async fn stream(
    ledger: &LedgerClient<'_>,
    demo: &Demo,
    per_second: f64,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    stream_journaled(ledger, demo, per_second, shutdown, &mut Journal::default()).await
}

/// Random transfers between the demo's holders at `per_second`, until shutdown, written down
/// in `journal` once acknowledged. Each is prepared (locking up to a random amount), then,
/// once the read model shows it prepared, committed — or, one time in ten, dismissed. While
/// the broker or Postgres does not answer, the stream waits and sends what it could not send
/// when they are back.
pub async fn stream_journaled(
    ledger: &LedgerClient<'_>,
    demo: &Demo,
    per_second: f64,
    shutdown: CancellationToken,
    journal: &mut Journal,
) -> anyhow::Result<()> {
    let holders = demo.accounts.max(2);
    let max_amount = (demo.amount / 20).max(1);
    // Request ids unique across restarts: they start from the clock.
    let first_request = now_micros();
    let mut next_request = first_request;
    let mut open: BTreeMap<i64, Instant> = BTreeMap::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second.max(0.01)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut transfers = 0u64;
    // Commands not yet acknowledged by the broker; a new transfer starts only when it is empty.
    let mut unsent: Vec<(String, LedgerCommand)> = Vec::new();
    let mut trouble = Outage::default();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = ticker.tick() => {}
        }
        let now = now_micros();
        if unsent.is_empty() {
            let (from, to, amount) = {
                let mut rng = rand::rng();
                let from = rng.random_range(1..=holders);
                let to = (from + rng.random_range(1..holders) - 1) % holders + 1; // anyone but `from`
                (from, to, rng.random_range(1..=max_amount))
            };
            next_request += 1;
            unsent.push(prepare(demo.debtor_id, from, to, "direct", from, next_request, 1, amount, now));
            open.insert(next_request, Instant::now());
            match ledger.prepared(demo.debtor_id, "direct", None, first_request).await {
                Ok(prepared) => {
                    for (request, (sender, transfer_id, locked)) in prepared {
                        if open.remove(&request).is_some() {
                            let committed = if rand::rng().random_ratio(1, 10) { 0 } else { locked };
                            let note = format!("demo transfer {request}");
                            unsent.push(finalize(
                                demo.debtor_id,
                                sender,
                                transfer_id,
                                "direct",
                                sender,
                                request,
                                committed,
                                &note,
                                now,
                            ));
                            transfers += 1;
                            if transfers.is_multiple_of(100) {
                                tracing::info!(transfers, "demo transfers finalized");
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(error = %format!("{error:#}"), "demo: reading the prepared transfers"),
            }
            // Requests refused (not enough money) never show up prepared.
            open.retain(|_, sent| sent.elapsed() < Duration::from_secs(120));
        }
        match ledger.send(&unsent).await {
            Ok(()) => {
                for (_, command) in unsent.drain(..) {
                    match command {
                        LedgerCommand::PrepareTransfer(p) => {
                            journal.prepared.push((p.creditor_id, p.coordinator_request_id))
                        }
                        LedgerCommand::FinalizeTransfer(f) => {
                            journal.finalized.push((f.creditor_id, f.coordinator_request_id, f.committed_amount))
                        }
                        _ => {}
                    }
                }
                trouble.recovered("demo transfers");
            }
            Err(error) => {
                if !trouble.failed("demo transfers", &format!("{error:#}"), outage::PRODUCER_PAUSE, &shutdown).await {
                    return Ok(());
                }
            }
        }
    }
}

/// `clio up --demo`: seeds (trying again while the rest of the platform starts), then streams
/// transfers until shutdown.
pub async fn run(
    ledger: &LedgerClient<'_>,
    demo: &Demo,
    per_second: f64,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_journaled(ledger, demo, per_second, shutdown, &mut Journal::default()).await
}

/// [`run`], writing the transfers down in `journal`.
pub async fn run_journaled(
    ledger: &LedgerClient<'_>,
    demo: &Demo,
    per_second: f64,
    shutdown: CancellationToken,
    journal: &mut Journal,
) -> anyhow::Result<()> {
    loop {
        match seed(ledger, demo, false).await {
            Ok(report) => {
                tracing::info!(configured = report.configured, issued = report.issued, "demo data seeded");
                break;
            }
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "seeding the demo data; trying again"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
    stream_journaled(ledger, demo, per_second, shutdown, journal).await
}
