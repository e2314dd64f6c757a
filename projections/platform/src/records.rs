//! What the read model reads: a dead letter (its headers, never its bytes) and a replay
//! (`schemas/platform/DeadLetterReplayed.avsc`).

use clio_aggregate::{avro_records, record_set};

avro_records! {
    namespace = "clio.platform";
    /// A dead letter as `clio_projection::dead_letter::value` gives it: its source, who refused
    /// it and why, its key and size, and `replay_of` for a replayed copy that failed again.
    pub struct DeadLetter {
        pub source_topic: String,
        pub source_partition: i32,
        pub source_offset: i64,
        pub consumer: String,
        pub reason: String,
        pub key: String,
        pub value_bytes: i64,
        pub replay_of: String,
    }

    pub struct DeadLetterReplayed {
        pub source_topic: String,
        pub source_partition: i32,
        pub source_offset: i64,
        pub replayed_by: String,
        pub replayed_at: i64,
        pub replayed_to_partition: i32,
        pub replayed_to_offset: i64,
        pub reason: String,
    }
}

record_set! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum PlatformRecord {
        DeadLetter(DeadLetter) = "clio.platform.DeadLetter",
        DeadLetterReplayed(DeadLetterReplayed) = "clio.platform.DeadLetterReplayed",
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::AvroSchema as _;
    use clio_aggregate::RecordSet as _;

    use super::*;

    #[test]
    fn the_dead_letter_record_is_the_one_the_projection_runtime_builds() {
        assert_eq!(PlatformRecord::RECORDS[0], clio_projection::dead_letter::RECORD);
        // Every field the runtime fills, of the type it fills, and no other.
        let schema = DeadLetter::get_schema().canonical_form();
        for field in [
            r#"{"name":"source_topic","type":"string"}"#,
            r#"{"name":"source_partition","type":"int"}"#,
            r#"{"name":"value_bytes","type":"long"}"#,
            r#"{"name":"replay_of","type":"string"}"#,
        ] {
            assert!(schema.contains(field), "{schema} lacks {field}");
        }
    }

    #[test]
    fn the_replay_record_matches_its_schema_file() {
        let dir = clio_testkit::tools::repo_root().join("schemas/platform");
        clio_testkit::schemas::assert_types_match_files(
            &dir,
            &[("DeadLetterReplayed", DeadLetterReplayed::get_schema())],
        );
    }
}
