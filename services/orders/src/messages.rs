//! The orders domain's records (`schemas/orders/*.avsc`, namespace `clio.orders`): the commands
//! on `orders.commands` and the events on `orders.events`. A marketplace event and a tracker
//! webhook travel as the JSON the outside system sent (`event`, `body`), so nothing of what
//! they said is lost; what the domain made of them is in typed fields beside. Optional values
//! are plain fields with a stated "none" (empty or 0); timestamps are microseconds since the
//! Unix epoch, UTC.

use clio_aggregate::{avro_records, record_set};
pub use clio_retry::messages::{CreateTask, TaskOutcome};

avro_records! {
    namespace = "clio.orders";
    /// Read the marketplace's events since the resume point (the trigger). Key: `feed`.
    pub struct PollMarketplace {
        pub poll_id: String,
        pub ts: i64,
    }

    /// One marketplace event, as the feed read it, for its project. Key: `project:<id>`.
    pub struct ReceiveMarketplaceEvent {
        pub project_id: i64,
        pub dedup_key: String,
        pub event: String,
        pub ts: i64,
    }

    /// A tracker webhook for an issue of the project (0: the issue is not one of ours). Key:
    /// `project:<id>`, or `unknown-issues`.
    pub struct ReceiveTrackerChange {
        pub project_id: i64,
        pub issue_id: String,
        pub body: String,
        pub ts: i64,
    }

    /// The feed asked the marketplace for its events after `since`.
    pub struct PollRequested {
        pub poll_id: String,
        pub task_id: String,
        pub since: String,
        pub ts: i64,
    }

    /// A trigger came while a read was under way: the feed reads again once it ends.
    pub struct PollQueued {
        pub poll_id: String,
        pub ts: i64,
    }

    /// The marketplace's answer: `count` events, `forwarded` to their projects, the resume
    /// point now `cursor`.
    pub struct MarketplaceEventsRead {
        pub task_id: String,
        pub count: i32,
        pub forwarded: i32,
        pub cursor: String,
        pub ts: i64,
    }

    /// The read failed for good (its retry task's attempts ran out).
    pub struct PollFailed {
        pub task_id: String,
        pub error_class: String,
        pub reason: String,
        pub ts: i64,
    }

    /// A marketplace event left aside, with the reason: a delete, an unknown resource or type,
    /// ids that do not parse, a message that echoes the tracker.
    pub struct MarketplaceEventIgnored {
        pub project_id: i64,
        pub dedup_key: String,
        pub event: String,
        pub reason: String,
        pub ts: i64,
    }

    /// A marketplace event taken for its project.
    pub struct MarketplaceEventReceived {
        pub project_id: i64,
        pub item_iid: i64,
        pub message_id: i64,
        pub resource: String,
        pub event_type: String,
        pub status_type: String,
        pub status_value: String,
        pub dedup_key: String,
        pub event: String,
        pub ts: i64,
    }

    /// A marketplace message event held until the project's messages under way to the
    /// marketplace have their ids (so an echo of one is known as such).
    pub struct MarketplaceEventParked {
        pub project_id: i64,
        pub dedup_key: String,
        pub event: String,
        pub ts: i64,
    }

    /// The same event again (the marketplace delivers at least once; the tracker re-sends).
    pub struct DuplicateIgnored {
        pub project_id: i64,
        pub dedup_key: String,
        pub ts: i64,
    }

    /// The tracker issue of the project (item 0: its epic) or of one item was asked for.
    pub struct TrackerIssueRequested {
        pub project_id: i64,
        pub item_iid: i64,
        pub task_id: String,
        pub label: String,
        pub ts: i64,
    }

    /// The issue exists: its tracker id and key.
    pub struct TrackerIssueLinked {
        pub project_id: i64,
        pub item_iid: i64,
        pub issue_id: String,
        pub issue_key: String,
        pub task_id: String,
        pub ts: i64,
    }

    /// A marketplace message asked to be mirrored as a comment (or a comment updated).
    pub struct CommentRequested {
        pub project_id: i64,
        pub item_iid: i64,
        pub message_id: i64,
        pub issue_key: String,
        pub task_id: String,
        pub update: bool,
        pub ts: i64,
    }

    /// The comment of a marketplace message: its tracker id, or why there is none.
    pub struct CommentLinked {
        pub project_id: i64,
        pub item_iid: i64,
        pub message_id: i64,
        pub comment_id: String,
        pub skipped: String,
        pub task_id: String,
        pub ts: i64,
    }

    /// A tracker change taken: `change` is status, voucher, comment_created or
    /// comment_updated; `detail` says what (JSON).
    pub struct TrackerChangeReceived {
        pub project_id: i64,
        pub item_iid: i64,
        pub issue_id: String,
        pub dedup_key: String,
        pub change: String,
        pub detail: String,
        pub ts: i64,
    }

    /// A tracker webhook, or one change in it, left aside with the reason.
    pub struct TrackerChangeIgnored {
        pub project_id: i64,
        pub item_iid: i64,
        pub issue_id: String,
        pub dedup_key: String,
        pub webhook_event: String,
        pub reason: String,
        pub ts: i64,
    }

    /// A change sent to the marketplace: `kind` is status, voucher, message or
    /// message_update; `detail` what is sent (JSON).
    pub struct MarketplaceUpdateRequested {
        pub project_id: i64,
        pub item_iid: i64,
        pub task_id: String,
        pub kind: String,
        pub source_id: String,
        pub detail: String,
        pub ts: i64,
    }

    /// The marketplace took it (`message_id`: the message made, for a message).
    pub struct MarketplaceUpdateDone {
        pub project_id: i64,
        pub item_iid: i64,
        pub task_id: String,
        pub kind: String,
        pub source_id: String,
        pub message_id: i64,
        pub ts: i64,
    }

    /// The marketplace changed an item's status: its issue is moved to the workflow status
    /// that means it (`status_id`, by `orders.toml`).
    pub struct TrackerTransitionRequested {
        pub project_id: i64,
        pub item_iid: i64,
        pub issue_key: String,
        pub status_type: String,
        pub status_id: String,
        pub task_id: String,
        pub ts: i64,
    }

    /// The issue is in that status (`already`: it was, so nothing was changed).
    pub struct TrackerTransitioned {
        pub project_id: i64,
        pub item_iid: i64,
        pub status_id: String,
        pub already: bool,
        pub task_id: String,
        pub ts: i64,
    }

    /// A call for the project failed for good (its retry task's attempts ran out): `what` is
    /// the call (tracker_issue, comment, tracker_transition, or a marketplace update's kind).
    pub struct SyncFailed {
        pub project_id: i64,
        pub item_iid: i64,
        pub task_id: String,
        pub what: String,
        pub error_class: String,
        pub reason: String,
        pub ts: i64,
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum OrdersCommand {
        PollMarketplace(PollMarketplace) = "clio.orders.PollMarketplace",
        ReceiveMarketplaceEvent(ReceiveMarketplaceEvent) = "clio.orders.ReceiveMarketplaceEvent",
        ReceiveTrackerChange(ReceiveTrackerChange) = "clio.orders.ReceiveTrackerChange",
        TaskOutcome(TaskOutcome) = "clio.retry.TaskOutcome",
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum OrdersEvent {
        PollRequested(PollRequested) = "clio.orders.PollRequested",
        PollQueued(PollQueued) = "clio.orders.PollQueued",
        MarketplaceEventsRead(MarketplaceEventsRead) = "clio.orders.MarketplaceEventsRead",
        PollFailed(PollFailed) = "clio.orders.PollFailed",
        MarketplaceEventIgnored(MarketplaceEventIgnored) = "clio.orders.MarketplaceEventIgnored",
        MarketplaceEventReceived(MarketplaceEventReceived) = "clio.orders.MarketplaceEventReceived",
        MarketplaceEventParked(MarketplaceEventParked) = "clio.orders.MarketplaceEventParked",
        DuplicateIgnored(DuplicateIgnored) = "clio.orders.DuplicateIgnored",
        TrackerIssueRequested(TrackerIssueRequested) = "clio.orders.TrackerIssueRequested",
        TrackerIssueLinked(TrackerIssueLinked) = "clio.orders.TrackerIssueLinked",
        CommentRequested(CommentRequested) = "clio.orders.CommentRequested",
        CommentLinked(CommentLinked) = "clio.orders.CommentLinked",
        TrackerChangeReceived(TrackerChangeReceived) = "clio.orders.TrackerChangeReceived",
        TrackerChangeIgnored(TrackerChangeIgnored) = "clio.orders.TrackerChangeIgnored",
        MarketplaceUpdateRequested(MarketplaceUpdateRequested) = "clio.orders.MarketplaceUpdateRequested",
        MarketplaceUpdateDone(MarketplaceUpdateDone) = "clio.orders.MarketplaceUpdateDone",
        TrackerTransitionRequested(TrackerTransitionRequested) = "clio.orders.TrackerTransitionRequested",
        TrackerTransitioned(TrackerTransitioned) = "clio.orders.TrackerTransitioned",
        SyncFailed(SyncFailed) = "clio.orders.SyncFailed",
    }
}

/// Every record's short name and the schema its Rust type derives, for the drift check.
pub fn derived_schemas() -> Vec<(&'static str, apache_avro::Schema)> {
    use apache_avro::AvroSchema as _;
    vec![
        ("PollMarketplace", PollMarketplace::get_schema()),
        ("ReceiveMarketplaceEvent", ReceiveMarketplaceEvent::get_schema()),
        ("ReceiveTrackerChange", ReceiveTrackerChange::get_schema()),
        ("PollRequested", PollRequested::get_schema()),
        ("PollQueued", PollQueued::get_schema()),
        ("MarketplaceEventsRead", MarketplaceEventsRead::get_schema()),
        ("PollFailed", PollFailed::get_schema()),
        ("MarketplaceEventIgnored", MarketplaceEventIgnored::get_schema()),
        ("MarketplaceEventReceived", MarketplaceEventReceived::get_schema()),
        ("MarketplaceEventParked", MarketplaceEventParked::get_schema()),
        ("DuplicateIgnored", DuplicateIgnored::get_schema()),
        ("TrackerIssueRequested", TrackerIssueRequested::get_schema()),
        ("TrackerIssueLinked", TrackerIssueLinked::get_schema()),
        ("CommentRequested", CommentRequested::get_schema()),
        ("CommentLinked", CommentLinked::get_schema()),
        ("TrackerChangeReceived", TrackerChangeReceived::get_schema()),
        ("TrackerChangeIgnored", TrackerChangeIgnored::get_schema()),
        ("MarketplaceUpdateRequested", MarketplaceUpdateRequested::get_schema()),
        ("MarketplaceUpdateDone", MarketplaceUpdateDone::get_schema()),
        ("TrackerTransitionRequested", TrackerTransitionRequested::get_schema()),
        ("TrackerTransitioned", TrackerTransitioned::get_schema()),
        ("SyncFailed", SyncFailed::get_schema()),
    ]
}
