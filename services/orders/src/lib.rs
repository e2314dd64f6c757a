//! The orders domain's pure core: a marketplace's orders (projects, their items and messages)
//! mirrored as issue-tracker issues and comments, and the tracker's status changes and comments
//! sent back (the EOSC Marketplace OMS JIRA adapter), with no echoes either way and no issue
//! made twice. Every call to the marketplace or the tracker is a retry task. No I/O.
//!
//! # Layout
//! - [`messages`]: the records of `orders.commands` and `orders.events`.
//! - [`entity`]: the aggregate ([`entity::Orders`]) over its two kinds of entity: the
//!   marketplace feed and a project.
//! - [`marketplace`]: a marketplace OMS event, read; its dedup key.
//! - [`tracker`]: a tracker webhook, read; the labels that find an issue again.
//! - [`tasks`]: the retry tasks the domain asks for, and their ids.
//! - [`fields`]: an issue's fields from a marketplace project or item (the handler's).
//! - [`config`]: the tracker mapping (`orders.toml`): statuses, custom fields, the adapter user.

pub mod config;
pub mod entity;
pub mod fields;
pub mod marketplace;
pub mod messages;
pub mod tasks;
pub mod tracker;
