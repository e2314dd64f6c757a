//! A force match as an operator asks for it (the route and `clio matching force-match`):
//! checked against the read model, so that a side that is not pending is refused at once with
//! the reason; the domain checks again, as the read model may lag (`ForceMatchRefused`).

use anyhow::Context as _;
use clio_matching::entity::bucket_key;
use clio_matching::messages::{ForceMatch, MatchingCommand};
use clio_matching::settlement::sha256_hex;
use clio_matching_projection::queries;
use serde_json::Value;

/// Why a force match is refused before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A side the read model does not hold.
    Unknown(String),
    /// A side that is not pending.
    NotPending(String),
}

/// The ForceMatch command pairing `payment_key` with the merchant transaction
/// `merchant_transaction_id` of the payment's merchant, or why not; `Err` for a database that
/// cannot be read.
pub async fn command(
    pool: &sqlx::PgPool,
    schema: &str,
    payment_key: &str,
    merchant_transaction_id: &str,
    by: &str,
    ts: i64,
) -> anyhow::Result<Result<(MatchingCommand, String), Refusal>> {
    let sides: Value = sqlx::query_scalar(&queries::FORCE_MATCH_SIDES.in_schema(schema))
        .bind(payment_key)
        .bind(merchant_transaction_id)
        .fetch_one(pool)
        .await
        .with_context(|| format!("reading {schema}.payment_transactions and {schema}.scheme_transactions"))?;
    let payment = &sides["payment"];
    if payment.is_null() {
        return Ok(Err(Refusal::Unknown(format!("there is no payment {payment_key}"))));
    }
    let status = payment["status"].as_str().unwrap_or_default();
    let merchant = payment["merchant"].as_str().unwrap_or_default();
    if status != "PENDING" {
        return Ok(Err(Refusal::NotPending(format!("payment {payment_key} is {status}, not pending"))));
    }
    let row = sides["rows"].as_array().into_iter().flatten().find(|row| row["merchant"] == merchant);
    let Some(row) = row else {
        return Ok(Err(Refusal::Unknown(format!("{merchant} has no merchant transaction {merchant_transaction_id}"))));
    };
    let row_status = row["status"].as_str().unwrap_or_default();
    if row_status != "PENDING" {
        return Ok(Err(Refusal::NotPending(format!(
            "merchant transaction {merchant_transaction_id} is {row_status}, not pending"
        ))));
    }
    let payment_bucket = match payment["bucket"].as_str() {
        Some(bucket) if !bucket.is_empty() => bucket.to_string(),
        _ => bucket_key(merchant, payment["amount"].as_i64().unwrap_or_default()),
    };
    let command = MatchingCommand::ForceMatch(ForceMatch {
        bucket: bucket_key(merchant, row["amount"].as_i64().unwrap_or_default()),
        payment_key: payment_key.to_string(),
        payment_bucket,
        merchant: merchant.to_string(),
        merchant_transaction_id: merchant_transaction_id.to_string(),
        by: by.to_string(),
        ts,
    });
    let match_id = sha256_hex(payment_key.strip_prefix("payment:").unwrap_or(payment_key));
    Ok(Ok((command, match_id)))
}
