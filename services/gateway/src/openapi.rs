//! The OpenAPI document of the gateway, served at `/openapi.json`.

use serde_json::{Map, Value, json};

use crate::routes::error_schema;

/// The gateway's own paths and the plugged domains' `paths`.
pub fn document(paths: &Map<String, Value>) -> Value {
    // Every refusal has this shape (see `problem`): the reason, and what was refused.
    let error = error_schema();
    let readiness =
        json!({"postgres": {"type": "string"}, "broker": {"type": "string"}, "registry": {"type": "string"}});
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Clio gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Produce records to Clio's topics as JSON; query the plugged domains' read models and APIs; health and readiness."
        },
        "paths": {
            "/v1/topics/{topic}/records": {
                "post": {
                    "summary": "Produce one record",
                    "description": "The value is checked against the latest registered Avro schema of `<topic>-<type>` and produced with Confluent framing. Timestamps may be RFC 3339 text or microseconds; dates YYYY-MM-DD. A `traceparent` header is carried into the record's headers.",
                    "parameters": [
                        {"name": "topic", "in": "path", "required": true, "schema": {"type": "string"}},
                        {"name": "traceparent", "in": "header", "required": false, "schema": {"type": "string"}}
                    ],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["value"], "additionalProperties": false,
                        "properties": {
                            "type": {"type": "string", "description": "Full Avro name of the record; optional when the topic carries one type."},
                            "key": {"type": "string", "description": "The record key (see the topic catalogue for its format)."},
                            "value": {"type": "object", "description": "The record as JSON."}
                        }
                    }}}},
                    "responses": {
                        "200": {"description": "Produced", "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {"topic": {"type": "string"}, "partition": {"type": "integer"}, "offset": {"type": "integer"}, "schema_id": {"type": "integer"}}
                        }}}},
                        "400": {"description": "Not a produce request, or a record type is needed", "content": {"application/json": {"schema": error}}},
                        "413": {"description": "The body is larger than 1 MiB", "content": {"application/json": {"schema": error}}},
                        "415": {"description": "The body is not JSON", "content": {"application/json": {"schema": error}}},
                        "404": {"description": "Unknown topic or record type", "content": {"application/json": {"schema": error}}},
                        "422": {"description": "The value does not fit the schema", "content": {"application/json": {"schema": {
                            "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}, "parameter": {"type": "string"}, "path": {"type": "string"}, "reason": {"type": "string"}}
                        }}}},
                        "503": {"description": "Registry or broker unavailable", "content": {"application/json": {"schema": error}}}
                    },
                    "security": crate::auth::requirement("produce:{topic}")
                }
            },
            "/docs/": {"get": {"summary": "The AsyncAPI documentation of every topic and record, as HTML (rendered by `make asyncapi`)",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}, "404": {"description": "Not rendered"}}}},
            "/health": {"get": {"summary": "Liveness", "responses": {"200": crate::routes::answer("Up", &["status"], json!({"status": {"const": "ok"}}))}}},
            "/ready": {"get": {"summary": "Readiness: Postgres, the broker and the schema registry answer", "responses": {
                "200": crate::routes::answer("Ready: each dependency is \"ok\"", &["postgres", "broker", "registry"], readiness.clone()),
                "503": crate::routes::answer("A dependency does not answer: its error instead of \"ok\"", &["postgres", "broker", "registry"], readiness)
            }}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": crate::routes::answer("OpenAPI 3.1", &["openapi", "info", "paths"], json!({
                "openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"}}))}}},
            "/console/": {"get": {
                "summary": "The operators' console: topics, lag, dead letters (with a replay button), each domain's panel",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
                "security": crate::auth::requirement("read:platform")
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics: per processor and projector, records, dead letters and batch latency; read-model lag per partition; dead letters by status; each domain's figures",
                "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}},
                "security": crate::auth::requirement("read:platform")
            }}
        }
    });
    document["components"] = json!({"securitySchemes": {crate::auth::SCHEME: {
        "type": "http", "scheme": "bearer",
        "description": "An API key (`clio keys create`), as `Authorization: Bearer <key>`. Each operation names the scope it needs: `produce:<topic or domain>`, `read:<domain>`, `write:<domain>`, `admin:<domain>`, or `*`. With no key configured, a server on a loopback address needs none."
    }}});
    if let Some(own) = document["paths"].as_object_mut() {
        own.extend(paths.iter().map(|(path, item)| (path.clone(), item.clone())));
        // Every guarded operation may answer 401 and 403; every operation that reads a
        // parameter or a body, 400 (a NUL character in either is refused before any handler
        // sees it: see `problem::nul_free`).
        for item in own.values_mut() {
            for operation in item.as_object_mut().into_iter().flat_map(|ops| ops.values_mut()) {
                let reads_input = operation["parameters"].as_array().is_some_and(|p| !p.is_empty())
                    || operation.get("requestBody").is_some();
                if let Some(responses) = operation["responses"].as_object_mut().filter(|_| reads_input) {
                    responses
                        .entry("400")
                        .or_insert_with(|| crate::routes::refusal("A parameter or the body is refused"));
                }
                let guarded = operation["security"].as_array().is_some_and(|s| !s.is_empty());
                if let Some(responses) = operation["responses"].as_object_mut().filter(|_| guarded) {
                    crate::auth::add_refusals(responses);
                }
            }
        }
    }
    document
}
