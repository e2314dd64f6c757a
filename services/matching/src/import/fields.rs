//! Reading one field of a feed row: amounts in pence, instants with their zone, JSON values
//! and CSV columns, each failing with a reason a person can act on.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;
use serde_json::{Map, Value};

/// Why one field of a row could not be read.
pub type Reason = String;

/// Pence from a decimal amount as feeds write it (`"10.99"`, `10.5`, `"-3"`); digits past the
/// second decimal place are dropped, as the seed's `Decimal(str(x)) * 100` truncated to int did.
pub fn pence(text: &str) -> Result<i64, Reason> {
    let trimmed = text.trim();
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let numeric = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !numeric(whole) || !numeric(fraction) {
        return Err(format!("{text:?} is not an amount"));
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| format!("{text:?} is too large"))? };
    let cents: i64 = fraction.chars().chain("00".chars()).take(2).collect::<String>().parse().unwrap_or(0);
    let value =
        whole.checked_mul(100).and_then(|p| p.checked_add(cents)).ok_or_else(|| format!("{text:?} is too large"))?;
    Ok(if negative { -value } else { value })
}

/// An instant read from a feed: microseconds since the epoch (UTC), the zone it was written in,
/// and its date there (Mastercard's settlement key and transaction id use that local date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub micros: i64,
    pub zone: String,
    pub local_date: NaiveDate,
}

/// Formats of a time without its zone that feeds write.
const NAIVE_FORMATS: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];

/// An instant from ISO 8601 text: with an offset it says where it was written; without one it
/// is local time in `zone` (the feed's documented zone).
pub fn instant(text: &str, zone: Tz) -> Result<Stamp, Reason> {
    let text = text.trim();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
    {
        let zone = if with_offset.offset().local_minus_utc() == 0 {
            "UTC".to_string()
        } else {
            with_offset.offset().to_string()
        };
        return Ok(Stamp { micros: with_offset.timestamp_micros(), zone, local_date: with_offset.date_naive() });
    }
    let naive = NAIVE_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| format!("{text:?} is not a date and time (ISO 8601 expected)"))?;
    local(naive, zone)
}

/// An instant from text in `format` (chrono's), local time in `zone`.
pub fn instant_in_format(text: &str, format: &str, zone: Tz) -> Result<Stamp, Reason> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), format)
        .map_err(|error| format!("{text:?} is not a date and time of the form {format} ({error})"))?;
    local(naive, zone)
}

/// Local time in `zone`. An hour the clocks went back over is read as its first occurrence; an
/// hour they skipped does not exist and is refused.
pub fn local(naive: NaiveDateTime, zone: Tz) -> Result<Stamp, Reason> {
    let at = match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at,
        LocalResult::None => return Err(format!("{naive} does not exist in {zone} (the clocks went forward)")),
    };
    Ok(Stamp { micros: at.timestamp_micros(), zone: zone.name().to_string(), local_date: naive.date() })
}

/// One JSON object of a feed.
pub struct Object<'a>(pub &'a Map<String, Value>);

impl Object<'_> {
    /// A field that must be there: a string, or a number as written.
    pub fn text(&self, key: &str) -> Result<String, Reason> {
        match self.0.get(key) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            Some(Value::Null) | None => Err(format!("it has no {key}")),
            Some(other) => Err(format!("its {key} is {other}, not text")),
        }
    }

    /// A field that may be missing or null: empty then.
    pub fn optional(&self, key: &str) -> Result<String, Reason> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(_) => self.text(key),
        }
    }

    /// A field that must be there and not be empty.
    pub fn required(&self, key: &str) -> Result<String, Reason> {
        let text = self.text(key)?;
        if text.trim().is_empty() {
            return Err(format!("its {key} is empty"));
        }
        Ok(text)
    }
}

/// Where each column of a CSV file is, from its header row: read once per file.
pub type ColumnIndex = std::collections::HashMap<String, usize>;

/// One CSV row of a feed, by column name.
pub struct Columns<'a> {
    pub index: &'a ColumnIndex,
    pub record: &'a csv::StringRecord,
}

impl Columns<'_> {
    /// The value under `column` (checked to exist when the file was opened), trimmed.
    pub fn get(&self, column: &str) -> &str {
        self.index.get(column).and_then(|i| self.record.get(*i)).unwrap_or("").trim()
    }

    /// A value that must not be empty.
    pub fn required(&self, column: &str) -> Result<String, Reason> {
        let value = self.get(column);
        if value.is_empty() {
            return Err(format!("its {column} is empty"));
        }
        Ok(value.to_string())
    }
}

/// The card scheme a card number's first digit says (2 and 5 Mastercard, 3 Amex, 4 Visa), as
/// Stonegate's and TGI Fridays' importers read it.
pub fn scheme_of_first_six(first_six: &str) -> Option<&'static str> {
    match first_six.trim().chars().next()? {
        '4' => Some("visa"),
        '2' | '5' => Some("mastercard"),
        '3' => Some("amex"),
        _ => None,
    }
}

/// The card scheme a merchant's own name for it says (`VS`, `Master Card`, `Am Ex`...).
pub fn scheme_of_name(name: &str) -> Option<&'static str> {
    const NAMES: &[(&str, &[&str])] = &[
        ("visa", &["visa", "vs"]),
        ("mastercard", &["mastercard", "mcard", "mc", "master card", "master", "maestro"]),
        ("amex", &["american express", "amex", "americanexpress", "am ex"]),
    ];
    let name = name.trim().to_lowercase();
    NAMES.iter().find(|(_, spellings)| spellings.contains(&name.as_str())).map(|(scheme, _)| *scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_pence_truncated_past_the_second_place() {
        assert_eq!(pence("10.99"), Ok(1_099));
        assert_eq!(pence("10.5"), Ok(1_050));
        assert_eq!(pence("7"), Ok(700));
        assert_eq!(pence("-3.2"), Ok(-320));
        assert_eq!(pence("0.019"), Ok(1));
        assert_eq!(pence(".5"), Ok(50));
        for bad in ["", "ten", "1.2.3", "1,50", "-", "."] {
            assert!(pence(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_instant_keeps_its_offset_or_reads_as_local_time_in_the_feeds_zone() {
        let london = chrono_tz::Europe::London;
        let summer = instant("2026-06-01 12:00:00", london).unwrap();
        assert_eq!(summer.micros, 1_780_311_600_000_000, "11:00 UTC in British Summer Time");
        assert_eq!(summer.zone, "Europe/London");
        let offset = instant("2026-06-01T12:00:00+02:00", london).unwrap();
        assert_eq!((offset.micros, offset.zone.as_str()), (1_780_308_000_000_000, "+02:00"));
        assert_eq!(instant("2026-06-01T10:00:00Z", london).unwrap().zone, "UTC");
        let skipped = instant("2026-03-29 01:30:00", london).unwrap_err();
        assert!(skipped.contains("clocks went forward"), "{skipped}");
        assert!(instant("yesterday", london).is_err());
    }

    #[test]
    fn card_schemes_come_from_the_first_digit_or_the_merchants_name_for_them() {
        assert_eq!(scheme_of_first_six("454545"), Some("visa"));
        assert_eq!(scheme_of_first_six("222100"), Some("mastercard"));
        assert_eq!(scheme_of_first_six("374245"), Some("amex"));
        assert_eq!(scheme_of_first_six("601100"), None);
        assert_eq!(scheme_of_name(" Master Card "), Some("mastercard"));
        assert_eq!(scheme_of_name("AM EX"), Some("amex"));
        assert_eq!(scheme_of_name("diners"), None);
    }
}
