//! Scenario tests over any [`Aggregate`], with no I/O: `decide` and `apply` run as the
//! processor runs them.
//!
//! - [`given`]`(events).when(command).then(events)`: one entity, its history, one command.
//! - [`World`]: many entities; commands a decision sends to other entities wait in
//!   `in_flight` and are delivered in order (or one by one, in any order, by the test), so a
//!   saga across partitions plays out as it would on the log.
//!
//! ```
//! use clio_testkit::scenario::given;
//! use clio_testkit::tally::*;
//! let deposited = Deposited { command_id: "d1".into(), counter: "c".into(), amount: 5 };
//! given::<Tally>([TallyEvent::Deposited(deposited)])
//!     .when(TallyCommand::Deposit(Deposit { command_id: "d1".into(), counter: "c".into(), amount: 5 }))
//!     .then([]); // a repeated deposit: nothing
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;

use clio_aggregate::{Aggregate, Cause, Context, Decision, ForeignCommand};

/// 2026-11-22T00:00:00Z in microseconds: the default clock of scenarios.
pub const T0: i64 = 1_795_305_600_000_000;

/// An entity's history, before the command.
pub struct Given<A: Aggregate> {
    state: A::State,
    now_micros: i64,
    offset: i64,
}

/// The entity whose state `events` fold into.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let mut state = A::State::default();
    events.into_iter().for_each(|event| A::apply(&mut state, &event));
    Given { state, now_micros: T0, offset: 0 }
}

impl<A: Aggregate> Given<A> {
    /// Decides at `now_micros` (default [`T0`]).
    pub fn at(mut self, now_micros: i64) -> Self {
        self.now_micros = now_micros;
        self
    }

    /// Decides as if the command sat at `offset` of partition 0 (its cause).
    pub fn at_offset(mut self, offset: i64) -> Self {
        self.offset = offset;
        self
    }

    pub fn when(self, command: A::Command) -> Then<A> {
        let context = Context { now_micros: self.now_micros, cause: Cause::new(A::NAME, 0, self.offset) };
        let decision = A::decide(&self.state, &command, &context);
        let mut state = self.state;
        decision.events.iter().for_each(|event| A::apply(&mut state, event));
        Then { decision, state }
    }
}

/// What the command decided, and the entity's state after it.
pub struct Then<A: Aggregate> {
    pub decision: Decision<A::Event, A::Command>,
    pub state: A::State,
}

impl<A: Aggregate> Then<A>
where
    A::Event: PartialEq + Debug,
    A::Command: PartialEq + Debug,
{
    /// The events, exactly.
    #[track_caller]
    pub fn then(&self, events: impl IntoIterator<Item = A::Event>) -> &Self {
        let expected: Vec<A::Event> = events.into_iter().collect();
        assert_eq!(self.decision.events, expected, "events");
        assert_eq!(self.decision.invalid, None, "the command was refused as malformed");
        self
    }

    /// The commands for other entities, exactly.
    #[track_caller]
    pub fn then_commands(&self, commands: impl IntoIterator<Item = (String, A::Command)>) -> &Self {
        let expected: Vec<(String, A::Command)> = commands.into_iter().collect();
        assert_eq!(self.decision.commands, expected, "commands for other entities");
        self
    }

    /// The commands for other domains, exactly.
    #[track_caller]
    pub fn then_foreign(&self, commands: impl IntoIterator<Item = ForeignCommand>) -> &Self {
        let expected: Vec<ForeignCommand> = commands.into_iter().collect();
        assert_eq!(self.decision.foreign, expected, "commands for other domains");
        self
    }

    /// Refused as malformed (a dead letter), with a reason containing `reason`.
    #[track_caller]
    pub fn then_invalid(&self, reason: &str) -> &Self {
        let invalid = self.decision.invalid.as_deref().unwrap_or_default();
        assert!(invalid.contains(reason), "expected a malformed command ({reason}), got {:?}", self.decision);
        self
    }

    /// The entity's timer after the command: when it is due and its command.
    #[track_caller]
    pub fn then_timer(&self, expected: Option<(i64, A::Command)>) -> &Self {
        let timer = A::timer(&self.state).map(|t| (t.due_micros, t.command));
        assert_eq!(timer, expected, "the entity's timer");
        self
    }
}

/// Many entities of one aggregate, deciding as the runtime does.
pub struct World<A: Aggregate> {
    pub entities: BTreeMap<String, A::State>,
    /// The clock of the next decision.
    pub now: i64,
    /// Every event, in decision order.
    pub events: Vec<A::Event>,
    /// Each decision's events with their entity, in decision order: what the entity's partition
    /// holds, outcome by outcome.
    pub outcomes: Vec<(String, Vec<A::Event>)>,
    /// The reasons of malformed commands.
    pub invalid: Vec<String>,
    /// Commands for other entities, not delivered yet.
    pub in_flight: VecDeque<A::Command>,
    /// Commands for other domains, in the order they were sent.
    pub foreign: Vec<ForeignCommand>,
    /// The offset of the last command decided (each decision takes the next one as its cause).
    pub offset: i64,
}

impl<A: Aggregate> Default for World<A> {
    fn default() -> Self {
        Self {
            entities: BTreeMap::new(),
            now: T0,
            events: Vec::new(),
            outcomes: Vec::new(),
            invalid: Vec::new(),
            in_flight: VecDeque::new(),
            foreign: Vec::new(),
            offset: 0,
        }
    }
}

impl<A: Aggregate> World<A>
where
    A::Event: Clone,
{
    /// The state of one entity (the default when it has none).
    pub fn state(&self, key: &str) -> A::State {
        self.entities.get(key).cloned().unwrap_or_default()
    }

    /// Decides one command and applies its events; commands for other entities wait in
    /// `in_flight`. Returns the events.
    pub fn decide(&mut self, command: A::Command) -> Vec<A::Event> {
        self.offset += 1;
        let key = A::entity_key(&command);
        let context =
            Context { now_micros: self.now, cause: Cause::new(format!("{}.commands", A::NAME), 0, self.offset) };
        let state = self.entities.entry(key.clone()).or_default();
        let decision = A::decide(state, &command, &context);
        for event in &decision.events {
            A::apply(state, event);
        }
        if let Some(reason) = decision.invalid {
            self.invalid.push(reason);
        }
        self.in_flight.extend(decision.commands.into_iter().map(|(_, c)| c));
        self.foreign.extend(decision.foreign);
        self.events.extend(decision.events.iter().cloned());
        if !decision.events.is_empty() {
            self.outcomes.push((key, decision.events.clone()));
        }
        decision.events
    }

    /// Sends a command and delivers everything it causes, in order; returns every event.
    pub fn send(&mut self, command: A::Command) -> Vec<A::Event> {
        let mut out = self.decide(command);
        while let Some(next) = self.in_flight.pop_front() {
            out.extend(self.decide(next));
        }
        out
    }

    /// Lets the clock reach `now` and fires every timer due by then, earliest first, as the
    /// runtime would (each at its own due instant); returns their events.
    pub fn advance_to(&mut self, now: i64) -> Vec<A::Event> {
        let mut out = Vec::new();
        for _ in 0..100_000 {
            let due = self
                .entities
                .values()
                .filter_map(|state| A::timer(state))
                .filter(|timer| timer.due_micros <= now)
                .min_by_key(|timer| timer.due_micros);
            let Some(timer) = due else {
                self.now = now;
                return out;
            };
            self.now = timer.due_micros;
            out.extend(self.send(timer.command));
        }
        panic!("a timer fired 100,000 times without moving: its command must change the entity's timer")
    }
}
