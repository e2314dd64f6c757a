//! Time-driven work, done when the ledger's clock reaches an account: a `MaintainAccount`
//! command, sent by the scanner with the time (`ts`) and the root account's interest rate.
//! Nothing here reads a clock, so a replay of the log decides exactly as the first run did.
//!
//! In this order, each step seeing what the previous ones did:
//! 1. a deleted account is purged once nothing in flight can still reach it;
//! 2. the interest rate follows the root account's (at most once per 8 days), the interest
//!    accrued at the old rate settled first;
//! 3. accrued interest is capitalised (at most once per 30 days): a payment from the root
//!    account, booked here at once and on the root account through a PendingBalanceChange;
//! 4. an account scheduled for deletion, with no prepared transfers and a negligible balance,
//!    gives its balance back to the root account and is marked deleted;
//! 5. transfers prepared a week ago and still open are announced again (reminders);
//! 6. an account that has not changed for a week gets its AccountUpdate again (heartbeat).

use clio_aggregate::Decision;

use crate::account::Account;
use crate::messages::*;
use crate::rules::*;
use crate::update::{Change, first_number, next_update, principal_changed};

type LedgerDecision = Decision<LedgerEvent, LedgerCommand>;

/// `received` is the record's timestamp. The clock is the later of it and the tick's own `ts`:
/// a scan may be dated ahead of the broker's clock (to see what a date will bring, in tests
/// and demos), and a tick that waited in the log is applied as of its arrival.
pub fn maintain(account: &Account, m: &MaintainAccount, received: i64) -> LedgerDecision {
    if !m.interest_rate.is_finite() {
        return Decision::invalid("interest_rate must be a number");
    }
    if received - m.ts > SIGNAL_MAX_AGE_MICROS {
        return Decision::nothing(); // a tick that waited too long says nothing about today
    }
    let now = received.max(m.ts);
    let Some(update) = account.update.as_ref() else { return Decision::nothing() };
    let mut work = Work {
        account: account.clone(),
        debtor_id: m.debtor_id,
        creditor_id: m.creditor_id,
        now,
        events: Vec::new(),
        commands: Vec::new(),
    };
    if account.deleted {
        if purge_is_due(update, now) {
            work.push(LedgerEvent::AccountPurge(AccountPurge {
                debtor_id: m.debtor_id,
                creditor_id: m.creditor_id,
                creation_date: update.creation_date,
                ts: now,
            }));
        }
        return work.into_decision();
    }
    work.follow_interest_rate(m.interest_rate);
    work.capitalize_interest();
    if !work.try_to_delete() {
        work.remind_prepared_transfers();
        work.heartbeat();
    }
    work.into_decision()
}

fn purge_is_due(update: &AccountUpdate, now: i64) -> bool {
    now - update.last_change_ts >= PURGE_DELAY_MICROS && date_of(now) - update.creation_date > PURGE_MIN_AGE_DAYS
}

/// The account as the events decided so far leave it.
struct Work {
    account: Account,
    debtor_id: i64,
    creditor_id: i64,
    now: i64,
    events: Vec<LedgerEvent>,
    commands: Vec<(String, LedgerCommand)>,
}

impl Work {
    fn push(&mut self, event: LedgerEvent) {
        self.account.apply(&event);
        self.events.push(event);
    }

    fn into_decision(self) -> LedgerDecision {
        Decision::with_commands(self.events, self.commands)
    }

    fn is_root(&self) -> bool {
        self.creditor_id == ROOT_CREDITOR_ID
    }

    /// The account's flags as they stand, dated now.
    fn status(&self) -> AccountStatus {
        self.account.status(self.debtor_id, self.creditor_id, self.now)
    }

    fn update(&self) -> AccountUpdate {
        next_update(&self.account, self.debtor_id, self.creditor_id, self.now)
    }

    fn follow_interest_rate(&mut self, rate: f64) {
        let Some(last) = self.account.update.as_ref() else { return };
        let rate = rate.clamp(INTEREST_RATE_FLOOR, INTEREST_RATE_CEIL);
        let differs = !self.account.established_interest_rate || last.interest_rate != rate;
        let allowed = self.now - last.last_interest_rate_change_ts > INTEREST_RATE_CHANGE_MIN_INTERVAL_MICROS;
        if self.is_root() || !differs || !allowed {
            return;
        }
        let mut update = self.update(); // settles the interest accrued at the old rate
        update.interest_rate = rate;
        update.last_interest_rate_change_ts = self.now;
        self.push(LedgerEvent::AccountUpdate(update));
        if !self.account.established_interest_rate {
            let status = AccountStatus { established_interest_rate: true, ..self.status() };
            self.push(LedgerEvent::AccountStatus(status));
        }
    }

    fn capitalize_interest(&mut self) {
        if self.is_root() || self.now - self.account.last_capitalization_ts < CAPITALIZATION_INTERVAL_MICROS {
            return;
        }
        let amount = whole_amount(self.account.interest_at(self.now));
        if amount != 0 {
            self.pay_root("interest", amount, -(amount as f64));
        }
    }

    /// Books `amount` (positive: from the root account to this one) on this account now, and
    /// sends the other side to the root account. `interest_delta` is what leaves the accrued
    /// interest with it.
    fn pay_root(&mut self, coordinator_type: &str, amount: i64, interest_delta: f64) {
        let Some(creation_date) = self.account.update.as_ref().map(|u| u.creation_date) else { return };
        let change_id = self.account.last_transfer_id.max(first_number(creation_date)) + 1;
        let (sender, recipient) =
            if amount > 0 { (ROOT_CREDITOR_ID, self.creditor_id) } else { (self.creditor_id, ROOT_CREDITOR_ID) };
        let change = Change {
            delta: amount,
            coordinator_type,
            sender,
            recipient,
            note: "",
            note_format: "",
            committed_at: self.now,
        };
        for event in
            principal_changed(&self.account, self.debtor_id, self.creditor_id, &change, interest_delta, self.now)
        {
            self.push(event);
        }
        self.push(LedgerEvent::BalanceChangeSent(BalanceChangeSent {
            debtor_id: self.debtor_id,
            creditor_id: self.creditor_id,
            recipient_creditor_id: ROOT_CREDITOR_ID,
            change_id,
            principal_delta: -amount,
            coordinator_type: coordinator_type.to_string(),
            ts: self.now,
        }));
        self.commands.push((
            account_key(self.debtor_id, ROOT_CREDITOR_ID),
            LedgerCommand::PendingBalanceChange(PendingBalanceChange {
                debtor_id: self.debtor_id,
                creditor_id: ROOT_CREDITOR_ID,
                change_id,
                coordinator_type: coordinator_type.to_string(),
                transfer_note_format: String::new(),
                transfer_note: String::new(),
                committed_at: self.now,
                principal_delta: -amount,
                other_creditor_id: self.creditor_id,
            }),
        ));
    }

    /// Returns true when the account was deleted.
    fn try_to_delete(&mut self) -> bool {
        let Some(last) = self.account.update.as_ref() else { return false };
        let scheduled = last.config_flags & SCHEDULED_FOR_DELETION_FLAG != 0;
        if !scheduled || !self.account.prepared.is_empty() {
            return false;
        }
        let principal = last.principal;
        let interest = self.account.interest_at(self.now);
        let deletable = if self.is_root() {
            principal == 0
        } else {
            let balance = principal as f64 + interest;
            (0.0..=DELETION_MAX_BALANCE.max(last.negligible_amount)).contains(&balance)
        };
        if !deletable {
            return false;
        }
        if principal != 0 {
            self.pay_root("delete", -principal, -interest);
        } else {
            let mut update = self.update();
            update.interest = 0.0;
            self.push(LedgerEvent::AccountUpdate(update));
        }
        let status = AccountStatus { deleted: true, ..self.status() };
        self.push(LedgerEvent::AccountStatus(status));
        true
    }

    fn remind_prepared_transfers(&mut self) {
        let now = self.now;
        let due: Vec<PreparedTransfer> = self
            .account
            .prepared
            .values()
            .filter(|p| now - p.prepared_at >= REMINDER_INTERVAL_MICROS && now - p.ts >= REMINDER_INTERVAL_MICROS)
            .map(|p| PreparedTransfer { ts: now, ..p.clone() })
            .collect();
        for reminder in due {
            self.push(LedgerEvent::PreparedTransfer(reminder));
        }
    }

    fn heartbeat(&mut self) {
        if self.events.iter().any(|e| matches!(e, LedgerEvent::AccountUpdate(_))) {
            return;
        }
        let Some(last) = self.account.update.as_ref() else { return };
        if self.now - last.last_change_ts >= HEARTBEAT_INTERVAL_MICROS
            && self.now - last.ts >= HEARTBEAT_INTERVAL_MICROS
        {
            let heartbeat = AccountUpdate { ts: self.now, ..last.clone() };
            self.push(LedgerEvent::AccountUpdate(heartbeat));
        }
    }
}
