//! An enum over the Avro records that may appear on one topic.

use apache_avro::types::Value;

/// Failure to turn a decoded Avro value into a record of the set.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("record type {0} is not one this topic carries")]
    UnknownRecord(String),
    #[error("record {record} does not fit its Rust type: {source}")]
    Mismatch {
        record: String,
        #[source]
        source: apache_avro::Error,
    },
}

/// The records of one topic. Serialising an element writes the inner record (untagged), so
/// the registry-aware encoder can write it with the record's own schema.
pub trait RecordSet: serde::Serialize + Sized {
    /// Full Avro names of every record in the set.
    const RECORDS: &'static [&'static str];
    /// The full Avro name of this element's record.
    fn record_name(&self) -> &'static str;
    /// Builds an element from a decoded Avro record and its full name.
    fn from_avro(record_name: &str, value: &Value) -> Result<Self, RecordError>;
}

/// Declares an enum whose variants each hold one Avro record, and implements [`RecordSet`].
///
/// ```
/// use clio_aggregate::{record_set, RecordSet};
/// #[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
/// pub struct Ping { pub n: i64 }
/// record_set! {
///     #[derive(Debug, PartialEq)]
///     pub enum Pings { Ping(Ping) = "demo.Ping" }
/// }
/// assert_eq!(Pings::Ping(Ping { n: 1 }).record_name(), "demo.Ping");
/// ```
#[macro_export]
macro_rules! record_set {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident($ty:ty) = $full:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(::serde::Serialize)]
        #[serde(untagged)]
        $vis enum $name { $($variant($ty)),+ }

        impl $crate::RecordSet for $name {
            const RECORDS: &'static [&'static str] = &[$($full),+];

            fn record_name(&self) -> &'static str {
                match self { $(Self::$variant(_) => $full),+ }
            }

            fn from_avro(
                record_name: &str,
                value: &::apache_avro::types::Value,
            ) -> ::std::result::Result<Self, $crate::RecordError> {
                match record_name {
                    $($full => ::apache_avro::from_value::<$ty>(value)
                        .map(Self::$variant)
                        .map_err(|source| $crate::RecordError::Mismatch { record: record_name.to_string(), source }),)+
                    other => Err($crate::RecordError::UnknownRecord(other.to_string())),
                }
            }
        }
    };
}

/// Declares Avro records as Rust structs, each deriving serde and its Avro schema, in one
/// namespace. Field types are single identifiers (`ty` fragments would hide them from the Avro
/// derive). The crate that uses it depends on `serde`, `serde_json` and `apache-avro`.
///
/// ```
/// clio_aggregate::avro_records! {
///     namespace = "demo";
///     /// A ping.
///     pub struct Ping { pub n: i64, }
/// }
/// use apache_avro::AvroSchema as _;
/// assert_eq!(Ping::get_schema().name().map(|n| n.fullname(None)), Some("demo.Ping".to_string()));
/// ```
#[macro_export]
macro_rules! avro_records {
    (namespace = $ns:literal; $($(#[$doc:meta])* pub struct $name:ident { $(pub $field:ident: $ty:ident,)* })*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize, ::apache_avro::AvroSchema)]
            #[avro(namespace = $ns)]
            pub struct $name { $(pub $field: $ty,)* }
        )*
    };
}
