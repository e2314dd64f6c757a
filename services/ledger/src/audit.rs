//! The conservation audit: for every debtor, the principals of all its accounts (the root
//! account's included) plus the credits still in flight sum to zero. Fed the events of the
//! log in order; a credit is in flight from the sender's committed FinalizedTransfer (or
//! BalanceChangeSent, for payments between an account and its root account) until the
//! recipient's BalanceChanged with the same (sender, change id).
//!
//! On a live log the audit reads a cut, and a recipient's credit can be in it without the
//! sender's commit: the processor produces the credit before the sender's events. Such a
//! credit is "ahead": money the recipient has that the sender has not visibly paid yet, and it
//! counts as in flight the other way. It is only legitimate if the commit follows, so the
//! audit lists these credits ([`Audit::credits_ahead`]) for the reader to confirm by reading on
//! past the cut; a credit whose commit never comes is money created from nothing.

use std::collections::BTreeMap;

use crate::messages::LedgerEvent;

/// A balance change: (debtor, sending creditor, change id — the sender's transfer id).
pub type ChangeKey = (i64, i64, i64);

#[derive(Debug, Default)]
pub struct Audit {
    principals: BTreeMap<(i64, i64), i64>,
    committed: BTreeMap<ChangeKey, i64>,
    credited: BTreeMap<ChangeKey, i64>,
}

/// The audit of one debtor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtorAudit {
    pub debtor_id: i64,
    pub accounts: usize,
    /// Sum of the principals of every account.
    pub principals: i128,
    /// Sum of the changes sent to recipients that have not applied them yet.
    pub in_flight: i128,
    /// Sum of the changes recipients applied whose sender's commit is not in the cut.
    pub ahead: i128,
}

impl DebtorAudit {
    /// Money neither created nor lost.
    pub fn balanced(&self) -> bool {
        self.sum() == 0
    }

    /// Principals, plus what was sent and not yet received, less what was received and not
    /// yet visibly sent.
    pub fn sum(&self) -> i128 {
        self.principals + self.in_flight - self.ahead
    }
}

/// The change a sender committed in this event, if it is a commit.
pub fn commit_of(event: &LedgerEvent) -> Option<(ChangeKey, i64)> {
    match event {
        LedgerEvent::FinalizedTransfer(f) if f.committed_amount > 0 => {
            Some(((f.debtor_id, f.creditor_id, f.transfer_id), f.committed_amount))
        }
        LedgerEvent::BalanceChangeSent(s) => Some(((s.debtor_id, s.creditor_id, s.change_id), s.principal_delta)),
        _ => None,
    }
}

impl Audit {
    pub fn record(&mut self, event: &LedgerEvent) {
        if let Some((key, amount)) = commit_of(event) {
            self.committed.insert(key, amount);
            return;
        }
        match event {
            LedgerEvent::AccountUpdate(u) => {
                self.principals.insert((u.debtor_id, u.creditor_id), u.principal);
            }
            LedgerEvent::AccountPurge(p) => {
                self.principals.remove(&(p.debtor_id, p.creditor_id));
            }
            LedgerEvent::BalanceChanged(b) => {
                self.credited.insert((b.debtor_id, b.other_creditor_id, b.change_id), b.principal_delta);
            }
            _ => {}
        }
    }

    /// Credits applied whose commit the audit has not seen, with their amounts.
    pub fn credits_ahead(&self) -> Vec<(ChangeKey, i64)> {
        self.credited
            .iter()
            .filter(|(key, _)| !self.committed.contains_key(*key))
            .map(|(&key, &amount)| (key, amount))
            .collect()
    }

    /// One line per debtor, by debtor id.
    pub fn report(&self) -> Vec<DebtorAudit> {
        fn of(out: &mut BTreeMap<i64, DebtorAudit>, debtor_id: i64) -> &mut DebtorAudit {
            out.entry(debtor_id).or_insert(DebtorAudit {
                debtor_id,
                accounts: 0,
                principals: 0,
                in_flight: 0,
                ahead: 0,
            })
        }
        let mut out = BTreeMap::new();
        for (&(debtor, _), &principal) in &self.principals {
            let audit = of(&mut out, debtor);
            audit.accounts += 1;
            audit.principals += i128::from(principal);
        }
        for (key, &amount) in self.committed.iter().filter(|(key, _)| !self.credited.contains_key(*key)) {
            of(&mut out, key.0).in_flight += i128::from(amount);
        }
        for (key, amount) in self.credits_ahead() {
            of(&mut out, key.0).ahead += i128::from(amount);
        }
        out.into_values().collect()
    }
}
