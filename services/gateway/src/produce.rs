//! `POST /v1/topics/{topic}/records`.
//!
//! ```json
//! {"type": "clio.ledger.ConfigureAccount", "key": "1/2", "value": { ...the record... }}
//! ```
//! `type` may be left out when the topic carries one record type; `key` may be left out
//! (the record then has no key). The answer names where the record landed:
//! `{"topic", "partition", "offset", "schema_id"}`.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clio_runtime::catalogue::ValueFormat;
use clio_runtime::codec::{CodecError, frame_schema_id};
use clio_runtime::{headers, telemetry};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use serde::Deserialize;
use serde_json::{Value as Json_, json};

use crate::Gateway;
use crate::problem::{ApiPath, Problem, json_nul_free, nul_free, require_json};

/// Why a produce request was refused; each maps to a status and a JSON body with the reason.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("the body is not a JSON produce request: {0}")]
    BadRequest(String),
    #[error("no topic {0} takes records through the gateway (see the topic catalogue)")]
    UnknownTopic(String),
    #[error("topic {topic} does not carry {record}; it carries: {carried}")]
    UnknownRecord { topic: String, record: String, carried: String },
    #[error("topic {topic} carries several record types; name one in \"type\": {carried}")]
    TypeNeeded { topic: String, carried: String },
    #[error("the value does not fit {record}: {path}: {reason}")]
    Invalid { record: String, path: String, reason: String },
    #[error("the schema registry is unavailable: {0}")]
    RegistryUnavailable(String),
    #[error("the broker did not take the record: {0}")]
    Broker(String),
    #[error("{}", .0.error)]
    Refused(Problem),
}

impl From<Problem> for ProduceError {
    fn from(problem: Problem) -> Self {
        Self::Refused(problem)
    }
}

impl IntoResponse for ProduceError {
    fn into_response(self) -> Response {
        if let Self::Refused(problem) = self {
            return problem.into_response();
        }
        let status = match &self {
            Self::BadRequest(_) | Self::TypeNeeded { .. } => StatusCode::BAD_REQUEST,
            Self::UnknownTopic(_) | Self::UnknownRecord { .. } => StatusCode::NOT_FOUND,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RegistryUnavailable(_) | Self::Broker(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Refused(problem) => problem.status,
        };
        let mut body = json!({"error": self.to_string()});
        if matches!(self, Self::BadRequest(_)) {
            body["parameter"] = json!("body");
        }
        if matches!(self, Self::UnknownTopic(_)) {
            body["parameter"] = json!("topic");
        }
        if matches!(self, Self::UnknownRecord { .. } | Self::TypeNeeded { .. }) {
            body["parameter"] = json!("type");
        }
        if let Self::Invalid { path, reason, .. } = &self {
            body["parameter"] = json!("value");
            body["path"] = json!(path);
            body["reason"] = json!(reason);
        }
        (status, Json(body)).into_response()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProduceRequest {
    #[serde(rename = "type")]
    record: Option<String>,
    key: Option<String>,
    value: Json_,
}

pub async fn produce(
    State(gateway): State<Gateway>,
    ApiPath(topic): ApiPath<String>,
    request_headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Json_>, ProduceError> {
    require_json(&request_headers)?;
    let body = body.map_err(|rejection| Problem {
        status: rejection.status(),
        error: rejection.body_text(),
        parameter: Some("body".to_string()),
    })?;
    let incoming = request_headers.get(headers::TRACEPARENT).and_then(|v| v.to_str().ok());
    // Lives until the answer: the span covers validation, encoding and the broker's ack.
    let span = tracing::info_span!("produce record", topic = %topic, record = tracing::field::Empty);
    telemetry::continue_trace(&span, incoming);
    let request: ProduceRequest = serde_json::from_slice(&body).map_err(|e| ProduceError::BadRequest(e.to_string()))?;
    let spec = gateway
        .catalogue
        .topic(&topic)
        .filter(|t| t.format == ValueFormat::Avro)
        .ok_or_else(|| ProduceError::UnknownTopic(topic.clone()))?;
    let carried = spec.values.join(", ");
    let record = match (request.record, spec.values.as_slice()) {
        (Some(record), values) if values.contains(&record) => record,
        (Some(record), _) => return Err(ProduceError::UnknownRecord { topic, record, carried }),
        (None, [only]) => only.clone(),
        (None, _) => return Err(ProduceError::TypeNeeded { topic, carried }),
    };
    // Valid Avro, but no read model could hold it.
    let nul = |problem: Problem| ProduceError::Refused(Problem { status: StatusCode::UNPROCESSABLE_ENTITY, ..problem });
    json_nul_free(&request.value).map_err(nul)?;
    nul_free("the key", "key", request.key.as_deref().unwrap_or_default()).map_err(nul)?;
    let payload = gateway.codec.encode_json(&topic, &record, &request.value).await.map_err(|error| match error {
        CodecError::Json { path, reason } => ProduceError::Invalid { record: record.clone(), path, reason },
        other if other.is_transient() => ProduceError::RegistryUnavailable(other.to_string()),
        other => ProduceError::RegistryUnavailable(format!("{record}: {other}")),
    })?;
    let mut kafka_headers = OwnedHeaders::new().insert(Header { key: headers::RECORD_TYPE, value: Some(&record) });
    if let Some(traceparent) = telemetry::traceparent_of(&span, incoming) {
        kafka_headers = kafka_headers.insert(Header { key: headers::TRACEPARENT, value: Some(&traceparent) });
    }
    let mut future = FutureRecord::<str, [u8]>::to(&topic).payload(&payload).headers(kafka_headers);
    if let Some(key) = &request.key {
        future = future.key(key.as_str());
    }
    let producer = gateway.producer(&topic).ok_or_else(|| ProduceError::UnknownTopic(topic.clone()))?;
    let delivery = producer
        .send(future, Duration::from_secs(30))
        .await
        .map_err(|(error, _)| ProduceError::Broker(error.to_string()))?;
    span.record("record", record.as_str());
    span.in_scope(|| {
        tracing::info!(topic, partition = delivery.partition, offset = delivery.offset, record, "record produced")
    });
    Ok(Json(json!({
        "topic": topic,
        "partition": delivery.partition,
        "offset": delivery.offset,
        "schema_id": frame_schema_id(&payload).unwrap_or_default(),
    })))
}
