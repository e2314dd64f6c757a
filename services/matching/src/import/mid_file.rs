//! A MID onboarding file, as the seed's `/txm/identifiers/csv` read it: no header, ten
//! columns (provider, identifier, identifier type, merchant slug, location id, merchant
//! internal id, merchant name, location, postcode, action); only rows whose action is `A` are
//! onboarded. A file with any bad row onboards nothing: each bad row is named.

use super::{LineNote, Numbered, numbered_records};
use crate::messages::OnboardMid;
use crate::mids::Mid;

/// The columns of a MID file, in order.
pub const MID_FILE_COLUMNS: [&str; 10] = [
    "provider",
    "identifier",
    "identifier_type",
    "merchant",
    "location_id",
    "merchant_internal_id",
    "merchant_name",
    "location",
    "postcode",
    "action",
];

/// The onboardings of a MID file (`by` and `ts` as given), or every row that is wrong.
pub fn parse_mid_file(text: &str, by: &str, ts: i64) -> Result<Vec<Numbered<OnboardMid>>, Vec<LineNote>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let (mut onboardings, mut wrong) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashMap::new();
    numbered_records(&mut reader, text, |line, record| {
        let record = match record {
            Ok(record) => record,
            Err(error) => return wrong.push(Numbered { line, item: format!("not a CSV row ({error})") }),
        };
        if record.iter().all(|value| value.trim().is_empty()) {
            return;
        }
        match onboarding(record, by, ts) {
            Ok(None) => {}
            Ok(Some(mid)) => {
                let key = (mid.provider.clone(), mid.mid_type.clone(), mid.identifier.clone());
                if let Some(first) = seen.insert(key, line) {
                    wrong.push(Numbered { line, item: format!("the MID of line {first} again") });
                } else {
                    onboardings.push(Numbered { line, item: mid });
                }
            }
            Err(reason) => wrong.push(Numbered { line, item: reason }),
        }
    });
    if wrong.is_empty() { Ok(onboardings) } else { Err(wrong) }
}

fn onboarding(record: &csv::StringRecord, by: &str, ts: i64) -> Result<Option<OnboardMid>, String> {
    if record.len() != MID_FILE_COLUMNS.len() {
        return Err(format!(
            "{} columns, not {} ({})",
            record.len(),
            MID_FILE_COLUMNS.len(),
            MID_FILE_COLUMNS.join(", ")
        ));
    }
    let column = |index: usize| record.get(index).unwrap_or("").trim().to_string();
    if !column(9).eq_ignore_ascii_case("a") {
        return Ok(None);
    }
    let onboard = OnboardMid {
        provider: column(0).to_lowercase(),
        mid_type: column(2).to_uppercase(),
        identifier: column(1),
        merchant: column(3),
        location: column(7),
        postcode: column(8),
        location_id: column(4),
        merchant_internal_id: column(5),
        by: by.to_string(),
        ts,
    };
    Mid::from_record(&onboard).map_err(|error| error.to_string())?;
    Ok(Some(onboard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_marked_a_are_onboarded_and_a_file_with_a_bad_row_onboards_nothing() {
        let good = "\
visa,M1,primary,costa,loc-1,int-1,Costa,1 High St,AB1 2CD,A
visa,M2,PRIMARY,costa,,,Costa,2 High St,AB1 2CD,D

amex,A1,PRIMARY,wasabi-club,,,Wasabi,3 High St,AB1 2CD,a
";
        let onboardings = parse_mid_file(good, "ops", 7).unwrap();
        let found: Vec<(usize, &str, &str, &str)> = onboardings
            .iter()
            .map(|n| (n.line, n.item.provider.as_str(), n.item.mid_type.as_str(), n.item.identifier.as_str()))
            .collect();
        assert_eq!(found, [(1, "visa", "PRIMARY", "M1"), (4, "amex", "PRIMARY", "A1")]);
        assert_eq!((onboardings[0].item.location_id.as_str(), onboardings[0].item.by.as_str()), ("loc-1", "ops"));

        let bad = "\
visa,M1,PRIMARY,costa,,,Costa,1 High St,AB1 2CD,A
diners,M2,PRIMARY,costa,,,Costa,1 High St,AB1 2CD,A
visa,M3,TERTIARY,costa,,,Costa,1 High St,AB1 2CD,A
visa,M4,PRIMARY,costa
visa,M1,PRIMARY,costa,,,Costa,1 High St,AB1 2CD,A
visa,M5,PRIMARY,costa,,,Costa,,AB1 2CD,A
";
        let wrong: Vec<String> = parse_mid_file(bad, "ops", 7).unwrap_err().iter().map(ToString::to_string).collect();
        assert_eq!(
            wrong,
            [
                "line 2: \"diners\" is not a payment provider (visa, mastercard or amex)",
                "line 3: \"TERTIARY\" is not a MID type (PRIMARY, SECONDARY or PSIMI)",
                "line 4: 4 columns, not 10 (provider, identifier, identifier_type, merchant, location_id, merchant_internal_id, merchant_name, location, postcode, action)",
                "line 5: the MID of line 1 again",
                "line 6: a MID needs a location",
            ]
        );
    }
}
