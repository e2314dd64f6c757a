//! The calls a sandbox peer makes to Clio on its own (the marketplace's trigger, the tracker's
//! webhooks), made as their background jobs make them: retried when Clio is down or refuses,
//! 2 s doubling, six attempts in all (about a minute).

use std::time::Duration;

use serde_json::Value;

/// POSTs `body` (none: an empty body) to `url` in the background until Clio takes it.
pub fn deliver(http: reqwest::Client, url: String, body: Option<Value>, what: &'static str) {
    tokio::spawn(async move {
        for attempt in 0..6u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
            let mut request = http.post(&url).timeout(Duration::from_secs(10));
            if let Some(body) = &body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(answer) if answer.status().is_success() => return,
                Ok(answer) => tracing::debug!(status = %answer.status(), what, "refused; retried"),
                Err(error) => tracing::debug!(%error, what, "failed; retried"),
            }
        }
        tracing::warn!(what, url, "given up after six attempts");
    });
}
