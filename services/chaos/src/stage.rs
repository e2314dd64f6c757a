//! The platform under test, as a user runs it: a Postgres server and a broker of the run's
//! own (infra/postgres.sh, infra/broker.sh), `clio up` as a child process on a database of its
//! own on that server, and the sandbox's outside servers
//! in this process (they outlive the platform's kills, as the outside world does), which can
//! be stopped and started again on the same port with what they remember.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clio_sandbox::Sandbox;
use clio_testkit::platform::{ClioUp, OwnBroker};

use crate::platform::{Layout, Platform};
use crate::postgres::PrivatePostgres;
use tokio_util::sync::CancellationToken;

/// The webhook secret the tracker signs its calls to Clio with.
pub const WEBHOOK_SECRET: &str = "chaos-webhook-secret";

/// The sandbox's servers on a fixed port, stoppable.
pub struct SandboxServer {
    pub state: Sandbox,
    pub port: u16,
    running: Option<(CancellationToken, tokio::task::JoinHandle<std::io::Result<()>>)>,
}

impl SandboxServer {
    pub async fn start() -> anyhow::Result<Self> {
        let mut server = Self { state: Sandbox::default(), port: clio_testkit::platform::free_port(), running: None };
        server.resume().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops listening: calls to it are refused until [`SandboxServer::resume`].
    pub fn stop(&mut self) {
        if let Some((token, task)) = self.running.take() {
            token.cancel();
            task.abort();
        }
    }

    /// Listens again on the same port, remembering what it did before.
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        self.stop();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .with_context(|| format!("listening on the sandbox's port {}", self.port))?;
        let token = CancellationToken::new();
        let task = tokio::spawn(clio_sandbox::serve_sandbox(listener, self.state.clone(), token.clone()));
        self.running = Some((token, task));
        Ok(())
    }
}

/// Everything a chaos run starts.
pub struct Stage {
    pub broker: OwnBroker,
    pub up: ClioUp,
    pub platform: Platform,
    pub sandbox: SandboxServer,
    /// Last, so that it is dropped (stopped) after the broker that keeps its log there.
    pub postgres: PrivatePostgres,
}

impl Stage {
    /// Starts a private Postgres, the broker on it, the sandbox and the platform in `layout`
    /// wired to the sandbox's servers; returns once the gateway says ready.
    pub async fn start(layout: Layout) -> anyhow::Result<Self> {
        let sandbox = SandboxServer::start().await?;
        let url = sandbox.url();
        let dir = clio_testkit::harness::state_dir().join(format!("chaos-postgres{}", std::process::id()));
        let postgres = PrivatePostgres::start(dir).await.context("starting the run's own Postgres")?;
        let broker = OwnBroker::start_on("chaos", &postgres.server()).await;
        let up = ClioUp::new(&broker)
            .await
            .with("CLIO_RETRY_SCHEME_URL", &format!("{url}/schemes/{{scheme}}"))
            .with("CLIO_RETRY_SANDBOX_URL", &url)
            .with("CLIO_RETRY_IDENTITY_URL", &url)
            .with("CLIO_RETRY_MERCHANT_URL", &format!("{url}/merchants/{{merchant}}/transactions"))
            .with("CLIO_RETRY_MARKETPLACE_URL", &format!("{url}/marketplace"))
            .with("CLIO_RETRY_TRACKER_URL", &format!("{url}/tracker"))
            .with("CLIO_ORDERS_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .with("CLIO_SESSION_TIMEOUT_MS", "6000");
        let platform = Platform::start(&up, layout).await?;
        let stage = Self { broker, up, platform, sandbox, postgres };
        anyhow::ensure!(stage.up.ready(200, 300).await, "the platform did not become ready in 5 minutes");
        Ok(stage)
    }

    /// Waits until the gateway says ready; how long that took.
    pub async fn recovered(&self, patience: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        anyhow::ensure!(self.up.ready(200, patience.as_secs()).await, "the gateway not ready again after {patience:?}");
        Ok(started.elapsed())
    }

    /// Starts again what died by itself (as a supervisor would): the platform's processes,
    /// the broker. What it restarted, for the report.
    pub async fn supervise(&mut self) -> Vec<String> {
        let mut restarted = self.platform.restart_exited(&self.up);
        if std::net::TcpStream::connect(("127.0.0.1", self.broker.port)).is_err() {
            restarted.push("the broker died by itself".into());
            self.broker.restart().await;
        }
        restarted
    }

    /// Stops the platform with SIGTERM (the end of a run), then the broker and Postgres;
    /// whether every process of the platform stopped cleanly. Postgres's files stay when
    /// `keep` (a failed run).
    pub async fn stop(mut self, keep: bool) -> bool {
        self.sandbox.stop();
        let clean = self.platform.stop().await;
        self.up.drop_database().await;
        drop(self.broker);
        self.postgres.stop().await;
        if !keep {
            let _ = std::fs::remove_dir_all(&self.postgres.data);
        }
        clean
    }
}
