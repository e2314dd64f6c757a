//! `feed`: the marketplace's event feed. A trigger reads the events after the resume point (a
//! retry task); each event goes on to its project, or is left aside with the reason, and the
//! resume point advances in the same decision: only with the changes it caused. The
//! marketplace reads strictly after a second-precision timestamp, so the events of the resume
//! point's second come again; their projects know them. A trigger during a read reads again
//! once it ends; a full page is followed at once by the next.

use chrono::{DateTime, Utc};
use clio_aggregate::{Context, Decision};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{OrdersDecision, project_key};
use crate::marketplace::{MarketplaceEvent, resume_point};
use crate::messages::{
    MarketplaceEventIgnored, MarketplaceEventsRead, OrdersCommand as C, OrdersEvent as E, PollFailed, PollMarketplace,
    PollQueued, PollRequested, ReceiveMarketplaceEvent, TaskOutcome,
};
use crate::tasks::{MARKETPLACE_EVENTS, PAGE, poll_task_id, task};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// The latest event timestamp read (RFC 3339, whole seconds); empty: none yet.
    pub cursor: String,
    /// The task of the read under way; empty: none.
    pub reading: String,
    /// A trigger came during the read.
    pub again: bool,
    /// Reads asked for so far (each read's task id is the next number).
    pub reads: u64,
}

impl FeedState {
    pub fn poll(&self, c: &PollMarketplace, context: &Context) -> OrdersDecision {
        if !self.reading.is_empty() {
            if self.again {
                return Decision::nothing();
            }
            return Decision::events(vec![E::PollQueued(PollQueued {
                poll_id: c.poll_id.clone(),
                ts: context.now_micros,
            })]);
        }
        self.read(&c.poll_id, context, Decision::nothing())
    }

    /// `decision`, with a read after the resume point asked for.
    fn read(&self, poll_id: &str, context: &Context, mut decision: OrdersDecision) -> OrdersDecision {
        let task_id = poll_task_id(self.reads + 1);
        let params = json!({ "since": self.cursor, "limit": PAGE });
        match task(&task_id, MARKETPLACE_EVENTS, &params, super::FEED, context) {
            Ok(foreign) => decision.foreign.push(foreign),
            Err(reason) => return Decision::invalid(reason),
        }
        decision.events.push(E::PollRequested(PollRequested {
            poll_id: poll_id.to_string(),
            task_id,
            since: self.cursor.clone(),
            ts: context.now_micros,
        }));
        decision
    }

    pub fn outcome(&self, o: &TaskOutcome, context: &Context) -> OrdersDecision {
        if o.task_id != self.reading {
            return Decision::nothing();
        }
        let now = context.now_micros;
        let mut decision = Decision::nothing();
        let mut cursor = self.cursor.clone();
        let mut full_page = false;
        if o.status != "SUCCESS" {
            decision.events.push(E::PollFailed(PollFailed {
                task_id: o.task_id.clone(),
                error_class: o.error_class.clone(),
                reason: o.reason.clone(),
                ts: now,
            }));
        } else {
            let result: Value = serde_json::from_str(&o.result).unwrap_or(Value::Null);
            let events = result["events"].as_array().cloned().unwrap_or_default();
            let mut forwarded = 0;
            for event in &events {
                if let Some(at) = timestamp(event) {
                    cursor = cursor.max(resume_point(at));
                }
                match MarketplaceEvent::parse(event) {
                    Ok(parsed) => {
                        forwarded += 1;
                        decision.commands.push((
                            project_key(parsed.project_id),
                            C::ReceiveMarketplaceEvent(ReceiveMarketplaceEvent {
                                project_id: parsed.project_id,
                                dedup_key: parsed.dedup_key(),
                                event: event.to_string(),
                                ts: now,
                            }),
                        ));
                    }
                    Err(refused) => decision.events.push(E::MarketplaceEventIgnored(MarketplaceEventIgnored {
                        project_id: refused.project_id,
                        dedup_key: String::new(),
                        event: event.to_string(),
                        reason: refused.reason,
                        ts: now,
                    })),
                }
            }
            decision.events.push(E::MarketplaceEventsRead(MarketplaceEventsRead {
                task_id: o.task_id.clone(),
                count: i32::try_from(events.len()).unwrap_or(i32::MAX),
                forwarded,
                cursor: cursor.clone(),
                ts: now,
            }));
            // A full page that moved the resume point has more behind it (one that did not is
            // a second's worth of repeats: reading again would only repeat it).
            full_page = i64::try_from(events.len()).unwrap_or(i64::MAX) >= PAGE && cursor > self.cursor;
        }
        let next = FeedState { cursor, reading: String::new(), again: false, reads: self.reads };
        if full_page {
            return next.read(&format!("{}+next", o.task_id), context, decision);
        }
        if self.again {
            return next.read(&format!("{}+queued", o.task_id), context, decision);
        }
        decision
    }

    pub fn apply(&mut self, event: &E) {
        match event {
            E::PollRequested(e) => {
                self.reading = e.task_id.clone();
                self.reads += 1;
                self.again = false;
            }
            E::PollQueued(_) => self.again = true,
            E::MarketplaceEventsRead(e) => {
                self.cursor = e.cursor.clone();
                self.reading.clear();
            }
            E::PollFailed(_) => self.reading.clear(),
            _ => {}
        }
    }
}

fn timestamp(event: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(event["timestamp"].as_str()?).ok().map(|at| at.with_timezone(&Utc))
}
