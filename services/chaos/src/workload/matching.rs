//! Matching imports for two merchants: Costa's and Iceland's stores onboarded through the
//! gateway, then, every few seconds, a batch of Visa auths at both (one card holder in ten
//! unknown to the identity service), Costa's own file (JSON) and Iceland's (CSV, in UK local
//! time), one purchase in five missing from them, each imported with `clio matching import`
//! as a user runs it, and run again when it fails while the platform is down.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Target, patiently};

/// The merchants: (slug, the prefix of their stores' MIDs). Payment `n` of a batch is at
/// the first when `n` is even.
pub const MERCHANTS: [(&str, &str); 2] = [("costa", "CH"), ("iceland-bonus-card", "IC")];
const STORES: usize = 5;
const PER_BATCH: usize = 20;
const PACE: Duration = Duration::from_secs(4);

/// What was imported.
#[derive(Debug, Default)]
pub struct Sent {
    /// Every payment imported, with its merchant and whether it must match (its holder has an
    /// account and the merchant's file has its row).
    pub payments: Vec<(String, &'static str, bool)>,
    pub batches: usize,
    /// Imports run again after failing (the platform was down).
    pub imports_rerun: usize,
}

fn has_account(n: usize) -> bool {
    n % 10 != 7
}

fn has_row(n: usize) -> bool {
    n % 5 != 3
}

pub async fn run(target: &Target, files: &Path, stop: CancellationToken) -> anyhow::Result<Sent> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let mids: String = MERCHANTS
        .iter()
        .flat_map(|(slug, prefix)| {
            (0..STORES).map(move |n| format!("visa,{prefix}{n},PRIMARY,{slug},,,{slug},{n} Chaos Street,AB1 2CD,A\n"))
        })
        .collect();
    patiently(Duration::from_secs(600), async || {
        let answer = http.post(format!("{}/v1/matching/mids/csv", target.gateway)).body(mids.clone()).send().await?;
        anyhow::ensure!(answer.status() == 202, "onboarding the MIDs: {}", answer.status());
        Ok(())
    })
    .await?;
    std::fs::create_dir_all(files).with_context(|| format!("creating {}", files.display()))?;
    // Purchases from three hours ago on, a second apart, each with its own amount and code.
    let start = chrono::Utc::now() - chrono::Duration::hours(3);
    let mut sent = Sent::default();
    while !stop.is_cancelled() {
        let batch = sent.batches;
        let (visa, costa, iceland) = write_batch(files, batch, start)?;
        sent.imports_rerun += import(target, "visa-auth", &visa).await?;
        sent.imports_rerun += import(target, "costa", &costa).await?;
        sent.imports_rerun += import(target, "iceland-bonus-card", &iceland).await?;
        for n in 0..PER_BATCH {
            sent.payments.push((payment_id(batch, n), merchant_of(n).0, has_account(n) && has_row(n)));
        }
        sent.batches += 1;
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(PACE) => {}
        }
    }
    Ok(sent)
}

fn merchant_of(n: usize) -> (&'static str, &'static str) {
    MERCHANTS[n % 2]
}

fn mid(n: usize) -> String {
    format!("{}{}", merchant_of(n).1, n % STORES)
}

pub fn payment_id(batch: usize, n: usize) -> String {
    format!("chaos-{batch}-{n}")
}

/// The batch's Visa auth file (a JSON message per line), Costa's (a JSON array) and
/// Iceland's (CSV, times in UK local time).
fn write_batch(
    dir: &Path,
    batch: usize,
    start: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
    let k = |n: usize| batch * PER_BATCH + n;
    let at = |n: usize| (start + chrono::Duration::seconds(k(n) as i64)).to_rfc3339();
    let amount = |n: usize| format!("{}.{:02}", 1 + k(n) / 100, k(n) % 100);
    let code = |n: usize| format!("{:06}", k(n) % 1_000_000);
    let element = |key: &str, value: &str| json!({"Key": format!("Transaction.{key}"), "Value": value});
    let payments: Vec<String> = (0..PER_BATCH)
        .map(|n| {
            let token = if has_account(n) { format!("tok-{batch}-{n}") } else { format!("none-{batch}-{n}") };
            json!({"ExternalUserId": token, "MessageElementsCollection": [
                element("VipTransactionId", &payment_id(batch, n)),
                element("MerchantCardAcceptorId", &mid(n)),
                element("TimeStampYYMMDD", &at(n)),
                element("TransactionAmount", &amount(n)),
                element("AuthCode", &code(n)),
            ]})
            .to_string()
        })
        .collect();
    let costa_rows: Vec<Value> = (0..PER_BATCH)
        .filter(|&n| has_row(n) && merchant_of(n).0 == "costa")
        .map(|n| {
            json!({"transaction_id": format!("costa-{batch}-{n}"), "payment_card_type": "Visa", "amount": amount(n),
                   "currency_code": "GBP", "auth_code": code(n), "date": at(n),
                   "merchant_identifier": mid(n)})
        })
        .collect();
    let mut iceland_rows = String::from(
        "TransactionCardFirst6,TransactionCardLast4,TransactionCardExpiry,TransactionCardSchemeId,TransactionCardScheme,\
         TransactionStore_Id,TransactionTimestamp,TransactionAmountValue,TransactionAmountUnit,TransactionCashbackValue,\
         TransactionCashbackUnit,TransactionId,TransactionAuthCode\n",
    );
    for n in (0..PER_BATCH).filter(|&n| has_row(n) && merchant_of(n).0 == "iceland-bonus-card") {
        let local = (start + chrono::Duration::seconds(k(n) as i64)).with_timezone(&chrono_tz::Europe::London);
        iceland_rows.push_str(&format!(
            "454545,4242,01/80,6,Visa,{},{},{},GBP,0,GBP,iceland-{batch}-{n},{}\n",
            mid(n),
            local.format("%Y-%m-%d %H:%M:%S"),
            amount(n),
            code(n)
        ));
    }
    let visa = dir.join(format!("visa-{batch}.json"));
    let costa = dir.join(format!("costa-{batch}.json"));
    let iceland = dir.join(format!("iceland-{batch}.csv"));
    std::fs::write(&visa, payments.join("\n")).context("writing the Visa file")?;
    std::fs::write(&costa, Value::Array(costa_rows).to_string()).context("writing Costa's file")?;
    std::fs::write(&iceland, iceland_rows).context("writing Iceland's file")?;
    Ok((visa, costa, iceland))
}

/// Runs `clio matching import` until it succeeds; how many times it was run again.
async fn import(target: &Target, feed: &str, file: &Path) -> anyhow::Result<usize> {
    for again in 0..60 {
        let status = tokio::process::Command::new(clio_testkit::tools::clio_binary())
            .args(["matching", "import", "--quiet", "--feed", feed])
            .arg(file)
            .env("CLIO_BROKERS", target.kafka.brokers.clone())
            .env("CLIO_REGISTRY_URL", &target.registry)
            .env("CLIO_DATABASE_URL", &target.database_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .status()
            .await
            .context("running clio matching import")?;
        if status.success() {
            return Ok(again);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    anyhow::bail!("importing {} ({feed}) failed 60 times", file.display())
}
