//! The ledger: the Swaptacular Messaging Protocol's accounts service as a pure domain.
//!
//! Accounts are entities keyed `{debtor_id}/{creditor_id}`. A transfer is prepared and
//! finalized on the sender's account, and credited to the recipient through a
//! PendingBalanceChange keyed by the recipient, so accounts on different partitions transfer to
//! each other. The recipient's reachability is checked the same way: VerifyRecipient to the
//! recipient, RecipientVerified back to the sender, which then decides the request.
//! Everything here is synchronous and free of I/O; the runtime runs it (see
//! `clio_runtime::processor`).
//!
//! # Layout
//! - [`messages`]: one Rust type per Avro record in `schemas/ledger/`.
//! - [`rules`]: constants, (ts, seqnum) ordering, the root account's configuration, amounts.
//! - [`account`]: the state of one account and how events change it.
//! - [`decide`]: what each command means, in the protocol's order of checks.
//! - [`maintain`]: time-driven work (interest, deletion, purge, heartbeats, reminders), done
//!   when a `MaintainAccount` command, the ledger's clock, reaches the account.
//! - [`update`]: how a principal changes and the AccountUpdate that announces it (used by both
//!   `decide` and `maintain`, which no longer import each other's helpers).
//! - [`audit`]: conservation of money per debtor, from the events.

pub mod account;
pub mod audit;
pub mod decide;
pub mod maintain;
pub mod messages;
pub mod rules;
pub mod update;

use clio_aggregate::{Aggregate, Context, Decision};

pub use account::Account;
pub use messages::{LedgerCommand, LedgerEvent};

/// The ledger as an [`Aggregate`].
#[derive(Debug)]
pub struct Ledger;

impl Aggregate for Ledger {
    const NAME: &'static str = "ledger";
    type Command = LedgerCommand;
    type Event = LedgerEvent;
    type State = Account;

    fn entity_key(command: &LedgerCommand) -> String {
        let (debtor, creditor) = match command {
            LedgerCommand::ConfigureAccount(c) => (c.debtor_id, c.creditor_id),
            LedgerCommand::PrepareTransfer(c) => (c.debtor_id, c.creditor_id),
            LedgerCommand::FinalizeTransfer(c) => (c.debtor_id, c.creditor_id),
            LedgerCommand::PendingBalanceChange(c) => (c.debtor_id, c.creditor_id),
            LedgerCommand::VerifyRecipient(c) => (c.debtor_id, c.creditor_id),
            LedgerCommand::RecipientVerified(c) => (c.debtor_id, c.creditor_id),
            LedgerCommand::MaintainAccount(c) => (c.debtor_id, c.creditor_id),
        };
        rules::account_key(debtor, creditor)
    }

    fn decide(state: &Account, command: &LedgerCommand, context: &Context) -> Decision<LedgerEvent, LedgerCommand> {
        decide::decide(state, command, context)
    }

    fn apply(state: &mut Account, event: &LedgerEvent) {
        state.apply(event);
    }

    fn rejection(event: &LedgerEvent) -> Option<String> {
        match event {
            LedgerEvent::RejectedTransfer(e) => Some(e.status_code.clone()),
            LedgerEvent::RejectedConfig(e) => Some(e.rejection_code.clone()),
            _ => None,
        }
    }
}
