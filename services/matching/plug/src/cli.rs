//! `clio matching ...`: importing feed files, and the MID registry.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use clio_runtime::settings::{DatabaseSettings, KafkaSettings, RegistrySettings};

// `clio matching ...` (a doc comment here would become the subcommand's about).
#[derive(Subcommand, Debug)]
pub enum MatchingAction {
    /// Import a feed file: a payment provider's auths, settlements or refunds, or a merchant's
    /// own transactions. A row that does not parse is named with its line and left out; the
    /// rest import. Importing a file again changes nothing.
    Import {
        /// The feed the file is from: visa-auth, visa-settlement, visa-refund, mastercard-auth,
        /// mastercard-settlement, amex-auth, amex-settlement, iceland-bonus-card, wasabi-club,
        /// costa, itsu, stonegate or tgi-fridays.
        #[arg(long)]
        feed: String,
        /// The file, in the feed's own shape (CSV, JSON or fixed-width text).
        file: PathBuf,
        /// Read the file and say what it holds; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        access: MatchingAccess,
    },
    /// The MID registry: list, onboard one or a file, update, remove.
    #[command(subcommand)]
    Mids(MidsAction),
    /// Match a pending payment with a pending merchant transaction of its merchant, whatever
    /// the rules say (matching type FORCED). Refused when a side is not pending.
    ForceMatch {
        /// The payment: payment:<settlement key>, as matching.payment_transactions has it.
        #[arg(long)]
        payment_key: String,
        /// The merchant transaction's id in its feed.
        #[arg(long)]
        merchant_transaction_id: String,
        #[command(flatten)]
        access: MatchingAccess,
    },
}

// `clio matching mids ...`.
#[derive(Subcommand, Debug)]
pub enum MidsAction {
    /// List MIDs (matching.mids), by provider, type and identifier.
    List {
        #[arg(long)]
        merchant: Option<String>,
        #[arg(long)]
        provider: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        access: MatchingAccess,
    },
    /// Onboard one MID.
    Onboard {
        #[command(flatten)]
        mid: MidArgs,
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        location: String,
        #[arg(long)]
        postcode: String,
        #[arg(long, default_value = "")]
        location_id: String,
        #[arg(long, default_value = "")]
        merchant_internal_id: String,
        #[command(flatten)]
        access: MatchingAccess,
    },
    /// Onboard a MID file (no header; provider, identifier, identifier_type, merchant,
    /// location_id, merchant_internal_id, merchant_name, location, postcode, action: rows whose
    /// action is A). A file with a bad row onboards nothing; every bad row is named.
    Import {
        file: PathBuf,
        #[command(flatten)]
        access: MatchingAccess,
    },
    /// Change a MID's details (those not given stay).
    Update {
        #[command(flatten)]
        mid: MidArgs,
        #[command(flatten)]
        changes: crate::mids::MidChanges,
        #[command(flatten)]
        access: MatchingAccess,
    },
    /// Remove a MID.
    Remove {
        #[command(flatten)]
        mid: MidArgs,
        #[command(flatten)]
        access: MatchingAccess,
    },
}

/// Which MID.
#[derive(Args, Debug, Clone)]
pub struct MidArgs {
    /// visa, mastercard or amex.
    #[arg(long)]
    pub provider: String,
    /// PRIMARY, SECONDARY or PSIMI.
    #[arg(long = "type", default_value = "PRIMARY")]
    pub mid_type: String,
    #[arg(long)]
    pub identifier: String,
}

/// Where the matching domain's commands read (its read models) and write (its commands topic).
#[derive(Args, Debug, Clone)]
pub struct MatchingAccess {
    /// The Postgres schema of the matching read models.
    #[arg(long, default_value = "matching")]
    pub schema: String,
    /// The matching commands topic.
    #[arg(long, default_value = "matching.commands")]
    pub topic: String,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
}

// What the matching domain adds to `clio up` and `clio seed` (a doc comment would replace
// their own about).
#[derive(Args, Debug, Clone)]
pub struct MatchingDemoSettings {
    /// Purchases per merchant in the matching demo day (Costa and Wasabi, today).
    #[arg(long, env = "CLIO_MATCHING_DEMO_PURCHASES", default_value_t = 12)]
    pub matching_demo_purchases: usize,
}
