//! The protocol's messages as Rust types, one per Avro record in `schemas/ledger/` (a test
//! checks that they match). Timestamps are microseconds since the Unix epoch
//! (`timestamp-micros`); dates are days since the epoch (`date`).

use clio_aggregate::{avro_records, record_set};

avro_records! {
    namespace = "clio.ledger";
    /// Configure (and if need be create) an account.
    pub struct ConfigureAccount {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub ts: i64,
        pub seqnum: i32,
        pub negligible_amount: f64,
        pub config_flags: i32,
        pub config_data: String,
    }

    /// Lock an amount on the sender's account for a transfer to `recipient`.
    pub struct PrepareTransfer {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub coordinator_type: String,
        pub coordinator_id: i64,
        pub coordinator_request_id: i64,
        pub min_locked_amount: i64,
        pub max_locked_amount: i64,
        pub recipient: String,
        pub final_interest_rate_ts: i64,
        pub max_commit_delay: i32,
        pub ts: i64,
    }

    /// Commit (`committed_amount` > 0) or dismiss (0) a prepared transfer.
    pub struct FinalizeTransfer {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub transfer_id: i64,
        pub coordinator_type: String,
        pub coordinator_id: i64,
        pub coordinator_request_id: i64,
        pub committed_amount: i64,
        pub transfer_note: String,
        pub transfer_note_format: String,
        pub ts: i64,
    }

    /// Credits (or debits) the recipient's account: sent by the sender's account, keyed by the
    /// recipient, applied once per (`other_creditor_id`, `change_id`).
    pub struct PendingBalanceChange {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub change_id: i64,
        pub coordinator_type: String,
        pub transfer_note_format: String,
        pub transfer_note: String,
        pub committed_at: i64,
        pub principal_delta: i64,
        pub other_creditor_id: i64,
    }

    pub struct RejectedConfig {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub config_ts: i64,
        pub config_seqnum: i32,
        pub config_flags: i32,
        pub negligible_amount: f64,
        pub config_data: String,
        pub rejection_code: String,
        pub ts: i64,
    }

    pub struct RejectedTransfer {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub coordinator_type: String,
        pub coordinator_id: i64,
        pub coordinator_request_id: i64,
        pub status_code: String,
        pub total_locked_amount: i64,
        pub ts: i64,
    }

    pub struct PreparedTransfer {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub transfer_id: i64,
        pub coordinator_type: String,
        pub coordinator_id: i64,
        pub coordinator_request_id: i64,
        pub locked_amount: i64,
        pub recipient: String,
        pub prepared_at: i64,
        pub demurrage_rate: f64,
        pub deadline: i64,
        pub final_interest_rate_ts: i64,
        pub ts: i64,
    }

    pub struct FinalizedTransfer {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub transfer_id: i64,
        pub coordinator_type: String,
        pub coordinator_id: i64,
        pub coordinator_request_id: i64,
        pub committed_amount: i64,
        pub status_code: String,
        pub total_locked_amount: i64,
        pub prepared_at: i64,
        pub ts: i64,
    }

    pub struct AccountUpdate {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub creation_date: i32,
        pub last_change_ts: i64,
        pub last_change_seqnum: i32,
        pub principal: i64,
        pub interest: f64,
        pub interest_rate: f64,
        pub last_interest_rate_change_ts: i64,
        pub last_config_ts: i64,
        pub last_config_seqnum: i32,
        pub negligible_amount: f64,
        pub config_flags: i32,
        pub config_data: String,
        pub account_id: String,
        pub debtor_info_iri: String,
        pub debtor_info_content_type: String,
        pub debtor_info_sha256: String,
        pub last_transfer_number: i64,
        pub last_transfer_committed_at: i64,
        pub demurrage_rate: f64,
        pub commit_period: i32,
        pub transfer_note_max_bytes: i32,
        pub ts: i64,
        pub ttl: i32,
    }

    pub struct AccountTransfer {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub creation_date: i32,
        pub transfer_number: i64,
        pub coordinator_type: String,
        pub sender: String,
        pub recipient: String,
        pub acquired_amount: i64,
        pub transfer_note: String,
        pub transfer_note_format: String,
        pub committed_at: i64,
        pub principal: i64,
        pub ts: i64,
        pub previous_transfer_number: i64,
    }

    pub struct AccountPurge {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub creation_date: i32,
        pub ts: i64,
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum LedgerCommand {
        ConfigureAccount(ConfigureAccount) = "clio.ledger.ConfigureAccount",
        PrepareTransfer(PrepareTransfer) = "clio.ledger.PrepareTransfer",
        FinalizeTransfer(FinalizeTransfer) = "clio.ledger.FinalizeTransfer",
        PendingBalanceChange(PendingBalanceChange) = "clio.ledger.PendingBalanceChange",
        VerifyRecipient(VerifyRecipient) = "clio.ledger.VerifyRecipient",
        RecipientVerified(RecipientVerified) = "clio.ledger.RecipientVerified",
        MaintainAccount(MaintainAccount) = "clio.ledger.MaintainAccount",
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum LedgerEvent {
        RejectedConfig(RejectedConfig) = "clio.ledger.RejectedConfig",
        PreparedTransfer(PreparedTransfer) = "clio.ledger.PreparedTransfer",
        RejectedTransfer(RejectedTransfer) = "clio.ledger.RejectedTransfer",
        FinalizedTransfer(FinalizedTransfer) = "clio.ledger.FinalizedTransfer",
        AccountUpdate(AccountUpdate) = "clio.ledger.AccountUpdate",
        AccountTransfer(AccountTransfer) = "clio.ledger.AccountTransfer",
        AccountPurge(AccountPurge) = "clio.ledger.AccountPurge",
        BalanceChanged(BalanceChanged) = "clio.ledger.BalanceChanged",
        BalanceChangeSent(BalanceChangeSent) = "clio.ledger.BalanceChangeSent",
        AccountStatus(AccountStatus) = "clio.ledger.AccountStatus",
    }
}

avro_records! {
    namespace = "clio.ledger";
    /// Internal: the sender's account asks the recipient's account whether it can receive a
    /// transfer (the protocol's reachability check, done as a message because the two
    /// accounts may live on different partitions). Keyed by the recipient.
    pub struct VerifyRecipient {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub sender_creditor_id: i64,
        pub coordinator_type: String,
        pub coordinator_id: i64,
        pub coordinator_request_id: i64,
        pub min_locked_amount: i64,
        pub max_locked_amount: i64,
        pub final_interest_rate_ts: i64,
        pub max_commit_delay: i32,
        pub ts: i64,
    }

    /// Internal: the recipient's answer, keyed by the sender, carrying the original request.
    pub struct RecipientVerified {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub recipient_creditor_id: i64,
        pub reachable: bool,
        pub coordinator_type: String,
        pub coordinator_id: i64,
        pub coordinator_request_id: i64,
        pub min_locked_amount: i64,
        pub max_locked_amount: i64,
        pub final_interest_rate_ts: i64,
        pub max_commit_delay: i32,
        pub ts: i64,
    }

    /// Internal: a PendingBalanceChange was applied to this account. Its presence on the log
    /// is what makes the change apply only once, and what the conservation audit pairs with
    /// the sender's FinalizedTransfer.
    pub struct BalanceChanged {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub change_id: i64,
        pub other_creditor_id: i64,
        pub principal_delta: i64,
        pub coordinator_type: String,
        pub committed_at: i64,
        pub ts: i64,
    }
}

avro_records! {
    namespace = "clio.ledger";
    /// Internal: the ledger's clock. Time-driven work (interest rate changes, capitalisation,
    /// deletion, purge, heartbeats, reminders) happens only when one of these reaches the
    /// account, so a replay of the log decides exactly as the first run did. The scanner
    /// (`clio ledger scan`, and every few minutes in `clio up`) sends them, with the interest
    /// rate it read from the root account's configuration.
    pub struct MaintainAccount {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub interest_rate: f64,
        pub ts: i64,
    }

    /// Internal: a payment between an account and its root account (capitalised interest,
    /// or the rest of a balance given back on deletion) was booked on this account and sent
    /// to `recipient_creditor_id` as a PendingBalanceChange; in flight until the recipient's
    /// BalanceChanged with the same (creditor_id, change_id).
    pub struct BalanceChangeSent {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub recipient_creditor_id: i64,
        pub change_id: i64,
        pub principal_delta: i64,
        pub coordinator_type: String,
        pub ts: i64,
    }

    /// Internal: the account's status flags changed (the protocol keeps them out of
    /// AccountUpdate). `deleted` accounts are kept until purged; `overflown` is set when the
    /// principal had to be clamped; `established_interest_rate` once the root's rate reached it.
    pub struct AccountStatus {
        pub debtor_id: i64,
        pub creditor_id: i64,
        pub deleted: bool,
        pub overflown: bool,
        pub established_interest_rate: bool,
        pub ts: i64,
    }
}
