//! One payment per purchase: the settlement key an auth and its settlement share, and what a
//! newly imported auth or settlement does to the payment already under its key
//! (matching-harmonia-source.md §2).

use sha2::{Digest as _, Sha256};

use crate::messages::PaymentTransaction;

/// The feed a payment transaction came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    Auth,
    Settled,
    Refund,
}

impl Feed {
    /// `AUTH`, `SETTLED` or `REFUND`, as the records spell it.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "AUTH" => Some(Feed::Auth),
            "SETTLED" => Some(Feed::Settled),
            "REFUND" => Some(Feed::Refund),
            _ => None,
        }
    }
}

/// Where a payment stands, as far as a newly imported one is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not matched yet: a settlement may still improve it.
    Pending,
    /// Matched, spotted or exported: it is settled business.
    Done,
}

/// What importing a payment transaction does.
#[derive(Debug, Clone, PartialEq)]
pub enum Merge {
    /// A new payment under its settlement key.
    Insert,
    /// The pending payment, improved by its settlement; matching is tried again.
    Override(Box<PaymentTransaction>),
    /// An auth for a key that already has a payment: nothing changes.
    AuthSkipped,
    /// A settlement for a payment that is no longer pending: recorded, nothing changes (the
    /// seed only logged it).
    SettlementDropped,
    /// Refunds are never matched (streamed or recorded as not matched by the caller).
    NotMatchable,
}

/// A settlement key that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The seed gave such transactions a random id, so that their auth and settlement never
    /// merged and a re-sent file imported them twice; here they are refused with the reason.
    #[error("a {scheme} transaction needs its {field} to derive its settlement key")]
    Missing { scheme: &'static str, field: &'static str },
}

/// What importing `incoming` from `feed` does, given the payment already under its settlement
/// key.
pub fn merge(existing: Option<(&PaymentTransaction, Standing)>, feed: Feed, incoming: &PaymentTransaction) -> Merge {
    match (feed, existing) {
        (Feed::Refund, _) => Merge::NotMatchable,
        (_, None) => Merge::Insert,
        (Feed::Auth, Some(_)) => Merge::AuthSkipped,
        (Feed::Settled, Some((_, Standing::Done))) => Merge::SettlementDropped,
        (Feed::Settled, Some((pending, Standing::Pending))) => Merge::Override(Box::new(settle(pending, incoming))),
    }
}

/// A settlement over a pending payment: its amount and id win, and it fills the card digits
/// and auth code the auth lacked (turning on the auth-code and DPAN rules). The time, MID and
/// scheme stay the auth's, as in the seed: the settlement's time is less precise.
fn settle(pending: &PaymentTransaction, settlement: &PaymentTransaction) -> PaymentTransaction {
    let fill = |have: &str, given: &str| if have.is_empty() { given.to_string() } else { have.to_string() };
    PaymentTransaction {
        transaction_id: settlement.transaction_id.clone(),
        feed: settlement.feed.clone(),
        amount: settlement.amount,
        auth_code: fill(&pending.auth_code, &settlement.auth_code),
        first_six: fill(&pending.first_six, &settlement.first_six),
        last_four: fill(&pending.last_four, &settlement.last_four),
        ..pending.clone()
    }
}

/// The hex sha256 of `text`: settlement keys, and the match id a merchant dedupes on.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Visa: an auth and its settlement share the VIP transaction id; a refund has its own.
pub fn visa_settlement_key(vip_transaction_id: &str) -> Result<String, KeyError> {
    if vip_transaction_id.is_empty() {
        return Err(KeyError::Missing { scheme: "visa", field: "VipTransactionId" });
    }
    Ok(sha256_hex(&format!("visa.{vip_transaction_id}")))
}

/// Mastercard: the third-party id, the transaction's local date (`YYYY-MM-DD`), the MID and
/// the card token.
pub fn mastercard_settlement_key(
    third_party_id: &str,
    local_date: &str,
    mid: &str,
    card_token: &str,
) -> Result<String, KeyError> {
    if third_party_id.is_empty() {
        return Err(KeyError::Missing { scheme: "mastercard", field: "third-party id" });
    }
    Ok(sha256_hex(&format!("mastercard.{third_party_id}.{local_date}.{mid}.{card_token}")))
}

/// Mastercard's transaction id: its id and the local date, so that a feed's id reused on
/// another day is another transaction.
pub fn mastercard_transaction_id(id: &str, local_date: &str) -> Result<String, KeyError> {
    if id.is_empty() {
        return Err(KeyError::Missing { scheme: "mastercard", field: "id" });
    }
    Ok(format!("{id}_{}", local_date.replace('-', "")))
}

/// Amex: the transaction id is the settlement key.
pub fn amex_settlement_key(transaction_id: &str) -> Result<String, KeyError> {
    if transaction_id.is_empty() {
        return Err(KeyError::Missing { scheme: "amex", field: "transaction id" });
    }
    Ok(transaction_id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> PaymentTransaction {
        PaymentTransaction {
            transaction_id: "auth-1".into(),
            feed: "AUTH".into(),
            provider: "visa".into(),
            settlement_key: "sk".into(),
            primary_mid: "mid-1".into(),
            secondary_mid: String::new(),
            psimi: String::new(),
            amount: 1_000,
            currency: "GBP".into(),
            at: 1_780_315_200_123_000,
            source_zone: "UTC".into(),
            has_time: true,
            card_token: "tok".into(),
            first_six: String::new(),
            last_four: "4242".into(),
            auth_code: String::new(),
            approval_code: String::new(),
            extra: String::new(),
        }
    }

    fn settlement() -> PaymentTransaction {
        PaymentTransaction {
            transaction_id: "settled-1".into(),
            feed: "SETTLED".into(),
            primary_mid: "mid-9".into(),
            amount: 1_050,
            at: 1_780_315_200_000_000,
            auth_code: "A1B2C3".into(),
            first_six: "454545".into(),
            last_four: "0001".into(),
            ..auth()
        }
    }

    #[test]
    fn a_first_auth_or_settlement_is_inserted_and_a_refund_is_never_matched() {
        assert_eq!(merge(None, Feed::Auth, &auth()), Merge::Insert);
        assert_eq!(merge(None, Feed::Settled, &settlement()), Merge::Insert);
        assert_eq!(merge(Some((&auth(), Standing::Pending)), Feed::Refund, &auth()), Merge::NotMatchable);
    }

    #[test]
    fn an_auth_for_a_key_that_has_a_payment_changes_nothing_whatever_its_standing() {
        for standing in [Standing::Pending, Standing::Done] {
            assert_eq!(merge(Some((&settlement(), standing)), Feed::Auth, &auth()), Merge::AuthSkipped);
        }
    }

    #[test]
    fn a_settlement_over_a_pending_auth_takes_its_amount_and_id_and_fills_what_the_auth_lacked() {
        let Merge::Override(merged) = merge(Some((&auth(), Standing::Pending)), Feed::Settled, &settlement()) else {
            panic!("a settlement overrides a pending auth");
        };
        assert_eq!((merged.transaction_id.as_str(), merged.amount), ("settled-1", 1_050));
        assert_eq!((merged.auth_code.as_str(), merged.first_six.as_str()), ("A1B2C3", "454545"));
        assert_eq!(merged.last_four, "4242", "a digit the auth had stays");
        assert_eq!((merged.at, merged.primary_mid.as_str()), (auth().at, "mid-1"), "the auth's time and MID stay");
    }

    #[test]
    fn a_settlement_for_a_payment_no_longer_pending_is_dropped() {
        assert_eq!(merge(Some((&auth(), Standing::Done)), Feed::Settled, &settlement()), Merge::SettlementDropped);
    }

    #[test]
    fn settlement_keys_are_the_seeds_and_a_missing_id_is_refused_not_made_up() {
        // sha256("visa.123"), as Python's hashlib gives it.
        assert_eq!(
            visa_settlement_key("123").unwrap(),
            "035c240cb07522471067ae5f91bb0a8061e4580ebb64204ac686b921023b2f76"
        );
        assert_ne!(visa_settlement_key("123"), visa_settlement_key("124"));
        assert_eq!(amex_settlement_key("AX-9").unwrap(), "AX-9");
        assert_eq!(mastercard_transaction_id("77", "2026-06-01").unwrap(), "77_20260601");
        assert_eq!(
            mastercard_settlement_key("", "2026-06-01", "mid", "tok"),
            Err(KeyError::Missing { scheme: "mastercard", field: "third-party id" })
        );
        assert!(visa_settlement_key("").is_err() && amex_settlement_key("").is_err());
    }
}
