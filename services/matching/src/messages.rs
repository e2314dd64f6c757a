//! The matching domain's records (`schemas/matching/*.avsc`, namespace `clio.matching`): the
//! commands on `matching.commands` and the events on `matching.events`. Optional values are
//! plain fields with a stated "none" (empty or 0), as the .avsc files say; timestamps are
//! microseconds since the Unix epoch, UTC, with the source's zone kept beside them.

use clio_aggregate::{avro_records, record_set};
pub use clio_retry::messages::{CreateTask, TaskOutcome};

/// The MIDs a merchant row names (a location may have several).
pub type Mids = Vec<String>;

avro_records! {
    namespace = "clio.matching";
    /// A payment-card transaction as its feed gave it, normalised: an auth, a settlement or a
    /// refund.
    pub struct PaymentTransaction {
        pub transaction_id: String,
        pub feed: String,
        pub provider: String,
        pub settlement_key: String,
        pub primary_mid: String,
        pub secondary_mid: String,
        pub psimi: String,
        pub amount: i64,
        pub currency: String,
        pub at: i64,
        pub source_zone: String,
        pub has_time: bool,
        pub card_token: String,
        pub first_six: String,
        pub last_four: String,
        pub auth_code: String,
        pub approval_code: String,
        pub extra: String,
    }

    /// A transaction from a merchant's own feed.
    pub struct MerchantTransaction {
        pub transaction_id: String,
        pub merchant: String,
        pub provider: String,
        pub mids: Mids,
        pub amount: i64,
        pub currency: String,
        pub at: i64,
        pub source_zone: String,
        pub has_time: bool,
        pub card_token: String,
        pub first_six: String,
        pub last_four: String,
        pub auth_code: String,
        pub extra: String,
    }

    pub struct OnboardMid {
        pub provider: String,
        pub mid_type: String,
        pub identifier: String,
        pub merchant: String,
        pub location: String,
        pub postcode: String,
        pub location_id: String,
        pub merchant_internal_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct UpdateMid {
        pub provider: String,
        pub mid_type: String,
        pub identifier: String,
        pub merchant: String,
        pub location: String,
        pub postcode: String,
        pub location_id: String,
        pub merchant_internal_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct RemoveMid {
        pub provider: String,
        pub mid_type: String,
        pub identifier: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct ImportPayment {
        pub batch: String,
        pub transaction: PaymentTransaction,
        pub ts: i64,
    }

    pub struct ImportMerchantTransaction {
        pub batch: String,
        pub transaction: MerchantTransaction,
        pub ts: i64,
    }

    pub struct IdentifyPayment {
        pub payment_key: String,
        pub provider: String,
        pub mid_type: String,
        pub primary_mid: String,
        pub secondary_mid: String,
        pub psimi: String,
        pub ts: i64,
    }

    pub struct IdentifyAgain {
        pub payment_key: String,
        pub mid: String,
        pub ts: i64,
    }

    pub struct PaymentIdentified {
        pub payment_key: String,
        pub merchant: String,
        pub mid_type: String,
        pub identifier: String,
        pub location_id: String,
        pub merchant_internal_id: String,
        pub ts: i64,
    }

    pub struct PaymentUnidentified {
        pub payment_key: String,
        pub ts: i64,
    }

    pub struct OfferPayment {
        pub bucket: String,
        pub payment_key: String,
        pub merchant: String,
        pub payment: PaymentTransaction,
        pub card_first_six: String,
        pub card_last_four: String,
        pub scheme_account_id: String,
        pub ts: i64,
    }

    pub struct ClosePending {
        pub bucket: String,
        pub due: i64,
        pub ts: i64,
    }

    pub struct RetirePayment {
        pub payment_key: String,
        pub due: i64,
        pub ts: i64,
    }

    pub struct MidOnboarded {
        pub provider: String,
        pub mid_type: String,
        pub identifier: String,
        pub merchant: String,
        pub location: String,
        pub postcode: String,
        pub location_id: String,
        pub merchant_internal_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct MidUpdated {
        pub provider: String,
        pub mid_type: String,
        pub identifier: String,
        pub merchant: String,
        pub location: String,
        pub postcode: String,
        pub location_id: String,
        pub merchant_internal_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct MidRemoved {
        pub provider: String,
        pub mid_type: String,
        pub identifier: String,
        pub merchant: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct MidRefused {
        pub provider: String,
        pub mid_type: String,
        pub identifier: String,
        pub action: String,
        pub reason: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct PaymentAwaitingMid {
        pub provider: String,
        pub mid_type: String,
        pub identifier: String,
        pub payment_key: String,
        pub ts: i64,
    }

    pub struct TransactionImported {
        pub payment_key: String,
        pub batch: String,
        pub transaction: PaymentTransaction,
        pub ts: i64,
    }

    pub struct MerchantTransactionImported {
        pub batch: String,
        pub transaction: MerchantTransaction,
        pub ts: i64,
    }

    pub struct DuplicateIgnored {
        pub source: String,
        pub feed: String,
        pub transaction_id: String,
        pub batch: String,
        pub ts: i64,
    }

    pub struct TransactionIdentified {
        pub payment_key: String,
        pub merchant: String,
        pub mid_type: String,
        pub identifier: String,
        pub location_id: String,
        pub merchant_internal_id: String,
        pub ts: i64,
    }

    pub struct TransactionUnidentified {
        pub payment_key: String,
        pub provider: String,
        pub primary_mid: String,
        pub secondary_mid: String,
        pub psimi: String,
        pub ts: i64,
    }

    pub struct IdentityRequested {
        pub payment_key: String,
        pub task_id: String,
        pub ts: i64,
    }

    pub struct IdentityFound {
        pub payment_key: String,
        pub scheme_account_id: String,
        pub user_id: String,
        pub loyalty_id: String,
        pub first_six: String,
        pub last_four: String,
        pub ts: i64,
    }

    pub struct IdentityNotFound {
        pub payment_key: String,
        pub reason: String,
        pub ts: i64,
    }

    pub struct PaymentMerged {
        pub payment_key: String,
        pub payment: PaymentTransaction,
        pub ts: i64,
    }

    pub struct AuthSkipped {
        pub payment_key: String,
        pub transaction_id: String,
        pub ts: i64,
    }

    pub struct SettlementDropped {
        pub payment_key: String,
        pub transaction_id: String,
        pub reason: String,
        pub ts: i64,
    }

    pub struct NotMatchable {
        pub payment_key: String,
        pub transaction_id: String,
        pub reason: String,
        pub ts: i64,
    }

    pub struct RoutedToMatching {
        pub payment_key: String,
        pub bucket: String,
        pub ts: i64,
    }

    pub struct PaymentPending {
        pub payment_key: String,
        pub merchant: String,
        pub payment: PaymentTransaction,
        pub card_first_six: String,
        pub card_last_four: String,
        pub scheme_account_id: String,
        pub reason: String,
        pub ts: i64,
    }

    pub struct PaymentMoved {
        pub payment_key: String,
        pub bucket: String,
        pub ts: i64,
    }

    pub struct Matched {
        pub match_id: String,
        pub matching_type: String,
        pub merchant: String,
        pub payment_key: String,
        pub payment_transaction_id: String,
        pub merchant_transaction_id: String,
        pub amount: i64,
        pub currency: String,
        pub at: i64,
        pub mid: String,
        pub card_token: String,
        pub scheme_account_id: String,
        pub ts: i64,
    }

    pub struct PendingClosed {
        pub merchant: String,
        pub side: String,
        pub id: String,
        pub at: i64,
        pub ts: i64,
    }

    pub struct PaymentRetired {
        pub payment_key: String,
        pub ts: i64,
    }

    pub struct ForceMatch {
        pub bucket: String,
        pub payment_key: String,
        pub payment_bucket: String,
        pub merchant: String,
        pub merchant_transaction_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct ForceMatchPayment {
        pub bucket: String,
        pub payment_key: String,
        pub row_bucket: String,
        pub transaction: MerchantTransaction,
        pub by: String,
        pub ts: i64,
    }

    pub struct ReleaseMerchantTransaction {
        pub bucket: String,
        pub transaction: MerchantTransaction,
        pub reason: String,
        pub ts: i64,
    }

    pub struct ForceMatchRefused {
        pub payment_key: String,
        pub merchant: String,
        pub merchant_transaction_id: String,
        pub reason: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct MerchantTransactionReserved {
        pub merchant: String,
        pub transaction_id: String,
        pub payment_key: String,
        pub ts: i64,
    }

    pub struct MerchantTransactionReleased {
        pub transaction: MerchantTransaction,
        pub reason: String,
        pub ts: i64,
    }

    pub struct Streamed {
        pub stream_id: String,
        pub purchase_id: String,
        pub merchant: String,
        pub payment_key: String,
        pub feed: String,
        pub provider: String,
        pub transaction_id: String,
        pub amount: i64,
        pub currency: String,
        pub at: i64,
        pub mid: String,
        pub card_token: String,
        pub scheme_account_id: String,
        pub ts: i64,
    }

    pub struct UnmatchedExportDue {
        pub export_id: String,
        pub merchant: String,
        pub export_as: String,
        pub payment_key: String,
        pub payment_transaction_id: String,
        pub feed: String,
        pub provider: String,
        pub amount: i64,
        pub currency: String,
        pub at: i64,
        pub mid: String,
        pub card_token: String,
        pub scheme_account_id: String,
        pub ts: i64,
    }

    pub struct ExportRequested {
        pub match_id: String,
        pub merchant: String,
        pub task_id: String,
        pub not_before: i64,
        pub ts: i64,
    }

    pub struct ExportSent {
        pub match_id: String,
        pub task_id: String,
        pub attempts: i32,
        pub ts: i64,
    }

    pub struct ExportFailed {
        pub match_id: String,
        pub task_id: String,
        pub error_class: String,
        pub reason: String,
        pub attempts: i32,
        pub ts: i64,
    }

    pub struct ExportAbandoned {
        pub match_id: String,
        pub task_id: String,
        pub reason: String,
        pub ts: i64,
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum MatchingCommand {
        OnboardMid(OnboardMid) = "clio.matching.OnboardMid",
        UpdateMid(UpdateMid) = "clio.matching.UpdateMid",
        RemoveMid(RemoveMid) = "clio.matching.RemoveMid",
        ImportPayment(ImportPayment) = "clio.matching.ImportPayment",
        ImportMerchantTransaction(ImportMerchantTransaction) = "clio.matching.ImportMerchantTransaction",
        IdentifyPayment(IdentifyPayment) = "clio.matching.IdentifyPayment",
        IdentifyAgain(IdentifyAgain) = "clio.matching.IdentifyAgain",
        PaymentIdentified(PaymentIdentified) = "clio.matching.PaymentIdentified",
        PaymentUnidentified(PaymentUnidentified) = "clio.matching.PaymentUnidentified",
        OfferPayment(OfferPayment) = "clio.matching.OfferPayment",
        ClosePending(ClosePending) = "clio.matching.ClosePending",
        RetirePayment(RetirePayment) = "clio.matching.RetirePayment",
        TaskOutcome(TaskOutcome) = "clio.retry.TaskOutcome",
        ForceMatch(ForceMatch) = "clio.matching.ForceMatch",
        ForceMatchPayment(ForceMatchPayment) = "clio.matching.ForceMatchPayment",
        ReleaseMerchantTransaction(ReleaseMerchantTransaction) = "clio.matching.ReleaseMerchantTransaction",
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum MatchingEvent {
        MidOnboarded(MidOnboarded) = "clio.matching.MidOnboarded",
        MidUpdated(MidUpdated) = "clio.matching.MidUpdated",
        MidRemoved(MidRemoved) = "clio.matching.MidRemoved",
        MidRefused(MidRefused) = "clio.matching.MidRefused",
        PaymentAwaitingMid(PaymentAwaitingMid) = "clio.matching.PaymentAwaitingMid",
        TransactionImported(TransactionImported) = "clio.matching.TransactionImported",
        MerchantTransactionImported(MerchantTransactionImported) = "clio.matching.MerchantTransactionImported",
        DuplicateIgnored(DuplicateIgnored) = "clio.matching.DuplicateIgnored",
        TransactionIdentified(TransactionIdentified) = "clio.matching.TransactionIdentified",
        TransactionUnidentified(TransactionUnidentified) = "clio.matching.TransactionUnidentified",
        IdentityRequested(IdentityRequested) = "clio.matching.IdentityRequested",
        IdentityFound(IdentityFound) = "clio.matching.IdentityFound",
        IdentityNotFound(IdentityNotFound) = "clio.matching.IdentityNotFound",
        PaymentMerged(PaymentMerged) = "clio.matching.PaymentMerged",
        AuthSkipped(AuthSkipped) = "clio.matching.AuthSkipped",
        SettlementDropped(SettlementDropped) = "clio.matching.SettlementDropped",
        NotMatchable(NotMatchable) = "clio.matching.NotMatchable",
        RoutedToMatching(RoutedToMatching) = "clio.matching.RoutedToMatching",
        PaymentPending(PaymentPending) = "clio.matching.PaymentPending",
        PaymentMoved(PaymentMoved) = "clio.matching.PaymentMoved",
        Matched(Matched) = "clio.matching.Matched",
        PendingClosed(PendingClosed) = "clio.matching.PendingClosed",
        PaymentRetired(PaymentRetired) = "clio.matching.PaymentRetired",
        Streamed(Streamed) = "clio.matching.Streamed",
        UnmatchedExportDue(UnmatchedExportDue) = "clio.matching.UnmatchedExportDue",
        ExportRequested(ExportRequested) = "clio.matching.ExportRequested",
        ExportSent(ExportSent) = "clio.matching.ExportSent",
        ExportFailed(ExportFailed) = "clio.matching.ExportFailed",
        ExportAbandoned(ExportAbandoned) = "clio.matching.ExportAbandoned",
        ForceMatchRefused(ForceMatchRefused) = "clio.matching.ForceMatchRefused",
        MerchantTransactionReserved(MerchantTransactionReserved) = "clio.matching.MerchantTransactionReserved",
        MerchantTransactionReleased(MerchantTransactionReleased) = "clio.matching.MerchantTransactionReleased",
    }
}

/// Every record's short name and the schema its Rust type derives, for the drift check (the
/// two nested records live inside the files of the records that carry them).
pub fn derived_schemas() -> Vec<(&'static str, apache_avro::Schema)> {
    use apache_avro::AvroSchema as _;
    vec![
        ("OnboardMid", OnboardMid::get_schema()),
        ("UpdateMid", UpdateMid::get_schema()),
        ("RemoveMid", RemoveMid::get_schema()),
        ("ImportPayment", ImportPayment::get_schema()),
        ("ImportMerchantTransaction", ImportMerchantTransaction::get_schema()),
        ("IdentifyPayment", IdentifyPayment::get_schema()),
        ("IdentifyAgain", IdentifyAgain::get_schema()),
        ("PaymentIdentified", PaymentIdentified::get_schema()),
        ("PaymentUnidentified", PaymentUnidentified::get_schema()),
        ("OfferPayment", OfferPayment::get_schema()),
        ("ClosePending", ClosePending::get_schema()),
        ("RetirePayment", RetirePayment::get_schema()),
        ("MidOnboarded", MidOnboarded::get_schema()),
        ("MidUpdated", MidUpdated::get_schema()),
        ("MidRemoved", MidRemoved::get_schema()),
        ("MidRefused", MidRefused::get_schema()),
        ("PaymentAwaitingMid", PaymentAwaitingMid::get_schema()),
        ("TransactionImported", TransactionImported::get_schema()),
        ("MerchantTransactionImported", MerchantTransactionImported::get_schema()),
        ("DuplicateIgnored", DuplicateIgnored::get_schema()),
        ("TransactionIdentified", TransactionIdentified::get_schema()),
        ("TransactionUnidentified", TransactionUnidentified::get_schema()),
        ("IdentityRequested", IdentityRequested::get_schema()),
        ("IdentityFound", IdentityFound::get_schema()),
        ("IdentityNotFound", IdentityNotFound::get_schema()),
        ("PaymentMerged", PaymentMerged::get_schema()),
        ("AuthSkipped", AuthSkipped::get_schema()),
        ("SettlementDropped", SettlementDropped::get_schema()),
        ("NotMatchable", NotMatchable::get_schema()),
        ("RoutedToMatching", RoutedToMatching::get_schema()),
        ("PaymentPending", PaymentPending::get_schema()),
        ("PaymentMoved", PaymentMoved::get_schema()),
        ("Matched", Matched::get_schema()),
        ("PendingClosed", PendingClosed::get_schema()),
        ("PaymentRetired", PaymentRetired::get_schema()),
        ("Streamed", Streamed::get_schema()),
        ("UnmatchedExportDue", UnmatchedExportDue::get_schema()),
        ("ExportRequested", ExportRequested::get_schema()),
        ("ExportSent", ExportSent::get_schema()),
        ("ExportFailed", ExportFailed::get_schema()),
        ("ExportAbandoned", ExportAbandoned::get_schema()),
        ("ForceMatch", ForceMatch::get_schema()),
        ("ForceMatchPayment", ForceMatchPayment::get_schema()),
        ("ReleaseMerchantTransaction", ReleaseMerchantTransaction::get_schema()),
        ("ForceMatchRefused", ForceMatchRefused::get_schema()),
        ("MerchantTransactionReserved", MerchantTransactionReserved::get_schema()),
        ("MerchantTransactionReleased", MerchantTransactionReleased::get_schema()),
    ]
}
