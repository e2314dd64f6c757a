//! `GET /console/`: one server-rendered page for operators, a section per [`Panel`] (topics,
//! lag, dead letters, each domain's own), each a table read at request time. A row may carry
//! an action (replay this dead letter): a button that POSTs its JSON body with the page's own
//! credentials and removes the row once it is done. With keys configured, the page needs a
//! key allowed `read:platform` (the browser asks for it: the key is the password of HTTP basic
//! auth) and an action needs the scope of its route.

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect};
use serde_json::Value;

/// A button on a row: POST `body` to `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub label: String,
    pub path: String,
    pub body: Value,
}

/// What a panel shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// One per row, when the rows have actions.
    pub actions: Vec<Option<Action>>,
}

/// The future a panel's table is.
pub type Reading<'a> = Pin<Box<dyn Future<Output = Result<Table, String>> + Send + 'a>>;

/// One section of the console.
pub trait Panel: Send + Sync {
    fn title(&self) -> String;
    fn read(&self) -> Reading<'_>;
}

/// The panels of a gateway, in page order.
pub type Panels = Vec<Arc<dyn Panel>>;

pub(crate) async fn root() -> Redirect {
    Redirect::permanent("/console/")
}

pub(crate) async fn page(State(panels): State<Arc<Panels>>) -> impl IntoResponse {
    let mut html = String::from(HEAD);
    for panel in panels.iter() {
        let title = panel.title();
        let _ = write!(html, "<section class=\"panel\" data-panel=\"{}\"><h2>{}</h2>", escape(&title), escape(&title));
        match panel.read().await {
            Ok(table) => render_table(&mut html, &table),
            Err(error) => {
                let _ = write!(html, "<p class=\"error\">unavailable: {}</p>", escape(&error));
            }
        }
        html.push_str("</section>\n");
    }
    html.push_str(TAIL);
    Html(html)
}

fn render_table(html: &mut String, table: &Table) {
    if table.rows.is_empty() {
        html.push_str("<p class=\"empty\">none</p>");
        return;
    }
    html.push_str("<table><thead><tr>");
    for column in &table.columns {
        let _ = write!(html, "<th>{}</th>", escape(column));
    }
    if !table.actions.is_empty() {
        html.push_str("<th></th>");
    }
    html.push_str("</tr></thead><tbody>");
    for (index, row) in table.rows.iter().enumerate() {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(cell));
        }
        if let Some(Some(action)) = table.actions.get(index) {
            let _ = write!(
                html,
                "<td><button class=\"action\" data-path=\"{}\" data-body=\"{}\">{}</button></td>",
                escape(&action.path),
                escape(&action.body.to_string()),
                escape(&action.label)
            );
        } else if !table.actions.is_empty() {
            html.push_str("<td></td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
}

/// Text as HTML text or a quoted attribute value.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const HEAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clio console</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border-bottom: 1px solid #ddd; padding: .2rem .6rem; text-align: left; vertical-align: top; }
.error { color: #b00020; } .empty { color: #777; } #status { min-height: 1.2rem; color: #b00020; }
</style></head>
<body><h1>Clio console</h1><p id="status" role="status"></p>
"#;

const TAIL: &str = r#"<script>
for (const button of document.querySelectorAll("button.action")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    const status = document.getElementById("status");
    try {
      const response = await fetch(button.dataset.path, {
        method: "POST", credentials: "same-origin",
        headers: {"content-type": "application/json"}, body: button.dataset.body });
      if (response.ok) {
        button.closest("tr").remove();
        status.textContent = "";
      } else {
        const body = await response.json().catch(() => ({}));
        status.textContent = `${response.status}: ${body.error || "refused"}`;
        button.disabled = false;
      }
    } catch (error) {
      status.textContent = String(error);
      button.disabled = false;
    }
  });
}
</script></body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_actions_are_escaped() {
        let table = Table {
            columns: vec!["reason".into()],
            rows: vec![vec!["<script>x</script> & \"q\"".into()]],
            actions: vec![Some(Action {
                label: "Replay".into(),
                path: "/p".into(),
                body: serde_json::json!({"t": "a'b"}),
            })],
        };
        let mut html = String::new();
        render_table(&mut html, &table);
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt; &amp; &quot;q&quot;"), "{html}");
        assert!(html.contains("data-body=\"{&quot;t&quot;:&quot;a&#39;b&quot;}\""), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
    }
}
