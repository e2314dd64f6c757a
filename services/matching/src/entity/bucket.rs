//! A bucket: a merchant's pending payments and pending merchant transactions of one amount.
//! Every candidate of a payment has its amount, so every match a merchant transaction could
//! take part in is decided here, by one writer: it is consumed once, however payments race.
//! After each change, every pending payment that now has exactly one candidate is matched
//! (a matched merchant transaction may leave another payment with one). What can no longer
//! match is closed by a timer, so the state holds only the look-back's worth; the same timer
//! exports the pending payments of a merchant that takes them unmatched, when they are due.

use std::collections::BTreeMap;

use clio_aggregate::{Context, Decision, Timer};
use serde::{Deserialize, Serialize};

use super::{MatchingDecision, bucket_key};
use crate::export::UNMATCHED_PREFIX;
use crate::messages::{
    ClosePending, DuplicateIgnored, ImportMerchantTransaction, Matched, MatchingCommand as C, MatchingEvent as E,
    MerchantTransaction, MerchantTransactionImported, OfferPayment, PaymentMoved, PaymentPending, PendingClosed,
    SettlementDropped, UnmatchedExportDue,
};
use crate::profile::Profiles;
use crate::rules::{self, LOOKBACK_MICROS, NoMatch};
use crate::settlement::sha256_hex;
use crate::transaction::{CardOnFile, CardScheme, DAY_MICROS, Payment, SchemeTransaction};

/// A pending transaction is closed this long after its date: the look-back, and two days for
/// a late feed.
pub const CLOSE_AFTER_MICROS: i64 = LOOKBACK_MICROS + 2 * DAY_MICROS;

/// How long a bucket remembers a matched payment (to drop its late settlement), a moved one (to
/// forward it) and a merchant transaction's id (to ignore it when re-sent).
pub const REMEMBER_MICROS: i64 = 2 * LOOKBACK_MICROS;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BucketState {
    pub key: String,
    pub payments: BTreeMap<String, PaymentPending>,
    pub rows: BTreeMap<String, MerchantTransaction>,
    /// Payment key → (the transaction id it matched with, when).
    pub matched: BTreeMap<String, (String, i64)>,
    /// Payment key → (the bucket its new amount moved it to, when).
    pub moved: BTreeMap<String, (String, i64)>,
    /// Merchant transaction id → when it was imported.
    pub seen: BTreeMap<String, i64>,
    /// Payment key → when it was exported unmatched (to drop its late settlement).
    #[serde(default)]
    pub unmatched: BTreeMap<String, i64>,
}

fn malformed(t: &MerchantTransaction) -> Option<String> {
    if CardScheme::parse(&t.provider).is_none() {
        return Some(format!("provider {:?} is not visa, mastercard or amex", t.provider));
    }
    if t.transaction_id.is_empty() || t.merchant.is_empty() {
        return Some("a merchant transaction needs its transaction id and merchant".to_string());
    }
    None
}

fn why(no_match: &NoMatch) -> String {
    match no_match {
        NoMatch::NotMatched => "the merchant does not match this card scheme".to_string(),
        NoMatch::NoCandidates => "no pending merchant transaction fits".to_string(),
        NoMatch::NarrowedToNone(fallback) => format!("the {fallback:?} fallback left no candidate"),
        NoMatch::Ambiguous(n) => format!("{n} merchant transactions fit and nothing tells them apart"),
    }
}

/// The match of `p` with `row`, of `matching_type` (LOYALTY, or FORCED by an operator): the
/// row's id, amount and time; the payment's MID, card and holder.
pub(super) fn matched(p: &PaymentPending, row: &MerchantTransaction, matching_type: &str, now: i64) -> Matched {
    Matched {
        match_id: sha256_hex(&p.payment.settlement_key),
        matching_type: matching_type.to_string(),
        merchant: p.merchant.clone(),
        payment_key: p.payment_key.clone(),
        payment_transaction_id: p.payment.transaction_id.clone(),
        merchant_transaction_id: row.transaction_id.clone(),
        amount: row.amount,
        currency: row.currency.clone(),
        at: row.at,
        mid: p.payment.primary_mid.clone(),
        card_token: p.payment.card_token.clone(),
        scheme_account_id: p.scheme_account_id.clone(),
        ts: now,
    }
}

/// When a pending payment is exported unmatched, if its merchant takes it: at the first UTC
/// midnight more than `after_days` after its date (the seed's `transaction_date < today - N
/// days`), once its card scheme allows (from the auth, or only once settled) and its card
/// holder is known.
pub fn unmatched_due(p: &PaymentPending) -> Option<i64> {
    let rules = Profiles::builtin().get(&p.merchant)?.unmatched.as_ref()?;
    let from_auth = rules.from_auth.contains(&p.payment.provider);
    if !(from_auth || p.payment.feed == "SETTLED") || p.scheme_account_id.is_empty() {
        return None;
    }
    let aged = p.payment.at.checked_add(i64::from(rules.after_days) * DAY_MICROS)?;
    Some(aged.div_euclid(DAY_MICROS) * DAY_MICROS + DAY_MICROS)
}

/// `p`, exported unmatched to the merchant its merchant names.
fn unmatched_export(p: &PaymentPending, now: i64) -> Option<E> {
    let rules = Profiles::builtin().get(&p.merchant)?.unmatched.as_ref()?;
    Some(E::UnmatchedExportDue(UnmatchedExportDue {
        export_id: format!("{UNMATCHED_PREFIX}{}", sha256_hex(&p.payment.settlement_key)),
        merchant: p.merchant.clone(),
        export_as: rules.export_as.clone(),
        payment_key: p.payment_key.clone(),
        payment_transaction_id: p.payment.transaction_id.clone(),
        feed: p.payment.feed.clone(),
        provider: p.payment.provider.clone(),
        amount: p.payment.amount,
        currency: p.payment.currency.clone(),
        at: p.payment.at,
        mid: p.payment.primary_mid.clone(),
        card_token: p.payment.card_token.clone(),
        scheme_account_id: p.scheme_account_id.clone(),
        ts: now,
    }))
}

/// The rules' view of the pending merchant rows.
fn as_candidates(rows: &BTreeMap<String, MerchantTransaction>) -> Vec<SchemeTransaction> {
    rows.values().filter_map(SchemeTransaction::from_record).collect()
}

/// The one row `p` matches among `pending`, or why none.
fn find(p: &PaymentPending, pending: &[SchemeTransaction]) -> Result<String, NoMatch> {
    let profile = Profiles::builtin().get(&p.merchant).ok_or(NoMatch::NotMatched)?;
    let payment = Payment::from_record(&p.payment).ok_or(NoMatch::NotMatched)?;
    let card = CardOnFile { first_six: p.card_first_six.clone(), last_four: p.card_last_four.clone() };
    rules::find_match(profile, &payment, &card, pending).map(|row| row.transaction_id.clone())
}

/// Matches every pending payment that has exactly one candidate, again while a match leaves
/// another with one; payments in order of date, then key.
pub(super) fn settle_all(
    mut payments: BTreeMap<String, PaymentPending>,
    mut rows: BTreeMap<String, MerchantTransaction>,
    now: i64,
) -> Vec<E> {
    let mut events = Vec::new();
    loop {
        let mut order: Vec<&PaymentPending> = payments.values().collect();
        order.sort_by(|a, b| (a.payment.at, &a.payment_key).cmp(&(b.payment.at, &b.payment_key)));
        let candidates = as_candidates(&rows);
        let found = order.iter().find_map(|p| find(p, &candidates).ok().map(|row| (p.payment_key.clone(), row)));
        let Some((payment_key, row_id)) = found else { return events };
        let (Some(p), Some(row)) = (payments.remove(&payment_key), rows.remove(&row_id)) else { return events };
        events.push(E::Matched(matched(&p, &row, "LOYALTY", now)));
    }
}

impl BucketState {
    pub fn offer(&self, o: &OfferPayment, context: &Context) -> MatchingDecision {
        let now = context.now_micros;
        let forward = |bucket: &str| {
            (bucket.to_string(), C::OfferPayment(OfferPayment { bucket: bucket.to_string(), ..o.clone() }))
        };
        if let Some((transaction_id, _)) = self.matched.get(&o.payment_key) {
            if *transaction_id == o.payment.transaction_id {
                return Decision::nothing();
            }
            return Decision::events(vec![E::SettlementDropped(SettlementDropped {
                payment_key: o.payment_key.clone(),
                transaction_id: o.payment.transaction_id.clone(),
                reason: "it is already matched (LOYALTY)".to_string(),
                ts: now,
            })]);
        }
        if self.unmatched.contains_key(&o.payment_key) {
            return Decision::events(vec![E::SettlementDropped(SettlementDropped {
                payment_key: o.payment_key.clone(),
                transaction_id: o.payment.transaction_id.clone(),
                reason: "it was exported unmatched".to_string(),
                ts: now,
            })]);
        }
        if let Some((bucket, _)) = self.moved.get(&o.payment_key) {
            return Decision::with_commands(Vec::new(), vec![forward(bucket)]);
        }
        let target = bucket_key(&o.merchant, o.payment.amount);
        if target != o.bucket {
            // A settlement changed the amount: the payment moves to its new amount's bucket.
            let events = match self.payments.contains_key(&o.payment_key) {
                true => vec![E::PaymentMoved(PaymentMoved {
                    payment_key: o.payment_key.clone(),
                    bucket: target.clone(),
                    ts: now,
                })],
                false => Vec::new(),
            };
            return Decision::with_commands(events, vec![forward(&target)]);
        }
        let pending = PaymentPending {
            payment_key: o.payment_key.clone(),
            merchant: o.merchant.clone(),
            payment: o.payment.clone(),
            card_first_six: o.card_first_six.clone(),
            card_last_four: o.card_last_four.clone(),
            scheme_account_id: o.scheme_account_id.clone(),
            reason: String::new(),
            ts: now,
        };
        if self
            .payments
            .get(&o.payment_key)
            .is_some_and(|p| PaymentPending { reason: String::new(), ts: now, ..p.clone() } == pending)
        {
            return Decision::nothing();
        }
        let mut payments = self.payments.clone();
        payments.insert(o.payment_key.clone(), pending.clone());
        let events = settle_all(payments, self.rows.clone(), now);
        let matched_now = events.iter().any(|e| matches!(e, E::Matched(m) if m.payment_key == o.payment_key));
        if matched_now {
            return Decision::events(events);
        }
        let reason = find(&pending, &as_candidates(&self.rows)).err().map(|no| why(&no)).unwrap_or_default();
        let mut all = vec![E::PaymentPending(PaymentPending { reason, ..pending })];
        all.extend(events);
        Decision::events(all)
    }

    pub fn import(&self, c: &ImportMerchantTransaction, context: &Context) -> MatchingDecision {
        let t = &c.transaction;
        if let Some(reason) = malformed(t) {
            return Decision::invalid(reason);
        }
        let now = context.now_micros;
        if self.seen.contains_key(&t.transaction_id) {
            return Decision::events(vec![E::DuplicateIgnored(DuplicateIgnored {
                source: t.merchant.clone(),
                feed: "MERCHANT".to_string(),
                transaction_id: t.transaction_id.clone(),
                batch: c.batch.clone(),
                ts: now,
            })]);
        }
        let mut rows = self.rows.clone();
        rows.insert(t.transaction_id.clone(), t.clone());
        let mut events = vec![E::MerchantTransactionImported(MerchantTransactionImported {
            batch: c.batch.clone(),
            transaction: t.clone(),
            ts: now,
        })];
        events.extend(settle_all(self.payments.clone(), rows, now));
        Decision::events(events)
    }

    /// The timer: pending payments due to go unmatched are exported, and what can no longer
    /// match is closed, visibly.
    pub fn close(&self, c: &ClosePending, context: &Context) -> MatchingDecision {
        let exported: Vec<E> = self
            .payments
            .values()
            .filter(|p| unmatched_due(p).is_some_and(|due| due <= c.due))
            .filter_map(|p| unmatched_export(p, context.now_micros))
            .collect();
        let gone = |key: &str| exported.iter().any(|e| matches!(e, E::UnmatchedExportDue(u) if u.payment_key == key));
        let closed = |side: &str, id: &str, at: i64| {
            let merchant = self.key.strip_prefix("bucket:").and_then(|rest| rest.rsplit_once(':')).map(|(m, _)| m);
            E::PendingClosed(PendingClosed {
                merchant: merchant.unwrap_or_default().to_string(),
                side: side.to_string(),
                id: id.to_string(),
                at,
                ts: context.now_micros,
            })
        };
        let due = |at: i64| at + CLOSE_AFTER_MICROS <= c.due;
        let payments = self
            .payments
            .values()
            .filter(|p| due(p.payment.at) && !gone(&p.payment_key))
            .map(|p| closed("PAYMENT", &p.payment_key, p.payment.at));
        let rows = self.rows.values().filter(|r| due(r.at)).map(|r| closed("MERCHANT", &r.transaction_id, r.at));
        let closed: Vec<E> = payments.chain(rows).collect();
        Decision::events(exported.into_iter().chain(closed).collect())
    }

    pub fn timer(&self) -> Option<Timer<C>> {
        let earliest = self.payments.values().map(|p| p.payment.at).chain(self.rows.values().map(|r| r.at)).min()?;
        let unmatched = self.payments.values().filter_map(unmatched_due).min();
        let due = unmatched.map_or(earliest + CLOSE_AFTER_MICROS, |u| u.min(earliest + CLOSE_AFTER_MICROS));
        Some(Timer {
            due_micros: due,
            command: C::ClosePending(ClosePending { bucket: self.key.clone(), due, ts: due }),
        })
    }

    pub fn apply(&mut self, event: &E) {
        let ts = match event {
            E::MerchantTransactionImported(e) => {
                self.key = bucket_key(&e.transaction.merchant, e.transaction.amount);
                self.rows.insert(e.transaction.transaction_id.clone(), e.transaction.clone());
                self.seen.insert(e.transaction.transaction_id.clone(), e.ts);
                e.ts
            }
            E::PaymentPending(e) => {
                self.key = bucket_key(&e.merchant, e.payment.amount);
                self.payments.insert(e.payment_key.clone(), e.clone());
                e.ts
            }
            E::PaymentMoved(e) => {
                self.payments.remove(&e.payment_key);
                self.moved.insert(e.payment_key.clone(), (e.bucket.clone(), e.ts));
                e.ts
            }
            E::Matched(e) => {
                // A forced match is made in the payment's bucket with another amount's row.
                if self.key.is_empty() {
                    self.key = bucket_key(&e.merchant, e.amount);
                }
                self.payments.remove(&e.payment_key);
                self.rows.remove(&e.merchant_transaction_id);
                self.matched.insert(e.payment_key.clone(), (e.payment_transaction_id.clone(), e.ts));
                e.ts
            }
            E::MerchantTransactionReserved(e) => {
                self.rows.remove(&e.transaction_id);
                e.ts
            }
            E::MerchantTransactionReleased(e) => {
                self.rows.insert(e.transaction.transaction_id.clone(), e.transaction.clone());
                e.ts
            }
            E::UnmatchedExportDue(e) => {
                self.payments.remove(&e.payment_key);
                self.unmatched.insert(e.payment_key.clone(), e.ts);
                e.ts
            }
            E::PendingClosed(e) => {
                match e.side.as_str() {
                    "PAYMENT" => self.payments.remove(&e.id).map(|_| ()),
                    _ => self.rows.remove(&e.id).map(|_| ()),
                };
                e.ts
            }
            _ => return,
        };
        let forget_before = ts - REMEMBER_MICROS;
        self.matched.retain(|_, (_, when)| *when >= forget_before);
        self.moved.retain(|_, (_, when)| *when >= forget_before);
        self.seen.retain(|_, when| *when >= forget_before);
        self.unmatched.retain(|_, when| *when >= forget_before);
    }
}
