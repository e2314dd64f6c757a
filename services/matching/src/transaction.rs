//! The two sides of a match, as the matching rules see them.

use serde::{Deserialize, Serialize};

use crate::messages::{MerchantTransaction, PaymentTransaction};

/// Microseconds in a day: the 14-day look-back and the auth code's day are counted in them.
pub const DAY_MICROS: i64 = 86_400_000_000;

/// The card scheme (payment provider) of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardScheme {
    Visa,
    Mastercard,
    Amex,
}

impl CardScheme {
    /// `visa`, `mastercard` or `amex`, as the records spell a payment provider.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "visa" => Some(CardScheme::Visa),
            "mastercard" => Some(CardScheme::Mastercard),
            "amex" => Some(CardScheme::Amex),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CardScheme::Visa => "visa",
            CardScheme::Mastercard => "mastercard",
            CardScheme::Amex => "amex",
        }
    }
}

/// A payment transaction: an auth, or a settlement merged over its auth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The feed's id of the transaction (a settlement's replaces its auth's).
    pub transaction_id: String,
    pub settlement_key: String,
    pub card_scheme: CardScheme,
    /// The primary MID the payment feed gave, which merchant rows carry (even when the payment
    /// was identified by a secondary MID or a PSIMI).
    pub mid: String,
    /// Pence; refunds are negative.
    pub amount: i64,
    /// When the card was used: microseconds since the Unix epoch, UTC.
    pub at: i64,
    /// Empty when the feed gave none (Mastercard auths never do).
    pub auth_code: String,
    /// From an Amex settlement's DPAN, or a Visa/Mastercard feed; empty when unknown.
    pub first_six: String,
    pub last_four: String,
}

/// The card the identity service has on file for the payment's card holder: what the card
/// fallbacks compare a merchant row with (not the payment's own digits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardOnFile {
    pub first_six: String,
    pub last_four: String,
}

/// A transaction from a merchant's own feed, still pending (not matched yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeTransaction {
    /// Unique within the merchant's feed.
    pub transaction_id: String,
    pub card_scheme: CardScheme,
    /// The MIDs the merchant row names (a location may have several).
    pub mids: Vec<String>,
    pub amount: i64,
    pub at: i64,
    pub auth_code: String,
    pub first_six: String,
    pub last_four: String,
}

impl Payment {
    /// The rules' view of a payment record; `None` for a provider that is not a card scheme.
    pub fn from_record(record: &PaymentTransaction) -> Option<Self> {
        Some(Self {
            transaction_id: record.transaction_id.clone(),
            settlement_key: record.settlement_key.clone(),
            card_scheme: CardScheme::parse(&record.provider)?,
            mid: record.primary_mid.clone(),
            amount: record.amount,
            at: record.at,
            auth_code: record.auth_code.clone(),
            first_six: record.first_six.clone(),
            last_four: record.last_four.clone(),
        })
    }
}

impl SchemeTransaction {
    /// The rules' view of a merchant row; `None` for a provider that is not a card scheme.
    pub fn from_record(record: &MerchantTransaction) -> Option<Self> {
        Some(Self {
            transaction_id: record.transaction_id.clone(),
            card_scheme: CardScheme::parse(&record.provider)?,
            mids: record.mids.clone(),
            amount: record.amount,
            at: record.at,
            auth_code: record.auth_code.clone(),
            first_six: record.first_six.clone(),
            last_four: record.last_four.clone(),
        })
    }
}
