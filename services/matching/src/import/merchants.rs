//! The loyalty merchants' own feeds (matching-harmonia-source.md, "Merchant import rules").

use chrono_tz::Europe::London;
use serde_json::{Map, Value, json};

use super::fields::{Columns, Object, Stamp, instant, instant_in_format, pence, scheme_of_first_six, scheme_of_name};
use super::{MerchantRow, Outcome, Row, RowResult};
use crate::messages::MerchantTransaction;
use crate::settlement::sha256_hex;

fn merchant_row(merchant: &str, provider: &str, stamp: &Stamp) -> MerchantTransaction {
    MerchantTransaction {
        transaction_id: String::new(),
        merchant: merchant.into(),
        provider: provider.into(),
        mids: Vec::new(),
        amount: 0,
        currency: "GBP".into(),
        at: stamp.micros,
        source_zone: stamp.zone.clone(),
        has_time: true,
        card_token: String::new(),
        first_six: String::new(),
        last_four: String::new(),
        auth_code: String::new(),
        extra: String::new(),
    }
}

fn import(transaction: MerchantTransaction, location: Option<String>) -> RowResult {
    Ok(Outcome::Import(Box::new(Row::Merchant(MerchantRow { transaction, location }))))
}

/// The scheme from the card's first digit, else from the merchant's name for it.
fn card_scheme(first_six: &str, name: &str) -> Option<&'static str> {
    scheme_of_first_six(first_six).or_else(|| scheme_of_name(name))
}

pub(super) const ICELAND_COLUMNS: &[&str] = &[
    "TransactionId",
    "TransactionStore_Id",
    "TransactionTimestamp",
    "TransactionAmountValue",
    "TransactionAmountUnit",
    "TransactionCardScheme",
    "TransactionCardFirst6",
    "TransactionCardLast4",
    "TransactionAuthCode",
];

/// Iceland's names for card schemes; a card it names otherwise is not imported.
fn iceland_scheme(name: &str) -> Option<&'static str> {
    match name {
        "Amex" => Some("amex"),
        "Visa" | "Visa Debit" | "Electron" | "Visa CPC" => Some("visa"),
        "MasterCard/MasterCard One"
        | "Maestro"
        | "EDC/Maestro (INT) / Laser"
        | "MasterCard Debit"
        | "Mastercard One" => Some("mastercard"),
        _ => None,
    }
}

/// Iceland's CSV: declined payments and cards of other schemes are left out.
pub(super) fn iceland(row: &Columns<'_>) -> RowResult {
    if row.get("TransactionAuthCode").eq_ignore_ascii_case("decline") {
        return Ok(Outcome::Skip("a declined payment (auth code \"decline\")".into()));
    }
    let Some(provider) = iceland_scheme(row.get("TransactionCardScheme")) else {
        return Ok(Outcome::Skip(format!(
            "card scheme {:?} is not Visa, Mastercard or Amex",
            row.get("TransactionCardScheme")
        )));
    };
    let stamp = instant_in_format(&row.required("TransactionTimestamp")?, "%Y-%m-%d %H:%M:%S", London)?;
    let mut t = merchant_row("iceland-bonus-card", provider, &stamp);
    t.transaction_id = row.required("TransactionId")?;
    t.mids = vec![row.required("TransactionStore_Id")?];
    t.amount = pence(&row.required("TransactionAmountValue")?)?;
    t.currency = row.required("TransactionAmountUnit")?;
    t.first_six = row.get("TransactionCardFirst6").into();
    t.last_four = row.get("TransactionCardLast4").into();
    t.auth_code = row.get("TransactionAuthCode").into();
    import(t, None)
}

pub(super) const WASABI_COLUMNS: &[&str] =
    &["Receipt No_", "EFT Merchant No_", "Date", "Time", "Amount", "Card Type Name", "Card Number", "Auth_code"];

fn wasabi_scheme(name: &str) -> Option<&'static str> {
    match name {
        "American Express" => Some("amex"),
        "Visa" | "Visa Debit" | "Visa (Purchasing Card)" | "Visa (Enhanced Management Info" => Some("visa"),
        "Mastercard" | "Maestro" | "Debit Mastercard" | "Compliments Card" => Some("mastercard"),
        _ => None,
    }
}

/// Wasabi's CSV: a receipt number is its id (its transaction numbers repeat); London time.
pub(super) fn wasabi(row: &Columns<'_>) -> RowResult {
    let Some(provider) = wasabi_scheme(row.get("Card Type Name")) else {
        return Ok(Outcome::Skip(format!("card type {:?} is not Visa, Mastercard or Amex", row.get("Card Type Name"))));
    };
    let when = format!("{} {}", row.required("Date")?, row.required("Time")?);
    let stamp = instant_in_format(&when, "%d/%m/%Y %H:%M:%S", London)?;
    let card = row.get("Card Number");
    let mut t = merchant_row("wasabi-club", provider, &stamp);
    t.transaction_id = row.required("Receipt No_")?;
    t.mids = vec![row.required("EFT Merchant No_")?];
    t.amount = pence(&row.required("Amount")?)?;
    t.first_six = card.chars().take(6).collect();
    t.last_four = card.chars().skip(card.chars().count().saturating_sub(4)).collect();
    t.auth_code = row.get("Auth_code").into();
    import(t, None)
}

/// Costa's messages name their scheme and MID.
pub(super) fn costa(message: &Map<String, Value>) -> RowResult {
    let o = Object(message);
    let named = o.required("payment_card_type")?;
    let Some(provider) = scheme_of_name(&named) else {
        return Ok(Outcome::Skip(format!("card type {named:?} is not Visa, Mastercard or Amex")));
    };
    let stamp = instant(&o.required("date")?, London)?;
    let mut t = merchant_row("costa", provider, &stamp);
    t.transaction_id = o.required("transaction_id")?;
    t.mids = vec![o.required("merchant_identifier")?];
    t.amount = pence(&o.required("amount")?)?;
    t.currency = o.required("currency_code")?;
    t.first_six = o.optional("payment_card_first_six")?;
    t.last_four = o.optional("payment_card_last_four")?;
    t.auth_code = o.optional("auth_code")?;
    let extra: Map<String, Value> = ["metadata", "items_ordered"]
        .iter()
        .filter_map(|k| message.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    if !extra.is_empty() {
        t.extra = Value::Object(extra).to_string();
    }
    import(t, None)
}

pub(super) const ITSU_COLUMNS: &[&str] = &[
    "transaction_id",
    "retailer_location_id",
    "date",
    "amount",
    "currency_code",
    "payment_card_type",
    "payment_card_first_six",
    "payment_card_last_four",
    "auth_code",
];

/// Itsu's CSV: only visa, amex and mastercard, only spends of £5 or more; its shops are named
/// by location.
pub(super) fn itsu(row: &Columns<'_>) -> RowResult {
    let provider = row.get("payment_card_type");
    if !["visa", "amex", "mastercard"].contains(&provider) {
        return Ok(Outcome::Skip(format!("card type {provider:?} is not visa, mastercard or amex")));
    }
    let amount = pence(&row.required("amount")?)?;
    if amount < 500 {
        return Ok(Outcome::Skip(format!("a spend of {amount}p is under Itsu's 500p")));
    }
    let stamp = instant(&row.required("date")?, London)?;
    let mut t = merchant_row("itsu", provider, &stamp);
    t.transaction_id = row.required("transaction_id")?;
    t.amount = amount;
    t.currency = row.required("currency_code")?;
    t.first_six = row.get("payment_card_first_six").into();
    t.last_four = row.get("payment_card_last_four").into();
    t.auth_code = row.get("auth_code").into();
    import(t, Some(row.required("retailer_location_id")?))
}

/// Stonegate's messages: the scheme from the card's first digit, else its name; shops named
/// by location. Its transaction ids repeat, so the id is a hash of what makes a row unique.
pub(super) fn stonegate(message: &Map<String, Value>) -> RowResult {
    let o = Object(message);
    let (first_six, named) = (o.optional("payment_card_first_six")?, o.optional("payment_card_type")?);
    let Some(provider) = card_scheme(&first_six, &named) else {
        return Ok(Outcome::Skip(format!(
            "neither first six {first_six:?} nor card type {named:?} names a card scheme"
        )));
    };
    let account_id = match message.get("metadata") {
        Some(Value::Object(metadata)) => Object(metadata).required("AccountID")?,
        _ => return Err("it has no metadata.AccountID".into()),
    };
    let (date, amount_text, auth_code, id) =
        (o.required("date")?, o.required("amount")?, o.optional("auth_code")?, o.required("transaction_id")?);
    let stamp = instant(&date, London)?;
    let mut t = merchant_row("stonegate", provider, &stamp);
    t.transaction_id = sha256_hex(&format!("{date}.{auth_code}.{account_id}.{amount_text}.{id}"));
    t.amount = pence(&amount_text)?;
    t.currency = o.required("currency_code")?;
    t.first_six = first_six;
    t.last_four = o.optional("payment_card_last_four")?;
    t.auth_code = auth_code;
    t.extra = json!({ "account_id": account_id, "merchant_transaction_id": id }).to_string();
    import(t, Some(o.required("retailer_location_id")?))
}

pub(super) const TGI_COLUMNS: &[&str] = &[
    "transaction_id",
    "merchant_identifier",
    "date",
    "amount",
    "gratuity_amount",
    "currency_code",
    "payment_card_type",
    "payment_card_first_six",
    "payment_card_last_four",
    "auth_code",
];

/// TGI Fridays' CSV: the spend is the amount plus the gratuity; London time; its ids repeat,
/// so the id is a hash of what makes a row unique.
pub(super) fn tgi_fridays(row: &Columns<'_>) -> RowResult {
    let (first_six, named) = (row.get("payment_card_first_six"), row.get("payment_card_type"));
    let Some(provider) = card_scheme(first_six, named) else {
        return Ok(Outcome::Skip(format!(
            "neither first six {first_six:?} nor card type {named:?} names a card scheme"
        )));
    };
    let (date, mid, amount, id) = (
        row.required("date")?,
        row.required("merchant_identifier")?,
        row.required("amount")?,
        row.required("transaction_id")?,
    );
    let gratuity = match row.get("gratuity_amount") {
        "" => "0".to_string(),
        given => given.to_string(),
    };
    let stamp = instant(&date, London)?;
    let mut t = merchant_row("tgi-fridays", provider, &stamp);
    t.transaction_id = sha256_hex(&format!("{date}.{mid}.{amount}.{id}.{gratuity}"));
    t.mids = vec![mid];
    t.amount = pence(&amount)? + pence(&gratuity)?;
    t.currency = row.required("currency_code")?;
    t.first_six = first_six.into();
    t.last_four = row.get("payment_card_last_four").into();
    t.auth_code = row.get("auth_code").into();
    t.extra = json!({ "amount": amount, "gratuity_amount": gratuity, "merchant_transaction_id": id }).to_string();
    import(t, None)
}
