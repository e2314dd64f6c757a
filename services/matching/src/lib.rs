//! The matching domain's pure core: a payment-card transaction (Visa, Mastercard, Amex) is
//! matched against the transactions a merchant's own feed reports, so that the card holder
//! earns loyalty points. Which merchant transaction a payment matches is decided here, by the
//! merchant's profile, and so is how a payment travels there: imported under its settlement
//! key, identified by its MIDs, its card holder looked up (a retry task), offered to the bucket
//! of its merchant and amount, and each match exported as a retry task. No I/O.
//!
//! # Layout
//! - [`messages`]: the records of `matching.commands` and `matching.events`.
//! - [`entity`]: the aggregate ([`entity::Matching`]) over its three kinds of entity: a MID,
//!   a payment (one per settlement key) and a bucket (a merchant's pending transactions of one
//!   amount), and the commands that route a payment between them.
//! - [`transaction`]: the two sides of a match, as the rules see them (amounts in pence,
//!   instants in microseconds since the Unix epoch, UTC).
//! - [`profile`]: per-merchant matching profiles (`merchant-profiles.toml`): the time rule,
//!   the DPAN rule and the fallback filters for each card scheme.
//! - [`export`]: a match's export: the retry task, under the merchant's export policy.
//! - [`import`]: feed files in the shapes the seed's importers read (payment and merchant
//!   feeds), read row by row into the records the domain imports.
//! - [`mids`]: MIDs: onboard, update, remove, and the typed look-up's order.
//! - [`settlement`]: settlement keys, and what a new auth or settlement does to the payment
//!   already under its key.
//! - [`rules`]: the candidate search, from a payment and a merchant's pending transactions to
//!   exactly one match or a reason for none.

pub mod entity;
pub mod export;
pub mod import;
pub mod messages;
pub mod mids;
pub mod profile;
pub mod rules;
pub mod settlement;
pub mod transaction;
