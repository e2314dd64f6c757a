//! The platform as a user runs it, for the tests that must kill something: `clio up` as a
//! child process (SIGKILLed and started again), and a broker of a test's own (so that killing
//! it, or running `clio up`'s fixed topic names on it, disturbs no other test).

use std::path::PathBuf;
use std::process::Stdio;

use crate::records::eventually;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("address").port()
}

/// A nisshi broker started with infra/broker.sh, its log in a directory of its own (where
/// `clio up`'s logs go too). Stopped and reset when dropped.
pub struct OwnBroker {
    pub name: String,
    pub port: u16,
    pub data: PathBuf,
    /// The Postgres server (a URL without a database) holding its log: the test server's
    /// unless [`OwnBroker::start_on`] named another.
    pub postgres: String,
}

impl OwnBroker {
    /// A broker named `name` (and this process), started, its log on the test server.
    pub async fn start(name: &str) -> Self {
        let server = crate::harness::test_database_url().rsplit_once('/').expect("a database URL").0.to_string();
        Self::start_on(name, &server).await
    }

    /// A broker named `name` (and this process), started, its log on the Postgres `server`.
    pub async fn start_on(name: &str, server: &str) -> Self {
        let name = format!("{name}{}", std::process::id());
        let data = crate::harness::state_dir().join(&name);
        let broker = OwnBroker { port: free_port(), data, name, postgres: server.to_string() };
        broker.restart().await;
        broker
    }

    async fn script(&self, args: &[&str]) {
        std::fs::create_dir_all(&self.data).expect("the broker's directory");
        let status = tokio::process::Command::new("bash")
            .arg(crate::tools::repo_root().join("infra/broker.sh"))
            .args(args)
            .env("CLIO_DATA_DIR", &self.data)
            .env("CLIO_DATABASE_URL", format!("{}/postgres", self.postgres))
            .env("CLIO_GROUP_INITIAL_DELAY", "100ms")
            .stdin(Stdio::null())
            .status()
            .await
            .expect("broker.sh runs");
        assert!(status.success(), "broker.sh {args:?}");
    }

    /// Starts it (again, after [`OwnBroker::kill`]), on the same port and log.
    pub async fn restart(&self) {
        self.script(&["start", &self.name, &self.port.to_string()]).await;
    }

    /// SIGKILL, as a crash or an OOM kill would stop it.
    pub async fn kill(&self) {
        let pid = std::fs::read_to_string(self.data.join(format!("{}-broker.pid", self.name))).expect("pid file");
        let status = tokio::process::Command::new("kill").args(["-9", pid.trim()]).status().await.expect("kill runs");
        assert!(status.success());
        // Gone once its port is closed.
        let gone = eventually(10, async || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()).await;
        assert!(gone, "the broker died");
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Stops the broker and drops its storage whatever the test's outcome.
impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(crate::tools::repo_root().join("infra/broker.sh"))
            .args(["reset", &self.name])
            .env("CLIO_DATA_DIR", &self.data)
            .env("CLIO_DATABASE_URL", format!("{}/postgres", self.postgres))
            .stdin(Stdio::null())
            .status();
        // The logs (clio up's and the broker's) stay when the test failed.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

/// `clio up` on a broker and a database of its own, at fixed addresses so that it can be
/// killed and started again where clients look for it. Its log (every run, appended) is
/// `clio-up.log` in the broker's directory.
pub struct ClioUp {
    pub brokers: String,
    pub database_url: String,
    pub registry_url: String,
    pub gateway_url: String,
    registry_port: u16,
    http_port: u16,
    log: PathBuf,
    env: Vec<(String, String)>,
}

impl ClioUp {
    /// `clio up` on `broker` with a database of its own on the broker's Postgres server (made
    /// afresh; not the broker's storage database, `clio_<name>`), no sandbox and no demo unless
    /// [`ClioUp::with`] says otherwise.
    pub async fn new(broker: &OwnBroker) -> Self {
        let database = format!("clio_{}_up", broker.name);
        let server = broker.postgres.clone();
        drop_database(&format!("{server}/{database}")).await.expect("the test server");
        let (registry_port, http_port) = (free_port(), free_port());
        ClioUp {
            brokers: broker.brokers(),
            database_url: format!("{server}/{database}"),
            registry_url: format!("http://127.0.0.1:{registry_port}"),
            gateway_url: format!("http://127.0.0.1:{http_port}"),
            registry_port,
            http_port,
            log: broker.data.join("clio-up.log"),
            env: vec![("CLIO_SANDBOX_ADDR".into(), String::new()), ("CLIO_DEMO".into(), "0".into())],
        }
    }

    /// One more setting for every run (an environment variable of `clio up`'s).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
        self
    }

    /// The file every run's log is appended to.
    pub fn log_path(&self) -> &std::path::Path {
        &self.log
    }

    /// `clio <args>` (`topics create`, `schemas register`) to completion, tried again once a
    /// second for a minute while the registry or the broker is starting.
    pub async fn run_once(&self, args: &[&str]) -> anyhow::Result<()> {
        for _ in 0..60 {
            if self.spawn_command(args).wait().await?.success() {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        anyhow::bail!("clio {} did not succeed in a minute", args.join(" "))
    }

    /// Starts a run; it dies with the test (kill on drop).
    pub fn spawn(&self) -> tokio::process::Child {
        self.spawn_command(&["up"])
    }

    /// Starts `clio <args>` (`run processor ledger`, say) with `clio up`'s settings, its log
    /// appended to the same file; it dies with the test (kill on drop).
    pub fn spawn_command(&self, args: &[&str]) -> tokio::process::Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("the log file");
        tokio::process::Command::new(crate::tools::clio_binary())
            .args(args)
            .current_dir(crate::tools::repo_root())
            .env("CLIO_BROKERS", &self.brokers)
            .env("CLIO_DATABASE_URL", &self.database_url)
            .env("CLIO_REGISTRY_ADDR", format!("127.0.0.1:{}", self.registry_port))
            .env("CLIO_REGISTRY_URL", &self.registry_url)
            .env("CLIO_HTTP_ADDR", format!("127.0.0.1:{}", self.http_port))
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("clio starts")
    }

    /// Whether `/ready` answers `expected` within `seconds`.
    pub async fn ready(&self, expected: u16, seconds: u64) -> bool {
        let http = reqwest::Client::new();
        let url = format!("{}/ready", self.gateway_url);
        eventually(seconds, async || http.get(&url).send().await.is_ok_and(|r| r.status().as_u16() == expected)).await
    }

    /// The platform's database, for the test's queries.
    pub async fn pool(&self) -> sqlx::PgPool {
        crate::harness::connect_creating(&self.database_url).await.expect("the platform's database")
    }

    /// Drops the database (after the last run stopped).
    pub async fn drop_database(&self) {
        let _ = drop_database(&self.database_url).await;
    }
}

/// Drops the database `database_url` names, if it is there.
async fn drop_database(database_url: &str) -> anyhow::Result<()> {
    let (server, database) = database_url.rsplit_once('/').expect("a database URL");
    let admin = crate::harness::connect_creating(&format!("{server}/postgres")).await?;
    let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).execute(&admin).await;
    admin.close().await;
    dropped?;
    Ok(())
}

/// SIGTERM, then whether it stopped cleanly within 30 s.
pub async fn stops_cleanly(child: &mut tokio::process::Child) -> bool {
    let Some(pid) = child.id() else { return false };
    let _ = tokio::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await;
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait()).await;
    stopped.is_ok_and(|s| s.is_ok_and(|s| s.success()))
}

/// SIGKILL, then a new run at once, as a supervisor restarts a crashed process.
pub async fn crash_and_restart(up: &ClioUp, platform: &mut tokio::process::Child) {
    platform.start_kill().expect("SIGKILL");
    let _ = platform.wait().await;
    *platform = up.spawn();
}

/// Whether the count `sql` rose above zero within 3 minutes; looked at every 20 ms, so that a
/// kill then comes while the rest is under way.
pub async fn begun(pool: &sqlx::PgPool, sql: &str) -> bool {
    for _ in 0..9_000 {
        if sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.is_ok_and(|n| n > 0) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}
