//! The retry domain's pure core: retry tasks as events. A task is an outbound call (a
//! merchant's join API, a caller's status endpoint, any HTTP request) that the platform
//! performs until it succeeds, fails for good or is cancelled, under a policy of its type.
//! No I/O: the worker in the plug performs runs and reports them as commands.
//!
//! # Layout
//! - [`messages`]: the records of `retry.commands` and `retry.events`, and `TaskOutcome`.
//! - [`classify`]: error classes, and the tables that map responses to them.
//! - [`policy`]: task types and policies (`task-types.toml`): what is retried, and when.
//! - [`task`]: a task's state, its status, and `apply`.
//! - [`slot`]: slots, which serialise a type's runs per exclusive key value and count failed
//!   logins.
//! - [`decide`]: the state machine, over both kinds of entity ([`decide::Entity`]).

pub mod classify;
pub mod decide;
pub mod messages;
pub mod policy;
pub mod slot;
pub mod task;
