//! Feed files as the seed's importers read them, turned into the records the domain imports:
//! payment feeds (Visa, Mastercard and Amex auths, settlements and refunds) and merchant feeds
//! (each loyalty merchant's own transactions). Every row is read on its own: one that does not
//! parse is refused with its line number and the reason, and the others still import; a file
//! that is not the feed's shape at all is refused whole.
//!
//! Timestamps are normalised to UTC with the zone they were written in kept beside them; the
//! zone a feed's local times are in is part of its [`Source`].
//!
//! MID onboarding files ([`parse_mid_file`]) are all or nothing instead: a file with a bad row
//! onboards none of its MIDs.

mod fields;
mod merchants;
mod mid_file;
mod payments;

use std::fmt;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub use fields::{Stamp, instant, pence, scheme_of_first_six, scheme_of_name};
pub use mid_file::{MID_FILE_COLUMNS, parse_mid_file};

use crate::messages::{MerchantTransaction, PaymentTransaction};

/// A feed a file can be imported from: `clio matching import --feed <name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    VisaAuth,
    VisaSettlement,
    VisaRefund,
    MastercardAuth,
    MastercardSettlement,
    AmexAuth,
    AmexSettlement,
    Iceland,
    Wasabi,
    Costa,
    Itsu,
    Stonegate,
    TgiFridays,
}

impl Source {
    pub const ALL: [Source; 13] = [
        Source::VisaAuth,
        Source::VisaSettlement,
        Source::VisaRefund,
        Source::MastercardAuth,
        Source::MastercardSettlement,
        Source::AmexAuth,
        Source::AmexSettlement,
        Source::Iceland,
        Source::Wasabi,
        Source::Costa,
        Source::Itsu,
        Source::Stonegate,
        Source::TgiFridays,
    ];

    /// Its name on the command line and in the API.
    pub fn name(self) -> &'static str {
        match self {
            Source::VisaAuth => "visa-auth",
            Source::VisaSettlement => "visa-settlement",
            Source::VisaRefund => "visa-refund",
            Source::MastercardAuth => "mastercard-auth",
            Source::MastercardSettlement => "mastercard-settlement",
            Source::AmexAuth => "amex-auth",
            Source::AmexSettlement => "amex-settlement",
            Source::Iceland => "iceland-bonus-card",
            Source::Wasabi => "wasabi-club",
            Source::Costa => "costa",
            Source::Itsu => "itsu",
            Source::Stonegate => "stonegate",
            Source::TgiFridays => "tgi-fridays",
        }
    }

    /// The source called `name`, or an error listing those there are.
    pub fn parse(name: &str) -> Result<Self, FileError> {
        Self::ALL.into_iter().find(|source| source.name() == name).ok_or_else(|| FileError::UnknownFeed {
            name: name.to_string(),
            known: Self::ALL.iter().map(|source| source.name()).collect::<Vec<_>>().join(", "),
        })
    }

    /// What its files look like, for help texts and errors.
    pub fn shape(self) -> &'static str {
        match self {
            Source::VisaAuth | Source::VisaSettlement | Source::VisaRefund => {
                "JSON (an array or one object per line) of Visa messages: ExternalUserId and MessageElementsCollection [{Key, Value}]"
            }
            Source::MastercardAuth => {
                "JSON (an array or one object per line): third_party_id, time, amount, currency_code, mid, payment_card_token"
            }
            Source::MastercardSettlement => {
                "Mastercard TGX2 fixed-width text: a header line, then detail records starting with D"
            }
            Source::AmexAuth => {
                "JSON (an array or one object per line): transaction_id, transaction_time, transaction_amount, cm_alias, approval_code, merchant_number"
            }
            Source::AmexSettlement => {
                "JSON (an array or one object per line): transactionId, transactionDate, transactionAmount, cardToken, dpan, approvalCode, merchantNumber"
            }
            Source::Iceland => {
                "CSV with TransactionId, TransactionStore_Id, TransactionTimestamp, TransactionAmountValue, TransactionAmountUnit, TransactionCardScheme, TransactionCardFirst6, TransactionCardLast4, TransactionAuthCode"
            }
            Source::Wasabi => {
                "CSV with Receipt No_, EFT Merchant No_, Date, Time, Amount, Card Type Name, Card Number, Auth_code"
            }
            Source::Costa => {
                "JSON (an array or one object per line): transaction_id, merchant_identifier, date, amount, currency_code, payment_card_type, payment_card_first_six, payment_card_last_four, auth_code"
            }
            Source::Itsu => {
                "CSV with transaction_id, retailer_location_id, date, amount, currency_code, payment_card_type, payment_card_first_six, payment_card_last_four, auth_code"
            }
            Source::Stonegate => {
                "JSON (an array or one object per line): transaction_id, retailer_location_id, date, amount, currency_code, payment_card_type, payment_card_first_six, payment_card_last_four, auth_code, metadata.AccountID"
            }
            Source::TgiFridays => {
                "CSV with transaction_id, merchant_identifier, date, amount, gratuity_amount, currency_code, payment_card_type, payment_card_first_six, payment_card_last_four, auth_code"
            }
        }
    }

    /// A payment provider's feed (the rest are merchants').
    pub fn is_payment_feed(self) -> bool {
        matches!(
            self,
            Source::VisaAuth
                | Source::VisaSettlement
                | Source::VisaRefund
                | Source::MastercardAuth
                | Source::MastercardSettlement
                | Source::AmexAuth
                | Source::AmexSettlement
        )
    }
}

/// One imported row, as the domain takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Payment(PaymentTransaction),
    Merchant(MerchantRow),
}

/// A merchant's transaction; a merchant that names its shop by location (Stonegate, Itsu)
/// leaves `transaction.mids` empty and `location` set: every MID onboarded for the merchant at
/// that location is the row's, which only the MID registry knows.
#[derive(Debug, Clone, PartialEq)]
pub struct MerchantRow {
    pub transaction: MerchantTransaction,
    pub location: Option<String>,
}

/// A row at its line of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbered<T> {
    pub line: usize,
    pub item: T,
}

/// A row that did not import, and why.
pub type LineNote = Numbered<String>;

impl fmt::Display for LineNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.item)
    }
}

/// What a file holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The rows to import, in the file's order.
    pub rows: Vec<Numbered<Row>>,
    /// Rows the feed's own rules leave out (Iceland's declined payments, Itsu's spends under
    /// £5...), as the seed's importers did; said, not silent.
    pub skipped: Vec<LineNote>,
    /// Rows that do not parse.
    pub refused: Vec<LineNote>,
}

/// A file that cannot be imported at all: nothing of it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("unknown feed {name:?}; the feeds are: {known}")]
    UnknownFeed { name: String, known: String },
    #[error("the file is not {feed} feed: {reason}. A {feed} file is {shape}")]
    WrongShape { feed: &'static str, reason: String, shape: &'static str },
}

impl FileError {
    fn shape(source: Source, reason: impl Into<String>) -> Self {
        FileError::WrongShape { feed: source.name(), reason: reason.into(), shape: source.shape() }
    }
}

/// Reads a whole file of `source`'s feed.
pub fn parse(source: Source, text: &str) -> Result<Parsed, FileError> {
    match source {
        Source::VisaAuth | Source::VisaSettlement | Source::VisaRefund => {
            json_rows(source, text, "MessageElementsCollection", |o| payments::visa(source, o))
        }
        Source::MastercardAuth => json_rows(source, text, "third_party_id", payments::mastercard_auth),
        Source::MastercardSettlement => payments::mastercard_settlements(text),
        Source::AmexAuth => json_rows(source, text, "cm_alias", payments::amex_auth),
        Source::AmexSettlement => json_rows(source, text, "transactionId", payments::amex_settlement),
        Source::Iceland => csv_rows(source, text, merchants::ICELAND_COLUMNS, merchants::iceland),
        Source::Wasabi => csv_rows(source, text, merchants::WASABI_COLUMNS, merchants::wasabi),
        Source::Costa => json_rows(source, text, "payment_card_type", merchants::costa),
        Source::Itsu => csv_rows(source, text, merchants::ITSU_COLUMNS, merchants::itsu),
        Source::Stonegate => json_rows(source, text, "retailer_location_id", merchants::stonegate),
        Source::TgiFridays => csv_rows(source, text, merchants::TGI_COLUMNS, merchants::tgi_fridays),
    }
}

/// What reading one row gives: a row, a row the feed's rules leave out, or a refusal.
pub(crate) enum Outcome {
    Import(Box<Row>),
    Skip(String),
}

type RowResult = Result<Outcome, String>;

impl Parsed {
    fn push(&mut self, line: usize, result: RowResult) {
        match result {
            Ok(Outcome::Import(item)) => self.rows.push(Numbered { line, item: *item }),
            Ok(Outcome::Skip(reason)) => self.skipped.push(Numbered { line, item: reason }),
            Err(reason) => self.refused.push(Numbered { line, item: reason }),
        }
    }
}

/// JSON objects, as an array or one per line; `marker` is a key every record of the feed has,
/// so that another feed's file is refused whole rather than row by row.
fn json_rows(
    source: Source,
    text: &str,
    marker: &str,
    read: impl Fn(&Map<String, Value>) -> RowResult,
) -> Result<Parsed, FileError> {
    let items = json_items(text).map_err(|reason| FileError::shape(source, reason))?;
    let first = items.iter().find_map(|(_, item)| item.as_ref().ok());
    if let Some(first) = first
        && !first.contains_key(marker)
    {
        return Err(FileError::shape(source, format!("its first record has no {marker}")));
    }
    if first.is_none() && !items.is_empty() {
        return Err(FileError::shape(source, "none of its lines is a JSON object"));
    }
    let mut parsed = Parsed::default();
    for (line, item) in items {
        parsed.push(line, item.and_then(|object| read(&object)));
    }
    Ok(parsed)
}

type JsonItem = (usize, Result<Map<String, Value>, String>);

fn json_items(text: &str) -> Result<Vec<JsonItem>, String> {
    let object = |value: Value| match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("{} is not a JSON object", truncated(&other.to_string()))),
    };
    if text.trim_start().starts_with('[') {
        let raw: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|error| format!("it is not a JSON array ({error})"))?;
        return Ok(raw
            .into_iter()
            .map(|item| {
                let offset = item.get().as_ptr() as usize - text.as_ptr() as usize;
                let line = text[..offset].matches('\n').count() + 1;
                (line, serde_json::from_str(item.get()).map_err(|error| error.to_string()).and_then(object))
            })
            .collect());
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let item =
                serde_json::from_str::<Value>(line).map_err(|error| format!("not JSON ({error})")).and_then(object);
            (index + 1, item)
        })
        .collect())
}

fn truncated(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(40).collect::<String>())
    }
}

/// CSV with a header row that must name every column in `required`.
fn csv_rows(
    source: Source,
    text: &str,
    required: &[&str],
    read: impl Fn(&fields::Columns<'_>) -> RowResult,
) -> Result<Parsed, FileError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| FileError::shape(source, format!("its header row cannot be read ({error})")))?;
    // The first of a repeated column name is the one read.
    let mut index = fields::ColumnIndex::new();
    for (position, name) in headers.iter().enumerate() {
        index.entry(name.trim().to_string()).or_insert(position);
    }
    let missing: Vec<&str> = required.iter().copied().filter(|column| !index.contains_key(*column)).collect();
    if !missing.is_empty() {
        return Err(FileError::shape(source, format!("its header row lacks {}", missing.join(", "))));
    }
    let mut parsed = Parsed::default();
    numbered_records(&mut reader, text, |line, record| {
        let row = match record {
            Ok(record) => read(&fields::Columns { index: &index, record }),
            Err(error) => Err(format!("it is not a CSV row of the header's shape ({error})")),
        };
        parsed.push(line, row);
    });
    Ok(parsed)
}

/// Every record `reader` has left in `text`, or the error reading it, with the line it starts
/// on.
pub(crate) fn numbered_records(
    reader: &mut csv::Reader<&[u8]>,
    text: &str,
    mut each: impl FnMut(usize, Result<&csv::StringRecord, csv::Error>),
) {
    let mut record = csv::StringRecord::new();
    loop {
        let before = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => return,
            Ok(true) => each(line_at(text, record.position().map_or(before, |position| position.byte())), Ok(&record)),
            Err(error) => each(line_at(text, error.position().map_or(before, |position| position.byte())), Err(error)),
        }
    }
}

/// The line (from 1) of the record the csv crate says starts at `byte`: its own line count, and
/// its record start, take in the blank lines before a record.
fn line_at(text: &str, byte: u64) -> usize {
    let bytes = text.as_bytes();
    let mut start = (byte as usize).min(bytes.len());
    while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
        start += 1;
    }
    bytes[..start].iter().filter(|b| **b == b'\n').count() + 1
}
