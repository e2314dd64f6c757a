//! `export:<export id>`: an export as its retry task answers it. Every decision that matches,
//! streams or exports a payment unmatched also requests the export ([`with_exports`]),
//! wherever it was decided (a bucket, or a payment).

use clio_aggregate::{Context, Decision, ForeignCommand};
use serde::{Deserialize, Serialize};

use super::MatchingDecision;
use crate::export::{EXPORT_TASK, Export, export_task};
use crate::messages::{ExportAbandoned, ExportFailed, ExportRequested, ExportSent, MatchingEvent as E, TaskOutcome};
use crate::profile::Profiles;

/// Whether the export has its answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportState {
    pub ended: bool,
}

impl ExportState {
    /// The retry task's outcome: sent, failed for good, or abandoned by an operator. A repeat
    /// changes nothing.
    pub fn outcome(&self, o: &TaskOutcome, context: &Context) -> MatchingDecision {
        if self.ended {
            return Decision::nothing();
        }
        let (match_id, task_id, ts) =
            (o.task_id.trim_start_matches(EXPORT_TASK).to_string(), o.task_id.clone(), context.now_micros);
        let event = match o.status.as_str() {
            "SUCCESS" => E::ExportSent(ExportSent { match_id, task_id, attempts: o.attempts, ts }),
            "CANCELLED" => E::ExportAbandoned(ExportAbandoned { match_id, task_id, reason: o.reason.clone(), ts }),
            _ => E::ExportFailed(ExportFailed {
                match_id,
                task_id,
                error_class: o.error_class.clone(),
                reason: o.reason.clone(),
                attempts: o.attempts,
                ts,
            }),
        };
        Decision::events(vec![event])
    }

    pub fn apply(&mut self, event: &E) {
        if matches!(event, E::ExportSent(_) | E::ExportFailed(_) | E::ExportAbandoned(_)) {
            self.ended = true;
        }
    }
}

/// `decision`, with every export it asks for sent: a retry task of the merchant's export type
/// (answering to the topic the command came from) and an `ExportRequested` event beside it.
pub fn with_exports(mut decision: MatchingDecision, context: &Context) -> MatchingDecision {
    let exports: Vec<Export> = decision.events.iter().filter_map(Export::of).collect();
    for export in exports {
        let policy = Profiles::builtin().get(&export.merchant).map(|p| p.export.clone()).unwrap_or_default();
        let now = context.now_micros;
        let task = export_task(&export, &policy, &context.cause.topic, &context.cause.to_string(), now);
        let foreign = match ForeignCommand::to_domain("retry", task.task_id.clone(), "clio.retry.CreateTask", &task) {
            Ok(foreign) => foreign,
            Err(error) => return Decision::invalid(format!("the export task cannot be encoded: {error}")),
        };
        decision.foreign.push(foreign);
        decision.events.push(E::ExportRequested(ExportRequested {
            match_id: export.export_id.clone(),
            merchant: export.merchant.clone(),
            task_id: task.task_id,
            not_before: task.not_before,
            ts: now,
        }));
    }
    decision
}
