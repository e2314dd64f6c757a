//! A private Postgres server for one run (infra/postgres.sh's private cluster, under the run's
//! own directory and port), holding the broker's log, the registry and the read models, so
//! that the fault driver can SIGKILL it as a crash or an OOM kill would.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;

pub struct PrivatePostgres {
    /// Where infra/postgres.sh keeps the cluster (`<data>/postgres`).
    pub data: PathBuf,
    pub port: u16,
}

impl PrivatePostgres {
    /// Creates the cluster under `data` and starts it on a free port.
    pub async fn start(data: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        let postgres = Self { data, port: clio_testkit::platform::free_port() };
        postgres.script().await?;
        Ok(postgres)
    }

    /// The server's URL, without a database.
    pub fn server(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// infra/postgres.sh, told to use the private cluster (it starts it when it is down).
    async fn script(&self) -> anyhow::Result<()> {
        let output = tokio::process::Command::new("bash")
            .arg(clio_testkit::tools::repo_root().join("infra/postgres.sh"))
            .env("CLIO_DATA_DIR", &self.data)
            // Port 1 never answers, so the script does not settle for the machine's server.
            .env("CLIO_LOCAL_PG_PORT", "1")
            .env("CLIO_PRIVATE_PG_PORT", self.port.to_string())
            .env_remove("CLIO_DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .await
            .context("running infra/postgres.sh")?;
        anyhow::ensure!(output.status.success(), "infra/postgres.sh: {}", String::from_utf8_lossy(&output.stderr));
        Ok(())
    }

    fn postmaster_pid(&self) -> anyhow::Result<String> {
        let file = self.data.join("postgres/postmaster.pid");
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        Ok(text.lines().next().unwrap_or_default().trim().to_string())
    }

    async fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self.postmaster_pid()?;
        let status = tokio::process::Command::new("kill").args([signal, &pid]).status().await?;
        anyhow::ensure!(status.success(), "kill {signal} {pid} failed");
        Ok(())
    }

    /// SIGKILLs the postmaster; its backends notice and exit.
    pub async fn kill(&self) -> anyhow::Result<()> {
        self.signal("-9").await?;
        let gone = clio_testkit::records::eventually(10, async || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
        })
        .await;
        anyhow::ensure!(gone, "Postgres still answers after SIGKILL");
        Ok(())
    }

    /// Starts it again (crash recovery replays its WAL); tries for a while, since the killed
    /// postmaster's backends take a moment to go.
    pub async fn restart(&self) -> anyhow::Result<()> {
        let mut last = None;
        for _ in 0..30 {
            match self.script().await {
                Ok(()) => return Ok(()),
                Err(error) => last = Some(error),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("Postgres did not start")))
    }

    /// Stops it (a fast shutdown) at the end of the run.
    pub async fn stop(&self) {
        let _ = self.signal("-INT").await;
        let _ = clio_testkit::records::eventually(30, async || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
        })
        .await;
    }
}

/// A run that ends early (an error, a failed test) still stops its server: a fast shutdown.
impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if let Ok(pid) = self.postmaster_pid() {
            let _ = std::process::Command::new("kill").args(["-INT", &pid]).status();
        }
    }
}
