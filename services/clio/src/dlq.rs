//! `clio dlq list|show|replay`.

use anyhow::Context as _;
use clio_dead_letters::entries::Filter;
use clio_dead_letters::{DeadLetters, parse_position, position_text};

use crate::cli::{DlqAction, ProjectionSettings};

async fn open(settings: &ProjectionSettings) -> anyhow::Result<DeadLetters> {
    let pool = settings.database.connect().await?;
    let codec = settings.registry.codec();
    Ok(DeadLetters::new(pool, settings.kafka.clone(), codec)?)
}

fn position(text: &str) -> anyhow::Result<clio_dead_letters::Position> {
    parse_position(text).with_context(|| format!("{text:?} is not a record: write topic/partition/offset"))
}

pub async fn run(action: DlqAction) -> anyhow::Result<()> {
    match action {
        DlqAction::List { status, topic, reason, limit, settings } => {
            let dead_letters = open(&settings).await?;
            let entries = dead_letters.page(&Filter { status, topic, reason }, 0, limit).await?;
            println!("{:<40} {:<28} {:<9} {:>6} {:>7}  reason", "record", "consumer", "status", "copies", "replays");
            for entry in &entries {
                println!(
                    "{:<40} {:<28} {:<9} {:>6} {:>7}  {}",
                    position_text(&entry.position()),
                    entry.consumer,
                    entry.status,
                    entry.copies,
                    entry.replays,
                    entry.reason
                );
            }
            eprintln!("{} entries", entries.len());
            Ok(())
        }
        DlqAction::Show { record, settings } => {
            let record = position(&record)?;
            let entries = open(&settings).await?.of_record(&record).await?;
            anyhow::ensure!(!entries.is_empty(), "no dead letter of {}", position_text(&record));
            println!("{}", serde_json::to_string_pretty(&entries)?);
            Ok(())
        }
        DlqAction::Replay { record, topic, reason, all, settings } => {
            let dead_letters = open(&settings).await?;
            let who = clio_plug::cli_operator("dlq");
            let replayed = match record {
                Some(record) => vec![dead_letters.replay_one(&position(&record)?, &who).await?],
                None => {
                    anyhow::ensure!(
                        topic.is_some() || reason.is_some() || all,
                        "name a record, or select with --topic or --reason (or --all for every parked one)"
                    );
                    let filter = Filter { status: None, topic, reason };
                    match dead_letters.replay_matching(&filter, &who).await {
                        Ok(replayed) => replayed,
                        Err((replayed, error)) => {
                            for done in &replayed {
                                println!(
                                    "replayed {}",
                                    position_text(&(
                                        done.source_topic.clone(),
                                        done.source_partition,
                                        done.source_offset
                                    ))
                                );
                            }
                            return Err(error).context("replaying stopped");
                        }
                    }
                }
            };
            for done in &replayed {
                println!(
                    "replayed {} to offset {} of partition {}",
                    position_text(&(done.source_topic.clone(), done.source_partition, done.source_offset)),
                    done.replayed_to_offset,
                    done.replayed_to_partition
                );
            }
            eprintln!("{} records replayed by {who}", replayed.len());
            Ok(())
        }
    }
}
