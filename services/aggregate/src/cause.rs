//! Causes and deterministic ids.

use std::fmt;

/// The position of the record that caused an outcome. Two runs over the same log agree on
/// every cause, so ids derived from it are stable across crashes and replays.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cause {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl Cause {
    pub fn new(topic: impl Into<String>, partition: i32, offset: i64) -> Self {
        Self { topic: topic.into(), partition, offset }
    }

    /// A 64-bit number unique to this cause, for domains that need a numeric id derived
    /// from it (a change id, a transfer id seed).
    pub fn seed(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(self.to_string().as_bytes())
    }

    /// The id of the `index`-th record of this cause's outcome: 32 hex digits, laid out as
    /// 32 bits of the topic's hash, 24 of partition, 56 of offset and 16 of index, so that the
    /// ids of one partition's outcomes rise with its offsets. A read model records every id it
    /// applies in a unique index, and rising ids go to the index's last page instead of a
    /// random one. A position too large for its field (never seen in practice) gets a hash of
    /// the whole cause instead.
    pub fn event_id(&self, index: usize) -> String {
        let topic = xxhash_rust::xxh3::xxh3_64(self.topic.as_bytes()) >> 32;
        let fits = (0..1 << 24).contains(&self.partition) && (0..1 << 56).contains(&self.offset) && index < 1 << 16;
        let id = if fits {
            (u128::from(topic) << 96) | ((self.partition as u128) << 72) | ((self.offset as u128) << 16) | index as u128
        } else {
            xxhash_rust::xxh3::xxh3_128(format!("{self}#{index}").as_bytes())
        };
        format!("{id:032x}")
    }

    /// Parses the `topic/partition/offset` form written by [`fmt::Display`].
    pub fn parse(text: &str) -> Option<Self> {
        let (rest, offset) = text.rsplit_once('/')?;
        let (topic, partition) = rest.rsplit_once('/')?;
        Some(Self::new(topic, partition.parse().ok()?, offset.parse().ok()?))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.topic, self.partition, self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn event_ids_differ_by_index_and_cause() {
        let a = Cause::new("ledger.commands", 1, 7);
        let b = Cause::new("ledger.commands", 1, 8);
        assert_ne!(a.event_id(0), a.event_id(1));
        assert_ne!(a.event_id(0), b.event_id(0));
        assert_eq!(a.event_id(3), Cause::new("ledger.commands", 1, 7).event_id(3));
        assert_eq!(a.event_id(0).len(), 32);
    }

    #[test]
    fn event_ids_of_one_partition_rise_with_offset_and_index() {
        let id = |offset, index| Cause::new("ledger.events", 3, offset).event_id(index);
        assert!(id(7, 0) < id(7, 1));
        assert!(id(7, 65_535) < id(8, 0));
        assert!(id(255, 0) < id(256, 0), "as numbers, not as decimal text");
        assert_ne!(id(1, 0), Cause::new("ledger.commands", 3, 1).event_id(0));
        assert_ne!(id(1, 0), Cause::new("ledger.events", 4, 1).event_id(0));
    }

    proptest! {
        #[test]
        fn event_ids_are_32_hex_digits_and_never_repeat_across_positions(
            partition in prop_oneof![0i32..4, Just((1 << 24) - 1), Just(1 << 24), Just(i32::MAX)],
            offset in prop_oneof![0i64..1_000, Just((1 << 56) - 1), Just(1 << 56), Just(i64::MAX)],
            index in prop_oneof![0usize..4, Just(65_535), Just(65_536)],
            other in (0i32..4, 0i64..1_000, 0usize..4),
        ) {
            let id = Cause::new("t", partition, offset).event_id(index);
            prop_assert_eq!(id.len(), 32);
            prop_assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
            if (partition, offset, index) != other {
                prop_assert_ne!(id, Cause::new("t", other.0, other.1).event_id(other.2));
            }
        }

        #[test]
        fn a_cause_survives_its_text_form(topic in "[a-z.-]{1,20}", partition in 0i32..1000, offset in 0i64..i64::MAX) {
            let cause = Cause::new(topic, partition, offset);
            prop_assert_eq!(Cause::parse(&cause.to_string()), Some(cause));
        }
    }
}
