//! What a run does: each handler performs one call to the outside world and says what came of
//! it, classified explicitly (`clio_retry::classify`). Every call carries the task's
//! idempotency key, the same on every attempt, so the other side can ignore a repeat.
//!
//! - `http`: any HTTP call: `method`, `url`, `headers` (an object), `body` (a JSON value),
//!   `timeout_ms`. 2xx and 3xx succeed; the rest by status family; a server's Retry-After is
//!   reported for the policy to honour.
//! - `midas_join`: Midas's join journey against a loyalty scheme's API (the sandbox speaks it):
//!   `POST {scheme url}/join`; 200 joined, 202 accepted (the scheme calls back later), errors
//!   by Midas's table, and the scheme's own error codes for an account that exists or a weak
//!   password.
//! - `matching_identity`: who a payment card's holder is, from the identity service (Hermes):
//!   `POST {identity url}/payment_cards/accounts/payment_card_user_info/{merchant}` with the
//!   card token. The result is the holder's `scheme_account_id`, `user_id`, `loyalty_id`,
//!   `first_six` and `last_four`, or `{}` when the holder has no account (the service leaves the
//!   token out, or does not know the merchant: 404), which the matching domain takes as final.
//!   Transport errors, timeouts, 429 and 5xx are retried by the task type's policy.
//! - `matching_export`: a match, a streamed transaction or an unmatched payment sent to its
//!   merchant: `POST {merchant url}` (`{merchant}` replaced) with the export as JSON, under the
//!   export's id (`match_id`) as its `Idempotency-Key`, the same on every attempt, and the
//!   merchant's id for the purchase (`id`, the match id when not given) as `id`; a streamed
//!   export also says its `feed`, and whether it is the `auth` or `cleared`. 2xx succeeds. A merchant that retries only on listed messages
//!   (`retry_on_messages`) has an answer carrying one reported as `not_ready` and any other by
//!   its HTTP class, which its policy does not retry.

use std::time::Duration;

use clio_retry::classify::{ErrorClass, classify_http, classify_midas};
use serde_json::{Value, json};

/// How much of a response body the audit keeps.
const EXCERPT: usize = 500;

/// One run, as the worker hands it to a handler.
#[derive(Debug, Clone)]
pub struct Run {
    pub handler: String,
    pub params: Value,
    pub idempotency_key: String,
    /// Where the other side may call back (the gateway's callback route for the task).
    pub callback_url: String,
}

/// What came of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Success {
        result: Value,
    },
    /// Submitted: a callback (or a later poll) will tell.
    Waiting,
    Failed {
        class: ErrorClass,
        message: String,
        http_status: Option<u16>,
        body_excerpt: String,
        retry_after_ms: Option<i64>,
    },
}

impl Outcome {
    pub(crate) fn failed(class: ErrorClass, message: impl Into<String>) -> Self {
        Self::Failed {
            class,
            message: message.into(),
            http_status: None,
            body_excerpt: String::new(),
            retry_after_ms: None,
        }
    }
}

/// The handlers, with the HTTP client they share and where the loyalty schemes are.
#[derive(Clone)]
pub struct Handlers {
    client: reqwest::Client,
    /// `{scheme}` in it is replaced by the scheme's name.
    pub scheme_url: String,
    /// `{merchant}` in it is replaced by the merchant's slug; empty: no exports here.
    pub merchant_url: String,
    /// The identity service's base URL; empty: none (identity runs fail, and say so).
    pub identity_url: String,
    /// The marketplace and the tracker the orders domain calls.
    pub orders: crate::orders_handlers::OrdersPeers,
}

impl Handlers {
    pub fn new(scheme_url: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            scheme_url: scheme_url.to_string(),
            merchant_url: String::new(),
            identity_url: String::new(),
            orders: crate::orders_handlers::OrdersPeers::default(),
        }
    }

    /// The same handlers, calling the marketplace and the tracker at `orders`.
    pub fn with_orders(self, orders: crate::orders_handlers::OrdersPeers) -> Self {
        Self { orders, ..self }
    }

    /// The same handlers, with the identity service at `identity_url`.
    pub fn with_identity(self, identity_url: &str) -> Self {
        Self { identity_url: identity_url.trim_end_matches('/').to_string(), ..self }
    }

    /// The same handlers, exporting matches to the merchant API at `merchant_url`.
    pub fn with_merchants(self, merchant_url: &str) -> Self {
        Self { merchant_url: merchant_url.to_string(), ..self }
    }

    pub async fn perform(&self, run: &Run) -> Outcome {
        match run.handler.as_str() {
            "http" => self.http(&run.params, &run.idempotency_key).await,
            "midas_join" => self.midas_join(run).await,
            "matching_identity" => self.matching_identity(run).await,
            "matching_export" => self.matching_export(run).await,
            handler if handler.starts_with("orders_") => self.orders.perform(&self.client, run).await,
            other => Outcome::failed(ErrorClass::Unknown, format!("no handler called {other:?} in this worker")),
        }
    }

    async fn http(&self, params: &Value, idempotency_key: &str) -> Outcome {
        let method = params["method"].as_str().unwrap_or("GET").to_uppercase();
        let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
            return Outcome::failed(ErrorClass::Http4xx, format!("{method:?} is not an HTTP method"));
        };
        let Some(url) = params["url"].as_str() else { return Outcome::failed(ErrorClass::Http4xx, "no url") };
        let timeout = Duration::from_millis(params["timeout_ms"].as_u64().unwrap_or(10_000));
        let mut request = self.client.request(method, url).timeout(timeout).header("Idempotency-Key", idempotency_key);
        if let Some(headers) = params["headers"].as_object() {
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str().unwrap_or_default());
            }
        }
        if !params["body"].is_null() {
            request = request.json(&params["body"]);
        }
        let Answer { status, retry_after_ms, text: body } = match call(request).await {
            Ok(answer) => answer,
            Err(failure) => return failure,
        };
        match classify_http(Some(status), false) {
            None => Outcome::Success { result: json!({"status": status, "body": as_json(&body)}) },
            Some(class) => Outcome::Failed {
                class,
                message: format!("HTTP {status}"),
                http_status: Some(status),
                body_excerpt: excerpt(&body),
                retry_after_ms,
            },
        }
    }

    async fn midas_join(&self, run: &Run) -> Outcome {
        let params = &run.params;
        let Some(scheme) = params["scheme"].as_str() else { return Outcome::failed(ErrorClass::Unknown, "no scheme") };
        let url = format!("{}/join", self.scheme_url.replace("{scheme}", scheme));
        let body = json!({
            "scheme_account_id": params["scheme_account_id"],
            "credentials": params["credentials"],
            "callback_url": run.callback_url,
        });
        let request = self
            .client
            .post(&url)
            .timeout(Duration::from_secs(5))
            .header("Idempotency-Key", &run.idempotency_key)
            .json(&body);
        match request.send().await {
            // Midas: a connection error or a timeout is "end site down" (530).
            Err(error) => Outcome::failed(ErrorClass::EndSiteDown, error.to_string()),
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                let answer = as_json(&text);
                let class = match (status, answer["error"].as_str()) {
                    (200, _) => return Outcome::Success { result: answer },
                    (202, _) => return Outcome::Waiting,
                    (_, Some("ACCOUNT_ALREADY_EXISTS")) => ErrorClass::AccountAlreadyExists,
                    (_, Some("WEAK_PASSWORD")) => ErrorClass::WeakPassword,
                    _ => classify_midas(Some(status)).unwrap_or(ErrorClass::Unknown),
                };
                Outcome::Failed {
                    class,
                    message: format!("the scheme answered HTTP {status}"),
                    http_status: Some(status),
                    body_excerpt: excerpt(&text),
                    retry_after_ms: None,
                }
            }
        }
    }

    async fn matching_identity(&self, run: &Run) -> Outcome {
        if self.identity_url.is_empty() {
            return Outcome::failed(ErrorClass::Unknown, "this worker has no identity service configured");
        }
        let (Some(token), Some(merchant)) = (run.params["card_token"].as_str(), run.params["merchant"].as_str()) else {
            return Outcome::failed(ErrorClass::Http4xx, "an identity look-up needs card_token and merchant");
        };
        let url = format!("{}/payment_cards/accounts/payment_card_user_info/{merchant}", self.identity_url);
        let request = self
            .client
            .post(&url)
            .timeout(Duration::from_secs(10))
            .header("Idempotency-Key", &run.idempotency_key)
            .json(&json!({ "payment_cards": [token] }));
        let Answer { status, retry_after_ms, text } = match call(request).await {
            Ok(answer) => answer,
            Err(failure) => return failure,
        };
        // Hermes answers 404 for a merchant it does not know: no account there, as the seed read it.
        if status == 404 {
            return Outcome::Success { result: json!({}) };
        }
        if let Some(class) = classify_http(Some(status), false) {
            return Outcome::Failed {
                class,
                message: format!("the identity service answered HTTP {status}"),
                http_status: Some(status),
                body_excerpt: excerpt(&text),
                retry_after_ms,
            };
        }
        let info = &as_json(&text)[token];
        if info["scheme_account_id"].is_null() {
            return Outcome::Success { result: json!({}) };
        }
        let card = &info["card_information"];
        Outcome::Success {
            result: json!({
                "scheme_account_id": info["scheme_account_id"],
                "user_id": info["user_id"],
                "loyalty_id": info["loyalty_id"],
                "first_six": card["first_six"],
                "last_four": card["last_four"],
            }),
        }
    }
}

impl Handlers {
    async fn matching_export(&self, run: &Run) -> Outcome {
        if self.merchant_url.is_empty() {
            return Outcome::failed(ErrorClass::Unknown, "this worker has no merchant API configured");
        }
        let params = &run.params;
        let (Some(merchant), Some(match_id)) = (params["merchant"].as_str(), params["match_id"].as_str()) else {
            return Outcome::failed(ErrorClass::Http4xx, "an export needs merchant and match_id");
        };
        // The merchant's id for the purchase (a streamed auth and its settlement share one)
        // beside the export's own, which keys the send.
        let id = params["id"].as_str().filter(|id| !id.is_empty()).unwrap_or(match_id);
        let feed = params["feed"].as_str().unwrap_or_default();
        let mut export = json!({
            "id": id,
            "export_id": match_id,
            "matching_type": params["matching_type"],
            "transaction_id": params["transaction_id"],
            "payment_transaction_id": params["payment_transaction_id"],
            "amount": params["amount"],
            "currency": params["currency"],
            "date": params["transaction_at"],
            "mid": params["mid"],
            "card_token": params["card_token"],
            "scheme_account_id": params["scheme_account_id"],
        });
        if !feed.is_empty() {
            export["feed"] = json!(feed);
            export["auth"] = json!(feed == "AUTH");
            export["cleared"] = json!(feed == "SETTLED" || feed == "REFUND");
        }
        let url = self.merchant_url.replace("{merchant}", merchant);
        let request =
            self.client.post(&url).timeout(Duration::from_secs(30)).header("Idempotency-Key", match_id).json(&export);
        let Answer { status, retry_after_ms, text } = match call(request).await {
            Ok(answer) => answer,
            Err(failure) => return failure,
        };
        let Some(class) = classify_http(Some(status), false) else {
            return Outcome::Success { result: json!({ "status": status }) };
        };
        let answer = as_json(&text);
        let message = answer["message"].as_str().unwrap_or(&text).to_string();
        let listed: Vec<&str> =
            params["retry_on_messages"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let class = if !listed.is_empty() && listed.contains(&message.as_str()) { ErrorClass::NotReady } else { class };
        Outcome::Failed {
            class,
            message: format!("{merchant} answered HTTP {status}: {message}"),
            http_status: Some(status),
            body_excerpt: excerpt(&text),
            retry_after_ms,
        }
    }
}

/// What a call was answered: its status, Retry-After and body.
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after_ms: Option<i64>,
    pub text: String,
}

/// Sends `request`; no response at all is the failure it is (a timeout or a transport error).
pub(crate) async fn call(request: reqwest::RequestBuilder) -> Result<Answer, Outcome> {
    let response = request.send().await.map_err(|error| transport_failure(&error))?;
    let (status, retry_after_ms) = (response.status().as_u16(), retry_after(&response));
    Ok(Answer { status, retry_after_ms, text: response.text().await.unwrap_or_default() })
}

/// A call that got no response: a timeout or a transport error.
fn transport_failure(error: &reqwest::Error) -> Outcome {
    Outcome::failed(classify_http(None, error.is_timeout()).unwrap_or(ErrorClass::Unknown), error.to_string())
}

fn as_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT).collect()
}

/// Retry-After in seconds (the HTTP-date form is rare among APIs and left to the schedule).
fn retry_after(response: &reqwest::Response) -> Option<i64> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<i64>().ok().map(|seconds| seconds.saturating_mul(1_000))
}
