//! The protocol's constants and small rules: (ts, seqnum) ordering, field limits, the root
//! account's configuration, amounts.

use serde::Deserialize;

/// The debtor's own account, which issues the currency and may go negative to its limit.
pub const ROOT_CREDITOR_ID: i64 = 0;
pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// A ConfigureAccount older than this does not create a missing account.
pub const SIGNAL_MAX_AGE_MICROS: i64 = 7 * MICROS_PER_DAY;
/// Seconds a prepared transfer may wait for its finalization, at most (90 days).
pub const COMMIT_PERIOD_SECONDS: i32 = 90 * 86_400;
pub const TRANSFER_NOTE_MAX_BYTES: usize = 500;
pub const CONFIG_DATA_MAX_BYTES: usize = 2_000;
pub const DEMURRAGE_RATE: f64 = -50.0;
/// Seconds an AccountUpdate stays valid: twice the heartbeat interval, so that a heartbeat
/// sent a little late does not let the creditor's copy expire.
pub const ACCOUNT_UPDATE_TTL_SECONDS: i32 = 14 * 86_400;
/// An account that has not changed for this long gets its AccountUpdate again (a heartbeat).
pub const HEARTBEAT_INTERVAL_MICROS: i64 = 7 * MICROS_PER_DAY;
/// A transfer prepared this long ago and not finalized is announced again (a reminder), at
/// most once per interval.
pub const REMINDER_INTERVAL_MICROS: i64 = 7 * MICROS_PER_DAY;
/// An account's interest rate changes at most once in this period (the signal delay plus a
/// day), so that a coordinator's `final_interest_rate_ts` stays meaningful.
pub const INTEREST_RATE_CHANGE_MIN_INTERVAL_MICROS: i64 = SIGNAL_MAX_AGE_MICROS + MICROS_PER_DAY;
/// Accrued interest is added to the principal at most this often.
pub const CAPITALIZATION_INTERVAL_MICROS: i64 = 30 * MICROS_PER_DAY;
/// Annual rates outside these bounds are clamped (a huge positive rate overflows balances, a
/// huge negative one is a mistake or malice).
pub const INTEREST_RATE_FLOOR: f64 = -50.0;
pub const INTEREST_RATE_CEIL: f64 = 100.0;
/// A deleted account is purged this long after its last change: twice the signal delay plus
/// the longest a prepared transfer may wait, so no message still in flight can meet a missing
/// account that it would wrongly re-create.
pub const PURGE_DELAY_MICROS: i64 = 2 * SIGNAL_MAX_AGE_MICROS + COMMIT_PERIOD_SECONDS as i64 * MICROS_PER_SECOND;
/// ... and not before its creation day is this many days old, so that an account deleted,
/// purged and created again never has the same creation date (transfer numbers start from it).
pub const PURGE_MIN_AGE_DAYS: i32 = 3;
/// A balance up to this much (or the account's negligible amount, if larger) may be given
/// back to the root account when an account is deleted.
pub const DELETION_MAX_BALANCE: f64 = 2.0;
const SECONDS_PER_YEAR: f64 = 365.25 * 86_400.0;
/// A sender with this many prepared transfers gets TOO_MANY_TRANSFERS.
pub const MAX_PENDING_TRANSFERS: u32 = i32::MAX as u32;
/// Config flag bit 0: the owner asks for the account to be deleted.
pub const SCHEDULED_FOR_DELETION_FLAG: i32 = 1;
/// The agent subnet of a creditor id: transfers coordinated by an agent stay inside it.
pub const AGENT_SUBNET_MASK: i64 = 0xffff_ff00_0000_0000_u64 as i64;

pub const OK: &str = "OK";
pub const TIMEOUT: &str = "TIMEOUT";
pub const NEWER_INTEREST_RATE: &str = "NEWER_INTEREST_RATE";
pub const SENDER_IS_UNREACHABLE: &str = "SENDER_IS_UNREACHABLE";
pub const RECIPIENT_IS_UNREACHABLE: &str = "RECIPIENT_IS_UNREACHABLE";
pub const INSUFFICIENT_AVAILABLE_AMOUNT: &str = "INSUFFICIENT_AVAILABLE_AMOUNT";
pub const RECIPIENT_SAME_AS_SENDER: &str = "RECIPIENT_SAME_AS_SENDER";
pub const TOO_MANY_TRANSFERS: &str = "TOO_MANY_TRANSFERS";
pub const INVALID_CONFIGURATION: &str = "INVALID_CONFIGURATION";

/// True when `b` is a later sequence number than `a`, on a 32-bit circle:
/// `0 < (b - a) mod 2^32 < 2^31`.
pub fn seqnum_is_later(a: i32, b: i32) -> bool {
    let diff = (b as u32).wrapping_sub(a as u32);
    diff != 0 && diff < 1 << 31
}

/// True when the pair (ts, seqnum) of a new configuration is later than the last applied one.
pub fn config_is_later(last_ts: i64, last_seqnum: i32, ts: i64, seqnum: i32) -> bool {
    ts > last_ts || (ts == last_ts && seqnum_is_later(last_seqnum, seqnum))
}

/// The account key as records carry it: `{debtor_id}/{creditor_id}` in decimal.
/// (Every command asks for its key, so it is written without the formatting machinery.)
pub fn account_key(debtor_id: i64, creditor_id: i64) -> String {
    let mut digits = itoa::Buffer::new();
    let debtor = digits.format(debtor_id);
    let mut key = String::with_capacity(debtor.len() + 21);
    key.push_str(debtor);
    key.push('/');
    key.push_str(digits.format(creditor_id));
    key
}

/// A creditor id as the protocol writes it in text: the unsigned decimal of its 64 bits.
pub fn creditor_text(creditor_id: i64) -> String {
    itoa::Buffer::new().format(creditor_id as u64).to_owned()
}

/// Parses a recipient written as the unsigned decimal of a creditor id.
pub fn parse_creditor(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().map(|n| n as i64)
}

/// The first day of the account: days since the epoch of `micros`.
pub fn date_of(micros: i64) -> i32 {
    micros.div_euclid(MICROS_PER_DAY) as i32
}

/// The root account's configuration (`config_data`), with the protocol's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RootConfig {
    /// Annual interest rate in percent.
    pub rate: f64,
    /// The most the root account may issue (how far below zero it may go).
    pub limit: i64,
    pub info_iri: String,
    pub info_content_type: String,
    pub info_sha256: String,
}

impl Default for RootConfig {
    fn default() -> Self {
        Self {
            rate: 0.0,
            limit: i64::MAX,
            info_iri: String::new(),
            info_content_type: String::new(),
            info_sha256: String::new(),
        }
    }
}

#[derive(Deserialize)]
struct RootConfigJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    rate: Option<f64>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    info: Option<DebtorInfoJson>,
}

#[derive(Deserialize)]
struct DebtorInfoJson {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    iri: String,
    #[serde(rename = "contentType", default)]
    content_type: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
}

/// Parses a root account's `config_data`; an empty string means the defaults.
pub fn parse_root_config(config_data: &str) -> Result<RootConfig, String> {
    if config_data.is_empty() {
        return Ok(RootConfig::default());
    }
    let json: RootConfigJson = serde_json::from_str(config_data).map_err(|e| format!("not RootConfigData: {e}"))?;
    let kind_ok = json.kind == "RootConfigData"
        || json.kind.strip_prefix("RootConfigData-v").is_some_and(|v| {
            !v.is_empty() && v.len() <= 6 && !v.starts_with('0') && v.bytes().all(|b| b.is_ascii_digit())
        });
    if !kind_ok {
        return Err(format!("type {:?} is not RootConfigData", json.kind));
    }
    let rate = json.rate.unwrap_or(0.0);
    if !rate.is_finite() {
        return Err("rate must be a number".into());
    }
    let limit = json.limit.unwrap_or(i64::MAX);
    if limit < 0 {
        return Err("limit must not be negative".into());
    }
    let mut config = RootConfig { rate, limit, ..RootConfig::default() };
    if let Some(info) = json.info {
        if info.kind.as_deref().is_some_and(|k| k != "DebtorInfo") {
            return Err("info.type must be DebtorInfo".into());
        }
        let sha = info.sha256.unwrap_or_default();
        let uppercase_hex = sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        if !sha.is_empty() && !uppercase_hex {
            return Err("info.sha256 must be 64 uppercase hex digits".into());
        }
        config.info_iri = info.iri;
        config.info_content_type = info.content_type.unwrap_or_default();
        config.info_sha256 = sha;
    }
    Ok(config)
}

/// True for a coordinator type the protocol accepts (1-30 ASCII letters, digits, '.', '-', '_').
pub fn valid_coordinator_type(kind: &str) -> bool {
    (1..=30).contains(&kind.len()) && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// True for a transfer note format: `^[0-9A-Za-z.-]{0,8}$`.
pub fn valid_note_format(format: &str) -> bool {
    format.len() <= 8 && format.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `principal + delta`, kept within [-i64::MAX, i64::MAX] (i64::MIN is forbidden).
/// The second value is true when the sum had to be clamped.
pub fn add_principal(principal: i64, delta: i64) -> (i64, bool) {
    let sum = i128::from(principal) + i128::from(delta);
    let clamped = sum.clamp(-i128::from(i64::MAX), i128::from(i64::MAX));
    (clamped as i64, clamped != sum)
}

/// The interest accrued by `now` on an account whose `principal` and `interest` were last
/// settled at `since`: the balance grows as `(principal + interest) * e^(k t)` with
/// `k = ln(1 + rate / 100) / year`, and only while it is positive.
pub fn accrued_interest(principal: i64, interest: f64, rate: f64, since: i64, now: i64) -> f64 {
    let balance = principal as f64 + interest;
    let seconds = (now - since).max(0) as f64 / MICROS_PER_SECOND as f64;
    if balance <= 0.0 || rate == 0.0 || seconds == 0.0 {
        return interest;
    }
    let k = (1.0 + rate / 100.0).ln() / SECONDS_PER_YEAR;
    balance * (k * seconds).exp() - principal as f64
}

/// The whole part of an amount of accrued interest (towards zero, so that nobody pays a
/// fraction they did not owe), within the principal's range.
pub fn whole_amount(value: f64) -> i64 {
    // `as` saturates, and i64::MIN is out of the principal's range.
    (value.trunc() as i64).max(-i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seqnums_are_compared_on_a_32_bit_circle() {
        assert!(seqnum_is_later(1, 2));
        assert!(!seqnum_is_later(2, 1));
        assert!(!seqnum_is_later(5, 5));
        assert!(seqnum_is_later(i32::MAX, i32::MIN), "the counter wraps from 2^31-1 to -2^31");
        assert!(seqnum_is_later(-1, 0));
        assert!(!seqnum_is_later(0, i32::MIN), "half the circle away is not later");
    }

    proptest! {
        #[test]
        fn of_two_different_seqnums_less_than_half_a_circle_apart_exactly_one_is_later(a: i32, step in 1u32..(1 << 31)) {
            let b = (a as u32).wrapping_add(step) as i32;
            prop_assert!(seqnum_is_later(a, b));
            prop_assert!(!seqnum_is_later(b, a));
        }

        #[test]
        fn keys_and_creditor_texts_are_plain_decimals_that_parse_back(debtor: i64, creditor: i64) {
            prop_assert_eq!(account_key(debtor, creditor), format!("{debtor}/{creditor}"));
            prop_assert_eq!(parse_creditor(&creditor_text(creditor)), Some(creditor));
        }

        #[test]
        fn a_principal_never_leaves_its_range(p in -i64::MAX..=i64::MAX, d in -i64::MAX..=i64::MAX) {
            let (sum, clamped) = add_principal(p, d);
            prop_assert!(sum != i64::MIN);
            prop_assert_eq!(clamped, i128::from(sum) != i128::from(p) + i128::from(d));
        }
    }

    #[test]
    fn interest_compounds_continuously_at_the_annual_rate() {
        let year = (SECONDS_PER_YEAR * 1e6) as i64;
        let after_a_year = accrued_interest(1_000, 0.0, 10.0, 0, year);
        assert!((after_a_year - 100.0).abs() < 1e-6, "{after_a_year}");
        let in_two_steps =
            accrued_interest(1_000, accrued_interest(1_000, 0.0, 10.0, 0, year / 2), 10.0, year / 2, year);
        assert!((in_two_steps - after_a_year).abs() < 1e-6, "settling half-way changes nothing");
        assert_eq!(accrued_interest(-1_000, 0.0, 10.0, 0, year), 0.0, "a negative balance accrues nothing");
        assert_eq!(accrued_interest(1_000, 5.0, 0.0, 0, year), 5.0);
        assert!(accrued_interest(1_000, 0.0, -50.0, 0, year) < -499.0, "demurrage shrinks the balance");
        assert_eq!(accrued_interest(1_000, 1.0, 10.0, year, 0), 1.0, "time never runs backwards");
        assert_eq!(whole_amount(-1e30), -i64::MAX);
        assert_eq!((whole_amount(2.7), whole_amount(-2.7)), (2, -2));
    }

    #[test]
    fn a_later_timestamp_wins_whatever_the_seqnum() {
        assert!(config_is_later(10, 100, 11, 1));
        assert!(!config_is_later(10, 1, 9, 2));
        assert!(config_is_later(10, 1, 10, 2));
    }

    #[test]
    fn creditor_ids_are_written_as_unsigned_decimals() {
        assert_eq!(creditor_text(-1), "18446744073709551615");
        assert_eq!(parse_creditor("18446744073709551615"), Some(-1));
        assert_eq!(parse_creditor("12"), Some(12));
        for bad in ["", "-1", "1a", "18446744073709551616", " 1"] {
            assert_eq!(parse_creditor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn root_config_data_has_defaults_and_is_checked() {
        assert_eq!(parse_root_config(""), Ok(RootConfig::default()));
        let config = parse_root_config(
            r#"{"type":"RootConfigData-v2","rate":2.5,"limit":1000,"info":{"type":"DebtorInfo","iri":"https://x/1","contentType":"text/plain","sha256":"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"},"extra":1}"#,
        )
        .expect("valid");
        assert_eq!((config.rate, config.limit, config.info_iri.as_str()), (2.5, 1000, "https://x/1"));
        for bad in [
            "{}",
            r#"{"type":"Other"}"#,
            r#"{"type":"RootConfigData-v0"}"#,
            r#"{"type":"RootConfigData","limit":-1}"#,
            r#"{"type":"RootConfigData","info":{"iri":"x","sha256":"abc"}}"#,
            "not json",
        ] {
            assert!(parse_root_config(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn note_formats_and_coordinator_types_follow_the_protocol() {
        assert!(
            valid_note_format("")
                && valid_note_format("json-1.0")
                && !valid_note_format("toolong12")
                && !valid_note_format("a b")
        );
        assert!(
            valid_coordinator_type("direct") && !valid_coordinator_type("") && !valid_coordinator_type(&"x".repeat(31))
        );
    }
}
