//! The one list of plugged domains. It drives `clio up`, `clio run`, `clio <domain> ...`,
//! `clio seed`, the gateway's routes and OpenAPI document, and projection status and rebuild;
//! adding a domain is one line here.

use std::sync::Arc;

use clio_plug::Domain;

/// Every domain this build runs, at home.
pub fn plugged() -> Vec<Arc<dyn Domain>> {
    vec![
        Arc::new(clio_ledger_plug::LedgerPlug::default()),
        Arc::new(clio_retry_plug::RetryPlug::default()),
        Arc::new(clio_matching_plug::MatchingPlug::default()),
        Arc::new(clio_orders_plug::OrdersPlug::default()),
    ]
}

#[cfg(test)]
mod tests {
    use clap::FromArgMatches as _;

    use crate::cli::{Cli, Command, command};

    #[test]
    fn the_command_line_carries_every_plugged_domains_commands_and_settings() {
        let domains = super::plugged();
        let line = command(&domains);
        line.clone().debug_assert();
        let matches = line
            .clone()
            .try_get_matches_from(["clio", "up", "--ledger-scan-interval-seconds", "5", "--demo-debtor-id", "3"])
            .expect("up takes the ledger's settings");
        assert!(matches!(Cli::from_arg_matches(&matches).expect("parsed").command, Command::Up(_)));
        let up = matches.subcommand_matches("up").expect("up");
        assert_eq!(up.get_one::<u64>("ledger_scan_interval_seconds"), Some(&5));
        let seed = line.clone().try_get_matches_from(["clio", "seed", "--schema", "elsewhere", "--demo-accounts", "4"]);
        assert!(seed.is_ok(), "seed keeps --schema: {seed:?}");
        let scan = line.clone().try_get_matches_from(["clio", "ledger", "scan", "--at", "2030-01-01T00:00:00Z"]);
        assert!(scan.is_ok(), "clio ledger scan: {scan:?}");
        let about = |name: &str| line.find_subcommand(name).and_then(|c| c.get_about()).map(|a| a.to_string());
        assert!(about("up").is_some_and(|a| a.starts_with("Run everything in one process")), "{:?}", about("up"));
        assert!(about("seed").is_some_and(|a| a.starts_with("Demo data for every domain")), "{:?}", about("seed"));
        let worker = line.clone().try_get_matches_from(["clio", "run", "worker", "retry", "--retry-concurrency", "4"]);
        assert!(worker.is_ok(), "clio run worker takes the domains' settings: {worker:?}");
        let none = command(&[]).try_get_matches_from(["clio", "ledger", "scan"]);
        assert!(none.is_err(), "no ledger command when the ledger is not plugged");
    }
}
