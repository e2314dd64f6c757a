//! Force match: an operator pairs a pending payment with a pending merchant transaction of its
//! merchant, whatever the rules say (matching type FORCED). Each side is pending in its own
//! bucket (their amounts may differ), so the merchant transaction's bucket reserves it and
//! takes it to the payment's bucket, which makes the match, or sends it back when the payment
//! is no longer pending. Either way each side is consumed at most once, and a refusal is an
//! event with the reason.

use clio_aggregate::{Context, Decision};

use super::MatchingDecision;
use super::bucket::{BucketState, matched, settle_all};
use crate::messages::{
    ForceMatch, ForceMatchPayment, ForceMatchRefused, MatchingCommand as C, MatchingEvent as E,
    MerchantTransactionReleased, MerchantTransactionReserved, ReleaseMerchantTransaction,
};

fn refused(payment_key: &str, merchant: &str, transaction_id: &str, reason: String, by: &str, now: i64) -> E {
    E::ForceMatchRefused(ForceMatchRefused {
        payment_key: payment_key.to_string(),
        merchant: merchant.to_string(),
        merchant_transaction_id: transaction_id.to_string(),
        reason,
        by: by.to_string(),
        ts: now,
    })
}

impl BucketState {
    /// In the merchant transaction's bucket.
    pub fn force_match(&self, c: &ForceMatch, context: &Context) -> MatchingDecision {
        let now = context.now_micros;
        let refuse = |reason: String| {
            Decision::events(vec![refused(&c.payment_key, &c.merchant, &c.merchant_transaction_id, reason, &c.by, now)])
        };
        let Some(row) = self.rows.get(&c.merchant_transaction_id) else {
            return refuse(format!("merchant transaction {} is not pending", c.merchant_transaction_id));
        };
        if c.payment_bucket == c.bucket {
            let Some(p) = self.payments.get(&c.payment_key) else {
                return refuse(format!("payment {} is not pending", c.payment_key));
            };
            return Decision::events(vec![E::Matched(matched(p, row, "FORCED", now))]);
        }
        let reserved = E::MerchantTransactionReserved(MerchantTransactionReserved {
            merchant: c.merchant.clone(),
            transaction_id: row.transaction_id.clone(),
            payment_key: c.payment_key.clone(),
            ts: now,
        });
        let take = C::ForceMatchPayment(ForceMatchPayment {
            bucket: c.payment_bucket.clone(),
            payment_key: c.payment_key.clone(),
            row_bucket: c.bucket.clone(),
            transaction: row.clone(),
            by: c.by.clone(),
            ts: now,
        });
        Decision::with_commands(vec![reserved], vec![(c.payment_bucket.clone(), take)])
    }

    /// In the payment's bucket, with the reserved merchant transaction.
    pub fn force_match_payment(&self, c: &ForceMatchPayment, context: &Context) -> MatchingDecision {
        let now = context.now_micros;
        let row = &c.transaction;
        let Some(p) = self.payments.get(&c.payment_key) else {
            let reason = format!("payment {} is not pending", c.payment_key);
            let event = refused(&c.payment_key, &row.merchant, &row.transaction_id, reason.clone(), &c.by, now);
            let release = C::ReleaseMerchantTransaction(ReleaseMerchantTransaction {
                bucket: c.row_bucket.clone(),
                transaction: row.clone(),
                reason,
                ts: now,
            });
            return Decision::with_commands(vec![event], vec![(c.row_bucket.clone(), release)]);
        };
        Decision::events(vec![E::Matched(matched(p, row, "FORCED", now))])
    }

    /// Back in the merchant transaction's bucket: pending again, and matched if the rules now
    /// find it a payment.
    pub fn release(&self, c: &ReleaseMerchantTransaction, context: &Context) -> MatchingDecision {
        let now = context.now_micros;
        let mut rows = self.rows.clone();
        rows.insert(c.transaction.transaction_id.clone(), c.transaction.clone());
        let mut events = vec![E::MerchantTransactionReleased(MerchantTransactionReleased {
            transaction: c.transaction.clone(),
            reason: c.reason.clone(),
            ts: now,
        })];
        events.extend(settle_all(self.payments.clone(), rows, now));
        Decision::events(events)
    }
}
