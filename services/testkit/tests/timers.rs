//! Timers and commands for other domains, run by the generic processor with the tally against
//! a real broker. (The crash test in processor.rs kills the processor while timers are due.)

use std::time::Duration;

use clio_runtime::codec::Codec;
use clio_runtime::headers;
use clio_runtime::processor::timer_command_id;
use clio_testkit::harness::TestEnv;
use clio_testkit::records::{eventually, produce, read_all, tally_events};
use clio_testkit::running::{Running, deposit, export, schedule};
use clio_testkit::tally::{Fire, TallyCommand, TallyEvent};
use rdkafka::Message;

fn scheduled_and_fired(events: &[(i32, String, String, TallyEvent)], id: &str) -> (Vec<i64>, Vec<i64>) {
    let scheduled = events
        .iter()
        .filter_map(|(_, _, _, e)| match e {
            TallyEvent::Scheduled(s) if s.command_id == id => Some(s.due),
            _ => None,
        })
        .collect();
    let fired = events
        .iter()
        .filter_map(|(_, _, _, e)| match e {
            TallyEvent::Fired(f) if f.command_id == id => Some(f.due),
            _ => None,
        })
        .collect();
    (scheduled, fired)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_fires_its_command_once_when_due_even_after_a_restart_with_nothing_else_to_do() {
    let env = TestEnv::start().await.expect("env");
    let topics = env.tally_topics(&env.unique("timer"), 2).await.expect("topics");
    let codec = Codec::new(&env.registry_url);
    let running = Running::start(&env, &topics);
    produce(
        &env.kafka,
        &codec,
        &topics.commands,
        &[schedule("now", "tina", 0, 5), schedule("later", "tina", 3_000, 7)],
    )
    .await;
    assert!(
        eventually(60, async || {
            let events = tally_events(&env.kafka, &codec, &topics.events).await;
            scheduled_and_fired(&events, "now").1.len() == 1 && scheduled_and_fired(&events, "later").0.len() == 1
        })
        .await,
        "a timer due at once fires at once"
    );
    // Stopped before "later" is due; the next processor has no command to read, only the timer.
    running.stop().await;
    let running = Running::start(&env, &topics);
    let mut events = Vec::new();
    assert!(
        eventually(60, async || {
            events = tally_events(&env.kafka, &codec, &topics.events).await;
            !scheduled_and_fired(&events, "later").1.is_empty()
        })
        .await,
        "the restored timer fired"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (scheduled, fired) = scheduled_and_fired(&tally_events(&env.kafka, &codec, &topics.events).await, "later");
    assert_eq!(fired, scheduled, "fired once, for the instant it was scheduled");
    let due = scheduled[0];

    // The command it produced: the tally's own Fire, on tina's partition, due time and id in
    // its headers, produced no earlier than due.
    let commands = read_all(&env.kafka, &topics.commands).await;
    let fire = commands
        .iter()
        .find(|m| headers::get(*m, headers::TIMER_DUE) == Some(due.to_string().as_str()))
        .expect("the timer's command is on the commands topic");
    assert_eq!(fire.key(), Some(&b"tina"[..]));
    assert_eq!(headers::get(fire, headers::EVENT_ID), Some(timer_command_id(&topics.commands, "tina", due).as_str()));
    assert!(fire.timestamp().to_millis().unwrap_or(0) * 1_000 >= due - 1_000, "not produced before it was due");

    // The same timer command again (as a crash between producing and deciding would send it):
    // no second effect.
    let again = TallyCommand::Fire(Fire { command_id: "later".into(), counter: "tina".into(), due });
    produce(&env.kafka, &codec, &topics.commands, &[("tina".to_string(), again)]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events = tally_events(&env.kafka, &codec, &topics.events).await;
    assert_eq!(scheduled_and_fired(&events, "later").1.len(), 1, "a repeated timer command changes nothing");
    let total = events.iter().rev().find_map(|(_, _, _, e)| match e {
        TallyEvent::Balance(b) => Some(b.total),
        _ => None,
    });
    assert_eq!(total, Some(12));
    let counters = running.stop().await;
    assert_eq!(counters.timers, 1, "the restarted processor produced the one timer it found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_sends_a_command_to_another_domain_with_a_key_from_its_cause() {
    let env = TestEnv::start().await.expect("env");
    let here = env.tally_topics(&env.unique("here"), 2).await.expect("topics");
    let there = env.tally_topics(&env.unique("there"), 3).await.expect("topics");
    let codec = Codec::new(&env.registry_url);
    let _here = Running::start(&env, &here);
    let _there = Running::start(&env, &there);
    produce(&env.kafka, &codec, &here.commands, &[deposit("d1", "amy", 50)]).await;
    produce(&env.kafka, &codec, &here.commands, &[export("x1", "amy", &there.commands, "ben", 20)]).await;

    let mut arrived = None;
    assert!(
        eventually(60, async || {
            arrived =
                tally_events(&env.kafka, &codec, &there.events).await.into_iter().find_map(|(_, _, _, e)| match e {
                    TallyEvent::Deposited(d) if d.counter == "ben" => Some(d),
                    _ => None,
                });
            arrived.is_some()
        })
        .await,
        "the other tally received the deposit"
    );
    let arrived = arrived.expect("found");
    assert_eq!(arrived.amount, 20);
    let exported = tally_events(&env.kafka, &codec, &here.events)
        .await
        .into_iter()
        .find_map(|(_, _, _, e)| match e {
            TallyEvent::Exported(x) => Some(x),
            _ => None,
        })
        .expect("the export is an event here");
    assert_eq!(exported.deposit_id, arrived.command_id, "the key the other side dedupes on");

    // Its record on the other domain's topic names its cause: the export command here (amy's
    // second command), and carries an id derived from it.
    let amy = clio_aggregate::partition_for_key(b"amy", 2);
    let foreign = read_all(&env.kafka, &there.commands).await;
    assert_eq!(foreign.len(), 1);
    let cause = format!("{}/{amy}/1", here.commands);
    assert_eq!(headers::get(&foreign[0], headers::CAUSE), Some(cause.as_str()));
    assert_eq!(headers::get(&foreign[0], headers::RECORD_TYPE), Some("clio.testkit.Deposit"));
    assert_eq!(foreign[0].key(), Some(&b"ben"[..]));
    assert_eq!(foreign[0].partition(), clio_aggregate::partition_for_key(b"ben", 3), "placed by the key's hash");

    // Sent twice (as a re-run after a crash would): one deposit there.
    let repeat = deposit(&arrived.command_id, "ben", 20);
    produce(&env.kafka, &codec, &there.commands, &[repeat]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deposits = tally_events(&env.kafka, &codec, &there.events)
        .await
        .into_iter()
        .filter(|(_, _, _, e)| matches!(e, TallyEvent::Deposited(d) if d.counter == "ben"))
        .count();
    assert_eq!(deposits, 1);
}
