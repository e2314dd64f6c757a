//! Failures a test or the demo scripts on a sandbox peer (`POST /<peer>/failures`): the next
//! `count` calls, or every call for `for_seconds` from now (an outage), answer `status` (503
//! when not given), with a Retry-After when one is given.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ScriptedFailures {
    #[serde(default)]
    pub count: u32,
    /// An outage: every call fails for this many seconds (then `count` is not used).
    #[serde(default)]
    pub for_seconds: Option<f64>,
    #[serde(skip)]
    until: Option<Instant>,
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
    /// The failures as scripted now: an outage's clock starts here.
    pub fn armed(mut self) -> Self {
        self.until = self.for_seconds.map(|seconds| Instant::now() + Duration::from_secs_f64(seconds.max(0.0)));
        self
    }

    /// Counts one failure off: the status and Retry-After of its answer, while any are left
    /// (or while the outage lasts).
    pub fn take(&mut self) -> Option<(StatusCode, Option<u32>)> {
        match self.until {
            Some(until) if Instant::now() >= until => return None,
            Some(_) => {}
            None if self.count == 0 => return None,
            None => self.count -= 1,
        }
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
