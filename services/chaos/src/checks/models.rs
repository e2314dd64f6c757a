//! Checks on the read models in Postgres.

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::Ask;
use crate::workload::bad::{BadRecord, KEY_PREFIX};
use crate::workload::{Target, retry};

/// The read models `clio up` runs.
pub const READ_MODELS: [&str; 5] = ["ledger", "retry", "matching", "orders", "platform"];

/// Each partition's end offset, for every topic in `topics`.
async fn ends(target: &Target, topics: Vec<String>) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    let kafka = target.kafka.clone();
    tokio::task::spawn_blocking(move || {
        let marks = clio_runtime::kafka::watermarks(&clio_runtime::kafka::reader(&kafka)?, &topics)?;
        Ok(marks.into_iter().map(|(partition, (_, high))| (partition, high)).collect())
    })
    .await?
}

/// Every read model has applied every partition it reads to its end.
pub async fn caught_up(target: &Target) -> anyhow::Result<(bool, String)> {
    let rows: Vec<(String, String, i32, i64)> = sqlx::query_as(
        "SELECT projection, topic, partition, next_offset FROM clio.projection_offsets
          WHERE projection NOT LIKE '%~rebuild' ORDER BY 1, 2, 3",
    )
    .fetch_all(&target.pool)
    .await
    .context("reading clio.projection_offsets")?;
    let mut topics: Vec<String> = rows.iter().map(|(_, topic, _, _)| topic.clone()).collect();
    topics.dedup();
    let ends = ends(target, topics).await?;
    let behind: Vec<String> = rows
        .iter()
        .filter_map(|(projection, topic, partition, next)| {
            let end = ends.get(&(topic.clone(), *partition)).copied().unwrap_or(0);
            (*next < end).then(|| format!("{projection} {topic}/{partition} {} behind", end - next))
        })
        .collect();
    let detail =
        if behind.is_empty() { format!("{} partitions, each at its end", rows.len()) } else { behind.join(", ") };
    Ok((behind.is_empty() && !rows.is_empty(), detail))
}

/// Every task the workload made is in the read model, none stuck in a run or a cleanup; the
/// HTTP calls and the plain joins succeeded and the refused ones failed for good (or, when
/// `ask` allows, any of them is scheduled to run again).
pub async fn retry_tasks(target: &Target, sent: &retry::Sent, ask: Ask) -> anyhow::Result<(bool, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT task_id, status FROM retry.tasks")
        .fetch_all(&target.pool)
        .await
        .context("reading retry.tasks")?;
    let status: BTreeMap<String, String> = rows.into_iter().collect();
    let mut wrong = Vec::new();
    let scheduled_too = ask == Ask::DoneOrScheduled;
    let mut expect = |task: &str, allowed: &[&str]| match status.get(task) {
        None => wrong.push(format!("{task} missing")),
        Some(s) if scheduled_too && s == "RETRYING" => {}
        Some(s) if !allowed.contains(&s.as_str()) => wrong.push(format!("{task} {s}")),
        Some(_) => {}
    };
    for task in &sent.http {
        expect(task, &["SUCCESS"]);
    }
    for (_, email, task) in &sent.joins {
        match email.as_str() {
            "ok" | "delay-300" => expect(task, &["SUCCESS"]),
            _ => expect(task, &["FAILED"]),
        }
    }
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for s in status.values() {
        *by_status.entry(s.as_str()).or_default() += 1;
    }
    let detail = if wrong.is_empty() {
        format!("{} tasks: {by_status:?}", status.len())
    } else {
        format!("{} not as expected, e.g. {:?}", wrong.len(), &wrong[..wrong.len().min(5)])
    };
    Ok((wrong.is_empty(), detail))
}

/// Dead letters are exactly the records made bad on purpose, each with its reason.
pub async fn dead_letters(target: &Target, bad: &[BadRecord]) -> anyhow::Result<(bool, String)> {
    let rows: Vec<(String, i32, i64, String, String)> = sqlx::query_as(
        "SELECT source_topic, source_partition, source_offset, record_key, reason FROM platform.dead_letters",
    )
    .fetch_all(&target.pool)
    .await
    .context("reading platform.dead_letters")?;
    let others: Vec<String> = rows
        .iter()
        .filter(|(_, _, _, key, _)| !key.starts_with(KEY_PREFIX))
        .map(|(topic, partition, offset, key, reason)| format!("{topic}/{partition}/{offset} key {key:?}: {reason}"))
        .collect();
    let missing: Vec<&BadRecord> = bad
        .iter()
        .filter(|b| {
            !rows.iter().any(|(topic, partition, offset, _, reason)| {
                *topic == b.topic && *partition == b.partition && *offset == b.offset && !reason.is_empty()
            })
        })
        .collect();
    let passed = others.is_empty() && missing.is_empty();
    let detail = if passed {
        let reason = rows.first().map(|r| r.4.as_str()).unwrap_or_default();
        format!("{} bad records, {} dead letters, e.g. {reason:?}", bad.len(), rows.len())
    } else {
        format!("unexpected: {:?}; missing: {missing:?}", &others[..others.len().min(5)])
    };
    Ok((passed, detail))
}

/// A fingerprint of each table of a read model: rows and an md5 of them in a fixed order.
async fn fingerprint(target: &Target, schema: &str) -> anyhow::Result<BTreeMap<String, (i64, String)>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations' ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&target.pool)
    .await?;
    let mut prints = BTreeMap::new();
    for table in tables {
        let sql = format!(
            "SELECT count(*)::bigint, coalesce(md5(string_agg(md5(t::text), ',' ORDER BY md5(t::text))), '')
               FROM \"{schema}\".\"{table}\" t"
        );
        let print: (i64, String) =
            sqlx::query_as(&sql).fetch_one(&target.pool).await.with_context(|| format!("{schema}.{table}"))?;
        prints.insert(table, print);
    }
    Ok(prints)
}

/// Every read model, rebuilt from the log with `clio projections rebuild`, is the same, table
/// by table, as the one the live projectors built through the kills. A model whose log moved
/// during its rebuild (a retry timer fired) is compared again.
pub async fn equal_to_rebuild(target: &Target) -> anyhow::Result<(bool, String)> {
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for model in READ_MODELS {
        let mut compared = false;
        for _ in 0..3 {
            let topics: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT topic FROM clio.projection_offsets WHERE projection = $1")
                    .bind(model)
                    .fetch_all(&target.pool)
                    .await?;
            let before_log = ends(target, topics.clone()).await?;
            let live = fingerprint(target, model).await?;
            rebuild(target, model).await?;
            let rebuilt = fingerprint(target, model).await?;
            if ends(target, topics).await? != before_log {
                continue;
            }
            compared = true;
            let differing: Vec<String> = live
                .keys()
                .chain(rebuilt.keys())
                .filter(|table| live.get(*table) != rebuilt.get(*table))
                .map(|table| format!("{model}.{table}: {:?} live, {:?} rebuilt", live.get(table), rebuilt.get(table)))
                .collect();
            let rows: i64 = live.values().map(|(n, _)| n).sum();
            summary.push(format!("{model} {} tables {rows} rows", live.len()));
            problems.extend(differing);
            break;
        }
        if !compared {
            problems.push(format!("{model}: its log kept moving during three rebuilds"));
        }
    }
    let detail = if problems.is_empty() { format!("identical: {}", summary.join(", ")) } else { problems.join("; ") };
    Ok((problems.is_empty(), detail))
}

/// `clio projections rebuild <model>` as an operator runs it.
async fn rebuild(target: &Target, model: &str) -> anyhow::Result<()> {
    let output = tokio::process::Command::new(clio_testkit::tools::clio_binary())
        .args(["projections", "rebuild", model])
        .env("CLIO_BROKERS", &target.kafka.brokers)
        .env("CLIO_REGISTRY_URL", &target.registry)
        .env("CLIO_DATABASE_URL", &target.database_url)
        .output()
        .await
        .context("running clio projections rebuild")?;
    anyhow::ensure!(
        output.status.success(),
        "clio projections rebuild {model}: {}",
        String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
    );
    Ok(())
}
