//! The retry domain's records (`schemas/retry/*.avsc`, namespace `clio.retry`): the commands
//! on `retry.commands`, the events on `retry.events`, and [`TaskOutcome`], which goes to a
//! requester's own commands topic. Optional values are plain fields with a stated "none"
//! (0, -1 or empty), as the .avsc files say.

use clio_aggregate::{avro_records, record_set};

avro_records! {
    namespace = "clio.retry";
    pub struct CreateTask {
        pub task_id: String,
        pub task_type: String,
        pub params: String,
        pub idempotency_key: String,
        pub reply_topic: String,
        pub reply_key: String,
        pub policy: String,
        pub not_before: i64,
        pub ts: i64,
    }

    pub struct RunTask {
        pub task_id: String,
        pub due: i64,
        pub ts: i64,
    }

    pub struct ReportAttempt {
        pub task_id: String,
        pub attempt: i32,
        pub outcome: String,
        pub error_class: String,
        pub message: String,
        pub http_status: i32,
        pub body_excerpt: String,
        pub retry_after_ms: i64,
        pub result: String,
        pub ts: i64,
    }

    pub struct ReceiveCallback {
        pub task_id: String,
        pub callback_id: String,
        pub outcome: String,
        pub error_code: String,
        pub payload: String,
        pub ts: i64,
    }

    pub struct CancelTask {
        pub task_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct ReportCleanup {
        pub task_id: String,
        pub ok: bool,
        pub message: String,
        pub ts: i64,
    }

    pub struct RequeueTask {
        pub task_id: String,
        pub new_task_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct PurgeTask {
        pub task_id: String,
        pub before: i64,
        pub ts: i64,
    }

    pub struct AcquireSlot {
        pub slot: String,
        pub task_id: String,
        pub due: i64,
        pub login_limit: i32,
        pub lock_micros: i64,
        pub ts: i64,
    }

    pub struct ReleaseSlot {
        pub slot: String,
        pub task_id: String,
        pub token: i64,
        pub login: String,
        pub ts: i64,
    }

    pub struct SlotAnswer {
        pub task_id: String,
        pub slot: String,
        pub due: i64,
        pub answer: String,
        pub holder: String,
        pub until: i64,
        pub login_failures: i32,
        pub ts: i64,
    }

    pub struct TaskCreated {
        pub task_id: String,
        pub task_type: String,
        pub params: String,
        pub idempotency_key: String,
        pub reply_topic: String,
        pub reply_key: String,
        pub policy: String,
        pub not_before: i64,
        pub ts: i64,
    }

    pub struct TaskRejected {
        pub task_id: String,
        pub task_type: String,
        pub reason: String,
        pub ts: i64,
    }

    pub struct AttemptStarted {
        pub task_id: String,
        pub attempt: i32,
        pub resumed: bool,
        pub task_type: String,
        pub handler: String,
        pub params: String,
        pub idempotency_key: String,
        pub deadline: i64,
        pub slot: String,
        pub ts: i64,
    }

    pub struct AttemptFailed {
        pub task_id: String,
        pub attempt: i32,
        pub error_class: String,
        pub message: String,
        pub http_status: i32,
        pub body_excerpt: String,
        pub ts: i64,
    }

    pub struct RetryScheduled {
        pub task_id: String,
        pub attempt: i32,
        pub at: i64,
        pub reason: String,
        pub ts: i64,
    }

    pub struct WaitingForCallback {
        pub task_id: String,
        pub attempt: i32,
        pub deadline: i64,
        pub poll_at: i64,
        pub ts: i64,
    }

    pub struct CallbackReceived {
        pub task_id: String,
        pub callback_id: String,
        pub outcome: String,
        pub error_code: String,
        pub ts: i64,
    }

    pub struct TaskSucceeded {
        pub task_id: String,
        pub attempt: i32,
        pub result: String,
        pub ts: i64,
    }

    pub struct TaskFailed {
        pub task_id: String,
        pub attempts: i32,
        pub error_class: String,
        pub reason: String,
        pub ts: i64,
    }

    pub struct CleanupStarted {
        pub task_id: String,
        pub handler: String,
        pub params: String,
        pub deadline: i64,
        pub by: String,
        pub ts: i64,
    }

    pub struct TaskCancelled {
        pub task_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct CleanupFailed {
        pub task_id: String,
        pub message: String,
        pub ts: i64,
    }

    pub struct TaskRequeued {
        pub task_id: String,
        pub new_task_id: String,
        pub by: String,
        pub ts: i64,
    }

    pub struct TaskPurged {
        pub task_id: String,
        pub ts: i64,
    }

    pub struct SlotRequested {
        pub task_id: String,
        pub slot: String,
        pub due: i64,
        pub ts: i64,
    }

    pub struct RunDeferred {
        pub task_id: String,
        pub slot: String,
        pub holder: String,
        pub at: i64,
        pub ts: i64,
    }

    pub struct SlotTaken {
        pub slot: String,
        pub task_id: String,
        pub token: i64,
        pub login_failures: i32,
        pub ts: i64,
    }

    pub struct SlotFreed {
        pub slot: String,
        pub task_id: String,
        pub login_failures: i32,
        pub ts: i64,
    }

    pub struct SlotLocked {
        pub slot: String,
        pub task_id: String,
        pub login_failures: i32,
        pub until: i64,
        pub ts: i64,
    }

    pub struct CommandRefused {
        pub task_id: String,
        pub command: String,
        pub status: String,
        pub reason: String,
        pub ts: i64,
    }

    pub struct TaskOutcome {
        pub task_id: String,
        pub idempotency_key: String,
        pub status: String,
        pub result: String,
        pub error_class: String,
        pub reason: String,
        pub attempts: i32,
        pub ts: i64,
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum RetryCommand {
        CreateTask(CreateTask) = "clio.retry.CreateTask",
        RunTask(RunTask) = "clio.retry.RunTask",
        ReportAttempt(ReportAttempt) = "clio.retry.ReportAttempt",
        ReceiveCallback(ReceiveCallback) = "clio.retry.ReceiveCallback",
        CancelTask(CancelTask) = "clio.retry.CancelTask",
        ReportCleanup(ReportCleanup) = "clio.retry.ReportCleanup",
        RequeueTask(RequeueTask) = "clio.retry.RequeueTask",
        PurgeTask(PurgeTask) = "clio.retry.PurgeTask",
        AcquireSlot(AcquireSlot) = "clio.retry.AcquireSlot",
        ReleaseSlot(ReleaseSlot) = "clio.retry.ReleaseSlot",
        SlotAnswer(SlotAnswer) = "clio.retry.SlotAnswer",
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum RetryEvent {
        TaskCreated(TaskCreated) = "clio.retry.TaskCreated",
        TaskRejected(TaskRejected) = "clio.retry.TaskRejected",
        AttemptStarted(AttemptStarted) = "clio.retry.AttemptStarted",
        AttemptFailed(AttemptFailed) = "clio.retry.AttemptFailed",
        RetryScheduled(RetryScheduled) = "clio.retry.RetryScheduled",
        WaitingForCallback(WaitingForCallback) = "clio.retry.WaitingForCallback",
        CallbackReceived(CallbackReceived) = "clio.retry.CallbackReceived",
        TaskSucceeded(TaskSucceeded) = "clio.retry.TaskSucceeded",
        TaskFailed(TaskFailed) = "clio.retry.TaskFailed",
        CleanupStarted(CleanupStarted) = "clio.retry.CleanupStarted",
        TaskCancelled(TaskCancelled) = "clio.retry.TaskCancelled",
        CleanupFailed(CleanupFailed) = "clio.retry.CleanupFailed",
        TaskRequeued(TaskRequeued) = "clio.retry.TaskRequeued",
        TaskPurged(TaskPurged) = "clio.retry.TaskPurged",
        SlotRequested(SlotRequested) = "clio.retry.SlotRequested",
        RunDeferred(RunDeferred) = "clio.retry.RunDeferred",
        SlotTaken(SlotTaken) = "clio.retry.SlotTaken",
        SlotFreed(SlotFreed) = "clio.retry.SlotFreed",
        SlotLocked(SlotLocked) = "clio.retry.SlotLocked",
        CommandRefused(CommandRefused) = "clio.retry.CommandRefused",
    }
}

/// Every record's short name and the schema its Rust type derives, for the drift check.
pub fn derived_schemas() -> Vec<(&'static str, apache_avro::Schema)> {
    use apache_avro::AvroSchema as _;
    vec![
        ("CreateTask", CreateTask::get_schema()),
        ("RunTask", RunTask::get_schema()),
        ("ReportAttempt", ReportAttempt::get_schema()),
        ("ReceiveCallback", ReceiveCallback::get_schema()),
        ("CancelTask", CancelTask::get_schema()),
        ("ReportCleanup", ReportCleanup::get_schema()),
        ("RequeueTask", RequeueTask::get_schema()),
        ("PurgeTask", PurgeTask::get_schema()),
        ("AcquireSlot", AcquireSlot::get_schema()),
        ("ReleaseSlot", ReleaseSlot::get_schema()),
        ("SlotAnswer", SlotAnswer::get_schema()),
        ("TaskCreated", TaskCreated::get_schema()),
        ("TaskRejected", TaskRejected::get_schema()),
        ("AttemptStarted", AttemptStarted::get_schema()),
        ("AttemptFailed", AttemptFailed::get_schema()),
        ("RetryScheduled", RetryScheduled::get_schema()),
        ("WaitingForCallback", WaitingForCallback::get_schema()),
        ("CallbackReceived", CallbackReceived::get_schema()),
        ("TaskSucceeded", TaskSucceeded::get_schema()),
        ("TaskFailed", TaskFailed::get_schema()),
        ("CleanupStarted", CleanupStarted::get_schema()),
        ("TaskCancelled", TaskCancelled::get_schema()),
        ("CleanupFailed", CleanupFailed::get_schema()),
        ("TaskRequeued", TaskRequeued::get_schema()),
        ("TaskPurged", TaskPurged::get_schema()),
        ("SlotRequested", SlotRequested::get_schema()),
        ("RunDeferred", RunDeferred::get_schema()),
        ("SlotTaken", SlotTaken::get_schema()),
        ("SlotFreed", SlotFreed::get_schema()),
        ("SlotLocked", SlotLocked::get_schema()),
        ("CommandRefused", CommandRefused::get_schema()),
        ("TaskOutcome", TaskOutcome::get_schema()),
    ]
}
