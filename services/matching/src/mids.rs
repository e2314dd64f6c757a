//! The MID registry: which merchant a payment's merchant identifiers name
//! (matching-harmonia-source.md §1, §5). A MID is unique by (payment provider, type,
//! identifier); a look-up is typed: a feed's secondary value identifies only a MID registered
//! as SECONDARY.

use serde::{Deserialize, Serialize};

use crate::messages::OnboardMid;
use crate::transaction::CardScheme;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MidType {
    Primary,
    Secondary,
    Psimi,
}

impl MidType {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "PRIMARY" => Some(MidType::Primary),
            "SECONDARY" => Some(MidType::Secondary),
            "PSIMI" => Some(MidType::Psimi),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MidType::Primary => "PRIMARY",
            MidType::Secondary => "SECONDARY",
            MidType::Psimi => "PSIMI",
        }
    }
}

/// One merchant identifier of one payment provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mid {
    pub provider: CardScheme,
    pub mid_type: MidType,
    pub identifier: String,
    /// The loyalty merchant's slug.
    pub merchant: String,
    pub location: String,
    pub postcode: String,
    /// Optional; exported with a match.
    pub location_id: String,
    pub merchant_internal_id: String,
}

impl Mid {
    /// The MID an onboarding (or an update, which carries the same fields) names, checked.
    pub fn from_record(record: &OnboardMid) -> Result<Self, MidError> {
        let mid = Mid {
            provider: CardScheme::parse(&record.provider)
                .ok_or_else(|| MidError::UnknownProvider(record.provider.clone()))?,
            mid_type: MidType::parse(&record.mid_type).ok_or_else(|| MidError::UnknownType(record.mid_type.clone()))?,
            identifier: record.identifier.clone(),
            merchant: record.merchant.clone(),
            location: record.location.clone(),
            postcode: record.postcode.clone(),
            location_id: record.location_id.clone(),
            merchant_internal_id: record.merchant_internal_id.clone(),
        };
        validate(&mid)?;
        Ok(mid)
    }
}

/// The merchant identifiers a payment feed gives: the primary always, the others when the feed
/// has them (empty otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedMids {
    pub primary: String,
    pub secondary: String,
    pub psimi: String,
}

/// Why a MID change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MidError {
    #[error("a MID needs {0}")]
    Missing(&'static str),
    #[error("{0:?} is not a payment provider (visa, mastercard or amex)")]
    UnknownProvider(String),
    #[error("{0:?} is not a MID type (PRIMARY, SECONDARY or PSIMI)")]
    UnknownType(String),
    #[error("{provider} {mid_type} MID {identifier} is already onboarded for {merchant}")]
    Taken { provider: &'static str, mid_type: &'static str, identifier: String, merchant: String },
    #[error("{provider} {mid_type} MID {identifier} is not onboarded")]
    NotOnboarded { provider: &'static str, mid_type: &'static str, identifier: String },
}

/// What onboarding a MID did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Onboarded {
    Added,
    /// The same MID, with the same details, was onboarded already: nothing changed.
    AlreadyThere,
}

/// The key of the entity that holds one MID: `mid:<provider>:<TYPE>:<identifier>`.
pub fn key(provider: &str, mid_type: &str, identifier: &str) -> String {
    format!("mid:{provider}:{mid_type}:{identifier}")
}

/// The typed look-up, best type first: each non-empty feed value under its own type (a feed's
/// secondary value identifies only a MID registered as SECONDARY).
pub fn lookups(feed: &FeedMids) -> Vec<(MidType, &str)> {
    [(MidType::Primary, &feed.primary), (MidType::Secondary, &feed.secondary), (MidType::Psimi, &feed.psimi)]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(mid_type, value)| (mid_type, value.as_str()))
        .collect()
}

/// Onboards `mid` where `existing` is onboarded under its key. The same MID again is a no-op;
/// the identifier under another merchant or other details is refused (an update says so
/// explicitly).
pub fn onboard(existing: Option<&Mid>, mid: &Mid) -> Result<Onboarded, MidError> {
    validate(mid)?;
    match existing {
        Some(existing) if existing == mid => Ok(Onboarded::AlreadyThere),
        Some(existing) => Err(MidError::Taken {
            provider: mid.provider.as_str(),
            mid_type: mid.mid_type.as_str(),
            identifier: mid.identifier.clone(),
            merchant: existing.merchant.clone(),
        }),
        None => Ok(Onboarded::Added),
    }
}

/// Replaces an onboarded MID's details (merchant, location and ids).
pub fn update(existing: Option<&Mid>, mid: &Mid) -> Result<(), MidError> {
    validate(mid)?;
    existing.map(|_| ()).ok_or_else(|| not_onboarded(mid))
}

/// Removes an onboarded MID.
pub fn remove<'a>(
    existing: Option<&'a Mid>,
    provider: CardScheme,
    mid_type: MidType,
    identifier: &str,
) -> Result<&'a Mid, MidError> {
    existing.ok_or_else(|| MidError::NotOnboarded {
        provider: provider.as_str(),
        mid_type: mid_type.as_str(),
        identifier: identifier.to_string(),
    })
}

pub fn validate(mid: &Mid) -> Result<(), MidError> {
    for (value, what) in [
        (&mid.identifier, "an identifier"),
        (&mid.merchant, "a merchant"),
        (&mid.location, "a location"),
        (&mid.postcode, "a postcode"),
    ] {
        if value.trim().is_empty() {
            return Err(MidError::Missing(what));
        }
    }
    Ok(())
}

fn not_onboarded(mid: &Mid) -> MidError {
    MidError::NotOnboarded {
        provider: mid.provider.as_str(),
        mid_type: mid.mid_type.as_str(),
        identifier: mid.identifier.clone(),
    }
}
