//! A world of accounts for scenario tests: commands are decided and applied as the runtime
//! does, and commands for other accounts (verifications, balance changes) are delivered in
//! order, until nothing is left in flight. No I/O.

// Each test crate uses part of the world.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};

use clio_aggregate::{Aggregate, Cause, Context};
use clio_ledger::messages::*;
use clio_ledger::{Account, Ledger, LedgerCommand, LedgerEvent};

pub const DEBTOR: i64 = 666;
pub const DAY: i64 = 86_400_000_000;
/// 2026-11-22T00:00:00Z in microseconds.
pub const T0: i64 = 1_795_305_600_000_000;
pub const NO_CONSTRAINT: i64 = 253_402_214_400_000_000; // 9999-12-31

#[derive(Default)]
pub struct World {
    pub accounts: BTreeMap<String, Account>,
    pub now: i64,
    pub events: Vec<LedgerEvent>,
    /// Each decision's events with the entity they belong to, in decision order: what one
    /// account's partition of the log holds, outcome by outcome.
    pub outcomes: Vec<(String, Vec<LedgerEvent>)>,
    pub invalid: Vec<String>,
    pub in_flight: VecDeque<LedgerCommand>,
    offset: i64,
}

impl World {
    pub fn new() -> Self {
        Self { now: T0, ..Self::default() }
    }

    pub fn account(&self, creditor_id: i64) -> Account {
        self.accounts.get(&format!("{DEBTOR}/{creditor_id}")).cloned().unwrap_or_default()
    }

    pub fn principal(&self, creditor_id: i64) -> i64 {
        self.account(creditor_id).principal()
    }

    /// Decides one command and applies its events; commands for other accounts wait in
    /// `in_flight`. Returns the events.
    pub fn decide(&mut self, command: LedgerCommand) -> Vec<LedgerEvent> {
        self.offset += 1;
        let key = Ledger::entity_key(&command);
        let entity = key.clone();
        let context = Context { now_micros: self.now, cause: Cause::new("ledger.commands", 0, self.offset) };
        let state = self.accounts.entry(key).or_default();
        let decision = Ledger::decide(state, &command, &context);
        for event in &decision.events {
            Ledger::apply(state, event);
        }
        if let Some(reason) = decision.invalid {
            self.invalid.push(reason);
        }
        self.in_flight.extend(decision.commands.into_iter().map(|(_, c)| c));
        self.events.extend(decision.events.iter().cloned());
        if !decision.events.is_empty() {
            self.outcomes.push((entity, decision.events.clone()));
        }
        decision.events
    }

    /// Sends a command and delivers everything it causes; returns every event.
    pub fn send(&mut self, command: LedgerCommand) -> Vec<LedgerEvent> {
        let mut out = self.decide(command);
        while let Some(next) = self.in_flight.pop_front() {
            out.extend(self.decide(next));
        }
        out
    }

    pub fn configure(&mut self, creditor_id: i64, seqnum: i32, config_data: &str) -> Vec<LedgerEvent> {
        self.send(configure(creditor_id, self.now, seqnum, 0.0, 0, config_data))
    }

    /// Root account with a limit, and holders with money issued to them.
    pub fn with_accounts(holders: &[(i64, i64)]) -> Self {
        let mut world = World::new();
        world.configure(0, 1, "");
        for &(creditor, amount) in holders {
            world.configure(creditor, 1, "");
            if amount > 0 {
                world.transfer(0, creditor, amount);
            }
        }
        world
    }

    /// The ledger's clock reaches one account `days` after the current time, with the root
    /// account's `rate`; returns every event it causes.
    pub fn tick(&mut self, creditor_id: i64, days: i64, rate: f64) -> Vec<LedgerEvent> {
        self.now += days * DAY;
        self.send(maintain(creditor_id, self.now, rate))
    }

    /// Prepares and commits a transfer of `amount`; returns the transfer's prepare answer.
    pub fn transfer(&mut self, from: i64, to: i64, amount: i64) -> Vec<LedgerEvent> {
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
