//! `POST /v1/matching/force-match`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clio_gateway::auth::requirement;
use clio_gateway::problem::Problem;
use clio_gateway::routes::{answer, operator, refusal};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Api, body, object, unavailable};
use crate::client::now_micros;
use crate::force::{Refusal, command};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ForceMatchBody {
    payment_key: String,
    merchant_transaction_id: String,
}

pub(super) async fn force_match(State(api): State<Api>, headers: HeaderMap, bytes: Bytes) -> Response {
    let body: ForceMatchBody = match body(&headers, &bytes) {
        Ok(body) => body,
        Err(problem) => return problem.into_response(),
    };
    let asked = command(
        &api.pool,
        &api.schema,
        &body.payment_key,
        &body.merchant_transaction_id,
        &operator(&headers),
        now_micros(),
    )
    .await;
    match asked {
        Err(error) => unavailable(format!("{error:#}")),
        Ok(Err(Refusal::Unknown(reason))) => Problem::new(StatusCode::NOT_FOUND, reason).into_response(),
        Ok(Err(Refusal::NotPending(reason))) => Problem::new(StatusCode::CONFLICT, reason).into_response(),
        Ok(Ok((command, match_id))) => {
            let accepted = json!({"match_id": match_id, "payment_key": body.payment_key,
                                  "merchant_transaction_id": body.merchant_transaction_id});
            api.send(&[command], accepted).await
        }
    }
}

pub(super) fn openapi_paths() -> Map<String, Value> {
    object(json!({
        "/v1/matching/force-match": {"post": {
            "summary": "Match a pending payment with a pending merchant transaction of its merchant, whatever the rules say (FORCED)",
            "parameters": [{"name": "X-Clio-Operator", "in": "header", "required": false,
                            "description": "Who asks, recorded on the log (default: gateway)", "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                "required": ["payment_key", "merchant_transaction_id"], "properties": {
                    "payment_key": {"type": "string", "description": "payment:<settlement key>, as matching.payment_transactions has it"},
                    "merchant_transaction_id": {"type": "string"}}}}}},
            "responses": {
                "202": answer("The force match is on the log; matching.matches shows it (FORCED), or matching.ignored why not (FORCE_MATCH_REFUSED)",
                              &["match_id", "payment_key", "merchant_transaction_id"],
                              json!({"match_id": {"type": "string"}, "payment_key": {"type": "string"}, "merchant_transaction_id": {"type": "string"}})),
                "400": refusal("Bad body"),
                "404": refusal("No such payment, or its merchant has no such transaction"),
                "409": refusal("A side is not pending: which, and its status")
            },
            "security": requirement("admin:matching")
        }}
    }))
}
