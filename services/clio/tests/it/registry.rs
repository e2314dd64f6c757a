//! The embedded schema registry, spoken to as Confluent clients speak to it.

use apache_avro::types::Value;
use clio_testkit::harness::TestEnv;
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy;
use serde_json::{Value as Json, json};

const V1: &str = r#"{"type":"record","name":"Reading","namespace":"clio.test","fields":[{"name":"sensor","type":"string"},{"name":"value","type":"double"}]}"#;
const V2: &str = r#"{"type":"record","name":"Reading","namespace":"clio.test","fields":[{"name":"sensor","type":"string"},{"name":"value","type":"double"},{"name":"unit","type":"string","default":"C"}]}"#;
const V3_NO_DEFAULT: &str = r#"{"type":"record","name":"Reading","namespace":"clio.test","fields":[{"name":"sensor","type":"string"},{"name":"value","type":"double"},{"name":"unit","type":"string"}]}"#;

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(env: &TestEnv) -> Self {
        Self { http: reqwest::Client::new(), base: env.registry_url.clone() }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Json>) -> (u16, Json) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/vnd.schemaregistry.v1+json");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.expect("registry answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Json::String(text)))
    }

    async fn register(&self, subject: &str, schema: &str) -> (u16, Json) {
        self.call(reqwest::Method::POST, &format!("/subjects/{subject}/versions"), Some(json!({"schema": schema})))
            .await
    }
}

#[tokio::test]
async fn the_same_schema_registered_twice_gets_the_same_id_and_one_version() {
    let env = TestEnv::start().await.expect("env");
    let client = Client::new(&env);
    let subject = env.unique("readings-clio.test.Reading");
    let (status, first) = client.register(&subject, V1).await;
    assert_eq!(status, 200, "{first}");
    // Different whitespace, same schema.
    let spaced = V1.replace(',', ", ");
    let (_, second) = client.register(&subject, &spaced).await;
    assert_eq!(first["id"], second["id"]);
    let (_, versions) = client.call(reqwest::Method::GET, &format!("/subjects/{subject}/versions"), None).await;
    assert_eq!(versions, json!([1]));
    // Under another subject, the same schema keeps its id.
    let (_, other) = client.register(&env.unique("other-clio.test.Reading"), V1).await;
    assert_eq!(first["id"], other["id"]);
}

#[tokio::test]
async fn versions_lookups_and_ids_answer_as_confluent_does() {
    let env = TestEnv::start().await.expect("env");
    let client = Client::new(&env);
    let subject = env.unique("lookups-clio.test.Reading");
    let (_, v1) = client.register(&subject, V1).await;
    let (_, v2) = client.register(&subject, V2).await;
    assert_ne!(v1["id"], v2["id"]);

    let (status, latest) =
        client.call(reqwest::Method::GET, &format!("/subjects/{subject}/versions/latest"), None).await;
    assert_eq!(status, 200);
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["id"], v2["id"]);
    assert_eq!(latest["subject"], json!(subject));
    let (_, first) = client.call(reqwest::Method::GET, &format!("/subjects/{subject}/versions/1"), None).await;
    assert_eq!(first["schema"], json!(V1));

    let (status, found) =
        client.call(reqwest::Method::POST, &format!("/subjects/{subject}"), Some(json!({"schema": V1}))).await;
    assert_eq!(status, 200);
    assert_eq!((found["version"].clone(), found["id"].clone()), (json!(1), v1["id"].clone()));

    let (_, by_id) = client.call(reqwest::Method::GET, &format!("/schemas/ids/{}", v2["id"]), None).await;
    assert_eq!(by_id["schema"], json!(V2));
    let (_, subjects) = client.call(reqwest::Method::GET, "/subjects", None).await;
    assert!(subjects.as_array().expect("a list").contains(&json!(subject)));
}

#[tokio::test]
async fn errors_carry_confluent_codes() {
    let env = TestEnv::start().await.expect("env");
    let client = Client::new(&env);
    let subject = env.unique("errors-clio.test.Reading");
    let missing = env.unique("missing");

    let (status, body) = client.call(reqwest::Method::GET, &format!("/subjects/{missing}/versions"), None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40401)), "{body}");
    client.register(&subject, V1).await;
    let (status, body) = client.call(reqwest::Method::GET, &format!("/subjects/{subject}/versions/7"), None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40402)), "{body}");
    let (status, body) = client.call(reqwest::Method::GET, "/schemas/ids/987654321", None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40403)), "{body}");
    let (status, body) =
        client.call(reqwest::Method::POST, &format!("/subjects/{subject}"), Some(json!({"schema": V2}))).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40403)), "{body}");
    let (status, body) = client
        .register(&subject, r#"{"type":"record","name":"Broken","fields":[{"name":"x","type":"nonsense"}]}"#)
        .await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42201)), "{body}");
    let (status, body) = client.call(reqwest::Method::GET, &format!("/subjects/{subject}/versions/zero"), None).await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42202)), "{body}");
    let (status, body) = client
        .call(reqwest::Method::PUT, &format!("/config/{subject}"), Some(json!({"compatibility": "SIDEWAYS"})))
        .await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42203)), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn the_default_level_is_backward_transitive_and_an_incompatible_schema_is_refused_with_409() {
    let env = TestEnv::start().await.expect("env");
    let client = Client::new(&env);
    let subject = env.unique("compat-clio.test.Reading");
    let (_, global) = client.call(reqwest::Method::GET, "/config", None).await;
    assert!(global["compatibilityLevel"].is_string());
    let (_, level) = client.call(reqwest::Method::GET, &format!("/config/{subject}?defaultToGlobal=true"), None).await;
    assert_eq!(level["compatibilityLevel"], global["compatibilityLevel"]);
    let (status, unset) = client.call(reqwest::Method::GET, &format!("/config/{subject}"), None).await;
    assert_eq!((status, unset["error_code"].clone()), (404, json!(40408)));

    client.register(&subject, V1).await;
    client.register(&subject, V2).await;
    // V3 reads V2 data (it has unit) but not V1 data: refused under BACKWARD_TRANSITIVE.
    let (status, body) = client
        .call(
            reqwest::Method::POST,
            &format!("/compatibility/subjects/{subject}/versions/latest"),
            Some(json!({"schema": V3_NO_DEFAULT})),
        )
        .await;
    assert_eq!((status, body["is_compatible"].clone()), (200, json!(false)), "{body}");
    let (status, body) = client.register(&subject, V3_NO_DEFAULT).await;
    assert_eq!((status, body["error_code"].clone()), (409, json!(409)), "{body}");
    // Against version 2 alone it is compatible.
    let (_, body) = client
        .call(
            reqwest::Method::POST,
            &format!("/compatibility/subjects/{subject}/versions/2"),
            Some(json!({"schema": V3_NO_DEFAULT})),
        )
        .await;
    assert_eq!(body["is_compatible"], json!(true), "{body}");
    // With the subject set to BACKWARD, only the latest counts, and V3 is accepted.
    let (status, set) = client
        .call(reqwest::Method::PUT, &format!("/config/{subject}"), Some(json!({"compatibility": "BACKWARD"})))
        .await;
    assert_eq!((status, set["compatibility"].clone()), (200, json!("BACKWARD")));
    let (status, body) = client.register(&subject, V3_NO_DEFAULT).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_deleted_subject_disappears_and_can_then_be_deleted_for_good() {
    let env = TestEnv::start().await.expect("env");
    let client = Client::new(&env);
    let subject = env.unique("deleted-clio.test.Reading");
    client.register(&subject, V1).await;
    client.register(&subject, V2).await;
    let (status, body) =
        client.call(reqwest::Method::DELETE, &format!("/subjects/{subject}?permanent=true"), None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40405)), "soft delete comes first");
    let (status, deleted) = client.call(reqwest::Method::DELETE, &format!("/subjects/{subject}"), None).await;
    assert_eq!((status, deleted), (200, json!([1, 2])));
    let (status, _) = client.call(reqwest::Method::GET, &format!("/subjects/{subject}/versions"), None).await;
    assert_eq!(status, 404);
    let (status, _) = client.call(reqwest::Method::DELETE, &format!("/subjects/{subject}?permanent=true"), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn schema_registry_converter_encodes_and_decodes_through_the_embedded_registry() {
    let env = TestEnv::start().await.expect("env");
    let topic = env.unique("converter");
    env.register(&format!("{topic}-clio.test.Reading"), V2).await.expect("registered");
    let encoder = AvroEncoder::new(SrSettings::new(env.registry_url.clone()));
    let decoder = AvroDecoder::new(SrSettings::new(env.registry_url.clone()));
    let strategy = SubjectNameStrategy::TopicRecordNameStrategy(topic.clone(), "clio.test.Reading".into());
    let bytes = encoder
        .encode(
            vec![
                ("sensor", Value::String("s-1".into())),
                ("value", Value::Double(21.5)),
                ("unit", Value::String("K".into())),
            ],
            strategy,
        )
        .await
        .expect("encoded");
    assert_eq!(bytes[0], 0, "Confluent magic byte");
    let decoded = decoder.decode(Some(&bytes)).await.expect("decoded");
    assert_eq!(decoded.name.expect("named").fullname(None), "clio.test.Reading");
    assert_eq!(
        decoded.value,
        Value::Record(vec![
            ("sensor".into(), Value::String("s-1".into())),
            ("value".into(), Value::Double(21.5)),
            ("unit".into(), Value::String("K".into()))
        ])
    );
}
