//! Checks on what the outside world saw: the sandbox's servers, and the matches that caused
//! their exports.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use clio_matching::settlement::{sha256_hex, visa_settlement_key};
use serde_json::Value;

use super::Ask;
use crate::workload::{Target, matching, orders, retry};

async fn get_json(target: &Target, path: &str) -> anyhow::Result<Value> {
    let url = format!("{}/{path}", target.sandbox);
    let answer = reqwest::get(&url).await.with_context(|| format!("GET {url}"))?;
    answer.json().await.with_context(|| format!("GET {url}: not JSON"))
}

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

fn expected_matches(sent: &matching::Sent) -> BTreeSet<String> {
    sent.payments.iter().filter(|(_, _, must)| *must).map(|(id, _, _)| id.clone()).collect()
}

/// The read model holds every match a clean run makes, and nothing else.
pub async fn matched(target: &Target, sent: &matching::Sent) -> anyhow::Result<(bool, String)> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT payment_transaction_id FROM matching.matches")
        .fetch_all(&target.pool)
        .await
        .context("reading matching.matches")?;
    let have: BTreeSet<String> = rows.into_iter().collect();
    let want = expected_matches(sent);
    let missing = want.difference(&have).count();
    let extra: Vec<&String> = have.difference(&want).collect();
    let passed = missing == 0 && extra.is_empty();
    let detail = format!(
        "{} of {} expected matches in {} batches; {missing} missing; unexpected {:?}",
        have.intersection(&want).count(),
        want.len(),
        sent.batches,
        &extra[..extra.len().min(5)]
    );
    Ok((passed, detail))
}

/// Each merchant received every match of its own under its one id (the sha256 of its
/// settlement key) — or, when `ask` allows, its export task is scheduled to send it later —
/// and an idempotency key never carried two ids.
pub async fn exports(target: &Target, sent: &matching::Sent, ask: Ask) -> anyhow::Result<(bool, String)> {
    let scheduled: Vec<(String, String)> = if ask == Ask::DoneOrScheduled {
        sqlx::query_as(
            "SELECT params->>'merchant', params->>'id' FROM retry.tasks
              WHERE task_type = 'matching_export' AND status = 'RETRYING'",
        )
        .fetch_all(&target.pool)
        .await
        .context("reading the export tasks")?
    } else {
        Vec::new()
    };
    let (mut passed, mut details) = (true, Vec::new());
    for (merchant, _) in matching::MERCHANTS {
        let received = get_json(target, &format!("merchants/{merchant}/transactions")).await?;
        let ids: BTreeSet<String> =
            received["by_id"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        let want: BTreeSet<String> = sent
            .payments
            .iter()
            .filter(|(_, m, must)| *must && *m == merchant)
            .map(|(id, _, _)| visa_settlement_key(id).map(|key| sha256_hex(&key)))
            .collect::<Result<_, _>>()?;
        let mut ids_by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for export in list(&received["received"]) {
            let key = export["idempotency_key"].as_str().unwrap_or_default().to_string();
            ids_by_key.entry(key).or_default().insert(export["export"]["id"].as_str().unwrap_or_default().to_string());
        }
        let shared = ids_by_key.values().filter(|ids| ids.len() > 1).count();
        let calls = list(&received["received"]).count();
        let later: BTreeSet<String> =
            scheduled.iter().filter(|(m, id)| m == merchant && !ids.contains(id)).map(|(_, id)| id.clone()).collect();
        let sent_or_later: BTreeSet<String> = ids.union(&later).cloned().collect();
        passed &= sent_or_later == want && shared == 0;
        details.push(format!(
            "{merchant}: {} of {} received, {} scheduled for later, {} unexpected, {calls} calls ({} resent under their own key), keys with two ids: {shared}",
            ids.intersection(&want).count(),
            want.len(),
            later.len(),
            ids.difference(&want).count(),
            calls.saturating_sub(ids.len()),
        ));
    }
    Ok((passed, details.join("; ")))
}

/// Every order in the marketplace became an epic and an issue per item, once; every customer
/// question is one comment in the tracker; every provider answer in the tracker reached the
/// marketplace once, with the item in progress.
pub async fn orders_synced(target: &Target) -> anyhow::Result<(bool, String)> {
    let tracker = get_json(target, "tracker/issues").await?;
    let market = get_json(target, "marketplace/received").await?;
    let mut problems = Vec::new();
    let by_label = tracker["by_label"].as_object().cloned().unwrap_or_default();
    let projects: BTreeSet<i64> = list(&market["items"]).filter_map(|i| i["project_id"].as_i64()).collect();
    let items = list(&market["items"]).count();
    if by_label.len() != projects.len() + items {
        problems.push(format!("{} issues for {} orders of {items} items", by_label.len(), projects.len()));
    }
    problems.extend(by_label.iter().filter(|(_, n)| n.as_u64() != Some(1)).map(|(l, n)| format!("{l} made {n} times")));
    let comments: Vec<String> = list(&tracker["issues"])
        .flat_map(|issue| list(&issue["comments"]))
        .map(|c| c["body"].as_str().map_or_else(|| c.to_string(), str::to_string))
        .collect();
    for project in &projects {
        let question = orders::question_of(*project);
        let mirrored = comments.iter().filter(|c| c.contains(&question)).count();
        if mirrored != 1 {
            problems.push(format!("{question} mirrored {mirrored} times"));
        }
    }
    let answers_in_tracker: BTreeMap<&str, usize> =
        comments.iter().filter(|c| c.starts_with("Answer on ")).fold(BTreeMap::new(), |mut counts, c| {
            *counts.entry(c.as_str()).or_default() += 1;
            counts
        });
    let mut answers_in_market: BTreeMap<&str, usize> = BTreeMap::new();
    for message in list(&market["messages"]).filter(|m| m["author"]["role"] == "provider") {
        *answers_in_market.entry(message["content"].as_str().unwrap_or_default()).or_default() += 1;
    }
    if answers_in_market != answers_in_tracker {
        let differ: Vec<_> = answers_in_tracker
            .iter()
            .filter(|(a, n)| answers_in_market.get(*a) != Some(*n))
            .map(|(a, n)| format!("{a}: {n} in the tracker, {:?} in the marketplace", answers_in_market.get(a)))
            .collect();
        problems.push(format!("answers differ: {:?}", &differ[..differ.len().min(5)]));
    }
    let in_progress = list(&market["items"]).filter(|i| i["status"]["type"] == "in_progress").count();
    if in_progress != answers_in_tracker.len() {
        problems.push(format!("{in_progress} items in progress for {} worked issues", answers_in_tracker.len()));
    }
    let detail = if problems.is_empty() {
        format!(
            "{} orders, {} issues each made once, {} questions and {} answers each synced once",
            projects.len(),
            by_label.len(),
            projects.len(),
            answers_in_tracker.len()
        )
    } else {
        format!("{} problems, e.g. {:?}", problems.len(), &problems[..problems.len().min(5)])
    };
    Ok((problems.is_empty(), detail))
}

/// The scheme joined each account at most once, under the join's one key (and every plain
/// join joined, unless its task is scheduled to try again); the echo saw each HTTP task's
/// calls under one key, and answered it (unless scheduled to try again).
pub async fn retry(target: &Target, sent: &retry::Sent) -> anyhow::Result<(bool, String)> {
    let retrying: BTreeSet<String> = sqlx::query_scalar("SELECT task_id FROM retry.tasks WHERE status = 'RETRYING'")
        .fetch_all(&target.pool)
        .await
        .context("reading retry.tasks")?
        .into_iter()
        .collect();
    let joins = get_json(target, &format!("schemes/{}/joins", retry::SCHEME)).await?;
    let mut problems = Vec::new();
    let mut joined_by_account: BTreeMap<String, usize> = BTreeMap::new();
    let mut keys_by_account: BTreeMap<String, usize> = BTreeMap::new();
    for join in list(&joins["joins"]) {
        let account = join["scheme_account_id"].to_string();
        *keys_by_account.entry(account.clone()).or_default() += 1;
        if !join["card_number"].is_null() {
            *joined_by_account.entry(account).or_default() += 1;
        }
    }
    problems
        .extend(keys_by_account.iter().filter(|(_, n)| **n > 1).map(|(a, n)| format!("account {a} under {n} keys")));
    for (account, email, task) in &sent.joins {
        let joined = joined_by_account.get(&account.to_string()).copied().unwrap_or(0);
        let want = usize::from(email == "ok" || email == "delay-300");
        // A join to try again may have joined already, its answer lost: at most once.
        let allowed = if retrying.contains(task) { joined <= want } else { joined == want };
        if !allowed {
            problems.push(format!("account {account} ({email}) joined {joined} times"));
        }
    }
    let calls = get_json(target, "echo-calls").await?;
    for task in &sent.http {
        let suffix = format!("/{task}");
        let keys: Vec<&Value> =
            list(&calls["calls"]).filter(|c| c["path"].as_str().is_some_and(|p| p.ends_with(&suffix))).collect();
        let answered = keys.iter().any(|c| c["succeeded"].as_u64().unwrap_or(0) >= 1) || retrying.contains(task);
        if keys.len() > 1 || !answered {
            problems.push(format!("{task}: {} keys, answered: {answered}", keys.len()));
        }
    }
    let detail = if problems.is_empty() {
        format!(
            "{} joins ({} accounts joined, each once), {} HTTP tasks each under one key",
            sent.joins.len(),
            joined_by_account.len(),
            sent.http.len()
        )
    } else {
        format!("{} problems, e.g. {:?}", problems.len(), &problems[..problems.len().min(5)])
    };
    Ok((problems.is_empty(), detail))
}
