//! What one chaos run is asked to do.

use std::path::PathBuf;
use std::time::Duration;

/// `clio-chaos`'s settings (flags or environment).
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "clio-chaos",
    about = "The whole platform under a workload while its processes are SIGKILLed; then the checks"
)]
pub struct ChaosSettings {
    /// `up`: `clio up`, every part in one process; `scaled`: `clio run` parts, two of every
    /// processor and projector sharing the partitions, each part killed on its own.
    #[arg(long, env = "CLIO_CHAOS_LAYOUT", value_enum, default_value = "up")]
    pub layout: crate::platform::Layout,
    /// How long the workload and the faults run: `90s`, `30m`, `1h`.
    #[arg(long, env = "CLIO_CHAOS_DURATION", default_value = "2m", value_parser = parse_duration)]
    pub duration: Duration,
    /// The faults' random seed; a run with the same seed plans the same faults at the same
    /// moments. Random when not given (and printed at the start).
    #[arg(long, env = "CLIO_CHAOS_SEED")]
    pub seed: Option<u64>,
    /// Mean seconds between two faults (each gap is drawn from half to one and a half of it,
    /// counted from when the platform recovered from the last one).
    #[arg(long, env = "CLIO_CHAOS_FAULT_GAP", default_value_t = 12.0)]
    pub fault_gap_seconds: f64,
    /// At least this many SIGKILLs of `clio up`, of the broker and of Postgres (planned first,
    /// in an order the seed shuffles; the rest of the run draws its faults at random).
    #[arg(long, env = "CLIO_CHAOS_MIN_PLATFORM_KILLS", default_value_t = 3)]
    pub min_platform_kills: u32,
    #[arg(long, env = "CLIO_CHAOS_MIN_BROKER_KILLS", default_value_t = 1)]
    pub min_broker_kills: u32,
    #[arg(long, env = "CLIO_CHAOS_MIN_POSTGRES_KILLS", default_value_t = 1)]
    pub min_postgres_kills: u32,
    /// How long the checks wait for the platform to catch up after the workload stops.
    #[arg(long, env = "CLIO_CHAOS_SETTLE", default_value = "15m", value_parser = parse_duration)]
    pub settle: Duration,
    /// Where the report is written (besides standard output).
    #[arg(long, env = "CLIO_CHAOS_REPORT", default_value = "chaos/report.md")]
    pub report: PathBuf,
}

impl ChaosSettings {
    pub fn minimum(&self) -> crate::faults::Minimum {
        crate::faults::Minimum {
            platform: self.min_platform_kills,
            broker: self.min_broker_kills,
            postgres: self.min_postgres_kills,
        }
    }
}

/// `90s`, `30m`, `1h`, `1h30m` or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("{text:?}: a duration is like 90s, 30m or 1h (unknown unit {c:?})")),
        };
        let n: u64 = number.parse().map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(format!("{text:?}: a duration is like 90s, 30m or 1h"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("30x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("5m3").is_err());
    }
}
