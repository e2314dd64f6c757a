//! Failures a test or the demo scripts on a sandbox peer (`POST /<peer>/failures`): the next
//! `count` calls answer `status` (503 when not given), with a Retry-After when one is given.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ScriptedFailures {
    pub count: u32,
    #[serde(default = "unavailable")]
    pub status: u16,
    /// Seconds, sent as Retry-After.
    #[serde(default)]
    pub retry_after: Option<u32>,
}

fn unavailable() -> u16 {
    503
}

impl ScriptedFailures {
    /// Counts one failure off: the status and Retry-After of its answer, while any are left.
    pub fn take(&mut self) -> Option<(StatusCode, Option<u32>)> {
        if self.count == 0 {
            return None;
        }
        self.count -= 1;
        Some((StatusCode::from_u16(self.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE), self.retry_after))
    }
}

/// `response`, with a Retry-After of `seconds` when there are any.
pub fn with_retry_after(mut response: Response, seconds: Option<u32>) -> Response {
    if let Some(seconds) = seconds
        && let Ok(value) = seconds.to_string().parse()
    {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}
