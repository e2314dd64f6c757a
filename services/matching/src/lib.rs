//! The matching domain's pure core: a payment-card transaction (Visa, Mastercard, Amex) is
//! matched against the transactions a merchant's own feed reports, so that the card holder
//! earns loyalty points. Which merchant transaction a payment matches is decided here, by the
//! merchant's profile; what is stored, routed and exported around that decision is not yet.
//! No I/O.
//!
//! # Layout
//! - [`transaction`]: the two sides of a match, as the rules see them (amounts in pence,
//!   instants in microseconds since the Unix epoch, UTC).
//! - [`profile`]: per-merchant matching profiles (`merchant-profiles.toml`): the time rule,
//!   the DPAN rule and the fallback filters for each card scheme.
//! - [`mids`]: the MID registry: onboard, update, remove, and the typed look-up that says
//!   which merchant a payment's MIDs name.
//! - [`settlement`]: settlement keys, and what a new auth or settlement does to the payment
//!   already under its key.
//! - [`rules`]: the candidate search, from a payment and a merchant's pending transactions to
//!   exactly one match or a reason for none.

pub mod mids;
pub mod profile;
pub mod rules;
pub mod settlement;
pub mod transaction;
