//! A world of accounts for scenario tests: the test kit's world over the ledger (commands are
//! decided and applied as the runtime does, and commands for other accounts — verifications,
//! balance changes — are delivered in order, until nothing is left in flight), with the
//! ledger's own helpers. No I/O.

// Each test crate uses part of the world.
#![allow(dead_code)]

use clio_ledger::messages::*;
use clio_ledger::{Account, Ledger, LedgerCommand, LedgerEvent};
pub use clio_testkit::scenario::T0;

pub const DEBTOR: i64 = 666;
pub const DAY: i64 = 86_400_000_000;
pub const NO_CONSTRAINT: i64 = 253_402_214_400_000_000; // 9999-12-31

/// The ledger's world: the test kit's world of entities, with the ledger's accounts.
pub type World = clio_testkit::scenario::World<Ledger>;

/// What the ledger's scenarios add to the world.
pub trait LedgerWorld {
    fn new() -> Self;
    fn account(&self, creditor_id: i64) -> Account;
    fn principal(&self, creditor_id: i64) -> i64;
    fn configure(&mut self, creditor_id: i64, seqnum: i32, config_data: &str) -> Vec<LedgerEvent>;
    /// Root account with a limit, and holders with money issued to them.
    fn with_accounts(holders: &[(i64, i64)]) -> Self;
    /// The ledger's clock reaches one account `days` after the current time, with the root
    /// account's `rate`; returns every event it causes.
    fn tick(&mut self, creditor_id: i64, days: i64, rate: f64) -> Vec<LedgerEvent>;
    /// Prepares and commits a transfer of `amount`; returns the transfer's prepare answer.
    fn transfer(&mut self, from: i64, to: i64, amount: i64) -> Vec<LedgerEvent>;
    /// Prepares a transfer of up to `amount` as request `request` (letting only the recipient
    /// check go round), then commits `commit_percent` of what was locked (0 dismisses it);
    /// the credit stays in flight.
    fn prepare_and_commit(&mut self, from: i64, to: i64, request: i64, amount: i64, commit_percent: i64);
}

impl LedgerWorld for World {
    fn new() -> Self {
        Self { now: T0, ..Self::default() }
    }

    fn account(&self, creditor_id: i64) -> Account {
        self.state(&format!("{DEBTOR}/{creditor_id}"))
    }

    fn principal(&self, creditor_id: i64) -> i64 {
        self.account(creditor_id).principal()
    }

    fn configure(&mut self, creditor_id: i64, seqnum: i32, config_data: &str) -> Vec<LedgerEvent> {
        self.send(configure(creditor_id, self.now, seqnum, 0.0, 0, config_data))
    }

    fn with_accounts(holders: &[(i64, i64)]) -> Self {
        let mut world = <World as LedgerWorld>::new();
        world.configure(0, 1, "");
        for &(creditor, amount) in holders {
            world.configure(creditor, 1, "");
            if amount > 0 {
                world.transfer(0, creditor, amount);
            }
        }
        world
    }

    fn tick(&mut self, creditor_id: i64, days: i64, rate: f64) -> Vec<LedgerEvent> {
        self.now += days * DAY;
        self.send(maintain(creditor_id, self.now, rate))
    }

    fn prepare_and_commit(&mut self, from: i64, to: i64, request: i64, amount: i64, commit_percent: i64) {
        let (kind, coordinator) = if from == 0 { ("issuing", DEBTOR) } else { ("direct", from) };
        let mut events = self.decide(prepare(from, to, kind, coordinator, request, 0, amount));
        // Let the reachability check go round, as the partitions would.
        while events.is_empty() && !self.in_flight.is_empty() {
            let next = self.in_flight.pop_back().expect("in flight");
            events = self.decide(next);
        }
        if let Some(LedgerEvent::PreparedTransfer(p)) = events.last() {
            let p = p.clone();
            self.decide(finalize(&p, p.locked_amount * commit_percent / 100));
        }
    }

    fn transfer(&mut self, from: i64, to: i64, amount: i64) -> Vec<LedgerEvent> {
        let kind = if from == 0 { "issuing" } else { "direct" };
        let coordinator = if from == 0 { DEBTOR } else { from };
        self.offset += 1;
        let request = self.offset;
        let events = self.send(prepare(from, to, kind, coordinator, request, amount, amount));
        if let Some(LedgerEvent::PreparedTransfer(p)) = events.last() {
            let p = p.clone();
            self.send(finalize(&p, amount));
        }
        events
    }
}

pub fn configure(creditor_id: i64, ts: i64, seqnum: i32, negligible: f64, flags: i32, data: &str) -> LedgerCommand {
    LedgerCommand::ConfigureAccount(ConfigureAccount {
        debtor_id: DEBTOR,
        creditor_id,
        ts,
        seqnum,
        negligible_amount: negligible,
        config_flags: flags,
        config_data: data.into(),
    })
}

#[allow(clippy::too_many_arguments)]
pub fn prepare(from: i64, to: i64, kind: &str, coordinator: i64, request: i64, min: i64, max: i64) -> LedgerCommand {
    LedgerCommand::PrepareTransfer(PrepareTransfer {
        debtor_id: DEBTOR,
        creditor_id: from,
        coordinator_type: kind.into(),
        coordinator_id: coordinator,
        coordinator_request_id: request,
        min_locked_amount: min,
        max_locked_amount: max,
        recipient: (to as u64).to_string(),
        final_interest_rate_ts: NO_CONSTRAINT,
        max_commit_delay: i32::MAX,
        ts: T0,
    })
}

pub fn maintain(creditor_id: i64, ts: i64, rate: f64) -> LedgerCommand {
    LedgerCommand::MaintainAccount(MaintainAccount { debtor_id: DEBTOR, creditor_id, interest_rate: rate, ts })
}

pub fn finalize(p: &PreparedTransfer, amount: i64) -> LedgerCommand {
    LedgerCommand::FinalizeTransfer(FinalizeTransfer {
        debtor_id: p.debtor_id,
        creditor_id: p.creditor_id,
        transfer_id: p.transfer_id,
        coordinator_type: p.coordinator_type.clone(),
        coordinator_id: p.coordinator_id,
        coordinator_request_id: p.coordinator_request_id,
        committed_amount: amount,
        transfer_note: "note".into(),
        transfer_note_format: "".into(),
        ts: T0,
    })
}

pub fn rejection(events: &[LedgerEvent]) -> Option<&str> {
    events.iter().find_map(|e| match e {
        LedgerEvent::RejectedTransfer(r) => Some(r.status_code.as_str()),
        _ => None,
    })
}

pub fn prepared(events: &[LedgerEvent]) -> PreparedTransfer {
    events
        .iter()
        .find_map(|e| match e {
            LedgerEvent::PreparedTransfer(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no PreparedTransfer in {events:?}"))
}

pub fn finalized(events: &[LedgerEvent]) -> FinalizedTransfer {
    events
        .iter()
        .find_map(|e| match e {
            LedgerEvent::FinalizedTransfer(f) => Some(f.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no FinalizedTransfer in {events:?}"))
}

/// A PendingBalanceChange of `delta` for `creditor_id`, as if sent by account `from`.
pub fn balance_change(creditor_id: i64, from: i64, change_id: i64, delta: i64) -> LedgerCommand {
    LedgerCommand::PendingBalanceChange(PendingBalanceChange {
        debtor_id: DEBTOR,
        creditor_id,
        change_id,
        coordinator_type: "direct".into(),
        transfer_note_format: String::new(),
        transfer_note: String::new(),
        committed_at: T0,
        principal_delta: delta,
        other_creditor_id: from,
    })
}
