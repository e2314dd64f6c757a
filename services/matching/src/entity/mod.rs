//! The matching aggregate: three kinds of entity, each holding the state that must be
//! consistent together, and commands routing a payment between them (docs/matching.md, Keys).
//!
//! - `mid:<provider>:<TYPE>:<identifier>` ([`mid`]): one MID, and the payments waiting for it.
//! - `payment:<settlement key>` ([`payment`]): one purchase: its imported transactions (for
//!   dedupe), the auth/settlement merge, its identification and card holder identity.
//! - `bucket:<merchant>:<amount>` ([`bucket`]): a merchant's pending payments and merchant
//!   transactions of one amount. Every candidate of a payment has its amount, so one writer
//!   decides every match a merchant transaction could take part in: it is consumed once.
//!   An operator's force match ([`force`]) goes from the merchant transaction's bucket to the
//!   payment's.
//! - `export:<match id>` ([`export`]): a match's export, as its retry task answers.

use clio_aggregate::{Aggregate, Context, Decision, Timer};
use serde::{Deserialize, Serialize};

use crate::export::EXPORT_TASK;
use crate::messages::{MatchingCommand as C, MatchingEvent as E};

pub mod bucket;
pub mod export;
pub mod force;
pub mod mid;
pub mod payment;

pub use bucket::BucketState;
pub use export::ExportState;
pub use mid::MidState;
pub use payment::PaymentState;

/// The matching domain as the platform runs it.
pub struct Matching;

pub type MatchingDecision = Decision<E, C>;

/// The state of one entity; which kind follows from its key, and from its first event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum Entity {
    #[default]
    New,
    Mid(Box<MidState>),
    Payment(Box<PaymentState>),
    Bucket(Box<BucketState>),
    Export(Box<ExportState>),
}

/// The key of the entity that holds a purchase.
pub fn payment_key(settlement_key: &str) -> String {
    format!("payment:{settlement_key}")
}

/// The key of the entity that holds a merchant's pending transactions of one amount.
pub fn bucket_key(merchant: &str, amount: i64) -> String {
    format!("bucket:{merchant}:{amount}")
}

/// What starts the id of the task that looks a payment's card holder up.
const IDENTITY_TASK: &str = "identity:";

/// The retry task that looks a payment's card holder up: one per payment, so a repeated
/// request is the same task.
pub fn identity_task_id(payment_key: &str) -> String {
    format!("{IDENTITY_TASK}{payment_key}")
}

impl Aggregate for Matching {
    const NAME: &'static str = "matching";
    type Command = C;
    type Event = E;
    type State = Entity;

    fn entity_key(command: &C) -> String {
        match command {
            C::OnboardMid(c) => crate::mids::key(&c.provider, &c.mid_type, &c.identifier),
            C::UpdateMid(c) => crate::mids::key(&c.provider, &c.mid_type, &c.identifier),
            C::RemoveMid(c) => crate::mids::key(&c.provider, &c.mid_type, &c.identifier),
            C::IdentifyPayment(c) => mid::lookup_key(c),
            C::ImportPayment(c) => payment_key(&c.transaction.settlement_key),
            C::IdentifyAgain(c) => c.payment_key.clone(),
            C::PaymentIdentified(c) => c.payment_key.clone(),
            C::PaymentUnidentified(c) => c.payment_key.clone(),
            // An identity answer goes to its payment; an export's to its own entity.
            C::TaskOutcome(c) => c.task_id.strip_prefix(IDENTITY_TASK).unwrap_or(&c.task_id).to_string(),
            C::ImportMerchantTransaction(c) => bucket_key(&c.transaction.merchant, c.transaction.amount),
            C::OfferPayment(c) => c.bucket.clone(),
            C::ClosePending(c) => c.bucket.clone(),
            C::RetirePayment(c) => c.payment_key.clone(),
            C::ForceMatch(c) => c.bucket.clone(),
            C::ForceMatchPayment(c) => c.bucket.clone(),
            C::ReleaseMerchantTransaction(c) => c.bucket.clone(),
        }
    }

    fn decide(entity: &Entity, command: &C, context: &Context) -> MatchingDecision {
        let empty_mid = MidState::default();
        let empty_payment = PaymentState::default();
        let empty_bucket = BucketState::default();
        let mid = match entity {
            Entity::Mid(state) => state,
            _ => &empty_mid,
        };
        let payment = match entity {
            Entity::Payment(state) => state,
            _ => &empty_payment,
        };
        let bucket = match entity {
            Entity::Bucket(state) => state,
            _ => &empty_bucket,
        };
        let empty_export = ExportState::default();
        let export = match entity {
            Entity::Export(state) => state,
            _ => &empty_export,
        };
        let decision = match command {
            C::OnboardMid(c) => mid.onboard(c, context),
            C::UpdateMid(c) => mid.update(c),
            C::RemoveMid(c) => mid.remove(c),
            C::IdentifyPayment(c) => mid.identify(c, context),
            C::ImportPayment(c) => payment.import(c, context),
            C::IdentifyAgain(c) => payment.identify_again(c, context),
            C::PaymentIdentified(c) => payment.identified(c, context),
            C::PaymentUnidentified(c) => payment.unidentified(c, context),
            C::TaskOutcome(c) if c.task_id.starts_with(EXPORT_TASK) => export.outcome(c, context),
            C::TaskOutcome(c) => payment.identity_outcome(c, context),
            C::ImportMerchantTransaction(c) => bucket.import(c, context),
            C::OfferPayment(c) => bucket.offer(c, context),
            C::ClosePending(c) => bucket.close(c, context),
            C::RetirePayment(c) => payment.retire(c, context),
            C::ForceMatch(c) => bucket.force_match(c, context),
            C::ForceMatchPayment(c) => bucket.force_match_payment(c, context),
            C::ReleaseMerchantTransaction(c) => bucket.release(c, context),
        };
        export::with_exports(decision, context)
    }

    fn rejection(event: &E) -> Option<String> {
        match event {
            E::MidRefused(e) => Some(format!("MID_{}_REFUSED", e.action.to_uppercase())),
            E::ForceMatchRefused(_) => Some("FORCE_MATCH_REFUSED".to_string()),
            _ => None,
        }
    }

    fn apply(entity: &mut Entity, event: &E) {
        match event {
            E::MidOnboarded(_) | E::MidUpdated(_) | E::MidRemoved(_) | E::MidRefused(_) | E::PaymentAwaitingMid(_) => {
                as_mid(entity).apply(event)
            }
            E::TransactionImported(_)
            | E::TransactionIdentified(_)
            | E::TransactionUnidentified(_)
            | E::IdentityRequested(_)
            | E::IdentityFound(_)
            | E::IdentityNotFound(_)
            | E::PaymentMerged(_)
            | E::AuthSkipped(_)
            | E::NotMatchable(_)
            | E::Streamed(_)
            | E::RoutedToMatching(_)
            | E::PaymentRetired(_) => as_payment(entity).apply(event),
            E::MerchantTransactionImported(_)
            | E::PaymentPending(_)
            | E::PaymentMoved(_)
            | E::PendingClosed(_)
            | E::MerchantTransactionReserved(_)
            | E::UnmatchedExportDue(_)
            | E::MerchantTransactionReleased(_) => as_bucket(entity).apply(event),
            // Both a bucket (a loyalty match) and a payment (a spotted one) record matches;
            // duplicates, dropped settlements and export requests change nothing anywhere.
            E::Matched(_)
            | E::DuplicateIgnored(_)
            | E::SettlementDropped(_)
            | E::ExportRequested(_)
            | E::ForceMatchRefused(_) => match entity {
                Entity::Payment(state) => state.apply(event),
                Entity::Bucket(state) => state.apply(event),
                Entity::Mid(_) | Entity::Export(_) | Entity::New => {}
            },
            E::ExportSent(_) | E::ExportFailed(_) | E::ExportAbandoned(_) => as_export(entity).apply(event),
        }
    }

    fn timer(entity: &Entity) -> Option<Timer<C>> {
        match entity {
            Entity::Bucket(state) => state.timer(),
            Entity::Payment(state) => state.timer(),
            _ => None,
        }
    }
}

fn as_mid(entity: &mut Entity) -> &mut MidState {
    if !matches!(entity, Entity::Mid(_)) {
        *entity = Entity::Mid(Box::default());
    }
    match entity {
        Entity::Mid(state) => state,
        _ => unreachable!("set just above"),
    }
}

fn as_payment(entity: &mut Entity) -> &mut PaymentState {
    if !matches!(entity, Entity::Payment(_)) {
        *entity = Entity::Payment(Box::default());
    }
    match entity {
        Entity::Payment(state) => state,
        _ => unreachable!("set just above"),
    }
}

fn as_export(entity: &mut Entity) -> &mut ExportState {
    if !matches!(entity, Entity::Export(_)) {
        *entity = Entity::Export(Box::default());
    }
    match entity {
        Entity::Export(state) => state,
        _ => unreachable!("set just above"),
    }
}

fn as_bucket(entity: &mut Entity) -> &mut BucketState {
    if !matches!(entity, Entity::Bucket(_)) {
        *entity = Entity::Bucket(Box::default());
    }
    match entity {
        Entity::Bucket(state) => state,
        _ => unreachable!("set just above"),
    }
}
