//! The codec: any valid record round-trips byte-exactly through the registry framing, and
//! through the JSON form the CLI and gateway use (maps with several entries: value-exactly,
//! since Avro maps are unordered).

use apache_avro::Schema;
use clio_runtime::codec::json::{avro_to_json, json_to_avro};
use clio_runtime::codec::{Codec, frame_schema_id};
use clio_testkit::harness::TestEnv;
use proptest::prelude::*;
use serde_json::{Value as Json, json};

const SCHEMA: &str = r#"{"type":"record","name":"Everything","namespace":"clio.test","fields":[
  {"name":"id","type":"long"},
  {"name":"count","type":"int"},
  {"name":"ratio","type":"double"},
  {"name":"name","type":"string"},
  {"name":"note","type":["null","string"],"default":null},
  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["ALPHA","BETA","GAMMA"]}},
  {"name":"tags","type":{"type":"array","items":"string"}},
  {"name":"weights","type":{"type":"map","values":"long"}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-micros"}},
  {"name":"day","type":{"type":"int","logicalType":"date"}},
  {"name":"raw","type":"bytes"},
  {"name":"flag","type":"boolean"}
]}"#;

fn document() -> impl Strategy<Value = Json> {
    (
        any::<i64>(),
        any::<i32>(),
        -1e12f64..1e12,
        "\\PC{0,20}",
        proptest::option::of("[a-z ]{0,12}"),
        prop_oneof![Just("ALPHA"), Just("BETA"), Just("GAMMA")],
        proptest::collection::vec("[a-z]{0,6}", 0..4),
        proptest::collection::btree_map("[a-z]{1,5}", any::<i64>(), 0..4),
        -2_000_000_000_000_000i64..4_000_000_000_000_000,
        -100_000i32..100_000,
        proptest::collection::vec(any::<u8>(), 0..16),
        any::<bool>(),
    )
        .prop_map(|(id, count, ratio, name, note, kind, tags, weights, at, day, raw, flag)| {
            json!({"id": id, "count": count, "ratio": ratio, "name": name, "note": note, "kind": kind, "tags": tags,
                   "weights": weights, "at": at, "day": day, "raw": raw.iter().map(|&b| char::from(b)).collect::<String>(), "flag": flag})
        })
}

#[test]
fn any_valid_record_round_trips_byte_exactly_through_the_registry_framing() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (env, topic, codec, id) = runtime.block_on(async {
        let env = TestEnv::start().await.expect("env");
        let topic = env.unique("codec");
        let id = env.register(&format!("{topic}-clio.test.Everything"), SCHEMA).await.expect("registered");
        let codec = Codec::new(&env.registry_url);
        (env, topic, codec, id)
    });
    let schema = Schema::parse_str(SCHEMA).expect("schema");
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 96, ..ProptestConfig::default() });
    runner
        .run(&document(), |doc| {
            let value = json_to_avro(&schema, &doc).expect("a generated document fits");
            prop_assert!(value.validate(&schema));
            let bytes = runtime.block_on(codec.encode_json(&topic, "clio.test.Everything", &doc)).expect("encodes");
            prop_assert_eq!(frame_schema_id(&bytes).expect("framed"), id as u32);
            let decoded = runtime.block_on(codec.decode(&bytes)).expect("decodes");
            prop_assert_eq!(&decoded.record, "clio.test.Everything");
            prop_assert_eq!(&decoded.value, &value);
            // Decoded, printed as JSON and encoded again: the very same bytes. Avro maps have no
            // order and apache-avro holds them in a HashMap, so with several map entries only
            // the value is the same (the entries may be written in another order).
            let again = runtime
                .block_on(codec.encode_json(&topic, "clio.test.Everything", &avro_to_json(&decoded.value)))
                .expect("re-encodes");
            if doc["weights"].as_object().is_some_and(|w| w.len() <= 1) {
                prop_assert_eq!(again, bytes);
            } else {
                prop_assert_eq!(runtime.block_on(codec.decode(&again)).expect("decodes").value, value);
            }
            Ok(())
        })
        .expect("round trip holds");
    drop(env);
}

#[test]
fn bytes_that_are_not_a_confluent_frame_are_named_as_such() {
    assert!(frame_schema_id(b"").unwrap_err().to_string().contains("empty"));
    assert!(frame_schema_id(b"{\"json\":1}").unwrap_err().to_string().contains("magic byte"));
    assert!(frame_schema_id(&[0, 1]).unwrap_err().to_string().contains("shorter"));
    assert_eq!(frame_schema_id(&[0, 0, 0, 1, 2, 9]).unwrap(), 258);
}
