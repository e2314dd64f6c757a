//! The platform's processes in either layout: `clio up` alone, or scaled out as `clio run`
//! parts (the registry, the gateway, two processors of every domain sharing its partitions,
//! the domains' workers, two projectors of every read model), each killable and started
//! again as a supervisor would.

use clio_testkit::platform::ClioUp;
use tokio::process::Child;

/// How the platform runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// `clio up`: every part in one process.
    Up,
    /// `clio run` parts, several of each processor and projector.
    Scaled,
}

/// One process of the platform.
pub struct Part {
    /// `clio up`, or `run processor ledger #2`.
    pub name: String,
    args: Vec<String>,
    child: Child,
}

impl Part {
    fn spawn(up: &ClioUp, name: String, args: Vec<String>) -> Self {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = up.spawn_command(&refs);
        Self { name, args, child }
    }

    /// SIGKILL, then the same part again at once.
    pub async fn crash_and_restart(&mut self, up: &ClioUp) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let refs: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.child = up.spawn_command(&refs);
    }
}

/// Every process of the platform.
pub struct Platform {
    pub layout: Layout,
    pub parts: Vec<Part>,
}

/// Each domain, and whether it has workers of its own (`clio run worker`).
const DOMAINS: [(&str, bool); 4] = [("ledger", true), ("retry", true), ("matching", false), ("orders", false)];
const READ_MODELS: [&str; 5] = ["ledger", "retry", "matching", "orders", "platform"];
/// Instances of each processor and each projector in the scaled layout.
const INSTANCES: usize = 2;

impl Platform {
    /// Starts the platform in `layout` (the scaled one first creates the topics, starts the
    /// registry and registers the schemas, as `clio up` does inside).
    pub async fn start(up: &ClioUp, layout: Layout) -> anyhow::Result<Self> {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        if layout == Layout::Up {
            let parts = vec![Part::spawn(up, "clio up".into(), args(&["up"]))];
            return Ok(Self { layout, parts });
        }
        let mut parts = Vec::new();
        up.run_once(&["topics", "create"]).await?;
        parts.push(Part::spawn(up, "run registry".into(), args(&["run", "registry"])));
        up.run_once(&["schemas", "register"]).await?;
        parts.push(Part::spawn(up, "run gateway".into(), args(&["run", "gateway"])));
        for (domain, workers) in DOMAINS {
            for n in 1..=INSTANCES {
                parts.push(Part::spawn(
                    up,
                    format!("run processor {domain} #{n}"),
                    args(&["run", "processor", domain]),
                ));
            }
            if workers {
                parts.push(Part::spawn(up, format!("run worker {domain}"), args(&["run", "worker", domain])));
            }
        }
        for model in READ_MODELS {
            for n in 1..=INSTANCES {
                parts.push(Part::spawn(up, format!("run projector {model} #{n}"), args(&["run", "projector", model])));
            }
        }
        Ok(Self { layout, parts })
    }

    /// The parts that died by themselves, started again; their names and exit statuses.
    pub fn restart_exited(&mut self, up: &ClioUp) -> Vec<String> {
        let mut restarted = Vec::new();
        for part in &mut self.parts {
            if let Ok(Some(status)) = part.child.try_wait() {
                restarted.push(format!("{} exited by itself ({status})", part.name));
                let refs: Vec<&str> = part.args.iter().map(String::as_str).collect();
                part.child = up.spawn_command(&refs);
            }
        }
        restarted
    }

    /// SIGTERM to every part; whether each stopped cleanly within 30 s.
    pub async fn stop(&mut self) -> bool {
        let mut clean = true;
        // The registry last: the others may still ask it on their way out.
        for part in self.parts.iter_mut().rev() {
            clean &= clio_testkit::platform::stops_cleanly(&mut part.child).await;
        }
        clean
    }
}
