//! The MID registry: which merchant a payment's merchant identifiers name
//! (matching-harmonia-source.md §1, §5). A MID is unique by (payment provider, type,
//! identifier); a look-up is typed: a feed's secondary value identifies only a MID registered
//! as SECONDARY.

use std::collections::BTreeMap;

use crate::transaction::CardScheme;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
}

/// One merchant identifier of one payment provider.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The merchant identifiers a payment feed gives: the primary always, the others when the feed
/// has them (empty otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedMids {
    pub primary: String,
    pub secondary: String,
    pub psimi: String,
}

/// Who a payment's MIDs name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identification<'a> {
    /// The best-typed MID found (PRIMARY before SECONDARY before PSIMI): it names the merchant
    /// and what an export carries. Matching still uses the feed's primary value.
    Identified(&'a Mid),
    /// None of the values is registered under its type: the payment waits, visible, until one
    /// is onboarded.
    Unknown,
    /// The values found name different merchants (the seed raised): visible, never guessed.
    Conflicting(Vec<String>),
}

/// Why a MID change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MidError {
    #[error("a MID needs {0}")]
    Missing(&'static str),
    #[error("{provider} {mid_type:?} MID {identifier} is already onboarded for {merchant}")]
    Taken { provider: &'static str, mid_type: MidType, identifier: String, merchant: String },
    #[error("{provider} {mid_type:?} MID {identifier} is not onboarded")]
    NotOnboarded { provider: &'static str, mid_type: MidType, identifier: String },
}

/// Every onboarded MID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MidRegistry(BTreeMap<(CardScheme, MidType, String), Mid>);

/// What onboarding a MID did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Onboarded {
    Added,
    /// The same MID, with the same details, was onboarded already: nothing changed.
    AlreadyThere,
}

fn key(mid: &Mid) -> (CardScheme, MidType, String) {
    (mid.provider, mid.mid_type, mid.identifier.clone())
}

impl MidRegistry {
    /// Onboards a MID. The same MID again is a no-op; the identifier under another merchant or
    /// other details is refused (an update says so explicitly).
    pub fn onboard(&mut self, mid: Mid) -> Result<Onboarded, MidError> {
        validate(&mid)?;
        match self.0.get(&key(&mid)) {
            Some(existing) if *existing == mid => Ok(Onboarded::AlreadyThere),
            Some(existing) => Err(MidError::Taken {
                provider: mid.provider.as_str(),
                mid_type: mid.mid_type,
                identifier: mid.identifier.clone(),
                merchant: existing.merchant.clone(),
            }),
            None => {
                self.0.insert(key(&mid), mid);
                Ok(Onboarded::Added)
            }
        }
    }

    /// Replaces an onboarded MID's details (merchant, location and ids).
    pub fn update(&mut self, mid: Mid) -> Result<(), MidError> {
        validate(&mid)?;
        let Some(existing) = self.0.get_mut(&key(&mid)) else { return Err(not_onboarded(&mid)) };
        *existing = mid;
        Ok(())
    }

    pub fn remove(&mut self, provider: CardScheme, mid_type: MidType, identifier: &str) -> Result<Mid, MidError> {
        self.0.remove(&(provider, mid_type, identifier.to_string())).ok_or_else(|| MidError::NotOnboarded {
            provider: provider.as_str(),
            mid_type,
            identifier: identifier.to_string(),
        })
    }

    pub fn get(&self, provider: CardScheme, mid_type: MidType, identifier: &str) -> Option<&Mid> {
        self.0.get(&(provider, mid_type, identifier.to_string()))
    }

    /// Who a payment's MIDs name: each non-empty value is looked up under its own type.
    pub fn identify(&self, provider: CardScheme, feed: &FeedMids) -> Identification<'_> {
        let found: Vec<&Mid> =
            [(MidType::Primary, &feed.primary), (MidType::Secondary, &feed.secondary), (MidType::Psimi, &feed.psimi)]
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .filter_map(|(mid_type, value)| self.get(provider, mid_type, value))
                .collect();
        let mut merchants: Vec<String> = found.iter().map(|mid| mid.merchant.clone()).collect();
        merchants.sort();
        merchants.dedup();
        match (found.first(), merchants.len()) {
            (None, _) => Identification::Unknown,
            (Some(best), 1) => Identification::Identified(best),
            _ => Identification::Conflicting(merchants),
        }
    }
}

fn validate(mid: &Mid) -> Result<(), MidError> {
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
        mid_type: mid.mid_type,
        identifier: mid.identifier.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mid(mid_type: MidType, identifier: &str, merchant: &str) -> Mid {
        Mid {
            provider: CardScheme::Visa,
            mid_type,
            identifier: identifier.into(),
            merchant: merchant.into(),
            location: "1 High Street".into(),
            postcode: "AB1 2CD".into(),
            location_id: String::new(),
            merchant_internal_id: String::new(),
        }
    }

    fn feed(primary: &str, secondary: &str, psimi: &str) -> FeedMids {
        FeedMids { primary: primary.into(), secondary: secondary.into(), psimi: psimi.into() }
    }

    #[test]
    fn the_best_typed_mid_found_identifies_and_a_value_under_another_type_does_not() {
        let mut registry = MidRegistry::default();
        registry.onboard(mid(MidType::Secondary, "S1", "costa")).unwrap();
        registry.onboard(mid(MidType::Psimi, "P1", "costa")).unwrap();
        let Identification::Identified(found) = registry.identify(CardScheme::Visa, &feed("X", "S1", "P1")) else {
            panic!("identified");
        };
        assert_eq!((found.mid_type, found.identifier.as_str()), (MidType::Secondary, "S1"));
        // S1 is a SECONDARY: as a primary value it names nothing.
        assert_eq!(registry.identify(CardScheme::Visa, &feed("S1", "", "")), Identification::Unknown);
        assert_eq!(registry.identify(CardScheme::Mastercard, &feed("", "S1", "")), Identification::Unknown);
    }

    #[test]
    fn values_naming_two_merchants_are_a_conflict_not_a_guess() {
        let mut registry = MidRegistry::default();
        registry.onboard(mid(MidType::Primary, "M1", "costa")).unwrap();
        registry.onboard(mid(MidType::Secondary, "S1", "itsu")).unwrap();
        assert_eq!(
            registry.identify(CardScheme::Visa, &feed("M1", "S1", "")),
            Identification::Conflicting(vec!["costa".into(), "itsu".into()])
        );
    }

    #[test]
    fn onboarding_again_is_a_no_op_and_another_merchant_is_refused_with_the_owner_named() {
        let mut registry = MidRegistry::default();
        assert_eq!(registry.onboard(mid(MidType::Primary, "M1", "costa")), Ok(Onboarded::Added));
        assert_eq!(registry.onboard(mid(MidType::Primary, "M1", "costa")), Ok(Onboarded::AlreadyThere));
        let refused = registry.onboard(mid(MidType::Primary, "M1", "itsu")).unwrap_err();
        assert_eq!(refused.to_string(), "visa Primary MID M1 is already onboarded for costa");
        // The same identifier under another type is another MID.
        assert_eq!(registry.onboard(mid(MidType::Secondary, "M1", "itsu")), Ok(Onboarded::Added));
    }

    #[test]
    fn an_update_replaces_the_details_and_a_removed_mid_identifies_nothing() {
        let mut registry = MidRegistry::default();
        registry.onboard(mid(MidType::Primary, "M1", "costa")).unwrap();
        let mut moved = mid(MidType::Primary, "M1", "costa");
        moved.location_id = "loc-9".into();
        registry.update(moved).unwrap();
        assert_eq!(registry.get(CardScheme::Visa, MidType::Primary, "M1").unwrap().location_id, "loc-9");
        registry.remove(CardScheme::Visa, MidType::Primary, "M1").unwrap();
        assert_eq!(registry.identify(CardScheme::Visa, &feed("M1", "", "")), Identification::Unknown);
        assert!(matches!(
            registry.remove(CardScheme::Visa, MidType::Primary, "M1"),
            Err(MidError::NotOnboarded { .. })
        ));
        assert!(matches!(registry.update(mid(MidType::Primary, "M2", "costa")), Err(MidError::NotOnboarded { .. })));
    }

    #[test]
    fn a_mid_without_a_location_or_postcode_is_refused_with_the_reason() {
        let mut registry = MidRegistry::default();
        let mut bad = mid(MidType::Primary, "M1", "costa");
        bad.postcode = " ".into();
        assert_eq!(registry.onboard(bad).unwrap_err().to_string(), "a MID needs a postcode");
        assert_eq!(registry.identify(CardScheme::Visa, &feed("M1", "", "")), Identification::Unknown);
    }
}
