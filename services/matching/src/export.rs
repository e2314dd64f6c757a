//! Exports: every match, streamed transaction and unmatched export becomes a retry task of the
//! merchant's export type, under a stable id the merchant can dedupe on (sha256 of the
//! settlement key: the seed used random ids for several merchants). How often a merchant's export is retried, on which of its
//! answers, and when the first send may go are the merchant's export policy, as data
//! (`merchant-profiles.toml`, `[<merchant>.export]`).

use chrono::{Duration, NaiveTime, TimeZone as _};
use chrono_tz::Europe::London;
use serde::Deserialize;
use serde_json::json;

use crate::messages::{CreateTask, Matched, MatchingEvent as E, Streamed, UnmatchedExportDue};

/// The retry task type every export runs as (`services/retry/task-types.toml`).
pub const EXPORT_TASK_TYPE: &str = "matching_export";

/// What starts the id of an export's retry task.
pub const EXPORT_TASK: &str = "export:";

/// The id of the retry task of an export (a match's id, a stream id or an unmatched export's
/// id): one per export, so a repeated request is the same task.
pub fn export_task_id(export_id: &str) -> String {
    format!("{EXPORT_TASK}{export_id}")
}

/// What an export sends, whatever made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The export's own id (its task's, and the `Idempotency-Key` of every send).
    pub export_id: String,
    /// The id the merchant sees: the match id, or a streamed purchase's id.
    pub id: String,
    pub merchant: String,
    /// LOYALTY, SPOTTED, FORCED, STREAMED or UNMATCHED.
    pub kind: String,
    /// The payment feed a streamed or unmatched export stands on; empty for a match.
    pub feed: String,
    pub transaction_id: String,
    pub payment_transaction_id: String,
    pub amount: i64,
    pub currency: String,
    pub at: i64,
    pub mid: String,
    pub card_token: String,
    pub scheme_account_id: String,
}

impl Export {
    /// The export an event asks for, if it asks for one.
    pub fn of(event: &E) -> Option<Export> {
        match event {
            E::Matched(m) => Some(Export::from(m)),
            E::Streamed(s) => Some(Export::from(s)),
            E::UnmatchedExportDue(u) => Some(Export::from(u)),
            _ => None,
        }
    }
}

impl From<&Matched> for Export {
    fn from(m: &Matched) -> Self {
        Export {
            export_id: m.match_id.clone(),
            id: m.match_id.clone(),
            merchant: m.merchant.clone(),
            kind: m.matching_type.clone(),
            feed: String::new(),
            transaction_id: m.merchant_transaction_id.clone(),
            payment_transaction_id: m.payment_transaction_id.clone(),
            amount: m.amount,
            currency: m.currency.clone(),
            at: m.at,
            mid: m.mid.clone(),
            card_token: m.card_token.clone(),
            scheme_account_id: m.scheme_account_id.clone(),
        }
    }
}

impl From<&Streamed> for Export {
    fn from(s: &Streamed) -> Self {
        Export {
            export_id: s.stream_id.clone(),
            id: s.purchase_id.clone(),
            merchant: s.merchant.clone(),
            kind: "STREAMED".to_string(),
            feed: s.feed.clone(),
            transaction_id: s.transaction_id.clone(),
            payment_transaction_id: s.transaction_id.clone(),
            amount: s.amount,
            currency: s.currency.clone(),
            at: s.at,
            mid: s.mid.clone(),
            card_token: s.card_token.clone(),
            scheme_account_id: s.scheme_account_id.clone(),
        }
    }
}

impl From<&UnmatchedExportDue> for Export {
    fn from(u: &UnmatchedExportDue) -> Self {
        Export {
            export_id: u.export_id.clone(),
            id: u.export_id.trim_start_matches(UNMATCHED_PREFIX).to_string(),
            merchant: u.export_as.clone(),
            kind: "UNMATCHED".to_string(),
            feed: u.feed.clone(),
            transaction_id: u.payment_transaction_id.clone(),
            payment_transaction_id: u.payment_transaction_id.clone(),
            amount: u.amount,
            currency: u.currency.clone(),
            at: u.at,
            mid: u.mid.clone(),
            card_token: u.card_token.clone(),
            scheme_account_id: u.scheme_account_id.clone(),
        }
    }
}

/// What starts a stream id and an unmatched export's id.
pub const STREAM_PREFIX: &str = "stream:";
pub const UNMATCHED_PREFIX: &str = "unmatched:";

/// How a merchant takes its exports. The defaults are the seed's: four retries, twenty minutes
/// apart, on any failure worth retrying, the first send at once.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportPolicy {
    /// Sends after the first.
    pub retries: u32,
    pub retry_minutes: f64,
    /// When not empty, only an answer carrying one of these messages is retried (Stonegate's
    /// internal errors); any other refusal is final.
    pub retry_on_messages: Vec<String>,
    /// The first send waits for this time of day, London time (`HH:MM`); empty: at once.
    pub hold_until: String,
    /// The first send waits this long after the match (TGI Fridays: a day).
    pub delay_minutes: u32,
}

impl Default for ExportPolicy {
    fn default() -> Self {
        Self {
            retries: 4,
            retry_minutes: 20.0,
            retry_on_messages: Vec::new(),
            hold_until: String::new(),
            delay_minutes: 0,
        }
    }
}

impl ExportPolicy {
    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.retry_minutes <= 0.0 || !self.retry_minutes.is_finite() {
            return Err("export retry_minutes must be positive");
        }
        if !self.hold_until.is_empty() && NaiveTime::parse_from_str(&self.hold_until, "%H:%M").is_err() {
            return Err("export hold_until must be HH:MM");
        }
        Ok(())
    }

    /// The retry policy a CreateTask overrides its type's with (JSON).
    pub fn task_policy(&self) -> String {
        let delay = self.retry_minutes * 60.0;
        // A listed message comes back as `not_ready` (the merchant asks to be tried again);
        // every other refusal keeps its HTTP class, which such a merchant does not retry.
        let retry_on = if self.retry_on_messages.is_empty() {
            json!(["transport", "timeout", "http_429", "http_5xx", "not_ready"])
        } else {
            json!(["transport", "timeout", "http_429", "not_ready"])
        };
        json!({
            "max_attempts": self.retries + 1,
            "backoff": {"base": 1.0, "unit_seconds": delay, "cap_seconds": delay, "jitter": 0.0},
            "retry_on": retry_on,
        })
        .to_string()
    }

    /// When the first send may go, for a match made at `now` (microseconds, UTC); 0: at once.
    pub fn first_send(&self, now: i64) -> i64 {
        let mut earliest = now + i64::from(self.delay_minutes) * 60_000_000;
        if let Ok(hold) = NaiveTime::parse_from_str(&self.hold_until, "%H:%M") {
            let Some(at) = chrono::DateTime::from_timestamp_micros(earliest) else { return 0 };
            let local = at.with_timezone(&London);
            let mut day = local.date_naive();
            if local.time() >= hold {
                day += Duration::days(1);
            }
            // A time the clocks skipped is taken an hour later; one they repeat, at its first.
            let held = London
                .from_local_datetime(&day.and_time(hold))
                .earliest()
                .or_else(|| London.from_local_datetime(&(day.and_time(hold) + Duration::hours(1))).earliest());
            if let Some(held) = held {
                earliest = held.timestamp_micros();
            }
        }
        if earliest <= now { 0 } else { earliest }
    }
}

/// The retry task that sends `export` under `policy`, answering to `reply_topic`.
pub fn export_task(
    export: &Export,
    policy: &ExportPolicy,
    reply_topic: &str,
    idempotency_key: &str,
    now: i64,
) -> CreateTask {
    let params = json!({
        "merchant": export.merchant,
        "match_id": export.export_id,
        "id": export.id,
        "matching_type": export.kind,
        "feed": export.feed,
        "transaction_id": export.transaction_id,
        "payment_transaction_id": export.payment_transaction_id,
        "amount": export.amount,
        "currency": export.currency,
        "transaction_at": chrono::DateTime::from_timestamp_micros(export.at).map(|at| at.to_rfc3339()).unwrap_or_default(),
        "mid": export.mid,
        "card_token": export.card_token,
        "scheme_account_id": export.scheme_account_id,
        "retry_on_messages": policy.retry_on_messages,
    });
    CreateTask {
        task_id: export_task_id(&export.export_id),
        task_type: EXPORT_TASK_TYPE.to_string(),
        params: params.to_string(),
        idempotency_key: idempotency_key.to_string(),
        reply_topic: reply_topic.to_string(),
        reply_key: export_task_id(&export.export_id),
        policy: policy.task_policy(),
        not_before: policy.first_send(now),
        ts: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).map(|at| at.timestamp_micros()).unwrap_or_default()
    }

    #[test]
    fn the_default_is_four_retries_twenty_minutes_apart_at_once() {
        let policy = ExportPolicy::default();
        let task: serde_json::Value = serde_json::from_str(&policy.task_policy()).unwrap();
        assert_eq!(task["max_attempts"], 5);
        assert_eq!(task["backoff"]["unit_seconds"], 1200.0);
        assert_eq!(policy.first_send(micros("2026-06-01T09:00:00Z")), 0);
    }

    #[test]
    fn a_held_export_waits_for_the_time_of_day_in_london_and_a_delay_counts_from_the_match() {
        let stonegate = ExportPolicy { hold_until: "10:30".into(), ..ExportPolicy::default() };
        // 09:00 UTC is 10:00 in London in June: held until 10:30 London, 09:30 UTC.
        assert_eq!(stonegate.first_send(micros("2026-06-01T09:00:00Z")), micros("2026-06-01T09:30:00Z"));
        // Past 10:30 London: the next day's.
        assert_eq!(stonegate.first_send(micros("2026-06-01T09:45:00Z")), micros("2026-06-02T09:30:00Z"));
        // In winter London is UTC.
        assert_eq!(stonegate.first_send(micros("2026-12-01T09:00:00Z")), micros("2026-12-01T10:30:00Z"));
        let tgi = ExportPolicy { delay_minutes: 24 * 60, ..ExportPolicy::default() };
        assert_eq!(tgi.first_send(micros("2026-06-01T09:00:00Z")), micros("2026-06-02T09:00:00Z"));
        assert!(ExportPolicy { hold_until: "25:00".into(), ..ExportPolicy::default() }.check().is_err());
    }

    #[test]
    fn a_merchant_retrying_only_listed_messages_does_not_retry_an_unlisted_5xx() {
        let policy =
            ExportPolicy { retries: 31, retry_on_messages: vec!["Internal Error".into()], ..ExportPolicy::default() };
        let task: serde_json::Value = serde_json::from_str(&policy.task_policy()).unwrap();
        assert_eq!(task["max_attempts"], 32);
        let retried: Vec<&str> = task["retry_on"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
        assert!(retried.contains(&"not_ready") && !retried.contains(&"http_5xx"), "{retried:?}");
    }
}
