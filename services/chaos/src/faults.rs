//! The fault driver: a plan drawn from the seed (which faults, and the gap before each), then
//! carried out against the stage while the workload runs, timing each recovery.

use std::fmt;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;
use sqlx::PgPool;

use crate::stage::Stage;

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// SIGKILL `clio up`, or in the scaled layout the part `pick` picks (modulo the parts); a
    /// supervisor starts it again at once.
    KillPlatform { pick: u32 },
    /// SIGKILL the broker; it comes back after `down` seconds.
    KillBroker { down_seconds: u32 },
    /// SIGKILL Postgres (the broker's log, the registry, the read models); it comes back
    /// after `down` seconds.
    KillPostgres { down_seconds: u32 },
    /// The sandbox's servers refuse connections for a while.
    SandboxDown { seconds: u32 },
    /// The tracker answers slowly, the merchants 429 with a Retry-After and the marketplace
    /// 503, for a while.
    SandboxSlow { seconds: u32 },
}

impl Fault {
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::KillPlatform { .. } => "SIGKILL clio",
            Fault::KillBroker { .. } => "SIGKILL the broker",
            Fault::KillPostgres { .. } => "SIGKILL Postgres",
            Fault::SandboxDown { .. } => "sandbox down",
            Fault::SandboxSlow { .. } => "sandbox slow",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::KillPlatform { .. } => write!(f, "{}", self.kind()),
            Fault::KillBroker { down_seconds } | Fault::KillPostgres { down_seconds } => {
                write!(f, "{} ({down_seconds} s down)", self.kind())
            }
            Fault::SandboxDown { seconds } | Fault::SandboxSlow { seconds } => {
                write!(f, "{} ({seconds} s)", self.kind())
            }
        }
    }
}

/// The faults of a run, in order, each after a gap (seconds, counted from the recovery of the
/// one before).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub faults: Vec<(f64, Fault)>,
}

impl Plan {
    /// Enough faults for `duration` at `mean_gap` seconds apart, at least the minimum kills
    /// first (their order shuffled), then drawn at random: kills of `clio up` most often.
    pub fn draw(seed: u64, duration: Duration, mean_gap: f64, minimum: Minimum) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut first: Vec<Fault> = Vec::new();
        first.extend((0..minimum.platform).map(|_| Fault::KillPlatform { pick: rng.random() }));
        first.extend((0..minimum.broker).map(|_| Fault::KillBroker { down_seconds: rng.random_range(1..=5) }));
        first.extend((0..minimum.postgres).map(|_| Fault::KillPostgres { down_seconds: rng.random_range(1..=5) }));
        first.shuffle(&mut rng);
        let count = ((duration.as_secs_f64() / mean_gap.max(1.0)).ceil() as usize).max(first.len());
        let mut faults = Vec::with_capacity(count);
        for n in 0..count {
            let fault = first.get(n).copied().unwrap_or_else(|| match rng.random_range(0..10) {
                0..4 => Fault::KillPlatform { pick: rng.random() },
                4..6 => Fault::KillBroker { down_seconds: rng.random_range(1..=10) },
                6 => Fault::KillPostgres { down_seconds: rng.random_range(1..=10) },
                7 => Fault::SandboxDown { seconds: rng.random_range(3..=15) },
                _ => Fault::SandboxSlow { seconds: rng.random_range(5..=20) },
            });
            faults.push((mean_gap * rng.random_range(0.5..1.5), fault));
        }
        Self { faults }
    }
}

/// The kills of each kind a run makes at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minimum {
    pub platform: u32,
    pub broker: u32,
    pub postgres: u32,
}

impl Minimum {
    pub fn total(&self) -> usize {
        (self.platform + self.broker + self.postgres) as usize
    }
}

/// A fault as it happened.
#[derive(Debug, Clone)]
pub struct Done {
    pub fault: Fault,
    /// The process a kill of the platform hit.
    pub target: String,
    /// Seconds into the run.
    pub at: f64,
    /// From the fault until the gateway said ready again (kills only).
    pub recovery: Option<Duration>,
    /// From the fault until the workload's transfers were being finalized in the read model
    /// again (kills only): the platform working, not just answering.
    pub flowing: Option<Duration>,
    /// What died by itself meanwhile, and was started again.
    pub restarted: Vec<String>,
}

/// Carries out `plan` until `deadline`, and past it until the first `minimum` faults (the
/// minimum kills) are done; the platform is left running and ready.
pub async fn run(
    stage: &mut Stage,
    pool: &PgPool,
    plan: &Plan,
    started: Instant,
    deadline: Instant,
    minimum: usize,
) -> anyhow::Result<Vec<Done>> {
    let mut done = Vec::new();
    let http = reqwest::Client::new();
    for &(gap, fault) in &plan.faults {
        tokio::time::sleep(Duration::from_secs_f64(gap)).await;
        if Instant::now() >= deadline && done.len() >= minimum {
            break;
        }
        let at = started.elapsed().as_secs_f64();
        let struck = Instant::now();
        let finalized_before = finalized(pool).await;
        let mut target = String::new();
        if let Fault::KillPlatform { pick } = fault {
            let parts = &stage.platform.parts;
            target = parts[pick as usize % parts.len()].name.clone();
        }
        eprintln!("chaos: {at:>6.1} s  {fault} {target}");
        let kill = match fault {
            Fault::KillPlatform { pick } => {
                let count = stage.platform.parts.len();
                stage.platform.parts[pick as usize % count].crash_and_restart(&stage.up).await;
                true
            }
            Fault::KillBroker { down_seconds } => {
                stage.broker.kill().await;
                tokio::time::sleep(Duration::from_secs(down_seconds.into())).await;
                stage.broker.restart().await;
                true
            }
            Fault::KillPostgres { down_seconds } => {
                stage.postgres.kill().await?;
                tokio::time::sleep(Duration::from_secs(down_seconds.into())).await;
                stage.postgres.restart().await?;
                true
            }
            Fault::SandboxDown { seconds } => {
                stage.sandbox.stop();
                tokio::time::sleep(Duration::from_secs(seconds.into())).await;
                stage.sandbox.resume().await?;
                false
            }
            Fault::SandboxSlow { seconds } => {
                let sandbox = stage.sandbox.url();
                slow_sandbox(&http, &sandbox, seconds).await;
                tokio::time::sleep(Duration::from_secs(seconds.into())).await;
                let _ = http.post(format!("{sandbox}/tracker/latency")).json(&json!({"ms": 0})).send().await;
                false
            }
        };
        let restarted = stage.supervise().await;
        for what in &restarted {
            eprintln!("chaos: {:>6.1} s  {what}; started again", started.elapsed().as_secs_f64());
        }
        // A kill is over once the gateway says ready again, and once transfers flow again.
        let (recovery, flowing) = if kill {
            stage.recovered(Duration::from_secs(300)).await?;
            let recovery = struck.elapsed();
            let flowing = flowing_again(pool, finalized_before).await.then(|| struck.elapsed());
            let shown = flowing.map_or("not within 2 min".into(), |f| format!("{:.1} s", f.as_secs_f64()));
            let now = started.elapsed().as_secs_f64();
            eprintln!("chaos: {now:>6.1} s  ready in {:.1} s, transfers flowing in {shown}", recovery.as_secs_f64());
            (Some(recovery), flowing)
        } else {
            (None, None)
        };
        done.push(Done { fault, target, at, recovery, flowing, restarted });
    }
    Ok(done)
}

/// Transfers finalized so far in the ledger's read model (None while it cannot be read).
async fn finalized(pool: &PgPool) -> Option<i64> {
    sqlx::query_scalar("SELECT count(*) FROM ledger.finalized_transfers").fetch_one(pool).await.ok()
}

/// Whether more transfers than `before` are finalized within two minutes.
async fn flowing_again(pool: &PgPool, before: Option<i64>) -> bool {
    let before = before.unwrap_or(0);
    clio_testkit::records::eventually(120, async || finalized(pool).await.is_some_and(|n| n > before)).await
}

/// Scripts the slowness on the sandbox's servers (the merchant's and the marketplace's last
/// `seconds`; the tracker's latency is set back after).
async fn slow_sandbox(http: &reqwest::Client, sandbox: &str, seconds: u32) {
    let scripts = [
        ("tracker/latency", json!({"ms": 1500})),
        ("merchants/costa/failures", json!({"for_seconds": seconds, "status": 429, "retry_after": 2})),
        ("merchants/iceland-bonus-card/failures", json!({"for_seconds": seconds, "status": 503, "retry_after": 2})),
        ("marketplace/failures", json!({"for_seconds": seconds, "status": 503})),
    ];
    for (path, body) in scripts {
        if let Err(error) = http.post(format!("{sandbox}/{path}")).json(&body).send().await {
            eprintln!("chaos: scripting {path} on the sandbox: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_plans_the_same_faults_and_the_minimum_kills_come_first() {
        let minimum = Minimum { platform: 3, broker: 1, postgres: 0 };
        let plan = |seed| Plan::draw(seed, Duration::from_secs(600), 10.0, minimum);
        assert_eq!(plan(7), plan(7));
        assert_ne!(plan(7), plan(8));
        let first: Vec<&str> = plan(7).faults[..4].iter().map(|(_, f)| f.kind()).collect();
        assert_eq!(first.iter().filter(|k| **k == "SIGKILL clio").count(), 3, "{first:?}");
        assert_eq!(first.iter().filter(|k| **k == "SIGKILL the broker").count(), 1, "{first:?}");
        assert_eq!(plan(7).faults.len(), 60);
        assert!(plan(7).faults.iter().all(|(gap, _)| (5.0..15.0).contains(gap)));
    }

    #[test]
    fn a_short_run_still_plans_the_minimum_kills() {
        let plan = Plan::draw(1, Duration::from_secs(10), 30.0, Minimum { platform: 3, broker: 1, postgres: 1 });
        assert_eq!(plan.faults.len(), 5);
    }
}
