//! `clio orders ...` run: what each command reads and sends.

use anyhow::Context as _;
use clio_orders::messages::{OrdersCommand, PollMarketplace};
use clio_orders_projection::queries;
use clio_plug::now_micros;
use serde_json::Value;

use crate::OrdersClient;
use crate::cli::{OrdersAccess, OrdersAction};

/// Runs one `clio orders ...` command.
pub async fn operate(action: OrdersAction) -> anyhow::Result<()> {
    match action {
        OrdersAction::List { after, limit, access } => {
            let page = read(&access, &queries::ORDERS_PAGE.in_schema(&access.schema), Some(after), limit).await?;
            println!(
                "{:<10} {:<12} {:>4}  {:<22} {:<12} {:<8} last synced",
                "project", "epic", "item", "status", "issue", "tracker"
            );
            for order in page.as_array().into_iter().flatten() {
                let items = order["items"].as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    println!("{:<10} {:<12}", cell(&order["project_id"]), cell(&order["epic_key"]));
                }
                for item in items {
                    println!(
                        "{:<10} {:<12} {:>4}  {:<22} {:<12} {:<8} {}",
                        cell(&order["project_id"]),
                        cell(&order["epic_key"]),
                        cell(&item["item_iid"]),
                        cell(&item["status_type"]),
                        cell(&item["tracker_key"]),
                        cell(&item["tracker_status_id"]),
                        cell(&item["last_synced_status"]),
                    );
                }
            }
            Ok(())
        }
        OrdersAction::Show { project_id, access } => {
            let pool = access.database.connect().await?;
            let order: Option<Value> = sqlx::query_scalar(&queries::ORDER.in_schema(&access.schema))
                .bind(project_id)
                .fetch_optional(&pool)
                .await
                .context("reading the order")?;
            let Some(order) = order else { anyhow::bail!("the adapter has not seen project {project_id}") };
            println!("{}", serde_json::to_string_pretty(&order)?);
            Ok(())
        }
        OrdersAction::Failures { project, limit, access } => {
            let page = read(&access, &queries::SYNC_FAILURES_PAGE.in_schema(&access.schema), project, limit).await?;
            for failure in page.as_array().into_iter().flatten() {
                println!(
                    "{}  project {} item {}  {}: {} ({})",
                    cell(&failure["at"]),
                    failure["project_id"],
                    failure["item_iid"],
                    cell(&failure["kind"]),
                    cell(&failure["reason"]),
                    cell(&failure["detail"]),
                );
            }
            Ok(())
        }
        OrdersAction::Sync { access } => {
            let producer = clio_runtime::kafka::producer(&access.kafka).context("creating the producer")?;
            let client =
                OrdersClient { producer, codec: access.registry.codec(), commands_topic: access.topic.clone() };
            let poll_id = format!("operator-{}", now_micros());
            client
                .send(&OrdersCommand::PollMarketplace(PollMarketplace { poll_id: poll_id.clone(), ts: now_micros() }))
                .await?;
            println!(
                "read {poll_id} is on the log: the marketplace's events since the resume point follow (orders.feed)"
            );
            Ok(())
        }
    }
}

/// One page a query gives: `$1` where to start (or which project), `$2` the page size.
async fn read(access: &OrdersAccess, sql: &str, first: Option<i64>, limit: i64) -> anyhow::Result<Value> {
    anyhow::ensure!((1..=1000).contains(&limit), "--limit must be between 1 and 1000, not {limit}");
    let pool = access.database.connect().await?;
    let page = sqlx::query_scalar(sql)
        .bind(first)
        .bind(limit)
        .fetch_one(&pool)
        .await
        .context("reading the orders read model")?;
    pool.close().await;
    Ok(page)
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
