//! The state of one account, folded from its events (`apply`). Everything the protocol's
//! AccountUpdate shows is taken from the latest AccountUpdate; the status flags from the latest
//! AccountStatus; the rest (locks, prepared transfers, applied balance changes) from the events
//! that change it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::messages::{AccountStatus, AccountUpdate, LedgerEvent, PreparedTransfer};
use crate::rules::{ROOT_CREDITOR_ID, SCHEDULED_FOR_DELETION_FLAG, accrued_interest};

/// The coordinator triple that identifies a transfer request: type, id, request id.
pub type Coordinator<'a> = (&'a str, i64, i64);

/// One account. `update` is `None` while the account does not exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// The latest AccountUpdate: principal, configuration, transfer numbers, ...
    pub update: Option<AccountUpdate>,
    /// Deleted accounts are kept until purged, so that a stale ConfigureAccount cannot bring
    /// them back.
    pub deleted: bool,
    /// The principal had to be clamped to stay within [-i64::MAX, i64::MAX].
    #[serde(default)]
    pub overflown: bool,
    /// The root account's interest rate has reached this account.
    #[serde(default)]
    pub established_interest_rate: bool,
    /// When accrued interest was last added to the principal (or 0).
    #[serde(default)]
    pub last_capitalization_ts: i64,
    pub total_locked_amount: i64,
    /// Prepared, not yet finalized transfers by transfer id.
    pub prepared: BTreeMap<i64, PreparedTransfer>,
    /// The last transfer id given out.
    pub last_transfer_id: i64,
    /// The transfer number of the last AccountTransfer sent (its successor names it).
    pub last_sent_transfer_number: i64,
    /// (other_creditor_id, change_id) of every PendingBalanceChange applied.
    pub applied_changes: BTreeSet<(i64, i64)>,
}

impl Account {
    pub fn exists(&self) -> bool {
        self.update.is_some() && !self.deleted
    }

    pub fn principal(&self) -> i64 {
        self.update.as_ref().map_or(0, |u| u.principal)
    }

    /// Can receive transfers: it exists and its owner has not asked for its deletion.
    pub fn reachable(&self) -> bool {
        self.exists() && self.update.as_ref().is_some_and(|u| u.config_flags & SCHEDULED_FOR_DELETION_FLAG == 0)
    }

    /// The interest accrued by `now` (the root account accrues none).
    pub fn interest_at(&self, now: i64) -> f64 {
        match &self.update {
            Some(u) if u.creditor_id != ROOT_CREDITOR_ID => {
                accrued_interest(u.principal, u.interest, u.interest_rate, u.last_change_ts, now)
            }
            Some(u) => u.interest,
            None => 0.0,
        }
    }

    /// The flags as an AccountStatus event would carry them.
    pub fn status(&self, debtor_id: i64, creditor_id: i64, ts: i64) -> AccountStatus {
        AccountStatus {
            debtor_id,
            creditor_id,
            deleted: self.deleted,
            overflown: self.overflown,
            established_interest_rate: self.established_interest_rate,
            ts,
        }
    }

    /// The prepared transfer of a coordinator's request, if there is one.
    pub fn prepared_for(&self, coordinator: Coordinator<'_>) -> Option<&PreparedTransfer> {
        self.prepared.values().find(|p| {
            p.coordinator_type == coordinator.0
                && p.coordinator_id == coordinator.1
                && p.coordinator_request_id == coordinator.2
        })
    }

    /// Folds one event into the account.
    pub fn apply(&mut self, event: &LedgerEvent) {
        match event {
            LedgerEvent::AccountUpdate(update) => self.update = Some(update.clone()),
            LedgerEvent::AccountStatus(status) => {
                self.deleted = status.deleted;
                self.overflown = status.overflown;
                self.established_interest_rate = status.established_interest_rate;
            }
            LedgerEvent::BalanceChangeSent(sent) => {
                self.last_transfer_id = self.last_transfer_id.max(sent.change_id);
                if sent.coordinator_type == "interest" {
                    self.last_capitalization_ts = sent.ts;
                }
            }
            LedgerEvent::PreparedTransfer(prepared) => {
                if !self.prepared.contains_key(&prepared.transfer_id) {
                    self.total_locked_amount = self.total_locked_amount.saturating_add(prepared.locked_amount);
                }
                self.last_transfer_id = self.last_transfer_id.max(prepared.transfer_id);
                self.prepared.insert(prepared.transfer_id, prepared.clone());
            }
            LedgerEvent::FinalizedTransfer(finalized) => {
                if let Some(prepared) = self.prepared.remove(&finalized.transfer_id) {
                    self.total_locked_amount = self.total_locked_amount.saturating_sub(prepared.locked_amount);
                }
            }
            LedgerEvent::AccountTransfer(transfer) => {
                self.last_sent_transfer_number = transfer.transfer_number;
            }
            LedgerEvent::BalanceChanged(change) => {
                self.applied_changes.insert((change.other_creditor_id, change.change_id));
            }
            LedgerEvent::AccountPurge(_) => *self = Account::default(),
            LedgerEvent::RejectedConfig(_) | LedgerEvent::RejectedTransfer(_) => {}
        }
    }
}
