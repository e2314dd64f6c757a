//! Ledger transfers: the demo's seed (a debtor, holders, money issued to each), then random
//! two-phase transfers among the holders, journaled once the broker acknowledged them.

use anyhow::Context as _;
use clio_ledger_plug::demo::{self, Demo, Journal, LedgerClient};
use clio_ledger_plug::scan::LedgerTarget;
use clio_runtime::codec::Codec;
use tokio_util::sync::CancellationToken;

use super::Target;

/// The run's debtor: 24 holders, so that transfers cross every partition.
pub const DEMO: Demo = Demo { debtor_id: 4_242, accounts: 24, amount: 1_000_000 };
const TRANSFERS_PER_SECOND: f64 = 8.0;

pub async fn run(target: &Target, stop: CancellationToken) -> anyhow::Result<Journal> {
    let producer = clio_runtime::kafka::producer(&target.kafka).context("the ledger workload's producer")?;
    let codec = Codec::new(&target.registry);
    let ledger_target = LedgerTarget::default();
    let client = LedgerClient { pool: &target.pool, target: &ledger_target, producer: &producer, codec: &codec };
    let mut journal = Journal::default();
    demo::run_journaled(&client, &DEMO, TRANSFERS_PER_SECOND, stop, &mut journal).await?;
    Ok(journal)
}
