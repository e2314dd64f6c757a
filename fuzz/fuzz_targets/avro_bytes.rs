//! Arbitrary bytes as a record off the log: the Confluent framing is read, the body decoded
//! against a catalogue schema, and what decodes is turned to JSON and back (what `clio consume`
//! and the gateway do). Nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((schema, bytes)) = clio_fuzz::pick(data) else { return };
    let _ = clio_runtime::codec::frame_schema_id(bytes);
    let mut body = bytes.get(5..).unwrap_or_default();
    // The one-shot datum functions read and write a bare body, which is what follows a
    // Confluent frame (0.22 deprecates them for readers and writers that hold more state).
    #[allow(deprecated)]
    let decoded = apache_avro::from_avro_datum(schema, &mut body, None);
    if let Ok(value) = decoded {
        let json = clio_runtime::codec::json::avro_to_json(&value);
        let _ = clio_runtime::codec::json::json_to_avro(schema, &json);
    }
});
