//! The candidate search: which of a merchant's pending transactions a payment matches.
//!
//! Candidates are the merchant's pending transactions of the payment's card scheme whose MIDs
//! name the payment's MID, of exactly its amount, dated within 14 days of it (by transaction
//! date; the seed counted from when rows were stored), that pass the profile's time rule and
//! DPAN rule. One candidate is a match; several are narrowed by the fallbacks, each applied
//! only while more than one remains; none, or several after the last, is no match. The answer
//! does not depend on the order of the pending transactions.

use crate::profile::{Digits, Fallback, Kind, Profile, SchemeRules, TimeRule};
use crate::transaction::{CardOnFile, DAY_MICROS, Payment, SchemeTransaction};

/// How far apart, by transaction date, a payment and a merchant transaction may be.
pub const LOOKBACK_MICROS: i64 = 14 * DAY_MICROS;

/// Why a payment matched nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoMatch {
    /// The merchant does not match this card scheme, or is spotted (its payments are matches
    /// by themselves).
    NotMatched,
    /// No pending transaction passed the rules.
    NoCandidates,
    /// A fallback left none of several candidates.
    NarrowedToNone(Fallback),
    /// This many candidates remain and nothing may narrow them further.
    Ambiguous(usize),
}

/// The one pending transaction `payment` matches under `profile`, or why there is none.
pub fn find_match<'a>(
    profile: &Profile,
    payment: &Payment,
    card: &CardOnFile,
    pending: &'a [SchemeTransaction],
) -> Result<&'a SchemeTransaction, NoMatch> {
    let rules = match profile.kind {
        Kind::Spotted | Kind::Streamed => None,
        Kind::Loyalty => profile.rules_for(payment.card_scheme),
    };
    let rules = rules.ok_or(NoMatch::NotMatched)?;
    let mut candidates: Vec<&SchemeTransaction> = pending.iter().filter(|s| is_candidate(rules, payment, s)).collect();
    if candidates.is_empty() {
        return Err(NoMatch::NoCandidates);
    }
    if candidates.len() > 1 && rules.fallbacks_apply(payment) {
        for &fallback in &rules.fallbacks {
            candidates.retain(|s| passes(fallback, rules, payment, card, s));
            match candidates.len() {
                0 => return Err(NoMatch::NarrowedToNone(fallback)),
                1 => break,
                _ => {}
            }
        }
    }
    match candidates.as_slice() {
        [one] => Ok(one),
        several => Err(NoMatch::Ambiguous(several.len())),
    }
}

fn is_candidate(rules: &SchemeRules, payment: &Payment, s: &SchemeTransaction) -> bool {
    s.card_scheme == payment.card_scheme
        && s.amount == payment.amount
        && s.mids.contains(&payment.mid)
        && (s.at - payment.at).abs() <= LOOKBACK_MICROS
        && passes_time_rule(rules, payment, s)
        && passes_dpan_rule(rules, payment, s)
}

fn within_tolerance(rules: &SchemeRules, payment: &Payment, s: &SchemeTransaction) -> bool {
    (s.at - payment.at).abs() <= rules.tolerance_micros()
}

/// With an auth code: the same code, on the payment's UTC day or within the tolerance (the seed
/// required the UTC day alone, so a code 40 s apart across midnight did not match).
fn same_code(rules: &SchemeRules, payment: &Payment, s: &SchemeTransaction) -> bool {
    s.auth_code == payment.auth_code
        && (s.at.div_euclid(DAY_MICROS) == payment.at.div_euclid(DAY_MICROS) || within_tolerance(rules, payment, s))
}

fn passes_time_rule(rules: &SchemeRules, payment: &Payment, s: &SchemeTransaction) -> bool {
    let has_code = !payment.auth_code.is_empty();
    match rules.time {
        TimeRule::Window => within_tolerance(rules, payment, s),
        TimeRule::CodeOrWindow if has_code => same_code(rules, payment, s),
        TimeRule::CodeOrWindow => within_tolerance(rules, payment, s),
        TimeRule::CodeOrLookback if has_code => same_code(rules, payment, s),
        TimeRule::CodeOrLookback => true,
    }
}

fn passes_dpan_rule(rules: &SchemeRules, payment: &Payment, s: &SchemeTransaction) -> bool {
    match rules.dpan {
        Some(dpan) if rules.has_dpan(payment) => {
            dpan.compare.equal((&s.first_six, &s.last_four), (&payment.first_six, &payment.last_four))
        }
        _ => true,
    }
}

/// The card fallbacks compare the merchant row with the card holder's card on file.
fn passes(
    fallback: Fallback,
    rules: &SchemeRules,
    payment: &Payment,
    card: &CardOnFile,
    s: &SchemeTransaction,
) -> bool {
    let on_file = (card.first_six.as_str(), card.last_four.as_str());
    let row = (s.first_six.as_str(), s.last_four.as_str());
    match fallback {
        Fallback::Time => within_tolerance(rules, payment, s),
        Fallback::FirstSix => Digits::FirstSix.equal(row, on_file),
        Fallback::LastFour => Digits::LastFour.equal(row, on_file),
        Fallback::FirstSixAndLastFour => Digits::FirstSixAndLastFour.equal(row, on_file),
    }
}
