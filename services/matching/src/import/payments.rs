//! The payment providers' feeds (matching-harmonia-source.md §1, settlement keys and
//! transaction ids in §2).

use chrono_tz::Europe::London;
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::fields::{Object, Stamp, instant, instant_in_format, local, pence};
use super::{FileError, Outcome, Parsed, Row, RowResult, Source};
use crate::messages::PaymentTransaction;
use crate::settlement::{
    amex_settlement_key, mastercard_settlement_key, mastercard_transaction_id, visa_settlement_key,
};

/// Visa writes its times in GMT.
const VISA_ZONE: Tz = chrono_tz::Etc::GMT;
/// Amex auths without an offset are in Mountain Standard Time (Amex's Phoenix systems).
const AMEX_AUTH_ZONE: Tz = chrono_tz::MST;

fn payment(feed: &str, provider: &str, stamp: &Stamp) -> PaymentTransaction {
    PaymentTransaction {
        transaction_id: String::new(),
        feed: feed.into(),
        provider: provider.into(),
        settlement_key: String::new(),
        primary_mid: String::new(),
        secondary_mid: String::new(),
        psimi: String::new(),
        amount: 0,
        currency: "GBP".into(),
        at: stamp.micros,
        source_zone: stamp.zone.clone(),
        has_time: true,
        card_token: String::new(),
        first_six: String::new(),
        last_four: String::new(),
        auth_code: String::new(),
        approval_code: String::new(),
        extra: String::new(),
    }
}

/// A MID value as Visa sends it: `"0"` stands for none.
fn mid_value(text: String) -> String {
    if text.trim() == "0" { String::new() } else { text.trim().to_string() }
}

/// A Visa message: `ExternalUserId` and its `MessageElementsCollection` of `{Key, Value}`.
pub(super) fn visa(source: Source, message: &Map<String, Value>) -> RowResult {
    let elements: Vec<(String, String)> = match message.get("MessageElementsCollection") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| {
                let key = item.get("Key")?.as_str()?.to_string();
                let value = match item.get("Value")? {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                Some((key, value))
            })
            .collect(),
        _ => return Err("its MessageElementsCollection is not a list".into()),
    };
    let element = |key: &str| elements.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let required = |key: &str| element(key).filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("it has no {key}"));
    let card_token = Object(message).required("ExternalUserId")?;
    let (prefix, feed) = match source {
        Source::VisaAuth => ("Transaction", "AUTH"),
        Source::VisaSettlement => ("Transaction", "SETTLED"),
        _ => ("ReturnTransaction", "REFUND"),
    };
    let key = |name: &str| format!("{prefix}.{name}");
    let vip_id = required(&key("VipTransactionId"))?;
    let (stamp, amount) = match source {
        Source::VisaAuth => {
            (instant(&required(&key("TimeStampYYMMDD"))?, VISA_ZONE)?, pence(&required(&key("TransactionAmount"))?)?)
        }
        Source::VisaSettlement => {
            (instant(&required(&key("MerchantDateTimeGMT"))?, VISA_ZONE)?, pence(&required(&key("SettlementAmount"))?)?)
        }
        _ => (
            instant_in_format(&required(&key("DateTime"))?, "%m/%d/%Y %I:%M:%S %p", VISA_ZONE)?,
            // A refund gives back: whatever sign Visa writes, it is negative.
            -pence(&required(&key("Amount"))?)?.abs(),
        ),
    };
    let primary = if source == Source::VisaRefund { "CardAcceptorIdCode" } else { "MerchantCardAcceptorId" };
    let mut row = payment(feed, "visa", &stamp);
    row.transaction_id = vip_id.clone();
    row.settlement_key = visa_settlement_key(&vip_id).map_err(|error| error.to_string())?;
    row.primary_mid = mid_value(required(&key(primary))?);
    row.secondary_mid = mid_value(element(&key("VisaStoreId")).unwrap_or_default());
    row.psimi = mid_value(element(&key("VisaMerchantId")).unwrap_or_default());
    row.amount = amount;
    row.card_token = card_token;
    row.auth_code = element(&key("AuthCode")).unwrap_or_default().trim().to_string();
    let message_id = Object(message).optional("MessageId")?;
    if !message_id.is_empty() {
        row.extra = json!({ "message_id": message_id }).to_string();
    }
    Ok(Outcome::Import(Box::new(Row::Payment(row))))
}

/// A Mastercard auth message; its time is London time unless it says otherwise.
pub(super) fn mastercard_auth(message: &Map<String, Value>) -> RowResult {
    let o = Object(message);
    let stamp = instant(&o.required("time")?, London)?;
    let (third_party_id, mid, token) =
        (o.optional("third_party_id")?, o.required("mid")?, o.required("payment_card_token")?);
    let date = stamp.local_date.to_string();
    let mut row = payment("AUTH", "mastercard", &stamp);
    row.settlement_key =
        mastercard_settlement_key(&third_party_id, &date, &mid, &token).map_err(|error| error.to_string())?;
    row.transaction_id = mastercard_transaction_id(&third_party_id, &date).map_err(|error| error.to_string())?;
    row.primary_mid = mid;
    row.amount = pence(&o.required("amount")?)?;
    row.currency = o.required("currency_code")?;
    row.card_token = token;
    Ok(Outcome::Import(Box::new(Row::Payment(row))))
}

/// Mastercard's TGX2 settlement file: a header line, then fixed-width records; only detail
/// records (`D`) are transactions. Columns (0-based start, width) as Mastercard documents them.
pub(super) fn mastercard_settlements(text: &str) -> Result<Parsed, FileError> {
    let mut lines = text.lines().enumerate();
    if lines.next().is_none() {
        return Ok(Parsed::default());
    }
    let mut parsed = Parsed::default();
    let mut other_records = 0;
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with('D') {
            other_records += 1;
            continue;
        }
        parsed.push(index + 1, tgx2_detail(line).map(|row| Outcome::Import(Box::new(Row::Payment(row)))));
    }
    if parsed.rows.is_empty() && parsed.refused.is_empty() && other_records > 0 {
        return Err(FileError::shape(Source::MastercardSettlement, "none of its records is a detail record (D)"));
    }
    Ok(parsed)
}

/// TGX2 detail record columns: (start, width).
const TGX2_TOKEN: (usize, usize) = (21, 30);
const TGX2_DATE: (usize, usize) = (102, 8);
const TGX2_MID: (usize, usize) = (451, 15);
const TGX2_LOCATION: (usize, usize) = (500, 12);
const TGX2_AGGREGATE: (usize, usize) = (512, 6);
const TGX2_AMOUNT: (usize, usize) = (518, 12);
const TGX2_TIME: (usize, usize) = (563, 4);
const TGX2_AUTH_CODE: (usize, usize) = (567, 6);
const TGX2_ID: (usize, usize) = (761, 9);
/// The shortest line that holds every column.
pub const TGX2_WIDTH: usize = TGX2_ID.0 + TGX2_ID.1;

fn tgx2_detail(line: &str) -> Result<PaymentTransaction, String> {
    if !line.is_ascii() {
        return Err("a detail record must be plain ASCII".into());
    }
    if line.len() < TGX2_WIDTH {
        return Err(format!("a detail record is {TGX2_WIDTH} characters wide; this one is {}", line.len()));
    }
    let column = |(start, width): (usize, usize)| line[start..start + width].trim();
    let date = chrono::NaiveDate::parse_from_str(column(TGX2_DATE), "%Y%m%d")
        .map_err(|_| format!("its date {:?} is not YYYYMMDD", column(TGX2_DATE)))?;
    let time = chrono::NaiveTime::parse_from_str(column(TGX2_TIME), "%H%M")
        .map_err(|_| format!("its time {:?} is not HHMM", column(TGX2_TIME)))?;
    let stamp = local(date.and_time(time), London)?;
    let amount: i64 =
        column(TGX2_AMOUNT).parse().map_err(|_| format!("its amount {:?} is not pence", column(TGX2_AMOUNT)))?;
    let (id, mid, token) = (column(TGX2_ID), column(TGX2_MID), column(TGX2_TOKEN));
    if mid.is_empty() {
        return Err("its MID is empty".into());
    }
    let local_date = stamp.local_date.to_string();
    let mut row = payment("SETTLED", "mastercard", &stamp);
    row.transaction_id = mastercard_transaction_id(id, &local_date).map_err(|error| error.to_string())?;
    row.settlement_key = mastercard_settlement_key(id, &local_date, mid, token).map_err(|error| error.to_string())?;
    row.primary_mid = mid.into();
    row.secondary_mid = column(TGX2_LOCATION).into();
    row.psimi = column(TGX2_AGGREGATE).into();
    row.amount = amount;
    row.card_token = token.into();
    row.auth_code = column(TGX2_AUTH_CODE).into();
    Ok(row)
}

/// An Amex auth message.
pub(super) fn amex_auth(message: &Map<String, Value>) -> RowResult {
    let o = Object(message);
    let stamp = instant(&o.required("transaction_time")?, AMEX_AUTH_ZONE)?;
    let id = o.optional("transaction_id")?;
    let mut row = payment("AUTH", "amex", &stamp);
    row.settlement_key = amex_settlement_key(&id).map_err(|error| error.to_string())?;
    row.transaction_id = id;
    row.primary_mid = o.required("merchant_number")?;
    row.amount = pence(&o.required("transaction_amount")?)?;
    row.card_token = o.required("cm_alias")?;
    row.approval_code = o.optional("approval_code")?;
    Ok(Outcome::Import(Box::new(Row::Payment(row))))
}

/// An Amex settlement message; its DPAN (`123456XXXXX1234`) gives the card's first six and
/// last four digits.
pub(super) fn amex_settlement(message: &Map<String, Value>) -> RowResult {
    let o = Object(message);
    let stamp = instant(&o.required("transactionDate")?, London)?;
    let id = o.optional("transactionId")?;
    let dpan = o.optional("dpan")?;
    let (first_six, last_four) = if dpan.trim().is_empty() {
        (String::new(), String::new())
    } else {
        let (first, last) = dpan
            .trim()
            .split_once("XXXXX")
            .ok_or_else(|| format!("its dpan {dpan:?} is not first six, XXXXX, last four"))?;
        (first.to_string(), last.to_string())
    };
    let mut row = payment("SETTLED", "amex", &stamp);
    row.settlement_key = amex_settlement_key(&id).map_err(|error| error.to_string())?;
    row.transaction_id = id;
    row.primary_mid = o.required("merchantNumber")?;
    row.amount = pence(&o.required("transactionAmount")?)?;
    row.card_token = o.required("cardToken")?;
    row.first_six = first_six;
    row.last_four = last_four;
    row.approval_code = o.optional("approvalCode")?;
    Ok(Outcome::Import(Box::new(Row::Payment(row))))
}
