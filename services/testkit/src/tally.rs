//! The tally: counters that take deposits, transfer to each other, and count arrivals.

use std::collections::BTreeSet;

use clio_aggregate::{Aggregate, Context, Decision, record_set};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
#[avro(namespace = "clio.testkit")]
pub struct Deposit {
    pub command_id: String,
    pub counter: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
#[avro(namespace = "clio.testkit")]
pub struct Transfer {
    pub command_id: String,
    pub counter: String,
    pub to: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
#[avro(namespace = "clio.testkit")]
pub struct Deposited {
    pub command_id: String,
    pub counter: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
#[avro(namespace = "clio.testkit")]
pub struct Withdrawn {
    pub command_id: String,
    pub counter: String,
    pub to: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
#[avro(namespace = "clio.testkit")]
pub struct Balance {
    pub counter: String,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
#[avro(namespace = "clio.testkit")]
pub struct Refused {
    pub command_id: String,
    pub counter: String,
    pub reason: String,
}

/// Counts one arrival; it has no idempotency key on purpose (see the .avsc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
#[avro(namespace = "clio.testkit")]
pub struct Bump {
    pub counter: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
#[avro(namespace = "clio.testkit")]
pub struct Bumped {
    pub counter: String,
    pub bumps: i64,
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum TallyCommand {
        Deposit(Deposit) = "clio.testkit.Deposit",
        Transfer(Transfer) = "clio.testkit.Transfer",
        Bump(Bump) = "clio.testkit.Bump",
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
        }
    }

    fn decide(state: &Counter, command: &TallyCommand, _context: &Context) -> Decision<TallyEvent, TallyCommand> {
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
        }
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
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::{AvroSchema, Schema};

    fn schema_of(name: &str) -> Schema {
        let text = schema_files().into_iter().find(|(n, _)| *n == name).unwrap().1;
        Schema::parse_str(text).unwrap()
    }

    #[test]
    fn rust_types_match_their_avsc_files() {
        let pairs = [
            ("clio.testkit.Deposit", Deposit::get_schema()),
            ("clio.testkit.Transfer", Transfer::get_schema()),
            ("clio.testkit.Deposited", Deposited::get_schema()),
            ("clio.testkit.Withdrawn", Withdrawn::get_schema()),
            ("clio.testkit.Balance", Balance::get_schema()),
            ("clio.testkit.Refused", Refused::get_schema()),
            ("clio.testkit.Bump", Bump::get_schema()),
            ("clio.testkit.Bumped", Bumped::get_schema()),
        ];
        for (name, derived) in pairs {
            assert_eq!(derived.canonical_form(), schema_of(name).canonical_form(), "{name} drifted from its .avsc");
        }
    }
}
