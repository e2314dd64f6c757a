//! JSON <-> Avro, guided by the schema. The JSON form is the one people write by hand: a
//! record is an object, a union is its plain value (the first branch that fits wins), an enum
//! is its symbol, bytes are a string of code points 0-255, dates are `YYYY-MM-DD`, and
//! timestamps are RFC 3339 text (integers since the epoch are accepted too).
//! Every error names the path of the field that failed, such as `$.transfer.amount`.

use std::collections::HashMap;

use apache_avro::schema::{Name, RecordSchema, Schema};
use apache_avro::types::Value;
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Number, Value as Json};

use super::CodecError;

/// Converts a JSON document into an Avro value of `schema`.
pub fn json_to_avro(schema: &Schema, json: &Json) -> Result<Value, CodecError> {
    let mut names = HashMap::new();
    collect_names(schema, None, &mut names);
    Converter { names: &names }.convert(schema, json, "$")
}

/// Converts an Avro value to the JSON form [`json_to_avro`] accepts.
pub fn avro_to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) | Value::TimeMillis(i) => Json::from(*i),
        Value::Long(i) | Value::TimeMicros(i) => Json::from(*i),
        Value::Float(f) => Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number),
        Value::Double(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Bytes(b) | Value::Fixed(_, b) => Json::String(b.iter().map(|&c| char::from(c)).collect()),
        Value::String(s) => Json::String(s.clone()),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::Enum(_, symbol) => Json::String(symbol.clone()),
        Value::Union(_, inner) => avro_to_json(inner),
        Value::Array(items) => Json::Array(items.iter().map(avro_to_json).collect()),
        Value::Map(entries) => {
            let mut sorted: Vec<_> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            Json::Object(sorted.into_iter().map(|(k, v)| (k.clone(), avro_to_json(v))).collect())
        }
        Value::Record(fields) => Json::Object(fields.iter().map(|(k, v)| (k.clone(), avro_to_json(v))).collect()),
        // Days since 1970-01-01; a day no calendar date has (found by fuzz/avro_bytes: near
        // i32::MAX the shift to the common era overflowed) stays a number.
        Value::Date(days) => Json::String(
            days.checked_add(719_163)
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .map_or_else(|| days.to_string(), |d| d.to_string()),
        ),
        Value::TimestampMicros(t) | Value::LocalTimestampMicros(t) => {
            timestamp(DateTime::from_timestamp_micros(*t), *t)
        }
        Value::TimestampMillis(t) | Value::LocalTimestampMillis(t) => {
            timestamp(DateTime::from_timestamp_millis(*t), *t)
        }
        Value::TimestampNanos(t) | Value::LocalTimestampNanos(t) => {
            timestamp(Some(DateTime::from_timestamp_nanos(*t)), *t)
        }
        other => Json::String(format!("{other:?}")),
    }
}

fn timestamp(at: Option<DateTime<Utc>>, raw: i64) -> Json {
    at.map_or_else(|| Json::from(raw), |at| Json::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
}

fn collect_names<'a>(schema: &'a Schema, namespace: Option<&str>, names: &mut HashMap<String, &'a Schema>) {
    match schema {
        Schema::Record(RecordSchema { name, fields, .. }) => {
            names.insert(name.fullname(namespace), schema);
            let inner = name.namespace().or(namespace);
            for field in fields {
                collect_names(&field.schema, inner, names);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.fullname(namespace), schema);
        }
        Schema::Fixed(f) => {
            names.insert(f.name.fullname(namespace), schema);
        }
        Schema::Array(a) => collect_names(&a.items, namespace, names),
        Schema::Map(m) => collect_names(&m.types, namespace, names),
        Schema::Union(u) => u.variants().iter().for_each(|v| collect_names(v, namespace, names)),
        _ => {}
    }
}

struct Converter<'a> {
    names: &'a HashMap<String, &'a Schema>,
}

fn fail(path: &str, reason: impl Into<String>) -> CodecError {
    CodecError::Json { path: path.to_string(), reason: reason.into() }
}

fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

impl Converter<'_> {
    fn resolve<'s>(&'s self, schema: &'s Schema, path: &str) -> Result<&'s Schema, CodecError> {
        match schema {
            Schema::Ref { name } => self
                .names
                .get(&name.fullname(None))
                .copied()
                .ok_or_else(|| fail(path, format!("schema refers to unknown type {}", name_text(name)))),
            other => Ok(other),
        }
    }

    fn convert(&self, schema: &Schema, json: &Json, path: &str) -> Result<Value, CodecError> {
        let schema = self.resolve(schema, path)?;
        let expected = |what: &str| fail(path, format!("expected {what}, found {}", kind(json)));
        match schema {
            Schema::Null => json.is_null().then_some(Value::Null).ok_or_else(|| expected("null")),
            Schema::Boolean => json.as_bool().map(Value::Boolean).ok_or_else(|| expected("a boolean")),
            Schema::Int => Ok(Value::Int(int(json, path)?)),
            Schema::Long => Ok(Value::Long(long(json, path)?)),
            Schema::Float => json.as_f64().map(|f| Value::Float(f as f32)).ok_or_else(|| expected("a number")),
            Schema::Double => json.as_f64().map(Value::Double).ok_or_else(|| expected("a number")),
            Schema::String => json.as_str().map(|s| Value::String(s.to_string())).ok_or_else(|| expected("a string")),
            Schema::Bytes => Ok(Value::Bytes(latin1(json, path)?)),
            Schema::Uuid(_) => {
                let text = json.as_str().ok_or_else(|| expected("a UUID string"))?;
                text.parse().map(Value::Uuid).map_err(|e| fail(path, format!("not a UUID: {e}")))
            }
            Schema::Fixed(fixed) => {
                let bytes = latin1(json, path)?;
                if bytes.len() != fixed.size {
                    return Err(fail(path, format!("expected {} bytes, found {}", fixed.size, bytes.len())));
                }
                Ok(Value::Fixed(fixed.size, bytes))
            }
            Schema::Enum(e) => {
                let symbol = json.as_str().ok_or_else(|| expected("an enum symbol"))?;
                match e.symbols.iter().position(|s| s == symbol) {
                    Some(index) => Ok(Value::Enum(index as u32, symbol.to_string())),
                    None => Err(fail(path, format!("{symbol:?} is not one of {:?}", e.symbols))),
                }
            }
            Schema::Array(array) => {
                let items = json.as_array().ok_or_else(|| expected("an array"))?;
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.convert(&array.items, item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()
                    .map(Value::Array)
            }
            Schema::Map(map) => {
                let object = json.as_object().ok_or_else(|| expected("an object"))?;
                object
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.convert(&map.types, v, &format!("{path}.{k}"))?)))
                    .collect::<Result<_, CodecError>>()
                    .map(Value::Map)
            }
            Schema::Union(union) => {
                let mut reasons = Vec::new();
                for (index, variant) in union.variants().iter().enumerate() {
                    match self.convert(variant, json, path) {
                        Ok(value) => return Ok(Value::Union(index as u32, Box::new(value))),
                        Err(CodecError::Json { reason, .. }) => reasons.push(reason),
                        Err(other) => return Err(other),
                    }
                }
                Err(fail(path, format!("fits no branch of the union: {}", reasons.join("; "))))
            }
            Schema::Record(record) => self.record(record, json, path),
            Schema::Date => match json {
                Json::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(|d| Value::Date(d.num_days_from_ce() - 719_163))
                    .map_err(|e| fail(path, format!("not a YYYY-MM-DD date: {e}"))),
                _ => Ok(Value::Date(int(json, path)?)),
            },
            Schema::TimestampMicros => Ok(Value::TimestampMicros(instant(json, path, |t| Some(t.timestamp_micros()))?)),
            Schema::TimestampMillis => Ok(Value::TimestampMillis(instant(json, path, |t| Some(t.timestamp_millis()))?)),
            Schema::TimestampNanos => Ok(Value::TimestampNanos(instant(json, path, |t| t.timestamp_nanos_opt())?)),
            Schema::LocalTimestampMicros => {
                Ok(Value::LocalTimestampMicros(instant(json, path, |t| Some(t.timestamp_micros()))?))
            }
            Schema::LocalTimestampMillis => {
                Ok(Value::LocalTimestampMillis(instant(json, path, |t| Some(t.timestamp_millis()))?))
            }
            Schema::TimeMillis => Ok(Value::TimeMillis(int(json, path)?)),
            Schema::TimeMicros => Ok(Value::TimeMicros(long(json, path)?)),
            other => Err(fail(path, format!("the JSON form of {other:?} is not supported"))),
        }
    }

    fn record(&self, record: &RecordSchema, json: &Json, path: &str) -> Result<Value, CodecError> {
        let object: &Map<String, Json> = json.as_object().ok_or_else(|| {
            fail(path, format!("expected an object ({}), found {}", name_text(&record.name), kind(json)))
        })?;
        if let Some(unknown) = object.keys().find(|k| !record.lookup.contains_key(*k)) {
            return Err(fail(
                &format!("{path}.{unknown}"),
                format!("{} has no field {unknown:?}", name_text(&record.name)),
            ));
        }
        let mut fields = Vec::with_capacity(record.fields.len());
        for field in &record.fields {
            let field_path = format!("{path}.{}", field.name);
            let value = match (object.get(&field.name), &field.default) {
                (Some(value), _) => self.convert(&field.schema, value, &field_path)?,
                (None, Some(default)) => self.default(&field.schema, default, &field_path)?,
                (None, None) => return Err(fail(&field_path, "required field is missing")),
            };
            fields.push((field.name.clone(), value));
        }
        Ok(Value::Record(fields))
    }

    /// A field default: for a union, Avro says the default belongs to the first branch.
    fn default(&self, schema: &Schema, default: &Json, path: &str) -> Result<Value, CodecError> {
        match self.resolve(schema, path)? {
            Schema::Union(union) => {
                let first = union.variants().first().ok_or_else(|| fail(path, "empty union"))?;
                Ok(Value::Union(0, Box::new(self.convert(first, default, path)?)))
            }
            other => self.convert(other, default, path),
        }
    }
}

fn name_text(name: &Name) -> String {
    name.fullname(None)
}

fn long(json: &Json, path: &str) -> Result<i64, CodecError> {
    match json {
        Json::Number(n) => n.as_i64().ok_or_else(|| fail(path, format!("{n} is not a whole number within 64 bits"))),
        other => Err(fail(path, format!("expected a whole number, found {}", kind(other)))),
    }
}

fn int(json: &Json, path: &str) -> Result<i32, CodecError> {
    let n = long(json, path)?;
    i32::try_from(n).map_err(|_| fail(path, format!("{n} does not fit a 32-bit int")))
}

fn latin1(json: &Json, path: &str) -> Result<Vec<u8>, CodecError> {
    let text = json.as_str().ok_or_else(|| fail(path, format!("expected a string of bytes, found {}", kind(json))))?;
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| fail(path, format!("{c:?} is not a byte (code points 0-255)"))))
        .collect()
}

fn instant(json: &Json, path: &str, scale: impl Fn(DateTime<Utc>) -> Option<i64>) -> Result<i64, CodecError> {
    match json {
        Json::String(text) => {
            let at = DateTime::parse_from_rfc3339(text)
                .map_err(|e| fail(path, format!("not an RFC 3339 timestamp: {e}")))?
                .with_timezone(&Utc);
            scale(at).ok_or_else(|| fail(path, "timestamp out of range"))
        }
        other => long(other, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_date_no_calendar_has_stays_a_number() {
        assert_eq!(avro_to_json(&Value::Date(0)), json!("1970-01-01"));
        assert_eq!(avro_to_json(&Value::Date(i32::MAX)), json!(i32::MAX.to_string()));
        assert_eq!(avro_to_json(&Value::Date(i32::MIN)), json!(i32::MIN.to_string()));
    }

    fn schema() -> Schema {
        Schema::parse_str(
            r#"{"type":"record","name":"Sample","namespace":"clio.test","fields":[
                {"name":"id","type":"long"},
                {"name":"note","type":["null","string"],"default":null},
                {"name":"at","type":{"type":"long","logicalType":"timestamp-micros"}},
                {"name":"day","type":{"type":"int","logicalType":"date"}},
                {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},
                {"name":"inner","type":{"type":"record","name":"Inner","fields":[{"name":"n","type":"int"}]}},
                {"name":"again","type":["null","Inner"],"default":null}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_hand_written_document_round_trips_through_avro() {
        let doc = json!({"id": 7, "note": "hi", "at": "2026-11-22T10:00:00.000001Z", "day": "2026-11-22",
                         "kind": "B", "inner": {"n": 3}, "again": {"n": 4}});
        let value = json_to_avro(&schema(), &doc).unwrap();
        assert!(value.validate(&schema()));
        assert_eq!(avro_to_json(&value), doc);
    }

    #[test]
    fn a_missing_field_with_a_default_takes_the_default() {
        let doc = json!({"id": 1, "at": 0, "day": 0, "kind": "A", "inner": {"n": 1}});
        let value = json_to_avro(&schema(), &doc).unwrap();
        assert!(value.validate(&schema()));
        assert_eq!(avro_to_json(&value)["note"], Json::Null);
    }

    #[test]
    fn errors_name_the_field_path_and_the_reason() {
        let doc = json!({"id": 1, "at": 0, "day": 0, "kind": "C", "inner": {"n": 1}});
        let err = json_to_avro(&schema(), &doc).unwrap_err().to_string();
        assert!(err.starts_with("$.kind:"), "{err}");
        let doc = json!({"id": 1, "at": 0, "day": 0, "kind": "A", "inner": {"n": 5_000_000_000i64}});
        let err = json_to_avro(&schema(), &doc).unwrap_err().to_string();
        assert!(err.contains("$.inner.n") && err.contains("32-bit"), "{err}");
        let doc = json!({"at": 0, "day": 0, "kind": "A", "inner": {"n": 1}});
        assert_eq!(json_to_avro(&schema(), &doc).unwrap_err().to_string(), "$.id: required field is missing");
        let doc = json!({"id": 1, "at": 0, "day": 0, "kind": "A", "inner": {"n": 1}, "extra": true});
        assert!(json_to_avro(&schema(), &doc).unwrap_err().to_string().starts_with("$.extra:"));
    }
}
