//! The OpenAPI document of the gateway, served at `/openapi.json`.

use serde_json::{Value, json};

pub fn document() -> Value {
    // Every refusal has this shape (see `problem`): the reason, and what was refused.
    let error = json!({"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "Why the request was refused."},
        "parameter": {"type": "string", "description": "The path or query parameter, header (content-type) or part of the body (body, topic, type, value) that was refused."}
    }});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Clio gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Produce records to Clio's topics as JSON; query the ledger's read models; the accounts fetch API; health and readiness."
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
                    }
                }
            },
            "/accounts/{debtor_id}/{creditor_id}/reachable": {"get": {
                "summary": "Whether the account can receive transfers (the root account, creditor 0, always can)",
                "parameters": account_parameters(),
                "responses": {"204": {"description": "Reachable"}, "404": {"description": "No such account, deleted, or scheduled for deletion"},
                              "400": {"description": "Not integers", "content": {"application/json": {"schema": error}}}}
            }},
            "/accounts/{debtor_id}/{creditor_id}/config": {"get": {
                "summary": "The account's config_data",
                "parameters": account_parameters(),
                "responses": {"200": {"description": "config_data", "content": {"text/plain": {"schema": {"type": "string"}}}},
                              "404": {"description": "No such account"}, "400": {"description": "Not integers", "content": {"application/json": {"schema": error}}}}
            }},
            "/v1/ledger/accounts": {"get": {
                "summary": "A debtor's accounts with their balances (ledger.account_balances), by creditor id",
                "parameters": [
                    {"name": "debtor_id", "in": "query", "required": true, "schema": {"type": "integer", "format": "int64"}},
                    {"name": "after", "in": "query", "required": false, "description": "Creditor id to start after (the previous page's next).", "schema": {"type": "integer", "format": "int64"}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
                ],
                "responses": {"200": page("Accounts"), "400": {"description": "Bad parameters", "content": {"application/json": {"schema": error}}}}
            }},
            "/v1/ledger/accounts/{debtor_id}/{creditor_id}/transfers": {"get": {
                "summary": "An account's transfer history (ledger.transfers), by transfer number",
                "parameters": [
                    {"name": "debtor_id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}},
                    {"name": "creditor_id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}},
                    {"name": "after", "in": "query", "required": false, "description": "Transfer number to start after (the previous page's next).", "schema": {"type": "integer", "format": "int64"}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
                ],
                "responses": {"200": page("Transfers"), "400": {"description": "Bad parameters", "content": {"application/json": {"schema": error}}}}
            }},
            "/v1/ledger/accounts/{debtor_id}/{creditor_id}/prepared-transfers": {"get": {
                "summary": "An account's open transfers (ledger.prepared_transfers): prepared, not yet finalized; by transfer id",
                "parameters": [
                    {"name": "debtor_id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}},
                    {"name": "creditor_id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}},
                    {"name": "after", "in": "query", "required": false, "description": "Transfer id to start after (the previous page's next).", "schema": {"type": "integer", "format": "int64"}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
                ],
                "responses": {"200": page("Open transfers"), "400": {"description": "Bad parameters", "content": {"application/json": {"schema": error}}}}
            }},
            "/docs/": {"get": {"summary": "The AsyncAPI documentation of every topic and record, as HTML (rendered by `make asyncapi`)",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}, "404": {"description": "Not rendered"}}}},
            "/health": {"get": {"summary": "Liveness", "responses": {"200": {"description": "Up"}}}},
            "/ready": {"get": {"summary": "Readiness: Postgres, the broker and the schema registry answer", "responses": {
                "200": {"description": "Ready"}, "503": {"description": "A dependency does not answer"}
            }}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        }
    })
}

fn account_parameters() -> Value {
    json!([
        {"name": "debtor_id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}},
        {"name": "creditor_id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}}
    ])
}

fn page(what: &str) -> Value {
    json!({"description": format!("{what}, one page"), "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": {"type": "object"}},
            "next": {"description": "Pass as `after` for the next page; null on the last page.", "type": ["integer", "null"]}
        }
    }}}})
}
