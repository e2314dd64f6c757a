//! The tally's rules as given/when/then scenarios: the test kit's scenario module over a
//! domain that is not the ledger.

use clio_aggregate::{Cause, ForeignCommand};
use clio_testkit::scenario::{T0, World, given};
use clio_testkit::tally::*;

fn scheduled(id: &str, due: i64, amount: i64) -> TallyEvent {
    TallyEvent::Scheduled(Scheduled { command_id: id.into(), counter: "c".into(), due, amount })
}

fn fire(id: &str, due: i64) -> TallyCommand {
    TallyCommand::Fire(Fire { command_id: id.into(), counter: "c".into(), due })
}

#[test]
fn a_scheduled_deposit_sets_the_counters_timer() {
    let schedule = Schedule { command_id: "s1".into(), counter: "c".into(), delay_ms: 1_500, amount: 7 };
    given::<Tally>([])
        .when(TallyCommand::Schedule(schedule))
        .then([scheduled("s1", T0 + 1_500_000, 7)])
        .then_timer(Some((T0 + 1_500_000, fire("s1", T0 + 1_500_000))));
}

#[test]
fn a_due_timer_deposits_once_and_the_next_one_takes_its_place() {
    let (first, second) = (T0 + 1_000, T0 + 5_000);
    given::<Tally>([scheduled("late", second, 2), scheduled("early", first, 5)])
        .at(first)
        .when(fire("early", first))
        .then([
            TallyEvent::Fired(Fired { command_id: "early".into(), counter: "c".into(), due: first, amount: 5 }),
            TallyEvent::Balance(Balance { counter: "c".into(), total: 5 }),
        ])
        .then_timer(Some((second, fire("late", second))));
}

#[test]
fn a_timer_command_no_longer_due_is_ignored() {
    let fired = TallyEvent::Fired(Fired { command_id: "s1".into(), counter: "c".into(), due: T0, amount: 5 });
    given::<Tally>([scheduled("s1", T0, 5), fired]).when(fire("s1", T0)).then([]).then_timer(None);
    given::<Tally>([]).when(fire("never", T0)).then([]);
}

#[test]
fn an_export_sends_a_deposit_to_the_other_tally_keyed_by_its_cause() {
    let deposited = TallyEvent::Deposited(Deposited { command_id: "d".into(), counter: "c".into(), amount: 50 });
    let export = Export {
        command_id: "x".into(),
        counter: "c".into(),
        to_topic: "other.commands".into(),
        to_counter: "z".into(),
        amount: 20,
    };
    let key = format!("export:{}", Cause::new("tally", 0, 9).event_id(0));
    let deposit = Deposit { command_id: key.clone(), counter: "z".into(), amount: 20 };
    given::<Tally>([deposited.clone()])
        .at_offset(9)
        .when(TallyCommand::Export(export.clone()))
        .then([
            TallyEvent::Exported(Exported {
                command_id: "x".into(),
                counter: "c".into(),
                to_topic: "other.commands".into(),
                to_counter: "z".into(),
                amount: 20,
                deposit_id: key,
            }),
            TallyEvent::Balance(Balance { counter: "c".into(), total: 30 }),
        ])
        .then_foreign([
            ForeignCommand::to_topic("other.commands", "z", "clio.testkit.Deposit", &deposit).expect("value")
        ]);
    given::<Tally>([deposited])
        .when(TallyCommand::Export(Export { amount: 51, ..export }))
        .then([TallyEvent::Refused(Refused {
            command_id: "x".into(),
            counter: "c".into(),
            reason: "insufficient total".into(),
        })])
        .then_foreign([]);
}

#[test]
fn a_world_fires_timers_in_order_as_the_clock_moves() {
    let mut world = World::<Tally>::default();
    for (id, delay_ms, amount) in [("b", 2_000, 2), ("a", 1_000, 1), ("c", 9_000, 4)] {
        let schedule = Schedule { command_id: id.into(), counter: "c".into(), delay_ms, amount };
        world.send(TallyCommand::Schedule(schedule));
    }
    let fired: Vec<String> = world
        .advance_to(T0 + 5_000_000)
        .into_iter()
        .filter_map(|e| if let TallyEvent::Fired(f) = e { Some(f.command_id) } else { None })
        .collect();
    assert_eq!(fired, ["a", "b"]);
    assert_eq!(world.state("c").total, 3);
    assert_eq!(world.now, T0 + 5_000_000);
    world.advance_to(T0 + 10_000_000);
    assert_eq!(world.state("c").total, 7);
}
