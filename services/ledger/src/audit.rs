//! The conservation audit: for every debtor, the principals of all its accounts (the root
//! account's included) plus the credits still in flight sum to zero. Fed the events of the
//! log in order; a credit is in flight from the sender's committed FinalizedTransfer (or
//! BalanceChangeSent, for payments between an account and its root account) until the
//! recipient's BalanceChanged with the same (sender, change id).

use std::collections::{BTreeMap, BTreeSet};

use crate::messages::LedgerEvent;

#[derive(Debug, Default)]
pub struct Audit {
    principals: BTreeMap<(i64, i64), i64>,
    committed: BTreeMap<(i64, i64, i64), i64>,
    credited: BTreeSet<(i64, i64, i64)>,
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
}

impl DebtorAudit {
    /// Money neither created nor lost.
    pub fn balanced(&self) -> bool {
        self.principals + self.in_flight == 0
    }
}

impl Audit {
    pub fn record(&mut self, event: &LedgerEvent) {
        match event {
            LedgerEvent::AccountUpdate(u) => {
                self.principals.insert((u.debtor_id, u.creditor_id), u.principal);
            }
            LedgerEvent::AccountPurge(p) => {
                self.principals.remove(&(p.debtor_id, p.creditor_id));
            }
            LedgerEvent::FinalizedTransfer(f) if f.committed_amount > 0 => {
                self.committed.insert((f.debtor_id, f.creditor_id, f.transfer_id), f.committed_amount);
            }
            LedgerEvent::BalanceChangeSent(s) => {
                self.committed.insert((s.debtor_id, s.creditor_id, s.change_id), s.principal_delta);
            }
            LedgerEvent::BalanceChanged(b) => {
                self.credited.insert((b.debtor_id, b.other_creditor_id, b.change_id));
            }
            _ => {}
        }
    }

    /// One line per debtor, by debtor id.
    pub fn report(&self) -> Vec<DebtorAudit> {
        fn of(out: &mut BTreeMap<i64, DebtorAudit>, debtor_id: i64) -> &mut DebtorAudit {
            out.entry(debtor_id).or_insert(DebtorAudit { debtor_id, accounts: 0, principals: 0, in_flight: 0 })
        }
        let mut out = BTreeMap::new();
        for (&(debtor, _), &principal) in &self.principals {
            let audit = of(&mut out, debtor);
            audit.accounts += 1;
            audit.principals += i128::from(principal);
        }
        for (key, &amount) in self.committed.iter().filter(|(key, _)| !self.credited.contains(key)) {
            of(&mut out, key.0).in_flight += i128::from(amount);
        }
        out.into_values().collect()
    }
}
