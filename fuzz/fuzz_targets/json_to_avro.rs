//! Arbitrary JSON as the gateway receives it, converted to a record of a catalogue schema;
//! whatever converts is encoded as Avro. Nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((schema, text)) = clio_fuzz::pick(data) else { return };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(text) else { return };
    if let Ok(value) = clio_runtime::codec::json::json_to_avro(schema, &json) {
        // The one-shot datum functions read and write a bare body, which is what follows a
        // Confluent frame (0.22 deprecates them for readers and writers that hold more state).
        #[allow(deprecated)]
        let _ = apache_avro::to_avro_datum(schema, value);
    }
});
