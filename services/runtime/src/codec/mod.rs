//! Confluent-framed Avro (magic byte 0, 4-byte big-endian schema id, Avro body) through a
//! Confluent-compatible schema registry, with subjects named `<topic>-<full.record.Name>`.
//!
//! Encoding looks the schema up by subject (it must have been registered: `clio schemas
//! register`); it never registers on the fly, so a typo cannot create a subject. Decoding
//! uses the writer's schema found by the id in the frame.

pub mod json;

use std::sync::Arc;
use std::time::Duration;

use apache_avro::types::Value;
use clio_aggregate::RecordSet;
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy;

/// Why a record could not be encoded or decoded. `is_transient` tells a failure worth
/// retrying (the registry did not answer) from one that no retry will fix.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("not Confluent-framed Avro: {0}")]
    NotFramed(String),
    #[error("schema id {id}: {reason}")]
    Decode { id: u32, reason: String },
    #[error("the record is {record}, which is not one this topic carries")]
    UnexpectedRecord { record: String },
    #[error("{record}: {reason}")]
    Mismatch { record: String, reason: String },
    #[error("subject {subject}: {reason}")]
    Encode { subject: String, reason: String },
    #[error("{path}: {reason}")]
    Json { path: String, reason: String },
    #[error("schema registry unavailable: {0}")]
    RegistryUnavailable(String),
}

impl CodecError {
    /// True when the same call may succeed later (the registry was unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RegistryUnavailable(_))
    }
}

/// Runs a registry-backed call again while the registry is unreachable, backing off up to
/// 10 s between tries. `None` when `shutdown` is cancelled while waiting.
pub async fn retry_transient<T, F, Fut>(
    shutdown: &tokio_util::sync::CancellationToken,
    mut call: F,
) -> Option<Result<T, CodecError>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CodecError>>,
{
    let mut delay = Duration::from_millis(200);
    loop {
        match call().await {
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, retry_in = ?delay, "schema registry unreachable; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            other => return Some(other),
        }
    }
}

/// A decoded record: its full Avro name, the schema id it was written with, and its value.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub record: String,
    pub schema_id: u32,
    pub value: Value,
}

/// Encoder and decoder sharing one registry, with cached schemas. Cheap to clone.
#[derive(Clone)]
pub struct Codec {
    inner: Arc<Inner>,
}

struct Inner {
    registry_url: String,
    encoder: AvroEncoder,
    decoder: AvroDecoder,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec").field("registry_url", &self.inner.registry_url).finish()
    }
}

/// A registry URL may carry credentials (`https://user:secret@registry`, what Confluent's
/// clients take as `basic.auth.user.info`): they go in a basic-auth header, never in the URL
/// the client calls or prints. A bearer token (Confluent's `bearer.auth.token`) wins over them.
fn sr_settings(url: &str, bearer: Option<&str>) -> SrSettings {
    let (bare, credentials) = split_credentials(url);
    let mut builder = SrSettings::new_builder(bare.clone());
    builder.no_proxy().set_timeout(Duration::from_secs(10));
    if let Some(token) = bearer {
        builder.set_token_authorization(token);
    } else if let Some((user, secret)) = &credentials {
        builder.set_basic_authorization(user, secret.as_deref());
    }
    builder.build().unwrap_or_else(|_| SrSettings::new(bare))
}

/// The URL without its user info, and the user and secret it named (percent-decoded).
pub fn split_credentials(url: &str) -> (String, Option<(String, Option<String>)>) {
    let Ok(mut parsed) = reqwest::Url::parse(url) else { return (url.to_string(), None) };
    if parsed.username().is_empty() {
        return (url.to_string(), None);
    }
    let decode = |text: &str| percent_decode(text);
    let credentials = (decode(parsed.username()), parsed.password().map(decode));
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let mut bare = parsed.to_string();
    // Url adds a "/" to a bare host; the registry clients join paths with one of their own.
    if !url.ends_with('/') {
        bare = bare.trim_end_matches('/').to_string();
    }
    (bare, Some(credentials))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[index], bytes.get(index + 1).copied().and_then(hex), bytes.get(index + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                index += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn classify(error: SRCError, otherwise: impl FnOnce(String) -> CodecError) -> CodecError {
    let text = match &error.cause {
        Some(cause) => format!("{} ({cause})", error.error),
        None => error.error.clone(),
    };
    if error.retriable { CodecError::RegistryUnavailable(text) } else { otherwise(text) }
}

/// The schema id in a Confluent frame, or why the bytes are not one.
pub fn frame_schema_id(bytes: &[u8]) -> Result<u32, CodecError> {
    match bytes {
        [] => Err(CodecError::NotFramed("the value is empty".into())),
        [magic, ..] if *magic != 0 => Err(CodecError::NotFramed(format!("magic byte is {magic:#04x}, expected 0x00"))),
        [_, a, b, c, d, ..] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(CodecError::NotFramed(format!("{} bytes is shorter than the 5-byte header", bytes.len()))),
    }
}

impl Codec {
    pub fn new(registry_url: &str) -> Self {
        Self::with_bearer(registry_url, None)
    }

    /// A codec whose registry calls carry `Authorization: Bearer <token>` when a token is given
    /// (a managed registry's token, or a Clio API key), instead of the URL's credentials.
    pub fn with_bearer(registry_url: &str, bearer: Option<&str>) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry_url: registry_url.to_string(),
                encoder: AvroEncoder::new(sr_settings(registry_url, bearer)),
                decoder: AvroDecoder::new(sr_settings(registry_url, bearer)),
            }),
        }
    }

    pub fn registry_url(&self) -> &str {
        &self.inner.registry_url
    }

    fn strategy(topic: &str, record: &str) -> SubjectNameStrategy {
        SubjectNameStrategy::TopicRecordNameStrategy(topic.to_string(), record.to_string())
    }

    fn forget_failures(&self) {
        self.inner.encoder.remove_errors_from_cache();
        self.inner.decoder.remove_errors_from_cache();
    }

    /// Encodes one element of a record set with the latest schema of its subject.
    pub async fn encode<T: RecordSet>(&self, topic: &str, item: &T) -> Result<Vec<u8>, CodecError> {
        let record = item.record_name();
        let strategy = Self::strategy(topic, record);
        let result = self.inner.encoder.encode_struct(item, &strategy).await;
        result.map_err(|e| {
            self.forget_failures();
            let subject = crate::catalogue::subject(topic, record);
            classify(e, |reason| CodecError::Encode { subject, reason })
        })
    }

    /// The latest registered schema of a subject, with its id.
    pub async fn schema_of(&self, topic: &str, record: &str) -> Result<(u32, apache_avro::Schema), CodecError> {
        let strategy = Self::strategy(topic, record);
        let subject = crate::catalogue::subject(topic, record);
        match self.inner.encoder.get_schema_and_id(&subject, strategy).await {
            Ok(schema) => Ok((schema.id, schema.parsed.clone())),
            Err(e) => {
                self.forget_failures();
                Err(classify(e, |reason| CodecError::Encode { subject, reason }))
            }
        }
    }

    /// Encodes a JSON document as the given record of a topic, checked against its schema.
    pub async fn encode_json(
        &self,
        topic: &str,
        record: &str,
        document: &serde_json::Value,
    ) -> Result<Vec<u8>, CodecError> {
        let (_, schema) = self.schema_of(topic, record).await?;
        let value = json::json_to_avro(&schema, document)?;
        let strategy = Self::strategy(topic, record);
        self.inner.encoder.encode_value(value, &strategy).await.map_err(|e| {
            self.forget_failures();
            let subject = crate::catalogue::subject(topic, record);
            classify(e, |reason| CodecError::Encode { subject, reason })
        })
    }

    /// Encodes an Avro value as `record` of `topic`, with the record's latest registered schema
    /// (a command another domain publishes, built by a decision as a plain value).
    pub async fn encode_value(
        &self,
        topic: &str,
        record: &str,
        value: apache_avro::types::Value,
    ) -> Result<Vec<u8>, CodecError> {
        let strategy = Self::strategy(topic, record);
        self.inner.encoder.encode_value(value, &strategy).await.map_err(|e| {
            self.forget_failures();
            let subject = crate::catalogue::subject(topic, record);
            classify(e, |reason| CodecError::Encode { subject, reason })
        })
    }

    /// Decodes a Confluent-framed value with its writer's schema.
    pub async fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        let id = frame_schema_id(bytes)?;
        match self.inner.decoder.decode(Some(bytes)).await {
            Ok(result) => {
                let record = result.name.map(|n| n.fullname(None)).unwrap_or_default();
                Ok(Decoded { record, schema_id: id, value: result.value })
            }
            Err(e) => {
                self.forget_failures();
                Err(classify(e, |reason| CodecError::Decode { id, reason }))
            }
        }
    }

    /// Decodes a value into an element of a record set.
    pub async fn decode_as<T: RecordSet>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        let decoded = self.decode(bytes).await?;
        if !T::RECORDS.contains(&decoded.record.as_str()) {
            return Err(CodecError::UnexpectedRecord { record: decoded.record });
        }
        T::from_avro(&decoded.record, &decoded.value)
            .map_err(|e| CodecError::Mismatch { record: decoded.record.clone(), reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_url_gives_up_its_credentials_to_a_header() {
        assert_eq!(split_credentials("http://127.0.0.1:8081"), ("http://127.0.0.1:8081".to_string(), None));
        let (bare, credentials) = split_credentials("https://KEY:s%40cret%3A1@registry.example:443/base");
        assert_eq!(bare, "https://registry.example/base");
        assert_eq!(credentials, Some(("KEY".to_string(), Some("s@cret:1".to_string()))));
        let (bare, credentials) = split_credentials("http://ops@127.0.0.1:8081/");
        assert_eq!((bare.as_str(), credentials), ("http://127.0.0.1:8081/", Some(("ops".to_string(), None))));
    }

    /// The `Authorization` header of the one registry call a decode makes, as a server that
    /// answers 404 to it received it.
    async fn authorization_sent(codec_for: impl FnOnce(String) -> Codec) -> Option<String> {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("bound").port();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().expect("a call");
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buffer).expect("read");
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..n]);
            }
            let body = r#"{"error_code":40403,"message":"Schema not found"}"#;
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes());
            String::from_utf8_lossy(&request).into_owned()
        });
        let codec = codec_for(format!("http://KEY:s3cret@127.0.0.1:{port}"));
        let _ = codec.decode(&[0, 0, 0, 0, 7, 2]).await;
        let request = server.join().expect("the server ran");
        request.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("authorization").then(|| value.trim().to_string())
        })
    }

    #[tokio::test]
    async fn registry_calls_carry_the_url_s_credentials_or_a_bearer_token_instead() {
        // base64 of KEY:s3cret
        assert_eq!(authorization_sent(|url| Codec::new(&url)).await, Some("Basic S0VZOnMzY3JldA==".to_string()));
        let settings =
            |url: String| crate::settings::RegistrySettings { registry_url: url, registry_token: Some("tok-1".into()) };
        assert_eq!(authorization_sent(|url| settings(url).codec()).await, Some("Bearer tok-1".to_string()));
        let printed = format!("{:?}", settings("http://KEY:s3cret@registry".into()));
        assert!(!printed.contains("s3cret") && !printed.contains("tok-1"), "{printed}");
    }
}
