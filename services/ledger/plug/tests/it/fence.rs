//! Two processors of the ledger, and one of them frozen (SIGSTOP) past its session while
//! commands keep coming: the group gives its partitions to the other, which decides the
//! commands. Thawed (SIGCONT), the frozen one still holds, in its client, commands fetched
//! before and during the freeze, and believes the partitions are its own until it hears
//! otherwise; the commit that fences each batch is refused, and it writes nothing for them.
//! Every command gets its outcome, and no event is on the log twice.

use std::collections::BTreeMap;
use std::time::Duration;

use clio_runtime::headers;
use clio_testkit::platform::{ClioUp, OwnBroker, stops_cleanly};
use clio_testkit::records::{eventually, read_all};
use rdkafka::Message as _;
use tokio_util::sync::CancellationToken;

use crate::outage::integrator;

fn signal(child: &tokio::process::Child, name: &str) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill").args([name, &pid]).status().expect("kill runs");
    assert!(status.success(), "kill {name} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_thawed_after_its_session_expired_writes_nothing_for_partitions_it_lost() {
    let broker = OwnBroker::start("fence").await;
    let up = ClioUp::new(&broker).await.with("CLIO_SESSION_TIMEOUT_MS", "6000");
    up.run_once(&["topics", "create"]).await.expect("topics created");
    let mut registry = up.spawn_command(&["run", "registry"]);
    up.run_once(&["schemas", "register"]).await.expect("schemas registered");
    let mut frozen = up.spawn_command(&["run", "processor", "ledger"]);

    let debtor = 91;
    let stop = CancellationToken::new();
    let producing = tokio::spawn(integrator(broker.brokers(), up.registry_url.clone(), debtor, stop.clone()));
    tokio::time::sleep(Duration::from_secs(8)).await;

    signal(&frozen, "-STOP");
    let mut other = up.spawn_command(&["run", "processor", "ledger"]);
    // Past the frozen one's session (6 s): the group is the other processor's alone.
    tokio::time::sleep(Duration::from_secs(15)).await;
    signal(&frozen, "-CONT");
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.cancel();
    let (acknowledged, refused) = producing.await.expect("the integrator ran");
    assert!(refused.is_empty(), "{refused:?}");

    let kafka = clio_runtime::settings::KafkaSettings::for_brokers(broker.brokers());
    let mut answered = 0;
    let all = eventually(120, async || {
        let keys: std::collections::BTreeSet<Vec<u8>> =
            read_all(&kafka, "ledger.events").await.iter().filter_map(|m| m.key().map(<[u8]>::to_vec)).collect();
        answered = acknowledged.iter().filter(|c| keys.contains(format!("{debtor}/{c}").as_bytes())).count();
        answered == acknowledged.len()
    })
    .await;
    assert!(all, "{answered} of {} commands have their outcome", acknowledged.len());

    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for message in read_all(&kafka, "ledger.events").await {
        let id = headers::get(&message, headers::EVENT_ID).expect("an event id").to_string();
        *ids.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    let log = std::fs::read_to_string(up.log_path()).unwrap_or_default();
    let fenced = log.lines().filter(|l| l.contains("batch left to the partitions' owner")).count();
    assert!(
        twice.is_empty(),
        "{} events written twice, e.g. {:?}; fenced batches: {fenced}",
        twice.len(),
        &twice[..twice.len().min(3)]
    );
    eprintln!("{} events, each once; {fenced} batches fenced", ids.len());

    for child in [&mut frozen, &mut other, &mut registry] {
        assert!(stops_cleanly(child).await, "each part stops cleanly on SIGTERM");
    }
    up.drop_database().await;
}
