//! The orders aggregate: two kinds of entity (docs/orders.md, Keys).
//!
//! - `feed` ([`feed`]): the marketplace's event feed: its resume point, and the read under way.
//!   Each event it reads goes on to its project.
//! - `project:<id>` ([`project`]): one marketplace order: its items (by their number within
//!   the project), messages, tracker issues and comments, what was last synced each way, and
//!   what it has already taken (so nothing is taken twice).
//!
//! Tracker webhooks for an issue that is none of ours go to `unknown-issues`, which records
//! them as ignored.

use clio_aggregate::{Aggregate, Context, Decision};
use serde::{Deserialize, Serialize};

use crate::messages::{OrdersCommand as C, OrdersEvent as E, TrackerChangeIgnored};
use crate::tasks::{Purpose, purpose};

pub mod feed;
pub mod project;

pub use feed::FeedState;
pub use project::ProjectState;

/// The orders domain as the platform runs it.
pub struct Orders;

pub type OrdersDecision = Decision<E, C>;

/// The key of the marketplace feed.
pub const FEED: &str = "feed";
/// The key tracker webhooks for issues that are not ours go to.
pub const UNKNOWN_ISSUES: &str = "unknown-issues";

/// The key of a project's entity.
pub fn project_key(project_id: i64) -> String {
    format!("project:{project_id}")
}

/// The state of one entity; which kind follows from its key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum Entity {
    #[default]
    New,
    Feed(FeedState),
    Project(Box<ProjectState>),
}

impl Aggregate for Orders {
    const NAME: &'static str = "orders";
    type Command = C;
    type Event = E;
    type State = Entity;

    fn entity_key(command: &C) -> String {
        match command {
            C::PollMarketplace(_) => FEED.to_string(),
            C::ReceiveMarketplaceEvent(c) => project_key(c.project_id),
            C::ReceiveTrackerChange(c) if c.project_id > 0 => project_key(c.project_id),
            C::ReceiveTrackerChange(_) => UNKNOWN_ISSUES.to_string(),
            C::TaskOutcome(o) => match purpose(&o.task_id) {
                Some((_, Purpose::Poll)) => FEED.to_string(),
                Some((project_id, _)) => project_key(project_id),
                // Not one of ours: the project entity of no project refuses it.
                None => project_key(0),
            },
        }
    }

    fn decide(entity: &Entity, command: &C, context: &Context) -> OrdersDecision {
        let empty_feed = FeedState::default();
        let feed = match entity {
            Entity::Feed(state) => state,
            _ => &empty_feed,
        };
        let empty_project = ProjectState::default();
        let project = match entity {
            Entity::Project(state) => state,
            _ => &empty_project,
        };
        match command {
            C::PollMarketplace(c) => feed.poll(c, context),
            C::ReceiveMarketplaceEvent(c) => project.receive_marketplace(c, context),
            C::ReceiveTrackerChange(c) if c.project_id > 0 => project.receive_tracker(c, context),
            C::ReceiveTrackerChange(c) => Decision::events(vec![E::TrackerChangeIgnored(TrackerChangeIgnored {
                project_id: 0,
                item_iid: 0,
                issue_id: c.issue_id.clone(),
                dedup_key: String::new(),
                webhook_event: webhook_event(&c.body),
                reason: format!("issue {} is not one the adapter made", c.issue_id),
                ts: context.now_micros,
            })]),
            C::TaskOutcome(o) => match purpose(&o.task_id) {
                Some((_, Purpose::Poll)) => feed.outcome(o, context),
                Some((project_id, purpose)) if project_id > 0 => project.outcome(project_id, &purpose, o, context),
                _ => Decision::invalid(format!("task {} is not one of the orders domain's", o.task_id)),
            },
        }
    }

    fn apply(entity: &mut Entity, event: &E) {
        match event {
            E::PollRequested(_) | E::PollQueued(_) | E::MarketplaceEventsRead(_) | E::PollFailed(_) => {
                if !matches!(entity, Entity::Feed(_)) {
                    *entity = Entity::Feed(FeedState::default());
                }
                if let Entity::Feed(state) = entity {
                    state.apply(event);
                }
            }
            // The feed records what it leaves aside too; only a project keeps it.
            E::MarketplaceEventIgnored(_) if matches!(entity, Entity::Feed(_)) => {}
            E::TrackerChangeIgnored(e) if e.project_id == 0 => {}
            _ => {
                if !matches!(entity, Entity::Project(_)) {
                    *entity = Entity::Project(Box::default());
                }
                if let Entity::Project(state) = entity {
                    state.apply(event);
                }
            }
        }
    }
}

/// The kind of a webhook body, for a record of it ("" when it has none).
pub(crate) fn webhook_event(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|body| body["webhookEvent"].as_str().map(str::to_string))
        .unwrap_or_default()
}
