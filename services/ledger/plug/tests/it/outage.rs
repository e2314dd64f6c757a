//! `clio up` rides out a broker outage: against a broker of this test's own (so that killing
//! it disturbs no other test), with the demo stream on and an integrator producing commands all
//! along, the broker is SIGKILLed and started again 5 s later, then SIGKILLed and started 60 s
//! later. `clio up` stays up, reports not-ready while the broker is away, and every command sent
//! during the outage gets its outcome after it.

use std::time::{Duration, Instant};

use clio_ledger::LedgerCommand;
use clio_ledger::messages::ConfigureAccount;
use clio_runtime::codec::Codec;
use clio_testkit::platform::{ClioUp, OwnBroker, stops_cleanly};
use clio_testkit::records::eventually;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

pub(crate) fn configure(debtor_id: i64, creditor_id: i64) -> ConfigureAccount {
    ConfigureAccount {
        debtor_id,
        creditor_id,
        ts: chrono::Utc::now().timestamp_micros(),
        seqnum: 1,
        negligible_amount: 0.0,
        config_flags: 0,
        config_data: String::new(),
    }
}

/// Produces a ConfigureAccount for a new creditor every 50 ms until `stop`, the way an
/// integrator's client would: its producer buffers while the broker is away. Returns the
/// creditors whose command the broker acknowledged, and those it refused.
pub(crate) async fn integrator(
    brokers: String,
    registry: String,
    debtor: i64,
    stop: CancellationToken,
) -> (Vec<i64>, Vec<String>) {
    let kafka = clio_runtime::settings::KafkaSettings::for_brokers(brokers);
    let producer: FutureProducer = clio_runtime::kafka::producer_config(&kafka, Default::default())
        .expect("producer settings")
        .set("message.timeout.ms", "600000")
        .create()
        .expect("producer");
    let codec = Codec::new(&registry);
    let mut deliveries = Vec::new();
    let mut creditor = 0;
    while !stop.is_cancelled() {
        creditor += 1;
        let command = LedgerCommand::ConfigureAccount(configure(debtor, creditor));
        let payload = codec.encode("ledger.commands", &command).await.expect("encoded (the registry is in clio up)");
        let key = format!("{debtor}/{creditor}");
        let record = FutureRecord::<str, [u8]>::to("ledger.commands").key(&key).payload(&payload);
        match producer.send_result(record) {
            Ok(delivery) => deliveries.push((creditor, delivery)),
            Err((error, _)) => panic!("the client refused to queue a record: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    for (creditor, delivery) in deliveries {
        match delivery.await {
            Ok(Ok(_)) => acknowledged.push(creditor),
            Ok(Err((error, _))) => refused.push(format!("{creditor}: {error}")),
            Err(_) => refused.push(format!("{creditor}: cancelled")),
        }
    }
    (acknowledged, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clio_up_rides_out_the_broker_killed_for_5_and_for_60_seconds() {
    let broker = OwnBroker::start("outage").await;
    let up = ClioUp::new(&broker)
        .await
        .with("CLIO_DEMO", "1")
        .with("CLIO_DEMO_RATE", "10")
        .with("CLIO_SESSION_TIMEOUT_MS", "6000");
    let mut platform = up.spawn();
    assert!(up.ready(200, 180).await, "clio up became ready");
    let registry = up.registry_url.clone();

    let debtor = 77;
    let stop = CancellationToken::new();
    let producing = tokio::spawn(integrator(broker.brokers(), registry.clone(), debtor, stop.clone()));
    tokio::time::sleep(Duration::from_secs(5)).await;

    for outage in [Duration::from_secs(5), Duration::from_secs(60)] {
        broker.kill().await;
        let killed = Instant::now();
        assert!(up.ready(503, 30).await, "/ready reports the broker away");
        tokio::time::sleep(outage.saturating_sub(killed.elapsed())).await;
        assert!(
            platform.try_wait().expect("status").is_none(),
            "clio up is still running after {outage:?} without a broker"
        );
        broker.restart().await;
        assert!(up.ready(200, 120).await, "/ready recovers after the {outage:?} outage");
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    stop.cancel();
    let (acknowledged, refused) = producing.await.expect("the integrator ran");
    assert!(refused.is_empty(), "the broker took every command in the end: {refused:?}");
    assert!(acknowledged.len() > 100, "commands flowed before, during and after: {}", acknowledged.len());

    // Every command has its outcome: an account in the read model.
    let pool = up.pool().await;
    let mut seen = 0;
    let all = eventually(180, async || {
        seen = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM ledger.accounts WHERE debtor_id = $1")
            .bind(debtor)
            .fetch_one(&pool)
            .await
            .unwrap_or_default();
        seen == acknowledged.len() as i64
    })
    .await;
    assert!(all, "{seen} of {} accounts configured", acknowledged.len());
    // The demo seeds its debtor first; on a loaded machine the seed can still be riding out the
    // outages when the integrator's accounts are all in, so its transfers may come a little later.
    let demo_moved = eventually(120, async || {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM ledger.transfers WHERE debtor_id = 1")
            .fetch_one(&pool)
            .await
            .is_ok_and(|transfers| transfers > 0)
    })
    .await;
    assert!(demo_moved, "the demo stream moved money");
    assert!(platform.try_wait().expect("status").is_none(), "clio up is still running");

    assert!(stops_cleanly(&mut platform).await, "clio up stops cleanly on SIGTERM");
    pool.close().await;
    up.drop_database().await;
}
