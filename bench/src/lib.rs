//! The workloads `make bench` measures without I/O, shared by the criterion benchmark
//! (`benches/ledger_core.rs`, the domain-core figure) and the `clio-bench` binary (which reads
//! criterion's estimate into the report, and runs the same loop alone under a profiler with
//! `--core-only`).
//!
//! # Layout
//! - [`CoreLedger`]: two-phase transfers through the pure ledger (decide/apply), one thread.
//! - [`HashMapLedger`]: its baseline, the simplest ledger there is.

use std::collections::{HashMap, VecDeque};

use clio_aggregate::{Aggregate, Cause, Context};
use clio_ledger::messages::{ConfigureAccount, FinalizeTransfer, PrepareTransfer};
use clio_ledger::{Account, Ledger, LedgerCommand, LedgerEvent};

/// Accounts the transfers move between (the root, creditor 0, issues to each first).
pub const ACCOUNTS: i64 = 1_000;
const DEBTOR: i64 = 1;
const START_MICROS: i64 = 1_795_305_600_000_000;

/// A ledger of [`ACCOUNTS`] accounts held in memory, driven the way the processor drives it:
/// each command decided against its account's state, its events applied, and the commands it
/// sends to other accounts (VerifyRecipient, RecipientVerified, PendingBalanceChange) run next,
/// as the coordinator's FinalizeTransfer is once the transfer is prepared.
#[derive(Debug, Default)]
pub struct CoreLedger {
    accounts: HashMap<String, Account>,
    transfers: i64,
    commands: i64,
}

impl CoreLedger {
    /// The root account and [`ACCOUNTS`] creditors, configured.
    pub fn new() -> Self {
        let mut ledger = Self::default();
        for creditor_id in 0..=ACCOUNTS {
            ledger.run(LedgerCommand::ConfigureAccount(ConfigureAccount {
                debtor_id: DEBTOR,
                creditor_id,
                ts: START_MICROS,
                seqnum: 1,
                negligible_amount: 0.0,
                config_flags: 0,
                config_data: String::new(),
            }));
        }
        ledger
    }

    /// Runs one two-phase transfer to its end (the recipient credited) and returns how many
    /// commands it took. The first [`ACCOUNTS`] transfers issue money from the root to each
    /// account; later ones move 10 between accounts.
    pub fn transfer(&mut self) -> usize {
        let n = self.transfers;
        self.transfers += 1;
        let (from, to) = if n < ACCOUNTS { (0, n + 1) } else { between_accounts(n) };
        let (kind, coordinator) = if from == 0 { ("issuing", 1) } else { ("direct", from) };
        let mut pending = VecDeque::from([LedgerCommand::PrepareTransfer(PrepareTransfer {
            debtor_id: DEBTOR,
            creditor_id: from,
            coordinator_type: kind.into(),
            coordinator_id: coordinator,
            coordinator_request_id: n,
            min_locked_amount: 0,
            max_locked_amount: if from == 0 { 1_000_000 } else { 10 },
            recipient: to.to_string(),
            final_interest_rate_ts: i64::MAX,
            max_commit_delay: i32::MAX,
            ts: START_MICROS,
        })]);
        let mut commands = 0;
        while let Some(command) = pending.pop_front() {
            commands += 1;
            let decision = self.run(command);
            // Commands to other accounts go to the back, as they would on the log.
            pending.extend(decision.commands.into_iter().map(|(_, command)| command));
            for event in decision.events {
                if let LedgerEvent::PreparedTransfer(p) = event {
                    pending.push_back(LedgerCommand::FinalizeTransfer(FinalizeTransfer {
                        debtor_id: DEBTOR,
                        creditor_id: p.creditor_id,
                        transfer_id: p.transfer_id,
                        coordinator_type: p.coordinator_type,
                        coordinator_id: p.coordinator_id,
                        coordinator_request_id: p.coordinator_request_id,
                        committed_amount: p.locked_amount,
                        transfer_note: String::new(),
                        transfer_note_format: String::new(),
                        ts: START_MICROS,
                    }));
                }
            }
        }
        commands
    }

    /// Transfers run so far, the issuing ones included.
    pub fn transfers(&self) -> i64 {
        self.transfers
    }

    /// Decides one command against its account and applies the events, as a processor does.
    fn run(&mut self, command: LedgerCommand) -> clio_aggregate::Decision<LedgerEvent, LedgerCommand> {
        self.commands += 1;
        let context = Context {
            now_micros: START_MICROS + self.commands,
            cause: Cause::new("ledger.commands", 0, self.commands),
        };
        let state = self.accounts.entry(Ledger::entity_key(&command)).or_default();
        let decision = Ledger::decide(state, &command, &context);
        for event in &decision.events {
            Ledger::apply(state, event);
        }
        decision
    }

    /// The balance of an account (principal), or `None` if it was never created.
    pub fn principal(&self, creditor_id: i64) -> Option<i64> {
        let account = self.accounts.get(&clio_ledger::rules::account_key(DEBTOR, creditor_id))?;
        account.update.as_ref().map(|update| update.principal)
    }
}

/// The sender and recipient of the `n`-th transfer between accounts: spread over the ledger,
/// never the same account (a transfer to oneself is refused at once, a different workload).
fn between_accounts(n: i64) -> (i64, i64) {
    let from = n % ACCOUNTS + 1;
    let to = (n * 7 + 3) % ACCOUNTS + 1;
    (from, if to == from { to % ACCOUNTS + 1 } else { to })
}

/// The baseline: two balance updates per transfer in a hash map keyed like Clio's accounts.
#[derive(Debug, Default)]
pub struct HashMapLedger {
    balances: HashMap<String, i64>,
    transfers: i64,
}

impl HashMapLedger {
    /// Moves 10 from one account to another.
    pub fn transfer(&mut self) {
        let n = self.transfers;
        self.transfers += 1;
        let (from, to) = between_accounts(n);
        *self.balances.entry(format!("{DEBTOR}/{from}")).or_default() -= 10;
        *self.balances.entry(format!("{DEBTOR}/{to}")).or_default() += 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_takes_five_commands_and_moves_the_money() {
        let mut ledger = CoreLedger::new();
        assert_eq!(ledger.transfer(), 5, "prepare, verify, verified, finalize, credit");
        assert_eq!(ledger.principal(1), Some(1_000_000));
        for _ in 1..ACCOUNTS {
            ledger.transfer();
        }
        let before: i64 = (1..=ACCOUNTS).map(|c| ledger.principal(c).unwrap_or(0)).sum();
        for _ in 0..2 * ACCOUNTS {
            let (from, to) = between_accounts(ledger.transfers());
            let (from_before, to_before) = (ledger.principal(from), ledger.principal(to));
            assert_eq!(ledger.transfer(), 5, "every transfer between accounts takes five commands");
            assert_eq!(ledger.principal(from), from_before.map(|p| p - 10));
            assert_eq!(ledger.principal(to), to_before.map(|p| p + 10));
        }
        let after: i64 = (1..=ACCOUNTS).map(|c| ledger.principal(c).unwrap_or(0)).sum();
        assert_eq!(before, after, "money between accounts is conserved");
    }
}
