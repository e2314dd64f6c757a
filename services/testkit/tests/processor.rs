//! The generic processor of clio-runtime, run with the tally conformance domain, against a
//! real broker. The crash test runs this package's `tally-processor` binary as a child.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use clio_aggregate::{Aggregate, Cause, Context, partition_for_key};
use clio_runtime::codec::Codec;
use clio_runtime::headers;
use clio_runtime::processor::ProcessorTopics;
use clio_testkit::harness::TestEnv;
use clio_testkit::running::{Running, deposit, schedule, transfer};
use clio_testkit::tally::{Bump, Counter, EXPLODING_COUNTER, Tally, TallyCommand, TallyEvent};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::Message;

use clio_testkit::records::{eventually, produce, produce_raw, read_all, tally_events};

/// Two counter names whose keys hash to different partitions.
fn on_different_partitions(partitions: i32) -> (String, String) {
    let a = "alice".to_string();
    let home = partition_for_key(a.as_bytes(), partitions);
    let b = (0..)
        .map(|i| format!("bob{i}"))
        .find(|b| partition_for_key(b.as_bytes(), partitions) != home)
        .expect("some key");
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_carry_ids_derived_from_their_command_and_a_repeated_command_has_no_effect() {
    let env = TestEnv::start().await.expect("env");
    let topics = env.tally_topics(&env.unique("ids"), 2).await.expect("topics");
    let codec = Codec::new(&env.registry_url);
    let running = Running::start(&env, &topics);
    produce(
        &env.kafka,
        &codec,
        &topics.commands,
        &[
            deposit("d1", "c", 10),
            deposit("d2", "c", 5),
            deposit("d1", "c", 10),
            ("c".to_string(), TallyCommand::Bump(Bump { counter: "c".into() })),
        ],
    )
    .await;

    assert!(
        eventually(60, async || tally_events(&env.kafka, &codec, &topics.events).await.len() >= 5).await,
        "events arrive"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counters = running.stop().await;
    let events = tally_events(&env.kafka, &codec, &topics.events).await;
    assert_eq!(events.len(), 5, "two deposits make two events each; the repeat none; the bump one: {events:?}");
    assert_eq!(counters.commands, 4);

    let commands = read_all(&env.kafka, &topics.commands).await;
    let raw_events = read_all(&env.kafka, &topics.events).await;
    let (bumped, deposited) = raw_events.split_last().expect("events");
    let bump = Cause::new(&topics.commands, commands[3].partition(), commands[3].offset());
    assert_eq!(headers::get(bumped, headers::EVENT_ID), Some(bump.event_id(0).as_str()));
    assert_eq!(
        (headers::get(bumped, headers::EVENT_INDEX), headers::get(bumped, headers::EVENT_COUNT)),
        (None, None),
        "a one-event outcome leaves its position out"
    );
    for (index, event) in deposited.iter().enumerate() {
        let command = &commands[index / 2];
        let cause = Cause::new(&topics.commands, command.partition(), command.offset());
        assert_eq!(headers::get(event, headers::CAUSE), Some(cause.to_string().as_str()));
        assert_eq!(headers::get(event, headers::EVENT_ID), Some(cause.event_id(index % 2).as_str()));
        assert_eq!(headers::get(event, headers::EVENT_INDEX), Some((index % 2).to_string().as_str()));
        assert_eq!(headers::get(event, headers::EVENT_COUNT), Some("2"));
    }
    match &events[3].3 {
        TallyEvent::Balance(balance) => assert_eq!(balance.total, 15),
        other => panic!("expected the balance after the second deposit, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_credits_the_recipient_through_a_command_on_its_own_partition() {
    let env = TestEnv::start().await.expect("env");
    let topics = env.tally_topics(&env.unique("saga"), 4).await.expect("topics");
    let codec = Codec::new(&env.registry_url);
    let (alice, bob) = on_different_partitions(4);
    let _running = Running::start(&env, &topics);
    produce(&env.kafka, &codec, &topics.commands, &[deposit("d1", &alice, 100), transfer("t1", &alice, &bob, 30)])
        .await;

    let credited = eventually(60, async || {
        tally_events(&env.kafka, &codec, &topics.events).await.iter().any(|(partition, _, key, event)| {
            *key == bob
                && *partition == partition_for_key(bob.as_bytes(), 4)
                && matches!(event, TallyEvent::Balance(b) if b.total == 30)
        })
    })
    .await;
    assert!(credited, "bob's partition shows the credit");
    let events = tally_events(&env.kafka, &codec, &topics.events).await;
    let alice_total = events.iter().rev().find_map(|(_, _, key, e)| match e {
        TallyEvent::Balance(b) if *key == alice => Some(b.total),
        _ => None,
    });
    assert_eq!(alice_total, Some(70));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_cannot_be_handled_become_dead_letters_and_the_next_record_is_processed() {
    let env = TestEnv::start().await.expect("env");
    let topics = env.tally_topics(&env.unique("dlq"), 1).await.expect("topics");
    let codec = Codec::new(&env.registry_url);
    let _running = Running::start(&env, &topics);

    produce_raw(
        &env.kafka,
        &topics.commands,
        Some(0),
        Some("c"),
        b"certainly not avro",
        &[("traceparent", "00-abc-def-01")],
    )
    .await;
    produce_raw(&env.kafka, &topics.commands, Some(0), Some("c"), &[0, 0x7f, 0xff, 0xff, 0xf0, 2, 4], &[]).await;
    produce(&env.kafka, &codec, &topics.commands, &[deposit("boom", EXPLODING_COUNTER, 1)]).await;
    let mismatched = codec.encode(&topics.commands, &deposit("m1", "somebody", 1).1).await.expect("encode");
    produce_raw(&env.kafka, &topics.commands, Some(0), Some("someone-else"), &mismatched, &[]).await;
    produce(&env.kafka, &codec, &topics.commands, &[deposit("", "c", 3)]).await;
    produce(&env.kafka, &codec, &topics.commands, &[deposit("good", "c", 7)]).await;

    assert!(
        eventually(60, async || read_all(&env.kafka, &topics.dead_letters).await.len() >= 5).await,
        "five dead letters"
    );
    assert!(
        eventually(30, async || tally_events(&env.kafka, &codec, &topics.events)
            .await
            .iter()
            .any(|(_, _, _, e)| matches!(e, TallyEvent::Deposited(d) if d.command_id == "good")))
        .await,
        "the good record after the bad ones is processed"
    );
    let letters = read_all(&env.kafka, &topics.dead_letters).await;
    let reasons: Vec<String> =
        letters.iter().map(|m| headers::get(m, headers::DLQ_REASON).unwrap_or_default().to_string()).collect();
    assert!(reasons[0].contains("not Confluent-framed Avro"), "{reasons:?}");
    assert!(reasons[1].contains("schema id 2147483632"), "{reasons:?}");
    assert!(reasons[2].contains("the domain failed") && reasons[2].contains("cannot count explode"), "{reasons:?}");
    assert!(reasons[3].contains("does not match the command's entity"), "{reasons:?}");
    assert_eq!(reasons[4], "invalid command: command_id must not be empty", "the domain's own reason");
    let first = &letters[0];
    assert_eq!(first.payload(), Some(&b"certainly not avro"[..]), "the bytes are kept unchanged");
    assert_eq!(headers::get(first, headers::DLQ_TOPIC), Some(topics.commands.as_str()));
    assert_eq!(headers::get(first, headers::DLQ_PARTITION), Some("0"));
    assert_eq!(headers::get(first, headers::DLQ_OFFSET), Some("0"));
    assert_eq!(headers::get(first, "traceparent"), Some("00-abc-def-01"), "original headers are kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_on_the_wrong_partition_is_forwarded_to_the_partition_its_key_hashes_to() {
    let env = TestEnv::start().await.expect("env");
    let topics = env.tally_topics(&env.unique("fwd"), 4).await.expect("topics");
    let codec = Codec::new(&env.registry_url);
    let home = partition_for_key(b"carol", 4);
    let wrong = (home + 1) % 4;
    let _running = Running::start(&env, &topics);
    let payload = codec.encode(&topics.commands, &deposit("f1", "carol", 9).1).await.expect("encode");
    produce_raw(&env.kafka, &topics.commands, Some(wrong), Some("carol"), &payload, &[]).await;

    assert!(
        eventually(60, async || tally_events(&env.kafka, &codec, &topics.events)
            .await
            .iter()
            .any(|(p, _, k, _)| *p == home && k == "carol"))
        .await,
        "the deposit is decided on carol's own partition"
    );
    let commands = read_all(&env.kafka, &topics.commands).await;
    let forwarded: Vec<_> = commands.iter().filter(|m| m.partition() == home).collect();
    assert_eq!(forwarded.len(), 1);
    let from = format!("{}/{wrong}/0", topics.commands);
    assert_eq!(headers::get(forwarded[0], headers::FORWARDED_FROM), Some(from.as_str()));
    let events = tally_events(&env.kafka, &codec, &topics.events).await;
    assert!(events.iter().all(|(p, _, _, _)| *p == home), "nothing is decided on the wrong partition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_processor_continues_from_its_snapshots_and_the_events_after_them() {
    let env = TestEnv::start().await.expect("env");
    let topics = env.tally_topics(&env.unique("restore"), 2).await.expect("topics");
    let codec = Codec::new(&env.registry_url);
    let running = Running::start(&env, &topics);
    produce(&env.kafka, &codec, &topics.commands, &[deposit("a", "dora", 40), deposit("b", "dora", 2)]).await;
    assert!(eventually(60, async || tally_events(&env.kafka, &codec, &topics.events).await.len() >= 4).await);
    running.stop().await;
    assert!(!read_all(&env.kafka, &topics.state).await.is_empty(), "snapshots were written");

    let running = Running::start(&env, &topics);
    // "a" again must be recognised as done from the restored state; "c" is new.
    produce(&env.kafka, &codec, &topics.commands, &[deposit("a", "dora", 40), deposit("c", "dora", 1)]).await;
    assert!(eventually(60, async || tally_events(&env.kafka, &codec, &topics.events).await.len() >= 6).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    running.stop().await;
    let events = tally_events(&env.kafka, &codec, &topics.events).await;
    assert_eq!(events.len(), 6, "the repeated command had no effect after the restart");
    assert!(matches!(&events[5].3, TallyEvent::Balance(b) if b.total == 43), "{:?}", events[5]);
}

/// The outcome a clean run gives: the pure domain folded over the command log, partition by
/// partition, with the same causes the processor sees.
async fn clean_replay(
    env: &TestEnv,
    codec: &Codec,
    topics: &ProcessorTopics,
) -> BTreeMap<i32, Vec<(String, String, TallyEvent)>> {
    let mut states: HashMap<(i32, String), Counter> = HashMap::new();
    let mut expected: BTreeMap<i32, Vec<(String, String, TallyEvent)>> = BTreeMap::new();
    for message in read_all(&env.kafka, &topics.commands).await {
        let command: TallyCommand =
            codec.decode_as(message.payload().expect("payload")).await.expect("command decodes");
        let key = Tally::entity_key(&command);
        let cause = Cause::new(message.topic(), message.partition(), message.offset());
        // As the runtime does: a timer's command is decided at the instant it was due.
        let now_micros = headers::get(&message, headers::TIMER_DUE)
            .and_then(|due| due.parse().ok())
            .unwrap_or(message.timestamp().to_millis().unwrap_or(0) * 1000);
        let context = Context { now_micros, cause: cause.clone() };
        let state = states.entry((message.partition(), key.clone())).or_default();
        let decision = Tally::decide(state, &command, &context);
        for (index, event) in decision.events.into_iter().enumerate() {
            Tally::apply(state, &event);
            expected.entry(message.partition()).or_default().push((cause.event_id(index), key.clone(), event));
        }
    }
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_processor_at_random_moments_leaves_exactly_the_log_of_a_clean_run() {
    let env = TestEnv::start().await.expect("env");
    let prefix = env.unique("crash");
    let partitions = 4;
    let topics = env.tally_topics(&prefix, partitions).await.expect("topics");
    let codec = Codec::new(&env.registry_url);
    let mut rng = StdRng::seed_from_u64(20261122);
    let counters: Vec<String> = (0..24).map(|i| format!("counter-{i}")).collect();

    // The command stream: deposits, transfers between counters (often across partitions),
    // repeats of earlier commands (an integrator's retries), bumps, which have no
    // idempotency key: only the runtime keeps a redelivered bump from counting twice, and
    // deposits scheduled for later, which timers in the counters' state fire while the
    // processor is being killed.
    let mut stream: Vec<(String, TallyCommand)> = Vec::new();
    for n in 0..900 {
        let counter = &counters[rng.random_range(0..counters.len())];
        let command = if n > 50 && rng.random_bool(0.06) {
            stream[rng.random_range(0..stream.len())].clone()
        } else if rng.random_bool(0.1) {
            schedule(&format!("s{n}"), counter, rng.random_range(0..4_000), rng.random_range(1..100))
        } else if rng.random_bool(0.25) {
            (counter.clone(), TallyCommand::Bump(Bump { counter: counter.clone() }))
        } else if rng.random_bool(0.55) {
            deposit(&format!("d{n}"), counter, rng.random_range(1..100))
        } else {
            let to = &counters[rng.random_range(0..counters.len())];
            transfer(&format!("t{n}"), counter, to, rng.random_range(1..60))
        };
        stream.push(command);
    }
    let producing = {
        let (kafka, codec, topic, stream) = (env.kafka.clone(), codec.clone(), topics.commands.clone(), stream.clone());
        tokio::spawn(async move {
            for chunk in stream.chunks(15) {
                produce(&kafka, &codec, &topic, chunk).await;
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        })
    };

    let spawn = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_tally-processor"))
            .env("CLIO_BROKERS", &env.kafka.brokers)
            .env("CLIO_REGISTRY_URL", &env.registry_url)
            .env("CLIO_SESSION_TIMEOUT_MS", "2000")
            .env("TALLY_PREFIX", &prefix)
            .env("TALLY_MAX_BATCH", "20")
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .expect("tally-processor starts")
    };
    let mut kills = 0;
    while !producing.is_finished() || kills < 6 {
        let mut child = spawn();
        tokio::time::sleep(Duration::from_millis(rng.random_range(1_500..5_000))).await;
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
        kills += 1;
    }
    producing.await.expect("all commands produced");

    // A last, undisturbed run until every command (the credits it creates included) is done.
    let mut child = spawn();
    let settled = eventually(180, async || {
        let expected = clean_replay(&env, &codec, &topics).await;
        let actual = tally_events(&env.kafka, &codec, &topics.events).await;
        let commands = read_all(&env.kafka, &topics.commands).await.len();
        // At least as many events as a clean run: equal when right; more when an effect was
        // doubled, which the comparison below then names.
        let scheduled = actual.iter().filter(|(_, _, _, e)| matches!(e, TallyEvent::Scheduled(_))).count();
        let fired = actual.iter().filter(|(_, _, _, e)| matches!(e, TallyEvent::Fired(_))).count();
        commands >= stream.len() && actual.len() >= expected.values().map(Vec::len).sum::<usize>() && fired >= scheduled
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    child.start_kill().expect("stop");
    child.wait().await.expect("reaped");
    assert!(settled, "the processor caught up after {kills} kills");

    let expected = clean_replay(&env, &codec, &topics).await;
    let actual = tally_events(&env.kafka, &codec, &topics.events).await;
    let mut by_partition: BTreeMap<i32, Vec<(String, String, TallyEvent)>> = BTreeMap::new();
    for (partition, id, key, event) in actual {
        by_partition.entry(partition).or_default().push((id, key, event));
    }
    for partition in 0..partitions {
        let got = by_partition.remove(&partition).unwrap_or_default();
        let want = expected.get(&partition).cloned().unwrap_or_default();
        assert_eq!(got.len(), want.len(), "partition {partition}: same number of events as a clean run");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "partition {partition}, event {i}: differs from the clean run");
        }
    }
    // Conservation: every withdrawal was credited exactly once, every timer fired once, when due.
    let all: Vec<TallyEvent> = expected.into_values().flatten().map(|(_, _, e)| e).collect();
    let scheduled: Vec<&clio_testkit::tally::Scheduled> =
        all.iter().filter_map(|e| if let TallyEvent::Scheduled(s) = e { Some(s) } else { None }).collect();
    assert!(scheduled.len() > 20, "the stream scheduled deposits: {}", scheduled.len());
    for s in &scheduled {
        let fired = all
            .iter()
            .filter(|e| matches!(e, TallyEvent::Fired(f) if f.command_id == s.command_id && f.due == s.due))
            .count();
        assert_eq!(fired, 1, "the timer of {} fired exactly once", s.command_id);
    }
    for event in &all {
        if let TallyEvent::Withdrawn(w) = event {
            let credits = all
                .iter()
                .filter(|e| matches!(e, TallyEvent::Deposited(d) if d.command_id == format!("{}:credit", w.command_id)))
                .count();
            assert_eq!(credits, 1, "transfer {} credited exactly once", w.command_id);
        }
    }
    eprintln!(
        "crash test: {kills} SIGKILLs, {} events ({} timers), all equal to a clean run",
        all.len(),
        scheduled.len()
    );
}
