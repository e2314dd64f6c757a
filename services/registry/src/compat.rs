//! Compatibility levels and the check behind them, on Avro's schema-resolution rules.

use std::fmt;
use std::str::FromStr;

use apache_avro::Schema;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};

/// Confluent's compatibility levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

/// The level used when neither the subject nor the global config sets one: Clio's logs are
/// replayed forever, so a new reader must read every earlier version.
pub const DEFAULT: Level = Level::BackwardTransitive;

impl FromStr for Level {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "NONE" => Self::None,
            "BACKWARD" => Self::Backward,
            "BACKWARD_TRANSITIVE" => Self::BackwardTransitive,
            "FORWARD" => Self::Forward,
            "FORWARD_TRANSITIVE" => Self::ForwardTransitive,
            "FULL" => Self::Full,
            "FULL_TRANSITIVE" => Self::FullTransitive,
            other => return Err(other.to_string()),
        })
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        })
    }
}

impl Level {
    fn transitive(self) -> bool {
        matches!(self, Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive)
    }
}

/// `Ok` when `reader` reads everything `writer` wrote, with certainty.
fn reads(writer: &Schema, reader: &Schema) -> Result<(), String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => Ok(()),
        Ok(_) => Err("only some values would resolve (an enum symbol or union branch is missing)".to_string()),
        Err(error) => Err(error.to_string()),
    }
}

/// Checks `new` against the earlier versions (oldest first) at `level`.
pub fn check(level: Level, new: &Schema, earlier: &[Schema]) -> Result<(), String> {
    let against: &[Schema] =
        if level.transitive() { earlier } else { earlier.last().map(std::slice::from_ref).unwrap_or(&[]) };
    for (index, old) in against.iter().enumerate() {
        let which =
            if level.transitive() { format!("version {}", index + 1) } else { "the latest version".to_string() };
        let backward =
            matches!(level, Level::Backward | Level::BackwardTransitive | Level::Full | Level::FullTransitive);
        let forward = matches!(level, Level::Forward | Level::ForwardTransitive | Level::Full | Level::FullTransitive);
        if backward {
            reads(old, new).map_err(|e| format!("the new schema cannot read data written with {which}: {e}"))?;
        }
        if forward {
            reads(new, old).map_err(|e| format!("{which} cannot read data written with the new schema: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(fields: &str) -> Schema {
        Schema::parse_str(&format!(r#"{{"type":"record","name":"R","fields":[{fields}]}}"#)).unwrap()
    }

    #[test]
    fn adding_a_field_with_a_default_is_backward_compatible() {
        let v1 = parse(r#"{"name":"a","type":"long"}"#);
        let v2 = parse(r#"{"name":"a","type":"long"},{"name":"b","type":"string","default":""}"#);
        assert!(check(Level::BackwardTransitive, &v2, &[v1]).is_ok());
    }

    #[test]
    fn adding_a_field_without_a_default_is_not() {
        let v1 = parse(r#"{"name":"a","type":"long"}"#);
        let v2 = parse(r#"{"name":"a","type":"long"},{"name":"b","type":"string"}"#);
        let reason = check(Level::Backward, &v2, &[v1]).unwrap_err();
        assert!(reason.contains("cannot read"), "{reason}");
    }

    #[test]
    fn transitive_checks_every_earlier_version_not_only_the_latest() {
        let v1 = parse(r#"{"name":"a","type":"long"}"#);
        let v2 = parse(r#"{"name":"a","type":"long"},{"name":"b","type":"string","default":""}"#);
        // v3 drops the default of b: it reads v2 data but not v1 data.
        let v3 = parse(r#"{"name":"a","type":"long"},{"name":"b","type":"string"}"#);
        assert!(check(Level::Backward, &v3, &[v1.clone(), v2.clone()]).is_ok());
        assert!(check(Level::BackwardTransitive, &v3, &[v1, v2]).is_err());
    }

    #[test]
    fn none_accepts_anything_and_levels_print_as_confluent_names() {
        let v1 = parse(r#"{"name":"a","type":"long"}"#);
        let v2 = parse(r#"{"name":"z","type":"string"}"#);
        assert!(check(Level::None, &v2, &[v1]).is_ok());
        for level in
            ["NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"]
        {
            assert_eq!(level.parse::<Level>().unwrap().to_string(), level);
        }
    }
}
