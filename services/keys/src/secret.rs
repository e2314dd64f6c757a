//! New keys, their fingerprints, and the key a request carries.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The SHA-256 of a key: what is kept of it.
pub type Fingerprint = [u8; 32];

/// A new key: `clio_` and 256 random bits.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("clio_{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn fingerprint(key: &str) -> Fingerprint {
    Sha256::digest(key.as_bytes()).into()
}

/// A fingerprint as it is written down: `sha256:` and 64 hex digits.
pub fn to_text(fingerprint: &Fingerprint) -> String {
    let hex: String = fingerprint.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

/// The fingerprint written as [`to_text`] writes it, or `None`.
pub fn from_text(text: &str) -> Option<Fingerprint> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut fingerprint = [0u8; 32];
    for (byte, pair) in fingerprint.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(fingerprint)
}

/// The key in an `Authorization` header: `Bearer <key>`, or `Basic` with the key as the
/// password (the user part is free: Confluent clients send `basic.auth.user.info` as
/// `<user>:<key>`). `Err` says why a header that is there carries no key.
pub fn from_authorization(header: &str) -> Result<String, &'static str> {
    let (kind, rest) =
        header.trim().split_once(' ').ok_or("the Authorization header is `Bearer <key>` or `Basic …`")?;
    let rest = rest.trim();
    if kind.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(rest.to_string());
    }
    if kind.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).map_err(|_| "the Basic credentials are not base64")?;
        let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
        let (_, key) = text.split_once(':').ok_or("the Basic credentials are not `user:key`")?;
        if !key.is_empty() {
            return Ok(key.to_string());
        }
    }
    Err("the Authorization header is `Bearer <key>`, or `Basic` with the key as password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keys_differ_and_their_fingerprints_read_back() {
        let (one, two) = (generate(), generate());
        assert_ne!(one, two);
        assert!(one.starts_with("clio_") && one.len() > 40);
        let text = to_text(&fingerprint(&one));
        assert_eq!(from_text(&text), Some(fingerprint(&one)));
        assert_eq!(from_text("sha256:zz"), None);
        assert_eq!(from_text(&text.replace("sha256:", "md5:")), None);
    }

    #[test]
    fn a_key_is_read_from_bearer_and_basic_headers() {
        assert_eq!(from_authorization("Bearer clio_abc").unwrap(), "clio_abc");
        let basic = format!("Basic {}", STANDARD.encode("ci:clio_abc"));
        assert_eq!(from_authorization(&basic).unwrap(), "clio_abc");
        assert!(from_authorization("Bearer ").is_err());
        assert!(from_authorization("Basic !!!").is_err());
        assert!(from_authorization(&format!("Basic {}", STANDARD.encode("ci"))).is_err());
        assert!(from_authorization("Token clio_abc").is_err());
    }
}
