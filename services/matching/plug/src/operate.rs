//! `clio matching ...` run: what each command reads, checks and sends.

use anyhow::Context as _;
use clio_matching::import::{Row, Source, parse_mid_file};
use clio_matching::messages::{MatchingCommand, OnboardMid, RemoveMid};
use clio_matching::mids::{Mid, key};
use clio_matching_projection::queries;
use serde_json::Value;

use crate::cli::{MatchingAccess, MatchingAction, MidArgs, MidsAction};
use crate::client::{MatchingClient, now_micros};
use crate::import;

/// Runs one `clio matching ...` command.
pub async fn operate(action: MatchingAction) -> anyhow::Result<()> {
    match action {
        MatchingAction::Import { feed, file, dry_run, quiet, access } => {
            import_file(&feed, &file, dry_run, quiet, &access).await
        }
        MatchingAction::Mids(action) => mids(action).await,
        MatchingAction::ForceMatch { payment_key, merchant_transaction_id, access } => {
            let pool = access.database.connect().await?;
            let asked = crate::force::command(
                &pool,
                &access.schema,
                &payment_key,
                &merchant_transaction_id,
                &operator(),
                now_micros(),
            )
            .await?;
            let (command, match_id) = match asked {
                Ok(asked) => asked,
                Err(crate::force::Refusal::Unknown(reason) | crate::force::Refusal::NotPending(reason)) => {
                    anyhow::bail!("the force match is refused: {reason}")
                }
            };
            connect(&access)?.send(&command).await?;
            println!(
                "the force match of {payment_key} with {merchant_transaction_id} is on the log (match {match_id}); \
                 matching.matches shows it, or matching.ignored why not"
            );
            Ok(())
        }
    }
}

async fn import_file(
    feed: &str,
    file: &std::path::Path,
    dry_run: bool,
    quiet: bool,
    access: &MatchingAccess,
) -> anyhow::Result<()> {
    let source = Source::parse(feed)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let text = std::str::from_utf8(&bytes).with_context(|| format!("{} is not UTF-8 text", file.display()))?;
    let mut parsed = clio_matching::import::parse(source, text).with_context(|| format!("{}", file.display()))?;
    let batch = import::batch_of(source, &bytes);
    if parsed.rows.iter().any(|row| matches!(&row.item, Row::Merchant(m) if m.location.is_some())) {
        let pool = access.database.connect().await?;
        import::resolve_locations(&pool, &access.schema, &mut parsed).await?;
    }
    if dry_run {
        let report = import::report(source, batch, &parsed, 0);
        println!("{} (dry run: {} rows would be sent)", report.summary(), parsed.rows.len());
        return Ok(());
    }
    let client = connect(access)?;
    let commands = import::commands(&parsed, &batch, now_micros());
    let bar = clio_plug::progress_bar(commands.len() as u64, source.name(), !quiet);
    client.send_all(&commands, |more| bar.inc(more as u64)).await?;
    bar.finish_and_clear();
    let report = import::report(source, batch, &parsed, commands.len());
    println!("{}", report.summary());
    if !report.refused.is_empty() {
        anyhow::bail!("{} of the file's rows were refused (listed above); the others were sent", report.refused.len());
    }
    Ok(())
}

/// Who runs the command, for the log.
fn operator() -> String {
    clio_plug::cli_operator("matching")
}

async fn mids(action: MidsAction) -> anyhow::Result<()> {
    match action {
        MidsAction::List { merchant, provider, limit, access } => {
            let pool = access.database.connect().await?;
            let page: Value = sqlx::query_scalar(&queries::MIDS_PAGE.in_schema(&access.schema))
                .bind(&merchant)
                .bind(&provider)
                .bind("")
                .bind(limit.clamp(1, 10_000))
                .fetch_one(&pool)
                .await
                .context("reading matching.mids")?;
            println!("{:<45} {:<20} {:<14} {:<30} postcode", "MID", "merchant", "location id", "location");
            for mid in page.as_array().into_iter().flatten() {
                let text = |name: &str| mid[name].as_str().unwrap_or_default().to_string();
                println!(
                    "{:<45} {:<20} {:<14} {:<30} {}",
                    text("key"),
                    text("merchant"),
                    text("location_id"),
                    text("location"),
                    text("postcode")
                );
            }
            Ok(())
        }
        MidsAction::Onboard { mid, merchant, location, postcode, location_id, merchant_internal_id, access } => {
            let command = OnboardMid {
                provider: mid.provider,
                mid_type: mid.mid_type,
                identifier: mid.identifier,
                merchant,
                location,
                postcode,
                location_id,
                merchant_internal_id,
                by: operator(),
                ts: now_micros(),
            };
            Mid::from_record(&command)?;
            let name = key(&command.provider, &command.mid_type, &command.identifier);
            connect(&access)?.send(&MatchingCommand::OnboardMid(command)).await?;
            println!("onboarding {name} is on the log (clio matching mids list shows it once applied)");
            Ok(())
        }
        MidsAction::Import { file, access } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let onboardings = match parse_mid_file(&text, &operator(), now_micros()) {
                Ok(onboardings) => onboardings,
                Err(wrong) => {
                    for note in &wrong {
                        eprintln!("{}: {note}", file.display());
                    }
                    anyhow::bail!("{} rows of {} are wrong; no MID of it was onboarded", wrong.len(), file.display());
                }
            };
            let commands: Vec<MatchingCommand> =
                onboardings.into_iter().map(|n| MatchingCommand::OnboardMid(n.item)).collect();
            connect(&access)?.send_all(&commands, |_| {}).await?;
            println!("{} MIDs of {} are on the log to be onboarded", commands.len(), file.display());
            Ok(())
        }
        MidsAction::Update { mid, changes, access } => {
            let pool = access.database.connect().await?;
            let current = current(&pool, &access.schema, &mid).await?;
            let path = (mid.provider, mid.mid_type, mid.identifier);
            let update = crate::mids::updated(&current, path, changes, &operator(), now_micros())?;
            let name = key(&update.provider, &update.mid_type, &update.identifier);
            connect(&access)?.send(&MatchingCommand::UpdateMid(update)).await?;
            println!("the update of {name} is on the log");
            Ok(())
        }
        MidsAction::Remove { mid, access } => {
            let pool = access.database.connect().await?;
            current(&pool, &access.schema, &mid).await?;
            let name = key(&mid.provider, &mid.mid_type, &mid.identifier);
            let command = RemoveMid {
                provider: mid.provider,
                mid_type: mid.mid_type,
                identifier: mid.identifier,
                by: operator(),
                ts: now_micros(),
            };
            connect(&access)?.send(&MatchingCommand::RemoveMid(command)).await?;
            println!("the removal of {name} is on the log");
            Ok(())
        }
    }
}

/// The MID's read-model row, or an error saying it is not onboarded.
async fn current(pool: &sqlx::PgPool, schema: &str, mid: &MidArgs) -> anyhow::Result<Value> {
    let row: Option<Value> = sqlx::query_scalar(&queries::MID.in_schema(schema))
        .bind(&mid.provider)
        .bind(&mid.mid_type)
        .bind(&mid.identifier)
        .fetch_optional(pool)
        .await
        .context("reading matching.mids")?;
    row.with_context(|| format!("{} {} MID {} is not onboarded", mid.provider, mid.mid_type, mid.identifier))
}

fn connect(access: &MatchingAccess) -> anyhow::Result<MatchingClient> {
    let producer = clio_runtime::kafka::producer(&access.kafka).context("creating the producer")?;
    Ok(MatchingClient { producer, codec: access.registry.codec(), commands_topic: access.topic.clone() })
}
