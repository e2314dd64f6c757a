//! The orders flows, decided as the processor decides them, with the retry domain's answers
//! given by the test: marketplace → tracker, tracker → marketplace, and the seed defects each
//! rule avoids (orders-oms-source.md §9–10).

mod support;

use clio_orders::entity::{Entity, Orders, project_key};
use clio_orders::messages::OrdersEvent as E;
use clio_testkit::scenario::World;
use serde_json::json;
use support::*;

fn project(world: &World<Orders>) -> clio_orders::entity::ProjectState {
    match world.state(&project_key(PROJECT)) {
        Entity::Project(state) => *state,
        other => panic!("not a project: {other:?}"),
    }
}

/// A project with two items, both issues linked (EOSC-100 the epic, EOSC-101, EOSC-102).
fn synced() -> World<Orders> {
    let mut world = World::<Orders>::default();
    deliver(&mut world, vec![project_created(1), item_created(1, 1), item_created(2, 2)]);
    link_issues(&mut world);
    world
}

#[test]
fn a_project_becomes_an_epic_and_each_item_an_issue_linked_to_it() {
    let world = synced();
    let issues = tasks_of(&world, "orders_tracker_issue");
    assert_eq!(issues.len(), 3, "{issues:?}");
    assert_eq!(issues[0].1["item_iid"], 0);
    assert_eq!(issues[0].1["label"], "clio-order-1436");
    for (_, params) in &issues[1..] {
        assert_eq!(params["epic_key"], "EOSC-100", "the item's issue links the project's epic");
        assert_eq!(params["project_id"], PROJECT, "items are (project id, iid)");
    }
    let state = project(&world);
    assert_eq!(state.items[&2].issue.issue_key, "EOSC-102");
}

#[test]
fn an_item_arriving_before_its_project_asks_for_the_epic_first() {
    let mut world = World::<Orders>::default();
    deliver(&mut world, vec![item_created(1, 1)]);
    let issues = tasks_of(&world, "orders_tracker_issue");
    assert_eq!(issues.len(), 1, "only the epic until it exists");
    assert_eq!(issues[0].1["item_iid"], 0);
    link_issues(&mut world);
    let issues = tasks_of(&world, "orders_tracker_issue");
    assert_eq!(issues.len(), 2);
    assert_eq!(issues[1].1["epic_key"], "EOSC-100");
}

#[test]
fn the_same_events_delivered_three_times_are_taken_once() {
    let mut world = synced();
    let before = tasks(&world).len();
    let events = vec![project_created(1), item_created(1, 1), item_created(2, 2), message_created(9, Some(1), 3)];
    for _ in 0..3 {
        deliver(&mut world, events.clone());
    }
    let received = world.events.iter().filter(|e| matches!(e, E::MarketplaceEventReceived(_))).count();
    assert_eq!(received, 4, "three events at the start, the message once");
    let duplicates = world.events.iter().filter(|e| matches!(e, E::DuplicateIgnored(_))).count();
    assert_eq!(duplicates, 3 + 3 + 3 + 2);
    let new_tasks: Vec<_> =
        tasks(&world).into_iter().skip(before).filter(|(_, t, _)| t != "orders_marketplace_events").collect();
    assert_eq!(new_tasks.len(), 1, "one comment: {new_tasks:?}");
}

#[test]
fn the_feed_resumes_after_its_latest_event_and_advances_only_with_what_it_read() {
    let mut world = World::<Orders>::default();
    world.send(poll());
    assert_eq!(last_task(&world, "orders_marketplace_events").1["since"], "", "a first run reads from the start");
    read_answers(&mut world, vec![project_created(1), item_created(1, 7)]);
    world.send(poll());
    assert_eq!(last_task(&world, "orders_marketplace_events").1["since"], "2026-11-22T10:00:07Z");
    // A failed read keeps the resume point.
    let task = last_task(&world, "orders_marketplace_events").0;
    let out = world.send(failure(&task, "HTTP 503"));
    assert_eq!(names(&out), ["PollFailed"]);
    world.send(poll());
    assert_eq!(last_task(&world, "orders_marketplace_events").1["since"], "2026-11-22T10:00:07Z");
}

#[test]
fn a_trigger_during_a_read_reads_again_once_it_ends() {
    let mut world = World::<Orders>::default();
    world.send(poll());
    assert_eq!(names(&world.send(poll())), ["PollQueued"]);
    assert!(world.send(poll()).is_empty(), "one queued read is enough");
    let out = read_answers(&mut world, vec![project_created(1)]);
    assert!(names(&out).contains(&"PollRequested"), "{out:?}");
    assert_eq!(tasks_of(&world, "orders_marketplace_events").len(), 2);
}

#[test]
fn a_full_page_is_followed_by_the_next_and_a_page_of_repeats_is_not() {
    let mut world = World::<Orders>::default();
    world.send(poll());
    let page: Vec<_> = (1..=100).map(|n| message_created(n, None, (n % 60) as u32)).collect();
    read_answers(&mut world, page.clone());
    assert_eq!(tasks_of(&world, "orders_marketplace_events").len(), 2, "a full page: the next read");
    read_answers(&mut world, page);
    assert_eq!(tasks_of(&world, "orders_marketplace_events").len(), 2, "repeats moved nothing: no next read");
}

#[test]
fn deletes_unknown_resources_and_bad_ids_are_recorded_as_ignored_and_the_rest_go_on() {
    let mut world = World::<Orders>::default();
    let out = deliver(
        &mut world,
        vec![
            event("delete", "project_item", 1, json!({"project_item_id": 1}), json!(null)),
            event("create", "invoice", 1, json!({}), json!(null)),
            json!({"timestamp": "2026-11-22T10:00:02Z", "type": "create", "resource": "project", "project_id": "x1"}),
            project_created(3),
        ],
    );
    let reasons: Vec<String> = out
        .iter()
        .filter_map(|e| match e {
            E::MarketplaceEventIgnored(i) => Some(i.reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("delete") && reasons[1].contains("invoice") && reasons[2].contains("project_id"));
    assert!(names(&out).contains(&"TrackerIssueRequested"), "the good event went on");
    let E::MarketplaceEventsRead(read) = out.iter().find(|e| matches!(e, E::MarketplaceEventsRead(_))).unwrap() else {
        unreachable!()
    };
    assert_eq!((read.count, read.forwarded, read.cursor.as_str()), (4, 1, "2026-11-22T10:00:03Z"));
}

#[test]
fn an_item_message_goes_on_the_item_issue_and_a_project_message_on_the_epic() {
    let mut world = synced();
    deliver(&mut world, vec![message_created(40, Some(2), 5), message_created(41, None, 5)]);
    let comments = tasks_of(&world, "orders_tracker_comment");
    assert_eq!(comments[0].1["issue_key"], "EOSC-102", "the seed posted item messages on the epic");
    assert_eq!(comments[1].1["issue_key"], "EOSC-100");
}

#[test]
fn a_message_before_its_items_issue_waits_for_it() {
    let mut world = World::<Orders>::default();
    deliver(&mut world, vec![message_created(40, Some(3), 1)]);
    assert!(tasks_of(&world, "orders_tracker_comment").is_empty());
    link_issues(&mut world);
    let comments = tasks_of(&world, "orders_tracker_comment");
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].1["issue_key"], "EOSC-103");
}

#[test]
fn a_user_direct_message_the_handler_skipped_is_recorded_with_the_reason() {
    let mut world = synced();
    deliver(&mut world, vec![message_created(40, Some(1), 5)]);
    let (task, _) = last_task(&world, "orders_tracker_comment");
    let out = world.send(success(&task, json!({"skipped": "user_direct: the marketplace hides its content"})));
    let [E::CommentLinked(linked)] = out.as_slice() else { panic!("{out:?}") };
    assert!(linked.comment_id.is_empty() && linked.skipped.contains("user_direct"));
}

#[test]
fn a_mirrored_messages_edit_updates_its_comment() {
    let mut world = synced();
    deliver(&mut world, vec![message_created(40, Some(1), 5)]);
    let (task, _) = last_task(&world, "orders_tracker_comment");
    world.send(success(&task, json!({"comment_id": "900"})));
    let edit = event(
        "update",
        "message",
        6,
        json!({"message_id": 40, "project_item_id": 1}),
        json!([{"field": "content", "before": "a", "after": "b"}]),
    );
    deliver(&mut world, vec![edit]);
    let comments = tasks_of(&world, "orders_tracker_comment");
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1].1["comment_id"], "900");
}

#[test]
fn a_tracker_status_goes_to_the_marketplace_by_status_id_with_marketplace_ids() {
    let mut world = synced();
    let out = world.send(webhook("10002", status_changed(10124, "2", "In Progress")));
    assert_eq!(names(&out), ["TrackerChangeReceived", "MarketplaceUpdateRequested"]);
    let (_, params) = last_task(&world, "orders_marketplace_update");
    assert_eq!(params["project_id"], PROJECT);
    assert_eq!(params["item_iid"], 2, "the item's number within its project, not a local id");
    assert_eq!(params["detail"], json!({"status": {"value": "In Progress", "type": "in_progress"}}));
}

#[test]
fn archived_unknown_epic_and_already_synced_statuses_send_nothing() {
    let mut world = synced();
    let before = tasks(&world).len();
    let archived = world.send(webhook("10001", status_changed(1, "8", "Archived")));
    let unknown = world.send(webhook("10001", status_changed(2, "77", "Odd")));
    let epic = world.send(webhook("10000", status_changed(3, "2", "In Progress")));
    world.send(webhook("10001", status_changed(4, "7", "Ready")));
    let again = world.send(webhook("10001", status_changed(5, "7", "Ready")));
    let redelivered = world.send(webhook("10001", status_changed(4, "7", "Ready")));
    for (out, why) in [(&archived, "maps to no"), (&unknown, "maps to no"), (&epic, "epic"), (&again, "already")] {
        let [E::TrackerChangeIgnored(ignored)] = out.as_slice() else { panic!("{out:?}") };
        assert!(ignored.reason.contains(why), "{}", ignored.reason);
    }
    assert_eq!(names(&redelivered), ["DuplicateIgnored"]);
    assert_eq!(tasks(&world).len(), before + 1, "one PATCH, for the one real change");
}

#[test]
fn a_status_the_marketplace_reports_back_is_the_synced_one() {
    let mut world = synced();
    let update = event(
        "update",
        "project_item",
        9,
        json!({"project_item_id": 1}),
        json!([{"field": "status.type", "before": "created", "after": "ready"}]),
    );
    deliver(&mut world, vec![update]);
    let out = world.send(webhook("10001", status_changed(4, "7", "Ready")));
    assert!(matches!(out.as_slice(), [E::TrackerChangeIgnored(_)]), "{out:?}");
}

#[test]
fn a_voucher_id_set_in_the_tracker_becomes_the_items_user_secret() {
    let mut world = synced();
    let body = json!({"webhookEvent": "jira:issue_updated", "changelog": {"id": 7, "items": [{"field": "CP-VoucherID", "to": null, "toString": "V-123"}]}});
    world.send(webhook("10001", body));
    let (_, params) = last_task(&world, "orders_marketplace_update");
    assert_eq!(params["detail"], json!({"user_secrets": {"voucher_id": "V-123"}}));
}

#[test]
fn a_tracker_comment_becomes_a_marketplace_message_once() {
    let mut world = synced();
    let out = world.send(webhook("10001", comment("comment_created", "500", "anna", "Ready next week", None)));
    assert_eq!(names(&out), ["TrackerChangeReceived", "MarketplaceUpdateRequested"]);
    let (task, params) = last_task(&world, "orders_marketplace_update");
    assert_eq!(params["kind"], "message");
    assert_eq!(params["detail"]["project_item_id"], 1);
    assert_eq!(params["detail"]["author"]["role"], "provider");
    assert_eq!(params["detail"]["content"], "Ready next week");
    let again = world.send(webhook("10001", comment("comment_created", "500", "anna", "Ready next week", None)));
    assert_eq!(names(&again), ["DuplicateIgnored"]);
    world.send(success(&task, json!({"message_id": 77})));
    let edit = world.send(webhook("10001", comment("comment_updated", "500", "anna", "Ready tomorrow", None)));
    assert_eq!(names(&edit), ["TrackerChangeReceived", "MarketplaceUpdateRequested"]);
    assert_eq!(
        last_task(&world, "orders_marketplace_update").1["detail"],
        json!({"message_id": 77, "content": "Ready tomorrow"})
    );
}

#[test]
fn no_echoes_from_the_tracker_the_adapters_own_comments_mirrors_and_internal_ones() {
    let mut world = synced();
    deliver(&mut world, vec![message_created(40, Some(1), 5)]);
    let (task, _) = last_task(&world, "orders_tracker_comment");
    world.send(success(&task, json!({"comment_id": "900"})));
    let before = tasks(&world).len();
    let own = world.send(webhook("10001", comment("comment_created", "901", "clio", "x", None)));
    let mirror = world.send(webhook("10001", comment("comment_created", "900", "someone", "x", None)));
    let internal = world.send(webhook("10001", comment("comment_created", "902", "anna", "x", Some("Developers"))));
    for (out, why) in [(own, "adapter"), (mirror, "mirrors marketplace message 40"), (internal, "internal")] {
        let [E::TrackerChangeIgnored(ignored)] = out.as_slice() else { panic!("{out:?}") };
        assert!(ignored.reason.contains(why), "{}", ignored.reason);
    }
    assert_eq!(tasks(&world).len(), before, "nothing sent");
}

#[test]
fn no_echoes_from_the_marketplace_a_message_the_adapter_posted_is_not_mirrored_even_when_it_comes_first() {
    let mut world = synced();
    world.send(webhook("10001", comment("comment_created", "500", "anna", "hello", None)));
    let (task, _) = last_task(&world, "orders_marketplace_update");
    // The marketplace's event for the new message comes before the post's answer.
    let parked = deliver(&mut world, vec![message_created(77, Some(1), 8)]);
    assert!(names(&parked).contains(&"MarketplaceEventParked"), "{parked:?}");
    let out = world.send(success(&task, json!({"message_id": 77})));
    let ignored = out.iter().find_map(|e| match e {
        E::MarketplaceEventIgnored(i) => Some(i.reason.clone()),
        _ => None,
    });
    assert!(ignored.is_some_and(|r| r.contains("posted by the adapter")), "{out:?}");
    assert!(tasks_of(&world, "orders_tracker_comment").is_empty(), "nothing mirrored back");
    // A customer's message, parked behind the same post, is mirrored once it ends.
    world.send(webhook("10001", comment("comment_created", "501", "anna", "more", None)));
    let (task, _) = last_task(&world, "orders_marketplace_update");
    deliver(&mut world, vec![message_created(80, Some(1), 9)]);
    world.send(success(&task, json!({"message_id": 78})));
    assert_eq!(tasks_of(&world, "orders_tracker_comment").len(), 1);
}

#[test]
fn a_webhook_for_an_issue_the_adapter_does_not_know_is_recorded_as_ignored() {
    let mut world = synced();
    let out = world.send(webhook("55555", status_changed(1, "2", "In Progress")));
    assert!(matches!(out.as_slice(), [E::TrackerChangeIgnored(i)] if i.reason.contains("not one of")), "{out:?}");
    let mut unknown = webhook("66666", status_changed(1, "2", "In Progress"));
    if let clio_orders::messages::OrdersCommand::ReceiveTrackerChange(c) = &mut unknown {
        c.project_id = 0;
    }
    let out = world.send(unknown);
    assert!(matches!(out.as_slice(), [E::TrackerChangeIgnored(i)] if i.reason.contains("not one the adapter made")));
}

#[test]
fn a_call_that_fails_for_good_is_a_sync_failure_and_a_late_success_still_links() {
    let mut world = World::<Orders>::default();
    deliver(&mut world, vec![project_created(1)]);
    let (task, _) = last_task(&world, "orders_tracker_issue");
    let out = world.send(failure(&task, "the tracker answered HTTP 503"));
    assert!(matches!(out.as_slice(), [E::SyncFailed(f)] if f.what == "tracker_issue"));
    // An operator's requeue answers under a task id of its own.
    let out = world.send(success(&format!("{task}-requeued-1"), json!({"issue_id": "1", "issue_key": "EOSC-1"})));
    assert_eq!(names(&out), ["TrackerIssueLinked"]);
    assert!(world.invalid.is_empty());
    assert_eq!(project_of(&task), PROJECT);
}

fn status_update(iid: i64, second: u32, before: &str, after: &str) -> serde_json::Value {
    event(
        "update",
        "project_item",
        second,
        json!({"project_item_id": iid}),
        json!([{"field": "status.type", "before": before, "after": after}]),
    )
}

#[test]
fn a_marketplace_status_change_moves_the_issue_and_its_webhook_sends_nothing_back() {
    let mut world = synced();
    deliver(&mut world, vec![status_update(1, 9, "created", "ready")]);
    let (task, params) = last_task(&world, "orders_tracker_transition");
    assert_eq!(params, json!({"project_id": PROJECT, "item_iid": 1, "issue_key": "EOSC-101", "status_id": "7"}));
    let out = world.send(success(&task, json!({"status_id": "7", "already": false})));
    assert!(matches!(out.as_slice(), [E::TrackerTransitioned(t)] if t.status_id == "7" && !t.already), "{out:?}");
    let echo = world.send(webhook("10001", status_changed(30, "7", "Ready")));
    assert!(matches!(echo.as_slice(), [E::TrackerChangeIgnored(i)] if i.reason.contains("already")), "{echo:?}");
    assert!(tasks_of(&world, "orders_marketplace_update").is_empty(), "nothing sent back");
    // `created` means no workflow status: nothing to move.
    deliver(&mut world, vec![status_update(2, 10, "", "created")]);
    assert_eq!(tasks_of(&world, "orders_tracker_transition").len(), 1);
}

#[test]
fn the_marketplaces_event_for_a_status_the_tracker_set_moves_nothing_back() {
    let mut world = synced();
    world.send(webhook("10002", status_changed(10124, "2", "In Progress")));
    let (patch, _) = last_task(&world, "orders_marketplace_update");
    world.send(success(&patch, json!({})));
    deliver(&mut world, vec![status_update(2, 9, "created", "in_progress")]);
    assert!(tasks_of(&world, "orders_tracker_transition").is_empty(), "the echo of the adapter's own PATCH");
    // A later change made in the marketplace itself does move the issue.
    deliver(&mut world, vec![status_update(2, 10, "in_progress", "closed")]);
    let (_, params) = last_task(&world, "orders_tracker_transition");
    assert_eq!(params["status_id"], "6");
}

#[test]
fn a_status_set_before_the_issue_exists_moves_it_once_it_does_and_a_failed_move_is_a_sync_failure() {
    let mut world = World::<Orders>::default();
    deliver(
        &mut world,
        vec![project_created(1), item_created(1, 1), status_update(1, 2, "created", "waiting_for_response")],
    );
    assert!(tasks_of(&world, "orders_tracker_transition").is_empty(), "no issue yet");
    link_issues(&mut world);
    let (task, params) = last_task(&world, "orders_tracker_transition");
    assert_eq!((params["issue_key"].as_str(), params["status_id"].as_str()), (Some("EOSC-101"), Some("3")));
    let out = world.send(failure(&task, "the tracker answered HTTP 400"));
    assert!(matches!(out.as_slice(), [E::SyncFailed(f)] if f.what == "tracker_transition" && f.item_iid == 1));
}

#[test]
fn a_comment_edited_while_its_message_is_being_posted_is_sent_once_the_message_exists() {
    let mut world = synced();
    world.send(webhook("10001", comment("comment_created", "500", "anna", "Ready next week", None)));
    let (post, _) = last_task(&world, "orders_marketplace_update");
    let edit = world.send(webhook("10001", comment("comment_updated", "500", "anna", "Ready tomorrow", None)));
    assert_eq!(names(&edit), ["TrackerChangeReceived"], "kept, not sent yet: the message has no id");
    let out = world.send(success(&post, json!({"message_id": 77})));
    assert_eq!(names(&out), ["MarketplaceUpdateDone", "MarketplaceUpdateRequested"]);
    let (_, params) = last_task(&world, "orders_marketplace_update");
    assert_eq!(params["detail"], json!({"message_id": 77, "content": "Ready tomorrow"}));
    let state = project(&world);
    assert!(state.sent_comments["500"].pending_edit.is_empty());
}

#[test]
fn a_webhook_that_overtakes_its_issues_create_links_the_issue_and_is_acted_on() {
    let mut world = World::<Orders>::default();
    deliver(&mut world, vec![project_created(1), item_created(1, 1), message_created(9, Some(1), 2)]);
    let (epic_task, _) = last_task(&world, "orders_tracker_issue");
    world.send(success(&epic_task, json!({"issue_id": "10000", "issue_key": "EOSC-100"})));
    let (item_task, _) = last_task(&world, "orders_tracker_issue");
    // A provider moves the item's new issue before the create's answer is back.
    let mut moved = status_changed(10130, "2", "In Progress");
    moved["issue"] =
        json!({"id": "10001", "key": "EOSC-101", "fields": {"labels": [format!("clio-order-{PROJECT}-item-1")]}});
    let out = world.send(webhook("10001", moved));
    assert_eq!(
        names(&out),
        ["TrackerIssueLinked", "CommentRequested", "TrackerChangeReceived", "MarketplaceUpdateRequested"],
        "the label proves the issue; its waiting message goes on it; the move is sent"
    );
    assert!(tasks_of(&world, "orders_tracker_transition").is_empty(), "the provider's move is not undone");
    let (_, update) = last_task(&world, "orders_marketplace_update");
    assert_eq!(update["detail"]["status"]["type"], "in_progress");
    let out = world.send(success(&item_task, json!({"issue_id": "10001", "issue_key": "EOSC-101"})));
    assert!(out.is_empty(), "the create's late answer changes nothing: {out:?}");
    // A label of another project, or of an issue not being created, still proves nothing.
    let mut stranger = status_changed(10131, "2", "In Progress");
    stranger["issue"] = json!({"id": "20001", "key": "EOSC-201", "fields": {"labels": ["clio-order-77-item-1"]}});
    let out = world.send(webhook("20001", stranger));
    assert!(matches!(out.as_slice(), [E::TrackerChangeIgnored(i)] if i.reason.contains("not one of")), "{out:?}");
}
