//! The demo: the sandbox's marketplace told where this platform's trigger is, its tracker told
//! where the webhook is (with the secret), three orders placed by customers, and a provider
//! working the first in the tracker (a transition, a comment), and the second marked waiting on the
//! marketplace (a transition in the tracker): orders syncing both ways.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

// What the orders demo adds to `clio up` and `clio seed` (a doc comment would replace their about).
#[derive(Args, Debug, Clone)]
pub struct OrdersDemoSettings {
    /// Where the sandbox (its marketplace and tracker) is.
    #[arg(long, env = "CLIO_ORDERS_SANDBOX_URL", default_value = "http://127.0.0.1:8090")]
    pub orders_sandbox_url: String,
    /// The gateway as the sandbox reaches it (the trigger and webhook URLs).
    #[arg(long, env = "CLIO_ORDERS_GATEWAY_URL", default_value = "http://127.0.0.1:8080")]
    pub orders_gateway_url: String,
}

/// The demo's customers and what they order.
pub const ORDERS: &[(&str, &str, &[&str])] = &[
    ("Ada Lovelace", "Analytical engines", &["EGI Cloud Compute", "B2SHARE"]),
    ("Alan Turing", "Morphogenesis", &["Jupyter Notebooks"]),
    ("Grace Hopper", "Compilers", &["EGI Cloud Compute"]),
];

/// Tells the sandbox's marketplace where this platform's trigger is (`gateway`), and its
/// tracker where the webhook is, with the secret (none: no webhook, only a warning).
pub async fn wire(http: &reqwest::Client, sandbox: &str, gateway: &str, webhook_secret: &str) -> anyhow::Result<()> {
    let trigger = json!({ "trigger": { "url": format!("{gateway}/v1/orders/trigger"), "method": "post" } });
    let answer = http
        .patch(format!("{sandbox}/marketplace/api/v1/oms/1"))
        .header("X-User-Token", "sandbox-token")
        .json(&trigger)
        .send()
        .await
        .context("the sandbox's marketplace")?;
    anyhow::ensure!(answer.status().is_success(), "the sandbox's marketplace answered {}", answer.status());
    if webhook_secret.is_empty() {
        tracing::warn!(
            "no {} set: the tracker's webhooks will be refused, so only the marketplace side syncs",
            crate::WEBHOOK_SECRET_ENV
        );
        return Ok(());
    }
    let url = format!("{gateway}/v1/orders/webhooks/tracker?secret={webhook_secret}&issue_id=${{issue.id}}");
    let hook =
        json!({ "name": "clio", "url": url, "events": ["jira:issue_updated", "comment_created", "comment_updated"] });
    let answer = http
        .post(format!("{sandbox}/tracker/rest/webhooks/1.0/webhook"))
        .json(&hook)
        .send()
        .await
        .context("the sandbox's tracker")?;
    anyhow::ensure!(answer.status().is_success(), "the sandbox's tracker answered {}", answer.status());
    Ok(())
}

/// A provider works the sandbox tracker's issue `key`: moves it to in progress (status 2) and
/// answers with `comment`.
pub async fn work_issue(http: &reqwest::Client, sandbox: &str, key: &str, comment: &str) -> anyhow::Result<()> {
    let issue = format!("{sandbox}/tracker/rest/api/2/issue/{key}");
    let calls = [("transitions", json!({ "transition": { "id": "2" } })), ("comment", json!({ "body": comment }))];
    for (path, body) in calls {
        let answer = http.post(format!("{issue}/{path}")).basic_auth("provider", Some("demo")).json(&body).send().await;
        let status = answer.with_context(|| format!("the sandbox's tracker ({path} of {key})"))?.status();
        anyhow::ensure!(status.is_success(), "the sandbox's tracker answered {status} to {path} of {key}");
    }
    Ok(())
}

/// Wires the sandbox to this platform, places the orders and works the first one; says what
/// it did.
pub async fn run(settings: &OrdersDemoSettings, webhook_secret: &str) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let sandbox = settings.orders_sandbox_url.trim_end_matches('/');
    let gateway = settings.orders_gateway_url.trim_end_matches('/');
    let ok = |response: reqwest::Response| async move {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "the sandbox answered {status}: {body}");
        Ok(body)
    };
    wire(&http, sandbox, gateway, webhook_secret).await?;
    let mut projects = Vec::new();
    for (owner, name, services) in ORDERS {
        let email = format!("{}@example.org", owner.to_lowercase().replace(' ', "."));
        let items: Vec<Value> = services
            .iter()
            .map(|service| json!({ "service": service, "offer": "Standard", "category": "Compute", "order_type": "orderable", "platforms": ["EGI"] }))
            .collect();
        let order = json!({ "owner": { "name": owner, "email": email }, "name": name, "items": items, "scientific_domains": ["Computer science"] });
        let placed = ok(http.post(format!("{sandbox}/marketplace/orders")).json(&order).send().await?).await?;
        let project = placed["project_id"].as_i64().unwrap_or(0);
        let message = json!({ "content": "When can we start?", "project_item_id": 1 });
        ok(http.post(format!("{sandbox}/marketplace/projects/{project}/messages")).json(&message).send().await?)
            .await?;
        projects.push(project);
    }
    // A provider picks the first order's first item up in the tracker once its issue exists.
    let label = format!("clio-order-{}-item-1", projects.first().copied().unwrap_or(0));
    let mut worked = false;
    for _ in 0..120 {
        let jql: String = form_urlencoded::byte_serialize(format!("labels = \"{label}\"").as_bytes()).collect();
        let search = http
            .get(format!("{sandbox}/tracker/rest/api/2/search?jql={jql}"))
            .basic_auth("provider", Some("demo"))
            .send()
            .await?;
        let found = ok(search).await?;
        if let Some(key) = found["issues"][0]["key"].as_str() {
            let answer = "We are setting your virtual machines up; expect access details tomorrow.";
            work_issue(&http, sandbox, key, answer).await?;
            worked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // And the other way: the second order is marked waiting for the customer on the marketplace,
    // which the adapter carries to its tracker issue as a transition.
    let mut waiting = false;
    if let Some(second) = projects.get(1) {
        let status = json!({ "type": "waiting_for_response", "value": "Waiting for response" });
        let set =
            http.post(format!("{sandbox}/marketplace/projects/{second}/items/1/status")).json(&status).send().await?;
        ok(set).await?;
        waiting = true;
    }
    Ok(format!(
        "{} orders placed in the sandbox marketplace{}{}",
        projects.len(),
        if worked { ", the first worked in the tracker (in progress, a comment)" } else { "" },
        if waiting { ", the second marked waiting for response on the marketplace" } else { "" }
    ))
}
