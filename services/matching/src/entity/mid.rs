//! One MID's entity: onboard, update, remove, and the typed look-up's step at this MID. A
//! payment is looked up PRIMARY first, then SECONDARY, then PSIMI, each at its own MID's
//! entity; the first MID onboarded names the merchant. Where none is, the payment waits at each
//! MID it tried, and whichever is onboarded first sends it to be identified again (the seed
//! dropped it for good).

use std::collections::BTreeMap;

use clio_aggregate::{Context, Decision};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::MatchingDecision;
use crate::messages::{
    IdentifyAgain, IdentifyPayment, MatchingCommand as C, MatchingEvent as E, MidRefused, MidRemoved, OnboardMid,
    PaymentAwaitingMid, PaymentIdentified, PaymentUnidentified, RemoveMid, UpdateMid,
};
use crate::mids::{self, FeedMids, Mid, MidError, MidType, Onboarded};
use crate::rules::LOOKBACK_MICROS;
use crate::transaction::CardScheme;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MidState {
    pub mid: Option<Mid>,
    /// Payments that tried this MID while it was not onboarded, with when they did. A payment
    /// waits as long as it could still match (the 14-day look-back), then is forgotten here.
    pub waiting: BTreeMap<String, i64>,
}

/// The feed's value of an identification step's type.
fn lookup_value(c: &IdentifyPayment) -> &str {
    match MidType::parse(&c.mid_type) {
        Some(MidType::Secondary) => &c.secondary_mid,
        Some(MidType::Psimi) => &c.psimi,
        _ => &c.primary_mid,
    }
}

/// The key of the MID entity an identification step is addressed to.
pub fn lookup_key(c: &IdentifyPayment) -> String {
    mids::key(&c.provider, &c.mid_type, lookup_value(c))
}

/// The first step of a payment's look-up, or `None` when its feed gave no MID at all.
pub fn first_lookup(payment_key: &str, provider: &str, feed: &FeedMids, now: i64) -> Option<IdentifyPayment> {
    let (mid_type, _) = *mids::lookups(feed).first()?;
    Some(IdentifyPayment {
        payment_key: payment_key.to_string(),
        provider: provider.to_string(),
        mid_type: mid_type.as_str().to_string(),
        primary_mid: feed.primary.clone(),
        secondary_mid: feed.secondary.clone(),
        psimi: feed.psimi.clone(),
        ts: now,
    })
}

fn refused(c: &RemoveMid, action: &str, error: &MidError) -> MatchingDecision {
    Decision::events(vec![E::MidRefused(MidRefused {
        provider: c.provider.clone(),
        mid_type: c.mid_type.clone(),
        identifier: c.identifier.clone(),
        action: action.to_string(),
        reason: error.to_string(),
        by: c.by.clone(),
        ts: c.ts,
    })])
}

/// OnboardMid, UpdateMid, MidOnboarded and MidUpdated carry the same fields: one becomes
/// another field by field (a test checks that they still do).
pub fn recast<T: Serialize, U: DeserializeOwned>(record: &T) -> U {
    let value = serde_json::to_value(record).expect("a record serialises");
    serde_json::from_value(value).expect("the MID records carry the same fields")
}

impl MidState {
    pub fn onboard(&self, c: &OnboardMid, context: &Context) -> MatchingDecision {
        let outcome = Mid::from_record(c).and_then(|mid| mids::onboard(self.mid.as_ref(), &mid));
        match outcome {
            Err(error) => refused(&recast(c), "onboard", &error),
            Ok(Onboarded::AlreadyThere) => Decision::nothing(),
            Ok(Onboarded::Added) => {
                // Every payment that waited here is identified again, from its best type.
                let again = self
                    .waiting
                    .keys()
                    .map(|payment_key| {
                        let command = IdentifyAgain {
                            payment_key: payment_key.clone(),
                            mid: mids::key(&c.provider, &c.mid_type, &c.identifier),
                            ts: context.now_micros,
                        };
                        (payment_key.clone(), C::IdentifyAgain(command))
                    })
                    .collect();
                Decision::with_commands(vec![E::MidOnboarded(recast(c))], again)
            }
        }
    }

    pub fn update(&self, c: &UpdateMid) -> MatchingDecision {
        let record: OnboardMid = recast(c);
        match Mid::from_record(&record).and_then(|mid| mids::update(self.mid.as_ref(), &mid).map(|()| mid)) {
            Err(error) => refused(&recast(&record), "update", &error),
            Ok(mid) if self.mid.as_ref() == Some(&mid) => Decision::nothing(),
            Ok(_) => Decision::events(vec![E::MidUpdated(recast(c))]),
        }
    }

    pub fn remove(&self, c: &RemoveMid) -> MatchingDecision {
        let parsed = CardScheme::parse(&c.provider)
            .ok_or_else(|| MidError::UnknownProvider(c.provider.clone()))
            .and_then(|provider| {
                let mid_type = MidType::parse(&c.mid_type).ok_or_else(|| MidError::UnknownType(c.mid_type.clone()))?;
                mids::remove(self.mid.as_ref(), provider, mid_type, &c.identifier)
            });
        match parsed {
            Err(error) => refused(c, "remove", &error),
            Ok(mid) => Decision::events(vec![E::MidRemoved(MidRemoved {
                provider: c.provider.clone(),
                mid_type: c.mid_type.clone(),
                identifier: c.identifier.clone(),
                merchant: mid.merchant.clone(),
                by: c.by.clone(),
                ts: c.ts,
            })]),
        }
    }

    /// One step of a payment's look-up: this MID names its merchant, or the payment waits here
    /// and tries the next type, or, after the last, is unidentified.
    pub fn identify(&self, c: &IdentifyPayment, context: &Context) -> MatchingDecision {
        let now = context.now_micros;
        if let Some(mid) = &self.mid {
            let identified = PaymentIdentified {
                payment_key: c.payment_key.clone(),
                merchant: mid.merchant.clone(),
                mid_type: mid.mid_type.as_str().to_string(),
                identifier: mid.identifier.clone(),
                location_id: mid.location_id.clone(),
                merchant_internal_id: mid.merchant_internal_id.clone(),
                ts: now,
            };
            return Decision::with_commands(
                Vec::new(),
                vec![(c.payment_key.clone(), C::PaymentIdentified(identified))],
            );
        }
        let mut events = Vec::new();
        if !self.waiting.contains_key(&c.payment_key) {
            events.push(E::PaymentAwaitingMid(PaymentAwaitingMid {
                provider: c.provider.clone(),
                mid_type: c.mid_type.clone(),
                identifier: lookup_value(c).to_string(),
                payment_key: c.payment_key.clone(),
                ts: now,
            }));
        }
        let feed =
            FeedMids { primary: c.primary_mid.clone(), secondary: c.secondary_mid.clone(), psimi: c.psimi.clone() };
        let lookups = mids::lookups(&feed);
        let next = lookups.iter().skip_while(|(mid_type, _)| mid_type.as_str() != c.mid_type).nth(1);
        let command = match next {
            Some((mid_type, _)) => {
                C::IdentifyPayment(IdentifyPayment { mid_type: mid_type.as_str().to_string(), ts: now, ..c.clone() })
            }
            None => C::PaymentUnidentified(PaymentUnidentified { payment_key: c.payment_key.clone(), ts: now }),
        };
        let target = match &command {
            C::IdentifyPayment(step) => lookup_key(step),
            _ => c.payment_key.clone(),
        };
        Decision::with_commands(events, vec![(target, command)])
    }

    pub fn apply(&mut self, event: &E) {
        match event {
            E::MidOnboarded(e) => {
                self.mid = Mid::from_record(&recast(e)).ok();
                self.waiting.clear();
            }
            E::MidUpdated(e) => self.mid = Mid::from_record(&recast(e)).ok(),
            E::MidRemoved(_) => self.mid = None,
            E::PaymentAwaitingMid(e) => {
                self.waiting.retain(|_, since| *since >= e.ts - LOOKBACK_MICROS);
                self.waiting.insert(e.payment_key.clone(), e.ts);
            }
            _ => {}
        }
    }
}
