//! Importing a feed file: read it (the core refuses what does not parse, row by row), give
//! rows that name a location the MIDs onboarded there, and send one import command per row.

use anyhow::Context as _;
use clio_matching::import::{LineNote, Numbered, Parsed, Row, Source};
use clio_matching::messages::{ImportMerchantTransaction, ImportPayment, MatchingCommand};
use clio_matching::settlement::sha256_hex;
use clio_matching_projection::queries;
use serde::Serialize;

/// What an import did, row by row.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub feed: &'static str,
    /// The batch its commands carry: the same file gives the same batch.
    pub batch: String,
    /// Rows sent to the domain (a row it has seen before is then ignored there as a duplicate).
    pub sent: usize,
    pub skipped: Vec<Note>,
    pub refused: Vec<Note>,
}

/// A row that was not sent, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub line: usize,
    pub reason: String,
}

impl From<&LineNote> for Note {
    fn from(note: &LineNote) -> Self {
        Note { line: note.line, reason: note.item.clone() }
    }
}

impl ImportReport {
    /// One line for people, then a line per refused row.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{}: {} rows sent (batch {}), {} left out by the feed's rules, {} refused",
            self.feed,
            self.sent,
            self.batch,
            self.skipped.len(),
            self.refused.len()
        );
        for note in &self.refused {
            text.push_str(&format!("\n  refused line {}: {}", note.line, note.reason));
        }
        text
    }
}

/// The batch of a file: its feed and a digest of its bytes.
pub fn batch_of(source: Source, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    format!("{}:{}", source.name(), &sha256_hex(&text)[..16])
}

/// Gives each row that names a location the MIDs onboarded for its merchant there; a location
/// with none is refused (the seed imported such rows with no MIDs: they could never match).
pub async fn resolve_locations(pool: &sqlx::PgPool, schema: &str, parsed: &mut Parsed) -> anyhow::Result<()> {
    let query = queries::MIDS_AT_LOCATION.in_schema(schema);
    let mut known: std::collections::HashMap<(String, String), Vec<String>> = Default::default();
    let mut kept = Vec::with_capacity(parsed.rows.len());
    for mut numbered in std::mem::take(&mut parsed.rows) {
        if let Row::Merchant(row) = &mut numbered.item
            && let Some(location) = row.location.clone()
        {
            let place = (row.transaction.merchant.clone(), location.clone());
            if !known.contains_key(&place) {
                let mids: Vec<String> = sqlx::query_scalar(&query)
                    .bind(&place.0)
                    .bind(&place.1)
                    .fetch_all(pool)
                    .await
                    .with_context(|| format!("reading the MIDs onboarded in {schema}.mids"))?;
                known.insert(place.clone(), mids);
            }
            let mids = &known[&place];
            if mids.is_empty() {
                parsed.refused.push(Numbered {
                    line: numbered.line,
                    item: format!("no MID is onboarded for {} at location {location:?}", place.0),
                });
                continue;
            }
            row.transaction.mids = mids.clone();
        }
        kept.push(numbered);
    }
    parsed.rows = kept;
    parsed.refused.sort_by_key(|note| note.line);
    Ok(())
}

/// One import command per row.
pub fn commands(parsed: &Parsed, batch: &str, ts: i64) -> Vec<MatchingCommand> {
    parsed
        .rows
        .iter()
        .map(|numbered| match &numbered.item {
            Row::Payment(transaction) => MatchingCommand::ImportPayment(ImportPayment {
                batch: batch.into(),
                transaction: transaction.clone(),
                ts,
            }),
            Row::Merchant(row) => MatchingCommand::ImportMerchantTransaction(ImportMerchantTransaction {
                batch: batch.into(),
                transaction: row.transaction.clone(),
                ts,
            }),
        })
        .collect()
}

/// What was read and sent, as a report.
pub fn report(source: Source, batch: String, parsed: &Parsed, sent: usize) -> ImportReport {
    ImportReport {
        feed: source.name(),
        batch,
        sent,
        skipped: parsed.skipped.iter().map(Note::from).collect(),
        refused: parsed.refused.iter().map(Note::from).collect(),
    }
}
