//! `clio up` rides out a broker outage: against a broker of this test's own (so that killing
//! it disturbs no other test), with the demo stream on and an integrator producing commands all
//! along, the broker is SIGKILLed and started again 5 s later, then SIGKILLed and started 60 s
//! later. `clio up` stays up, reports not-ready while the broker is away, and every command sent
//! during the outage gets its outcome after it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clio_ledger::LedgerCommand;
use clio_ledger::messages::ConfigureAccount;
use clio_runtime::codec::Codec;
use clio_testkit::harness::{TestEnv, test_database_url};
use clio_testkit::records::eventually;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("address").port()
}

/// A nisshi broker started with infra/broker.sh, its log in a database of its own.
struct OwnBroker {
    name: String,
    port: u16,
    data: PathBuf,
}

impl OwnBroker {
    async fn script(&self, args: &[&str]) {
        let status = tokio::process::Command::new("bash")
            .arg(clio_testkit::tools::repo_root().join("infra/broker.sh"))
            .args(args)
            .env("CLIO_DATA_DIR", &self.data)
            .env("CLIO_GROUP_INITIAL_DELAY", "100ms")
            .stdin(Stdio::null())
            .status()
            .await
            .expect("broker.sh runs");
        assert!(status.success(), "broker.sh {args:?}");
    }

    async fn start(&self) {
        self.script(&["start", &self.name, &self.port.to_string()]).await;
    }

    /// SIGKILL, as a crash or an OOM kill would stop it.
    async fn kill(&self) {
        let pid = std::fs::read_to_string(self.data.join(format!("{}-broker.pid", self.name))).expect("pid file");
        let status = tokio::process::Command::new("kill").args(["-9", pid.trim()]).status().await.expect("kill runs");
        assert!(status.success());
        // Gone once its port is closed.
        let gone = eventually(10, async || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()).await;
        assert!(gone, "the broker died");
    }

    fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Stops the broker and drops its storage whatever the test's outcome.
impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(clio_testkit::tools::repo_root().join("infra/broker.sh"))
            .args(["reset", &self.name])
            .env("CLIO_DATA_DIR", &self.data)
            .stdin(Stdio::null())
            .status();
        // The logs (clio up's and the broker's) stay when the test failed.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

fn configure(debtor_id: i64, creditor_id: i64) -> ConfigureAccount {
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
async fn integrator(
    brokers: String,
    registry: String,
    debtor: i64,
    stop: CancellationToken,
) -> (Vec<i64>, Vec<String>) {
    let kafka = clio_runtime::settings::KafkaSettings::for_brokers(brokers);
    let producer: FutureProducer = clio_runtime::kafka::producer_config(&kafka, Default::default())
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
    let env = TestEnv::start().await.expect("env");
    let name = format!("outage{}", std::process::id());
    let broker =
        OwnBroker { name: name.clone(), port: free_port(), data: clio_testkit::harness::state_dir().join(&name) };
    broker.start().await;

    let database = format!("clio_{name}");
    let server = test_database_url().rsplit_once('/').expect("a database URL").0.to_string();
    let (registry_port, http_port) = (free_port(), free_port());
    let gateway = format!("http://127.0.0.1:{http_port}");
    let registry = format!("http://127.0.0.1:{registry_port}");
    let mut platform = tokio::process::Command::new(clio_testkit::tools::clio_binary())
        .arg("up")
        .current_dir(clio_testkit::tools::repo_root())
        .env("CLIO_BROKERS", broker.brokers())
        .env("CLIO_DATABASE_URL", format!("{server}/{database}"))
        .env("CLIO_REGISTRY_ADDR", format!("127.0.0.1:{registry_port}"))
        .env("CLIO_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
        .env("CLIO_SANDBOX_ADDR", "")
        .env("CLIO_DEMO", "1")
        .env("CLIO_DEMO_RATE", "10")
        .env("CLIO_SESSION_TIMEOUT_MS", "6000")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(broker.data.join("clio-up.log")).expect("log file")))
        .kill_on_drop(true)
        .spawn()
        .expect("clio up starts");
    let http = reqwest::Client::new();
    let ready = async |expected: u16, seconds: u64| {
        eventually(seconds, async || {
            http.get(format!("{gateway}/ready")).send().await.is_ok_and(|r| r.status().as_u16() == expected)
        })
        .await
    };
    assert!(ready(200, 180).await, "clio up became ready");

    let debtor = 77;
    let stop = CancellationToken::new();
    let producing = tokio::spawn(integrator(broker.brokers(), registry.clone(), debtor, stop.clone()));
    tokio::time::sleep(Duration::from_secs(5)).await;

    for outage in [Duration::from_secs(5), Duration::from_secs(60)] {
        broker.kill().await;
        let killed = Instant::now();
        assert!(ready(503, 30).await, "/ready reports the broker away");
        tokio::time::sleep(outage.saturating_sub(killed.elapsed())).await;
        assert!(
            platform.try_wait().expect("status").is_none(),
            "clio up is still running after {outage:?} without a broker"
        );
        broker.start().await;
        assert!(ready(200, 120).await, "/ready recovers after the {outage:?} outage");
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    stop.cancel();
    let (acknowledged, refused) = producing.await.expect("the integrator ran");
    assert!(refused.is_empty(), "the broker took every command in the end: {refused:?}");
    assert!(acknowledged.len() > 100, "commands flowed before, during and after: {}", acknowledged.len());

    // Every command has its outcome: an account in the read model.
    let pool = clio_testkit::harness::connect_creating(&format!("{server}/{database}")).await.expect("database");
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
    let demo: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger.transfers WHERE debtor_id = 1")
        .fetch_one(&pool)
        .await
        .expect("transfers");
    assert!(demo > 0, "the demo stream moved money");
    assert!(platform.try_wait().expect("status").is_none(), "clio up is still running");

    let _ =
        tokio::process::Command::new("kill").arg("-TERM").arg(platform.id().expect("pid").to_string()).status().await;
    let stopped = tokio::time::timeout(Duration::from_secs(30), platform.wait()).await;
    assert!(stopped.is_ok_and(|s| s.is_ok_and(|s| s.success())), "clio up stops cleanly on SIGTERM");
    pool.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).execute(&env.pool).await;
}
