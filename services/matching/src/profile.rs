//! Per-merchant matching profiles, declared as data in `merchant-profiles.toml` (its header
//! says what each field means).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::transaction::{CardScheme, Payment};

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the merchant profiles do not parse: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("merchant {merchant}, {scheme}: {reason}")]
    Invalid { merchant: String, scheme: &'static str, reason: &'static str },
}

/// Every merchant's profile, by merchant slug.
#[derive(Debug, Clone)]
pub struct Profiles(BTreeMap<String, Profile>);

/// How one merchant's transactions are matched.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub kind: Kind,
    pub visa: Option<SchemeRules>,
    pub mastercard: Option<SchemeRules>,
    pub amex: Option<SchemeRules>,
    /// How its matches are exported (the seed's default when the file says nothing).
    #[serde(default)]
    pub export: crate::export::ExportPolicy,
    /// The feeds (`AUTH`, `SETTLED`, `REFUND`) whose transactions are streamed: each exported
    /// as it comes, unmatched, once its card holder is known.
    #[serde(default)]
    pub stream: Vec<String>,
    /// Its payments still pending some days after their date are exported as unmatched.
    pub unmatched: Option<UnmatchedExport>,
}

/// Which pending payments a merchant takes unmatched, and when (Stonegate's, #217/#224).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmatchedExport {
    /// A payment is due at the first UTC midnight more than this many days after its date.
    pub after_days: u32,
    /// The merchant slug the exports go to (and whose export policy they follow).
    pub export_as: String,
    /// The card schemes whose payments go from an auth; the others only once settled.
    #[serde(default)]
    pub from_auth: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Payments are matched against the merchant's own feed.
    Loyalty,
    /// The merchant sends no feed: the payment itself is the match.
    Spotted,
    /// Nothing is matched: its transactions are only streamed (`stream`).
    Streamed,
}

/// The rules for one card scheme at one merchant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeRules {
    pub time: TimeRule,
    #[serde(default)]
    pub tolerance_seconds: i64,
    pub dpan: Option<DpanRule>,
    #[serde(default)]
    pub fallbacks: Vec<Fallback>,
    #[serde(default)]
    pub fallbacks_when: FallbacksWhen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeRule {
    Window,
    CodeOrWindow,
    CodeOrLookback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpanRule {
    pub when: Digits,
    pub compare: Digits,
}

/// Which card digits a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Digits {
    FirstSix,
    LastFour,
    FirstSixAndLastFour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fallback {
    Time,
    FirstSix,
    LastFour,
    FirstSixAndLastFour,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FallbacksWhen {
    #[default]
    Always,
    PaymentHasNoFirstSix,
    NoDpan,
}

impl Digits {
    /// Whether `first_six`/`last_four` hold these digits.
    pub fn present(self, first_six: &str, last_four: &str) -> bool {
        match self {
            Digits::FirstSix => !first_six.is_empty(),
            Digits::LastFour => !last_four.is_empty(),
            Digits::FirstSixAndLastFour => !first_six.is_empty() && !last_four.is_empty(),
        }
    }

    /// Whether two cards' digits are known and equal (an unknown digit equals nothing, as a
    /// NULL in the seed's query).
    pub fn equal(self, a: (&str, &str), b: (&str, &str)) -> bool {
        let same = |x: &str, y: &str| !x.is_empty() && x == y;
        match self {
            Digits::FirstSix => same(a.0, b.0),
            Digits::LastFour => same(a.1, b.1),
            Digits::FirstSixAndLastFour => same(a.0, b.0) && same(a.1, b.1),
        }
    }
}

impl SchemeRules {
    pub fn tolerance_micros(&self) -> i64 {
        self.tolerance_seconds.saturating_mul(1_000_000)
    }

    /// Whether the payment carries the digits of its DPAN rule (an Amex settlement's DPAN).
    pub fn has_dpan(&self, payment: &Payment) -> bool {
        self.dpan.is_some_and(|d| d.when.present(&payment.first_six, &payment.last_four))
    }

    /// Whether the fallbacks may narrow this payment's candidates.
    pub fn fallbacks_apply(&self, payment: &Payment) -> bool {
        match self.fallbacks_when {
            FallbacksWhen::Always => true,
            FallbacksWhen::PaymentHasNoFirstSix => payment.first_six.is_empty(),
            FallbacksWhen::NoDpan => !self.has_dpan(payment),
        }
    }

    fn check(&self) -> Result<(), &'static str> {
        let uses_tolerance = self.time != TimeRule::CodeOrLookback || self.fallbacks.contains(&Fallback::Time);
        if self.tolerance_seconds < 0 {
            return Err("tolerance_seconds may not be negative");
        }
        if uses_tolerance && self.tolerance_seconds == 0 {
            return Err("a time window or a time fallback needs tolerance_seconds");
        }
        if self.fallbacks_when == FallbacksWhen::NoDpan && self.dpan.is_none() {
            return Err("fallbacks_when = \"no-dpan\" needs a dpan rule");
        }
        Ok(())
    }
}

impl Profile {
    /// Whether a transaction of `feed` from `provider` is streamed. An Amex auth never is: the
    /// seed did not import them for spotted and streamed merchants, whose Amex purchases go
    /// from the settlement.
    pub fn streams(&self, provider: &str, feed: &str) -> bool {
        self.stream.iter().any(|f| f == feed) && !(provider == "amex" && feed == "AUTH")
    }

    /// Whether a spotted merchant's payment is spotted as it stands: an Amex payment only once
    /// settled (an Amex auth waits for its settlement, as the seed's did not import it).
    pub fn spots(&self, provider: &str, feed: &str) -> bool {
        self.kind == Kind::Spotted && !(provider == "amex" && feed == "AUTH")
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.stream.iter().any(|feed| !matches!(feed.as_str(), "AUTH" | "SETTLED" | "REFUND")) {
            return Err("stream lists feeds: AUTH, SETTLED, REFUND");
        }
        if self.kind == Kind::Streamed && self.stream.is_empty() {
            return Err("a streamed merchant needs the feeds it streams (stream)");
        }
        if let Some(unmatched) = &self.unmatched {
            if unmatched.export_as.is_empty() {
                return Err("unmatched.export_as names the merchant the exports go to");
            }
            if unmatched.from_auth.iter().any(|s| CardScheme::parse(s).is_none()) {
                return Err("unmatched.from_auth lists card schemes: visa, mastercard, amex");
            }
        }
        Ok(())
    }

    /// The rules for a card scheme; `None` when the merchant does not match it.
    pub fn rules_for(&self, scheme: CardScheme) -> Option<&SchemeRules> {
        match scheme {
            CardScheme::Visa => self.visa.as_ref(),
            CardScheme::Mastercard => self.mastercard.as_ref(),
            CardScheme::Amex => self.amex.as_ref(),
        }
    }
}

impl Profiles {
    pub fn parse(text: &str) -> Result<Self, ProfileError> {
        let profiles: BTreeMap<String, Profile> = toml::from_str(text)?;
        for (merchant, profile) in &profiles {
            for scheme in [CardScheme::Visa, CardScheme::Mastercard, CardScheme::Amex] {
                if let Some(rules) = profile.rules_for(scheme) {
                    rules.check().map_err(|reason| ProfileError::Invalid {
                        merchant: merchant.clone(),
                        scheme: scheme.as_str(),
                        reason,
                    })?;
                }
            }
            profile.export.check().map_err(|reason| ProfileError::Invalid {
                merchant: merchant.clone(),
                scheme: "export",
                reason,
            })?;
            profile.check().map_err(|reason| ProfileError::Invalid {
                merchant: merchant.clone(),
                scheme: "profile",
                reason,
            })?;
        }
        Ok(Self(profiles))
    }

    /// The profiles of `merchant-profiles.toml`.
    pub fn builtin() -> &'static Self {
        static BUILTIN: std::sync::OnceLock<Profiles> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(|| {
            Self::parse(include_str!("../merchant-profiles.toml")).unwrap_or_else(|error| {
                // The file is part of the source and a test parses it: a build that passed its
                // tests cannot get here.
                panic!("services/matching/merchant-profiles.toml: {error}")
            })
        })
    }

    pub fn get(&self, merchant: &str) -> Option<&Profile> {
        self.0.get(merchant)
    }

    pub fn merchants(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_merchant_profiles_file_parses() {
        let profiles = Profiles::builtin();
        assert_eq!(profiles.merchants().count(), 12);
        assert!(profiles.get("itsu").is_some_and(|itsu| itsu.amex.is_none()), "Itsu never matched Amex");
        assert_eq!(profiles.get("the-works").map(|p| p.kind), Some(Kind::Spotted));
        let works = profiles.get("the-works").unwrap();
        assert!(works.streams("visa", "REFUND") && !works.streams("visa", "AUTH"), "the-works streams refunds only");
        let squaremeal = profiles.get("squaremeal").unwrap();
        assert!(squaremeal.streams("mastercard", "AUTH") && squaremeal.streams("visa", "SETTLED"));
        assert!(!squaremeal.streams("amex", "AUTH"), "an Amex auth is never streamed");
    }

    #[test]
    fn a_streamed_merchant_needs_its_feeds_and_feeds_are_named() {
        let error = Profiles::parse("[m]\nkind = \"streamed\"\n").unwrap_err();
        assert_eq!(error.to_string(), "merchant m, profile: a streamed merchant needs the feeds it streams (stream)");
        let error = Profiles::parse("[m]\nkind = \"spotted\"\nstream = [\"CLEARED\"]\n").unwrap_err();
        assert!(error.to_string().contains("stream lists feeds"), "{error}");
    }

    #[test]
    fn a_window_without_a_tolerance_is_refused_with_the_merchant_named() {
        let error = Profiles::parse("[m]\nkind = \"loyalty\"\n[m.visa]\ntime = \"window\"\n").unwrap_err();
        assert_eq!(error.to_string(), "merchant m, visa: a time window or a time fallback needs tolerance_seconds");
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let error = Profiles::parse("[m]\nkind = \"loyalty\"\ntolerance = 60\n").unwrap_err();
        assert!(error.to_string().contains("unknown field `tolerance`"), "{error}");
    }

    #[test]
    fn a_no_dpan_condition_needs_a_dpan_rule() {
        let text = "[m]\nkind = \"loyalty\"\n[m.amex]\ntime = \"window\"\ntolerance_seconds = 60\nfallbacks_when = \"no-dpan\"\n";
        assert!(matches!(Profiles::parse(text), Err(ProfileError::Invalid { scheme: "amex", .. })));
    }
}
