//! The tally: counters that take deposits, transfer to each other, count arrivals, deposit
//! later when a timer of their own fires, and export to a counter of another tally (a command
//! for another domain's topic).

use std::collections::BTreeSet;

use clio_aggregate::{Aggregate, Context, Decision, ForeignCommand, Timer, avro_records, record_set};
use serde::{Deserialize, Serialize};

avro_records! {
    namespace = "clio.testkit";
    pub struct Deposit {
        pub command_id: String,
        pub counter: String,
        pub amount: i64,
    }

    pub struct Transfer {
        pub command_id: String,
        pub counter: String,
        pub to: String,
        pub amount: i64,
    }

    pub struct Deposited {
        pub command_id: String,
        pub counter: String,
        pub amount: i64,
    }

    pub struct Withdrawn {
        pub command_id: String,
        pub counter: String,
        pub to: String,
        pub amount: i64,
    }

    pub struct Balance {
        pub counter: String,
        pub total: i64,
    }

    pub struct Refused {
        pub command_id: String,
        pub counter: String,
        pub reason: String,
    }

    /// Counts one arrival; it has no idempotency key on purpose (see the .avsc).
    pub struct Bump {
        pub counter: String,
    }

    pub struct Bumped {
        pub counter: String,
        pub bumps: i64,
    }

    /// Deposit later, when a timer of the counter's own fires.
    pub struct Schedule {
        pub command_id: String,
        pub counter: String,
        pub delay_ms: i64,
        pub amount: i64,
    }

    /// The command a counter's timer produces.
    pub struct Fire {
        pub command_id: String,
        pub counter: String,
        pub due: i64,
    }

    /// Move an amount to a counter of another tally.
    pub struct Export {
        pub command_id: String,
        pub counter: String,
        pub to_topic: String,
        pub to_counter: String,
        pub amount: i64,
    }

    pub struct Scheduled {
        pub command_id: String,
        pub counter: String,
        pub due: i64,
        pub amount: i64,
    }

    pub struct Fired {
        pub command_id: String,
        pub counter: String,
        pub due: i64,
        pub amount: i64,
    }

    pub struct Exported {
        pub command_id: String,
        pub counter: String,
        pub to_topic: String,
        pub to_counter: String,
        pub amount: i64,
        pub deposit_id: String,
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum TallyCommand {
        Deposit(Deposit) = "clio.testkit.Deposit",
        Transfer(Transfer) = "clio.testkit.Transfer",
        Bump(Bump) = "clio.testkit.Bump",
        Schedule(Schedule) = "clio.testkit.Schedule",
        Fire(Fire) = "clio.testkit.Fire",
        Export(Export) = "clio.testkit.Export",
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum TallyEvent {
        Deposited(Deposited) = "clio.testkit.Deposited",
        Withdrawn(Withdrawn) = "clio.testkit.Withdrawn",
        Balance(Balance) = "clio.testkit.Balance",
        Refused(Refused) = "clio.testkit.Refused",
        Bumped(Bumped) = "clio.testkit.Bumped",
        Scheduled(Scheduled) = "clio.testkit.Scheduled",
        Fired(Fired) = "clio.testkit.Fired",
        Exported(Exported) = "clio.testkit.Exported",
    }
}

/// One counter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub total: i64,
    /// Arrivals counted by Bump.
    pub bumps: i64,
    /// Idempotency keys already applied.
    pub seen: BTreeSet<String>,
    /// Scheduled deposits not made yet: (due, command id, counter, amount), earliest first;
    /// the first is the counter's timer.
    #[serde(default)]
    pub scheduled: BTreeSet<(i64, String, String, i64)>,
}

/// A counter named this makes `decide` panic: the runtime must dead-letter the command.
pub const EXPLODING_COUNTER: &str = "explode";

pub struct Tally;

impl Aggregate for Tally {
    const NAME: &'static str = "tally";
    type Command = TallyCommand;
    type Event = TallyEvent;
    type State = Counter;

    fn entity_key(command: &TallyCommand) -> String {
        match command {
            TallyCommand::Deposit(d) => d.counter.clone(),
            TallyCommand::Transfer(t) => t.counter.clone(),
            TallyCommand::Bump(b) => b.counter.clone(),
            TallyCommand::Schedule(s) => s.counter.clone(),
            TallyCommand::Fire(f) => f.counter.clone(),
            TallyCommand::Export(e) => e.counter.clone(),
        }
    }

    fn decide(state: &Counter, command: &TallyCommand, context: &Context) -> Decision<TallyEvent, TallyCommand> {
        let refuse = |command_id: &str, counter: &str, reason: &str| {
            Decision::events(vec![TallyEvent::Refused(Refused {
                command_id: command_id.into(),
                counter: counter.into(),
                reason: reason.into(),
            })])
        };
        match command {
            TallyCommand::Bump(b) => Decision::events(vec![TallyEvent::Bumped(Bumped {
                counter: b.counter.clone(),
                bumps: state.bumps + 1,
            })]),
            TallyCommand::Deposit(d) if state.seen.contains(&d.command_id) => Decision::nothing(),
            TallyCommand::Schedule(s) if state.seen.contains(&s.command_id) => Decision::nothing(),
            TallyCommand::Export(e) if state.seen.contains(&e.command_id) => Decision::nothing(),
            TallyCommand::Schedule(s) if s.amount <= 0 || s.delay_ms < 0 => {
                refuse(&s.command_id, &s.counter, "amount must be positive and the delay not negative")
            }
            TallyCommand::Schedule(s) => Decision::events(vec![TallyEvent::Scheduled(Scheduled {
                command_id: s.command_id.clone(),
                counter: s.counter.clone(),
                due: context.now_micros + s.delay_ms * 1_000,
                amount: s.amount,
            })]),
            TallyCommand::Fire(f) => {
                match state.scheduled.iter().find(|(due, id, _, _)| *due == f.due && *id == f.command_id) {
                    // Fired already (a timer produced twice), or never scheduled: nothing to do.
                    None => Decision::nothing(),
                    Some((_, _, _, amount)) => Decision::events(vec![
                        TallyEvent::Fired(Fired {
                            command_id: f.command_id.clone(),
                            counter: f.counter.clone(),
                            due: f.due,
                            amount: *amount,
                        }),
                        TallyEvent::Balance(Balance { counter: f.counter.clone(), total: state.total + amount }),
                    ]),
                }
            }
            TallyCommand::Export(e) if e.amount <= 0 || e.amount > state.total => {
                refuse(&e.command_id, &e.counter, "insufficient total")
            }
            TallyCommand::Export(e) => {
                // The other tally's idempotency key, from this command's place on the log: a
                // re-run after a crash sends the same key, and the second deposit is a no-op.
                let deposit_id = format!("export:{}", context.cause.event_id(0));
                let deposit =
                    Deposit { command_id: deposit_id.clone(), counter: e.to_counter.clone(), amount: e.amount };
                let foreign = ForeignCommand::to_topic(&e.to_topic, &e.to_counter, "clio.testkit.Deposit", &deposit);
                let Ok(foreign) = foreign else {
                    return Decision::invalid("the deposit for the other tally does not serialise");
                };
                Decision {
                    events: vec![
                        TallyEvent::Exported(Exported {
                            command_id: e.command_id.clone(),
                            counter: e.counter.clone(),
                            to_topic: e.to_topic.clone(),
                            to_counter: e.to_counter.clone(),
                            amount: e.amount,
                            deposit_id,
                        }),
                        TallyEvent::Balance(Balance { counter: e.counter.clone(), total: state.total - e.amount }),
                    ],
                    commands: Vec::new(),
                    foreign: vec![foreign],
                    invalid: None,
                }
            }
            TallyCommand::Transfer(t) if state.seen.contains(&t.command_id) => Decision::nothing(),
            TallyCommand::Deposit(d) if d.counter == EXPLODING_COUNTER => {
                panic!("the tally cannot count {EXPLODING_COUNTER}")
            }
            TallyCommand::Deposit(d) if d.command_id.is_empty() => Decision::invalid("command_id must not be empty"),
            TallyCommand::Deposit(d) if d.amount <= 0 => refuse(&d.command_id, &d.counter, "amount must be positive"),
            TallyCommand::Deposit(d) => Decision::events(vec![
                TallyEvent::Deposited(d_event(d)),
                TallyEvent::Balance(Balance { counter: d.counter.clone(), total: state.total + d.amount }),
            ]),
            TallyCommand::Transfer(t) if t.to == t.counter => {
                refuse(&t.command_id, &t.counter, "cannot transfer to itself")
            }
            TallyCommand::Transfer(t) if t.amount <= 0 || t.amount > state.total => {
                refuse(&t.command_id, &t.counter, "insufficient total")
            }
            TallyCommand::Transfer(t) => Decision {
                events: vec![
                    TallyEvent::Withdrawn(Withdrawn {
                        command_id: t.command_id.clone(),
                        counter: t.counter.clone(),
                        to: t.to.clone(),
                        amount: t.amount,
                    }),
                    TallyEvent::Balance(Balance { counter: t.counter.clone(), total: state.total - t.amount }),
                ],
                commands: vec![(
                    t.to.clone(),
                    TallyCommand::Deposit(Deposit {
                        command_id: format!("{}:credit", t.command_id),
                        counter: t.to.clone(),
                        amount: t.amount,
                    }),
                )],
                foreign: Vec::new(),
                invalid: None,
            },
        }
    }

    fn apply(state: &mut Counter, event: &TallyEvent) {
        match event {
            TallyEvent::Deposited(d) => {
                state.total += d.amount;
                state.seen.insert(d.command_id.clone());
            }
            TallyEvent::Withdrawn(w) => {
                state.total -= w.amount;
                state.seen.insert(w.command_id.clone());
            }
            TallyEvent::Refused(r) => {
                state.seen.insert(r.command_id.clone());
            }
            TallyEvent::Bumped(b) => state.bumps = b.bumps,
            TallyEvent::Balance(_) => {}
            TallyEvent::Scheduled(s) => {
                state.seen.insert(s.command_id.clone());
                state.scheduled.insert((s.due, s.command_id.clone(), s.counter.clone(), s.amount));
            }
            TallyEvent::Fired(f) => {
                state.scheduled.retain(|(due, id, _, _)| !(*due == f.due && *id == f.command_id));
                state.total += f.amount;
            }
            TallyEvent::Exported(e) => {
                state.total -= e.amount;
                state.seen.insert(e.command_id.clone());
            }
        }
    }

    fn timer(state: &Counter) -> Option<Timer<TallyCommand>> {
        let (due, command_id, counter, _) = state.scheduled.first()?;
        let fire = Fire { command_id: command_id.clone(), counter: counter.clone(), due: *due };
        Some(Timer { due_micros: *due, command: TallyCommand::Fire(fire) })
    }
}

fn d_event(d: &Deposit) -> Deposited {
    Deposited { command_id: d.command_id.clone(), counter: d.counter.clone(), amount: d.amount }
}

/// The schema files of the tally, by full name.
pub fn schema_files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("clio.testkit.Deposit", include_str!("../schemas/Deposit.avsc")),
        ("clio.testkit.Transfer", include_str!("../schemas/Transfer.avsc")),
        ("clio.testkit.Deposited", include_str!("../schemas/Deposited.avsc")),
        ("clio.testkit.Withdrawn", include_str!("../schemas/Withdrawn.avsc")),
        ("clio.testkit.Balance", include_str!("../schemas/Balance.avsc")),
        ("clio.testkit.Refused", include_str!("../schemas/Refused.avsc")),
        ("clio.testkit.Bump", include_str!("../schemas/Bump.avsc")),
        ("clio.testkit.Bumped", include_str!("../schemas/Bumped.avsc")),
        ("clio.testkit.Schedule", include_str!("../schemas/Schedule.avsc")),
        ("clio.testkit.Fire", include_str!("../schemas/Fire.avsc")),
        ("clio.testkit.Export", include_str!("../schemas/Export.avsc")),
        ("clio.testkit.Scheduled", include_str!("../schemas/Scheduled.avsc")),
        ("clio.testkit.Fired", include_str!("../schemas/Fired.avsc")),
        ("clio.testkit.Exported", include_str!("../schemas/Exported.avsc")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::AvroSchema;

    #[test]
    fn rust_types_match_their_avsc_files() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas"));
        crate::schemas::assert_types_match_files(
            dir,
            &[
                ("Deposit", Deposit::get_schema()),
                ("Transfer", Transfer::get_schema()),
                ("Deposited", Deposited::get_schema()),
                ("Withdrawn", Withdrawn::get_schema()),
                ("Balance", Balance::get_schema()),
                ("Refused", Refused::get_schema()),
                ("Bump", Bump::get_schema()),
                ("Bumped", Bumped::get_schema()),
                ("Schedule", Schedule::get_schema()),
                ("Fire", Fire::get_schema()),
                ("Export", Export::get_schema()),
                ("Scheduled", Scheduled::get_schema()),
                ("Fired", Fired::get_schema()),
                ("Exported", Exported::get_schema()),
            ],
        );
    }
}
