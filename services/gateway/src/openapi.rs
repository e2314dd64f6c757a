//! The OpenAPI document of the gateway, served at `/openapi.json`.

use serde_json::{Value, json};

pub fn document() -> Value {
    let error = json!({"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Clio gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Produce records to Clio's topics as JSON; check health and readiness."
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
                        "404": {"description": "Unknown topic or record type", "content": {"application/json": {"schema": error}}},
                        "422": {"description": "The value does not fit the schema", "content": {"application/json": {"schema": {
                            "type": "object", "properties": {"error": {"type": "string"}, "path": {"type": "string"}, "reason": {"type": "string"}}
                        }}}},
                        "503": {"description": "Registry or broker unavailable", "content": {"application/json": {"schema": error}}}
                    }
                }
            },
            "/health": {"get": {"summary": "Liveness", "responses": {"200": {"description": "Up"}}}},
            "/ready": {"get": {"summary": "Readiness: Postgres and the broker answer", "responses": {
                "200": {"description": "Ready"}, "503": {"description": "A dependency does not answer"}
            }}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        }
    })
}
