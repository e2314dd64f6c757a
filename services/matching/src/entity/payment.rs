//! One purchase's entity, keyed by its settlement key: the transactions imported for it (a
//! repeat is a duplicate), the auth/settlement merge, its identification (by the MID entities)
//! and its card holder's identity (a retry task), then where it goes: a spotted merchant's
//! payment is a match by itself, a loyalty merchant's is offered to its bucket, and each of its
//! transactions whose feed the merchant streams is exported as it comes (streamed).

use std::collections::BTreeSet;

use clio_aggregate::{Context, Decision, ForeignCommand, Timer};
use serde::{Deserialize, Serialize};

use super::bucket::CLOSE_AFTER_MICROS;
use super::{MatchingDecision, bucket_key, identity_task_id, mid};
use crate::export::STREAM_PREFIX;
use crate::messages::{
    AuthSkipped, CreateTask, DuplicateIgnored, IdentifyAgain, IdentityFound, IdentityNotFound, IdentityRequested,
    ImportPayment, Matched, MatchingCommand as C, MatchingEvent as E, NotMatchable, OfferPayment, PaymentIdentified,
    PaymentMerged, PaymentRetired, PaymentTransaction, PaymentUnidentified, RetirePayment, RoutedToMatching,
    SettlementDropped, Streamed, TaskOutcome, TransactionIdentified, TransactionImported, TransactionUnidentified,
};
use crate::mids::FeedMids;
use crate::profile::{Kind, Profile, Profiles};
use crate::settlement::{self, Feed, Merge, Standing, sha256_hex};
use crate::transaction::CardScheme;

/// The retry task type that looks a card holder up in the identity service.
pub const IDENTITY_TASK_TYPE: &str = "matching_identity";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaymentState {
    /// (feed, transaction id) of every transaction imported under this key.
    pub imported: BTreeSet<(String, String)>,
    /// The payment: its first transaction, improved by a settlement while pending.
    pub payment: Option<PaymentTransaction>,
    pub identified: Option<TransactionIdentified>,
    pub unidentified: bool,
    pub identity: Identity,
    /// The bucket it was offered to (which may have moved it on since).
    pub bucket: String,
    /// Why it takes no settlement here: a spotted match, or why it is not matchable. Empty
    /// while it may still change (a bucket tells a late settlement itself).
    pub closed: String,
    /// The transactions imported while its card holder is not yet known, kept for streaming
    /// (only while its merchant may stream).
    #[serde(default)]
    pub held: Vec<PaymentTransaction>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum Identity {
    #[default]
    Unknown,
    Requested(String),
    Found(IdentityFound),
    NotFound(String),
}

fn feed_mids(t: &PaymentTransaction) -> FeedMids {
    FeedMids { primary: t.primary_mid.clone(), secondary: t.secondary_mid.clone(), psimi: t.psimi.clone() }
}

/// The first step of the payment's look-up, or its end: unidentified, when the feed gave no MID.
fn identify_from_the_top(payment_key: &str, t: &PaymentTransaction, now: i64) -> (String, C) {
    match mid::first_lookup(payment_key, &t.provider, &feed_mids(t), now) {
        Some(step) => (mid::lookup_key(&step), C::IdentifyPayment(step)),
        None => (
            payment_key.to_string(),
            C::PaymentUnidentified(PaymentUnidentified { payment_key: payment_key.to_string(), ts: now }),
        ),
    }
}

/// Why a record cannot be a payment at all (a dead letter with the reason).
fn malformed(t: &PaymentTransaction) -> Option<String> {
    if Feed::parse(&t.feed).is_none() {
        return Some(format!("feed {:?} is not AUTH, SETTLED or REFUND", t.feed));
    }
    if CardScheme::parse(&t.provider).is_none() {
        return Some(format!("provider {:?} is not visa, mastercard or amex", t.provider));
    }
    if t.transaction_id.is_empty() || t.settlement_key.is_empty() {
        return Some("a payment transaction needs its transaction id and settlement key".to_string());
    }
    None
}

impl PaymentState {
    /// Past its matching window (when its bucket closes it too): `payment` and `held` were
    /// dropped, so that the processor holds only what can still match; what stays answers a
    /// later transaction under its key (a duplicate, a settlement to drop, a refund to stream).
    pub fn retired(&self) -> bool {
        self.payment.is_none() && !self.imported.is_empty()
    }

    fn standing(&self) -> Standing {
        if self.closed.is_empty() { Standing::Pending } else { Standing::Done }
    }

    /// The profile of the merchant its MIDs named, once identified.
    fn profile(&self) -> Option<&'static Profile> {
        self.identified.as_ref().and_then(|i| Profiles::builtin().get(&i.merchant))
    }

    /// Whether a transaction imported now is kept for streaming: its card holder is not yet
    /// known, and its merchant is unknown or streams.
    fn holds(&self) -> bool {
        if self.retired() {
            return false;
        }
        let undecided = matches!(self.identity, Identity::Unknown | Identity::Requested(_));
        undecided && (self.identified.is_none() || self.profile().is_some_and(|p| !p.stream.is_empty()))
    }

    /// `t`, streamed to the merchant when it streams `t`'s feed and the card holder is known.
    fn stream(&self, t: &PaymentTransaction, found: &IdentityFound, now: i64) -> Option<E> {
        let (identified, profile) = (self.identified.as_ref()?, self.profile()?);
        if !profile.streams(&t.provider, &t.feed) {
            return None;
        }
        let purchase_id = sha256_hex(&t.settlement_key);
        Some(E::Streamed(Streamed {
            stream_id: format!("{STREAM_PREFIX}{purchase_id}:{}:{}", t.feed, t.transaction_id),
            purchase_id,
            merchant: identified.merchant.clone(),
            payment_key: identified.payment_key.clone(),
            feed: t.feed.clone(),
            provider: t.provider.clone(),
            transaction_id: t.transaction_id.clone(),
            amount: t.amount,
            currency: t.currency.clone(),
            at: t.at,
            mid: t.primary_mid.clone(),
            card_token: t.card_token.clone(),
            scheme_account_id: found.scheme_account_id.clone(),
            ts: now,
        }))
    }

    /// A spotted merchant's payment as its own match.
    fn spotted(&self, key: &str, payment: &PaymentTransaction, found: &IdentityFound, now: i64) -> Option<E> {
        let (identified, profile) = (self.identified.as_ref()?, self.profile()?);
        profile.spots(&payment.provider, &payment.feed).then(|| {
            E::Matched(Matched {
                match_id: sha256_hex(&payment.settlement_key),
                matching_type: "SPOTTED".to_string(),
                merchant: identified.merchant.clone(),
                payment_key: key.to_string(),
                payment_transaction_id: payment.transaction_id.clone(),
                merchant_transaction_id: String::new(),
                amount: payment.amount,
                currency: payment.currency.clone(),
                at: payment.at,
                mid: payment.primary_mid.clone(),
                card_token: payment.card_token.clone(),
                scheme_account_id: found.scheme_account_id.clone(),
                ts: now,
            })
        })
    }

    pub fn import(&self, c: &ImportPayment, context: &Context) -> MatchingDecision {
        let t = &c.transaction;
        if let Some(reason) = malformed(t) {
            return Decision::invalid(reason);
        }
        let key = super::payment_key(&t.settlement_key);
        let now = context.now_micros;
        if self.imported.contains(&(t.feed.clone(), t.transaction_id.clone())) {
            let duplicate = E::DuplicateIgnored(DuplicateIgnored {
                source: t.provider.clone(),
                feed: t.feed.clone(),
                transaction_id: t.transaction_id.clone(),
                batch: c.batch.clone(),
                ts: now,
            });
            // A transaction re-sent while its MID is unknown is looked up again.
            let again = match (&self.payment, self.unidentified && self.identified.is_none()) {
                (Some(payment), true) => vec![identify_from_the_top(&key, payment, now)],
                _ => Vec::new(),
            };
            return Decision::with_commands(vec![duplicate], again);
        }
        let imported = E::TransactionImported(TransactionImported {
            payment_key: key.clone(),
            batch: c.batch.clone(),
            transaction: t.clone(),
            ts: now,
        });
        if self.imported.is_empty() {
            return Decision::with_commands(vec![imported], vec![identify_from_the_top(&key, t, now)]);
        }
        let found = match &self.identity {
            Identity::Found(found) => Some(found),
            _ => None,
        };
        let streamed = found.and_then(|found| self.stream(t, found, now));
        // A streamed merchant matches nothing: each transaction only goes as it came.
        if self.profile().is_some_and(|p| p.kind == Kind::Streamed) {
            return Decision::events([Some(imported), streamed].into_iter().flatten().collect());
        }
        let feed = Feed::parse(&t.feed).unwrap_or(Feed::Refund);
        let mut events = vec![imported];
        let mut commands = Vec::new();
        // A retired payment is done, whatever its transaction was.
        let existing = self.payment.as_ref().map_or((t, Standing::Done), |p| (p, self.standing()));
        match settlement::merge(Some(existing), feed, t) {
            Merge::Insert => {}
            Merge::AuthSkipped => events.push(E::AuthSkipped(AuthSkipped {
                payment_key: key,
                transaction_id: t.transaction_id.clone(),
                ts: now,
            })),
            Merge::NotMatchable => events.push(E::NotMatchable(NotMatchable {
                payment_key: key,
                transaction_id: t.transaction_id.clone(),
                reason: "refunds are never matched".to_string(),
                ts: now,
            })),
            Merge::SettlementDropped => events.push(E::SettlementDropped(SettlementDropped {
                payment_key: key,
                transaction_id: t.transaction_id.clone(),
                reason: self.closed.clone(),
                ts: now,
            })),
            Merge::Override(merged) => {
                // Offered already: its bucket merges it, or drops it when it matched meanwhile.
                if !self.bucket.is_empty() {
                    commands.push(self.offer(&key, &self.bucket, &merged, now));
                }
                // A spotted Amex purchase waited for this settlement.
                let spotted =
                    found.filter(|_| self.closed.is_empty()).and_then(|f| self.spotted(&key, &merged, f, now));
                events.push(E::PaymentMerged(PaymentMerged { payment_key: key, payment: *merged, ts: now }));
                events.extend(spotted);
            }
        }
        events.extend(streamed);
        Decision::with_commands(events, commands)
    }

    pub fn identify_again(&self, c: &IdentifyAgain, context: &Context) -> MatchingDecision {
        match &self.payment {
            Some(payment) if self.identified.is_none() => Decision::with_commands(
                Vec::new(),
                vec![identify_from_the_top(&c.payment_key, payment, context.now_micros)],
            ),
            _ => Decision::nothing(),
        }
    }

    pub fn unidentified(&self, c: &PaymentUnidentified, context: &Context) -> MatchingDecision {
        let Some(payment) = &self.payment else { return Decision::nothing() };
        if self.identified.is_some() || self.unidentified {
            return Decision::nothing();
        }
        Decision::events(vec![E::TransactionUnidentified(TransactionUnidentified {
            payment_key: c.payment_key.clone(),
            provider: payment.provider.clone(),
            primary_mid: payment.primary_mid.clone(),
            secondary_mid: payment.secondary_mid.clone(),
            psimi: payment.psimi.clone(),
            ts: context.now_micros,
        })])
    }

    /// Identified: not matchable here (a refund, a merchant without a profile or without rules
    /// for the card scheme) and nothing to stream, or the card holder is looked up next.
    pub fn identified(&self, c: &PaymentIdentified, context: &Context) -> MatchingDecision {
        let Some(payment) = &self.payment else { return Decision::nothing() };
        if self.identified.is_some() {
            return Decision::nothing();
        }
        let now = context.now_micros;
        let mut events = vec![E::TransactionIdentified(TransactionIdentified {
            payment_key: c.payment_key.clone(),
            merchant: c.merchant.clone(),
            mid_type: c.mid_type.clone(),
            identifier: c.identifier.clone(),
            location_id: c.location_id.clone(),
            merchant_internal_id: c.merchant_internal_id.clone(),
            ts: now,
        })];
        // A merchant that streams needs the card holder for whatever comes under this key.
        let streams = Profiles::builtin().get(&c.merchant).is_some_and(|p| !p.stream.is_empty());
        if let Some(reason) = not_matchable(payment, &c.merchant).filter(|_| !streams) {
            events.push(E::NotMatchable(NotMatchable {
                payment_key: c.payment_key.clone(),
                transaction_id: payment.transaction_id.clone(),
                reason,
                ts: now,
            }));
            return Decision::events(events);
        }
        let task_id = identity_task_id(&c.payment_key);
        let params = serde_json::json!({
            "card_token": payment.card_token,
            "merchant": c.merchant,
            "provider": payment.provider,
            "transaction_id": payment.transaction_id,
        });
        let create = CreateTask {
            task_id: task_id.clone(),
            task_type: IDENTITY_TASK_TYPE.to_string(),
            params: params.to_string(),
            idempotency_key: context.cause.to_string(),
            // The topic this command came from: the domain's commands topic wherever it lives.
            reply_topic: context.cause.topic.clone(),
            reply_key: c.payment_key.clone(),
            policy: String::new(),
            not_before: 0,
            ts: now,
        };
        let foreign = match ForeignCommand::to_domain("retry", task_id.clone(), "clio.retry.CreateTask", &create) {
            Ok(foreign) => foreign,
            Err(error) => return Decision::invalid(format!("the identity task cannot be encoded: {error}")),
        };
        events.push(E::IdentityRequested(IdentityRequested { payment_key: c.payment_key.clone(), task_id, ts: now }));
        let mut decision = Decision::events(events);
        decision.foreign.push(foreign);
        decision
    }

    /// The identity task's outcome: found, then what was held streamed, and the payment matched
    /// (spotted) or offered to its bucket; or not found, which is final and visible.
    pub fn identity_outcome(&self, o: &TaskOutcome, context: &Context) -> MatchingDecision {
        let (Identity::Requested(task_id), Some(payment), Some(identified)) =
            (&self.identity, &self.payment, &self.identified)
        else {
            return Decision::nothing();
        };
        if *task_id != o.task_id {
            return Decision::nothing();
        }
        let now = context.now_micros;
        let key = identified.payment_key.clone();
        let found = match identity_of(o) {
            Ok(found) => found,
            Err(reason) => {
                return Decision::events(vec![E::IdentityNotFound(IdentityNotFound {
                    payment_key: key,
                    reason,
                    ts: now,
                })]);
            }
        };
        let found = IdentityFound { payment_key: key.clone(), ts: now, ..found };
        let mut events = vec![E::IdentityFound(found.clone())];
        events.extend(self.held.iter().filter_map(|t| self.stream(t, &found, now)));
        let kind = self.profile().map(|p| p.kind);
        if not_matchable(payment, &identified.merchant).is_some() || kind == Some(Kind::Streamed) {
            return Decision::events(events);
        }
        if kind == Some(Kind::Spotted) {
            // An Amex auth is spotted by its settlement.
            events.extend(self.spotted(&key, payment, &found, now));
            return Decision::events(events);
        }
        let bucket = bucket_key(&identified.merchant, payment.amount);
        let state = PaymentState { identity: Identity::Found(found.clone()), ..self.clone() };
        let offer = state.offer(&key, &bucket, payment, now);
        events.push(E::RoutedToMatching(RoutedToMatching { payment_key: key, bucket, ts: now }));
        Decision::with_commands(events, vec![offer])
    }

    /// Its timer: the end of its matching window, counted from its date as its bucket counts.
    pub fn timer(&self) -> Option<Timer<C>> {
        let payment = self.payment.as_ref()?;
        let due = payment.at + CLOSE_AFTER_MICROS;
        let payment_key = super::payment_key(&payment.settlement_key);
        Some(Timer { due_micros: due, command: C::RetirePayment(RetirePayment { payment_key, due, ts: due }) })
    }

    /// Past its window, nothing under this key can match any more: it stops holding its
    /// transaction (a million old payments would otherwise stay in memory for good).
    pub fn retire(&self, c: &RetirePayment, context: &Context) -> MatchingDecision {
        if self.timer().is_none_or(|timer| timer.due_micros > c.due) {
            return Decision::nothing();
        }
        Decision::events(vec![E::PaymentRetired(PaymentRetired {
            payment_key: c.payment_key.clone(),
            ts: context.now_micros,
        })])
    }

    fn offer(&self, key: &str, bucket: &str, payment: &PaymentTransaction, now: i64) -> (String, C) {
        let (first_six, last_four, account) = match &self.identity {
            Identity::Found(found) => {
                (found.first_six.clone(), found.last_four.clone(), found.scheme_account_id.clone())
            }
            _ => Default::default(),
        };
        let merchant = self.identified.as_ref().map(|i| i.merchant.clone()).unwrap_or_default();
        let offer = OfferPayment {
            bucket: bucket.to_string(),
            payment_key: key.to_string(),
            merchant,
            payment: payment.clone(),
            card_first_six: first_six,
            card_last_four: last_four,
            scheme_account_id: account,
            ts: now,
        };
        (bucket.to_string(), C::OfferPayment(offer))
    }

    pub fn apply(&mut self, event: &E) {
        match event {
            E::TransactionImported(e) => {
                let t = &e.transaction;
                if self.imported.is_empty() {
                    self.payment = Some(t.clone());
                }
                if self.holds() {
                    self.held.push(t.clone());
                }
                self.imported.insert((t.feed.clone(), t.transaction_id.clone()));
            }
            E::PaymentMerged(e) => self.payment = Some(e.payment.clone()),
            E::TransactionIdentified(e) => {
                self.identified = Some(e.clone());
                self.unidentified = false;
                if !self.holds() {
                    self.held.clear();
                }
            }
            E::TransactionUnidentified(_) => self.unidentified = true,
            E::IdentityRequested(e) => self.identity = Identity::Requested(e.task_id.clone()),
            E::IdentityFound(e) => {
                self.identity = Identity::Found(e.clone());
                self.held.clear();
            }
            E::IdentityNotFound(e) => {
                self.held.clear();
                self.identity = Identity::NotFound(e.reason.clone());
                self.closed = format!("its card holder was not found: {}", e.reason);
            }
            E::RoutedToMatching(e) => self.bucket = e.bucket.clone(),
            E::NotMatchable(e) if self.payment.as_ref().is_some_and(|p| p.transaction_id == e.transaction_id) => {
                self.closed = format!("it is not matchable: {}", e.reason);
            }
            E::Matched(e) => self.closed = format!("it is already matched ({})", e.matching_type),
            E::PaymentRetired(_) => {
                self.payment = None;
                self.held.clear();
                if self.closed.is_empty() {
                    self.closed = "its matching window closed".to_string();
                }
            }
            _ => {}
        }
    }
}

/// Why an identified payment cannot be matched at its merchant, if it cannot.
fn not_matchable(payment: &PaymentTransaction, merchant: &str) -> Option<String> {
    if Feed::parse(&payment.feed) == Some(Feed::Refund) {
        return Some("refunds are never matched".to_string());
    }
    let Some(profile) = Profiles::builtin().get(merchant) else {
        return Some(format!("{merchant} has no matching profile"));
    };
    if profile.kind == Kind::Streamed {
        return Some(format!("{merchant} is streamed, not matched"));
    }
    let scheme = CardScheme::parse(&payment.provider)?;
    (profile.kind == Kind::Loyalty && profile.rules_for(scheme).is_none())
        .then(|| format!("{merchant} does not match {} payments", scheme.as_str()))
}

/// The card holder the identity task found, or why there is none. The task's result is the
/// identity service's answer as JSON: `scheme_account_id`, `user_id`, `loyalty_id`,
/// `first_six`, `last_four`; an answer without a scheme account is "no account", final.
fn identity_of(o: &TaskOutcome) -> Result<IdentityFound, String> {
    if o.status != "SUCCESS" {
        let class = if o.error_class.is_empty() { String::new() } else { format!(" ({})", o.error_class) };
        return Err(format!("the identity look-up ended {}{class}: {}", o.status, o.reason));
    }
    let answer: serde_json::Value = serde_json::from_str(&o.result)
        .map_err(|error| format!("the identity service's answer is not JSON: {error}"))?;
    let text = |name: &str| match &answer[name] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let account = text("scheme_account_id");
    if account.is_empty() {
        return Err("the card holder has no loyalty account".to_string());
    }
    Ok(IdentityFound {
        payment_key: String::new(),
        scheme_account_id: account,
        user_id: text("user_id"),
        loyalty_id: text("loyalty_id"),
        first_six: text("first_six"),
        last_four: text("last_four"),
        ts: 0,
    })
}
