//! A demo day for two merchants, as files in the feeds' own shapes imported through the same
//! path as `clio matching import`: Costa (Visa auths, their settlements, Costa's own feed) and
//! Wasabi (Mastercard auths, Wasabi's CSV). Some purchases have no merchant row (they stay
//! pending) and one payment names a MID nobody onboarded (it waits, unidentified). Ids derive
//! from the day, so seeding again changes nothing.

use chrono::{Duration, NaiveDate, NaiveTime};
use clio_matching::import::{Source, parse, parse_mid_file};
use clio_matching::messages::MatchingCommand;

use crate::client::{MatchingClient, now_micros};
use crate::import;

/// How many purchases each merchant's day has; every fifth one has no merchant row.
#[derive(Debug, Clone, Copy)]
pub struct DemoDay {
    pub date: NaiveDate,
    pub purchases: usize,
}

/// What seeding sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoReport {
    pub mids: usize,
    pub payments: usize,
    pub merchant_transactions: usize,
}

const MIDS: &str = "\
visa,costa-demo-1,PRIMARY,costa,costa-001,CST1,Costa,1 Station Road,AB1 2CD,A
mastercard,wasabi-demo-1,PRIMARY,wasabi-club,wasabi-001,WSB1,Wasabi,2 Market Street,EF3 4GH,A
";

impl DemoDay {
    fn at(&self, purchase: usize, seconds_later: i64) -> chrono::NaiveDateTime {
        let opening = self.date.and_time(NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default());
        opening + Duration::minutes(7 * purchase as i64) + Duration::seconds(seconds_later)
    }

    fn pounds(purchase: usize, base: usize) -> String {
        let pence = base + 15 * purchase;
        format!("{}.{:02}", pence / 100, pence % 100)
    }

    /// Every file of the day, in the order they are imported.
    pub fn files(&self) -> Vec<(Source, String)> {
        let day = self.date.format("%Y%m%d").to_string();
        let visa = |prefix: &str, purchase: usize, elements: &[(&str, String)]| {
            let elements: Vec<String> = elements
                .iter()
                .map(|(key, value)| format!(r#"{{"Key": "{prefix}.{key}", "Value": "{value}"}}"#))
                .collect();
            format!(
                r#"{{"ExternalUserId": "demo-costa-card-{purchase:04}", "MessageElementsCollection": [{}]}}"#,
                elements.join(", ")
            )
        };
        let mut visa_auths = Vec::new();
        let mut visa_settlements = Vec::new();
        let mut costa_rows = Vec::new();
        for purchase in 0..self.purchases {
            let (vip, code, amount) =
                (format!("demo-{day}-{purchase}"), format!("C{purchase:05}"), Self::pounds(purchase, 250));
            let when = self.at(purchase, 0).format("%Y-%m-%dT%H:%M:%S").to_string();
            let mid = if purchase == self.purchases / 2 { "costa-demo-unknown" } else { "costa-demo-1" };
            visa_auths.push(visa(
                "Transaction",
                purchase,
                &[
                    ("VipTransactionId", vip.clone()),
                    ("MerchantCardAcceptorId", mid.into()),
                    ("TimeStampYYMMDD", when.clone()),
                    ("TransactionAmount", amount.clone()),
                    ("AuthCode", code.clone()),
                ],
            ));
            if purchase % 2 == 0 {
                visa_settlements.push(visa(
                    "Transaction",
                    purchase,
                    &[
                        ("VipTransactionId", vip),
                        ("MerchantCardAcceptorId", mid.into()),
                        ("MerchantDateTimeGMT", when),
                        ("SettlementAmount", amount.clone()),
                        ("AuthCode", code.clone()),
                    ],
                ));
            }
            if purchase % 5 != 4 {
                costa_rows.push(format!(
                    r#"{{"transaction_id": "costa-{day}-{purchase}", "merchant_identifier": "costa-demo-1", "payment_card_type": "visa", "payment_card_first_six": "424242", "payment_card_last_four": "{purchase:04}", "amount": "{amount}", "currency_code": "GBP", "auth_code": "{code}", "date": "{}Z"}}"#,
                    self.at(purchase, 20).format("%Y-%m-%dT%H:%M:%S")
                ));
            }
        }
        let mut mastercard_auths = Vec::new();
        let mut wasabi_rows = vec![
            "Store No_,Entry No_,Transaction No_,tender_type,Amount,Card Number,Card Type Name,Auth_code,Authorisation_Ok,Date,Time,EFT Merchant No_,Receipt No_".to_string(),
        ];
        for purchase in 0..self.purchases {
            let amount = Self::pounds(purchase, 900);
            let when = self.at(purchase, 30);
            mastercard_auths.push(format!(
                r#"{{"third_party_id": "demo-{day}-{purchase}", "time": "{}", "amount": "{amount}", "currency_code": "GBP", "mid": "wasabi-demo-1", "payment_card_token": "demo-wasabi-card-{purchase:04}"}}"#,
                when.format("%Y-%m-%dT%H:%M:%S")
            ));
            if purchase % 5 != 4 {
                // Wasabi writes London time; the auth above is London time too.
                let till = when + Duration::seconds(40);
                wasabi_rows.push(format!(
                    "1,{purchase},{purchase},card,{amount},555555******{purchase:04},Mastercard,,1,{},{},wasabi-demo-1,wasabi-{day}-{purchase}",
                    till.format("%d/%m/%Y"),
                    till.format("%H:%M:%S")
                ));
            }
        }
        vec![
            (Source::VisaAuth, visa_auths.join("\n")),
            (Source::VisaSettlement, visa_settlements.join("\n")),
            (Source::Costa, costa_rows.join("\n")),
            (Source::MastercardAuth, mastercard_auths.join("\n")),
            (Source::Wasabi, wasabi_rows.join("\n") + "\n"),
        ]
    }
}

/// Onboards the demo MIDs and imports the day; `progress` hears how many commands of how many
/// the broker has taken.
pub async fn seed(
    client: &MatchingClient,
    day: &DemoDay,
    progress: impl Fn(usize, usize),
) -> anyhow::Result<DemoReport> {
    let ts = now_micros();
    let mids = parse_mid_file(MIDS, "demo", ts).map_err(|wrong| anyhow::anyhow!("the demo MIDs: {wrong:?}"))?;
    let mut report = DemoReport { mids: mids.len(), ..DemoReport::default() };
    let mut commands: Vec<MatchingCommand> = mids.into_iter().map(|n| MatchingCommand::OnboardMid(n.item)).collect();
    for (source, text) in day.files() {
        let parsed = parse(source, &text)?;
        anyhow::ensure!(parsed.refused.is_empty(), "the demo's {} file: {:?}", source.name(), parsed.refused);
        if source.is_payment_feed() {
            report.payments += parsed.rows.len();
        } else {
            report.merchant_transactions += parsed.rows.len();
        }
        commands.extend(import::commands(&parsed, &import::batch_of(source, text.as_bytes()), ts));
    }
    let sent = std::sync::atomic::AtomicUsize::new(0);
    client
        .send_all(&commands, |more| {
            progress(sent.fetch_add(more, std::sync::atomic::Ordering::Relaxed) + more, commands.len());
        })
        .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_file_parses_whole_and_the_day_is_the_same_when_made_again() {
        let day = DemoDay { date: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default(), purchases: 10 };
        let files = day.files();
        for (source, text) in &files {
            let parsed = parse(*source, text).unwrap_or_else(|error| panic!("{}: {error}", source.name()));
            assert!(parsed.refused.is_empty() && parsed.skipped.is_empty(), "{}: {parsed:?}", source.name());
        }
        let rows = |source: Source| {
            files.iter().find(|(s, _)| *s == source).map(|(_, text)| parse(source, text).map(|p| p.rows.len()))
        };
        assert_eq!(rows(Source::VisaAuth), Some(Ok(10)));
        assert_eq!(rows(Source::VisaSettlement), Some(Ok(5)));
        assert_eq!(rows(Source::Costa), Some(Ok(8)), "every fifth purchase has no merchant row");
        assert_eq!(rows(Source::Wasabi), Some(Ok(8)));
        assert_eq!(files, day.files());
        assert!(parse_mid_file(MIDS, "demo", 0).is_ok());
    }
}
