//! Orders both ways: customers place orders of two items on the sandbox's marketplace and ask
//! a question on the first; once the first item's issue is in the sandbox's tracker, a
//! provider moves it to in progress and answers there.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Target, patiently};
use crate::stage::WEBHOOK_SECRET;

const PACE: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct Sent {
    /// Projects the marketplace acknowledged.
    pub orders: Vec<i64>,
    /// Issues a provider worked.
    pub worked: BTreeSet<String>,
}

pub async fn run(target: &Target, stop: CancellationToken) -> anyhow::Result<Sent> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let sandbox = target.sandbox.as_str();
    patiently(Duration::from_secs(600), async || {
        clio_orders_plug::demo::wire(&http, sandbox, &target.gateway, WEBHOOK_SECRET).await
    })
    .await?;
    let mut sent = Sent::default();
    while !stop.is_cancelled() {
        let n = sent.orders.len() + 1;
        let items = json!([{"service": "Cloud", "offer": "Standard"}, {"service": "Storage", "offer": "Standard"}]);
        let owner = json!({"name": format!("Customer {n}"), "email": format!("customer{n}@example.org")});
        let order = json!({"owner": owner, "name": format!("Chaos project {n}"), "items": items});
        let project = patiently(Duration::from_secs(600), async || {
            let answer = http.post(format!("{sandbox}/marketplace/orders")).json(&order).send().await?;
            anyhow::ensure!(answer.status() == 201, "the marketplace answered {}", answer.status());
            let placed: Value = answer.json().await?;
            placed["project_id"].as_i64().ok_or_else(|| anyhow::anyhow!("no project id in {placed}"))
        })
        .await?;
        let question = json!({"content": question_of(project), "project_item_id": 1});
        patiently(Duration::from_secs(600), async || {
            let url = format!("{sandbox}/marketplace/projects/{project}/messages");
            let answer = http.post(url).json(&question).send().await?;
            anyhow::ensure!(answer.status().is_success(), "the marketplace answered {}", answer.status());
            Ok(())
        })
        .await?;
        sent.orders.push(project);
        work_new_issues(&http, sandbox, &mut sent).await;
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(PACE) => {}
        }
    }
    Ok(sent)
}

/// The provider works each first item's issue that has appeared since the last look (a
/// failure is left for the next look).
async fn work_new_issues(http: &reqwest::Client, sandbox: &str, sent: &mut Sent) {
    let Ok(answer) = http.get(format!("{sandbox}/tracker/issues")).send().await else { return };
    let Ok(all) = answer.json::<Value>().await else { return };
    for issue in all["issues"].as_array().into_iter().flatten() {
        let first_item = issue["fields"]["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|l| l.strip_prefix("clio-order-").is_some_and(|rest| rest.ends_with("-item-1")));
        let Some(key) = issue["key"].as_str() else { continue };
        if !first_item || sent.worked.contains(key) {
            continue;
        }
        if clio_orders_plug::demo::work_issue(http, sandbox, key, &answer_to(key)).await.is_ok() {
            sent.worked.insert(key.to_string());
        }
    }
}

/// The customer's question on `project`'s first item (no project's is part of another's).
pub fn question_of(project: i64) -> String {
    format!("Question on project {project}?")
}

pub fn answer_to(key: &str) -> String {
    format!("Answer on {key}")
}
