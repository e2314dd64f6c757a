//! Keys configured by the operator rather than created with `clio keys create`: one per line
//! (or separated by `;` in an environment variable), `#` starting a comment:
//!
//! ```text
//! # name    scopes (comma-separated)       the key's fingerprint, or the key itself
//! ci        produce:ledger,read:ledger     sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! ```
//!
//! `clio keys create NAME --scope … --config-line` prints such a line with a new key's
//! fingerprint, so the key itself need be written nowhere.

use crate::scope::{self, Scope};
use crate::secret::{self, Fingerprint};
use crate::{Error, check_name};

/// One key in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub fingerprint: Fingerprint,
    pub scopes: Vec<Scope>,
}

/// The entries of `text`, whose lines (or `;`-separated parts) come from `source_name`.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<Entry>, Error> {
    let mut entries = Vec::new();
    for (index, line) in text.split(['\n', ';']).enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| Error::BadConfig { source_name: source_name.to_string(), line: index + 1, reason };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, scopes, key] = fields[..] else {
            return Err(bad("a key is `name scopes key-or-fingerprint`".to_string()));
        };
        check_name(name).map_err(|e| bad(e.to_string()))?;
        let scopes = scope::parse_list(scopes).map_err(|e| bad(e.to_string()))?;
        let fingerprint = if key.starts_with("sha256:") {
            secret::from_text(key).ok_or_else(|| bad("a fingerprint is `sha256:` and 64 hex digits".to_string()))?
        } else {
            secret::fingerprint(key)
        };
        if entries.iter().any(|entry: &Entry| entry.name == name) {
            return Err(bad(format!("the key {name:?} is configured twice")));
        }
        entries.push(Entry { name: name.to_string(), fingerprint, scopes });
    }
    Ok(entries)
}

/// The line [`parse`] reads back as this key.
pub fn line(name: &str, scopes: &[Scope], fingerprint: &Fingerprint) -> String {
    let scopes: Vec<String> = scopes.iter().map(ToString::to_string).collect();
    format!("{name} {} {}", scopes.join(","), secret::to_text(fingerprint))
}

/// The keys of the environment variable's `text` and of the file at `path`, together.
pub fn load(variable: Option<&str>, path: Option<&std::path::Path>) -> Result<Vec<Entry>, Error> {
    let mut entries = match variable {
        Some(text) => parse(text, "CLIO_API_KEYS")?,
        None => Vec::new(),
    };
    if let Some(path) = path {
        let text =
            std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        for entry in parse(&text, &path.display().to_string())? {
            if entries.iter().any(|known| known.name == entry.name) {
                return Err(Error::BadConfig {
                    source_name: path.display().to_string(),
                    line: 0,
                    reason: format!("the key {:?} is configured in CLIO_API_KEYS too", entry.name),
                });
            }
            entries.push(entry);
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_as_written_and_plain_keys_are_hashed() {
        let scopes = scope::parse_list("read:ledger,admin:retry").unwrap();
        let written = line("ci", &scopes, &secret::fingerprint("clio_k1"));
        let text = format!("# keys\n{written}\n\nops * clio_k2 # the operator\n");
        let entries = parse(&text, "keys.txt").unwrap();
        assert_eq!(entries[0], Entry { name: "ci".into(), fingerprint: secret::fingerprint("clio_k1"), scopes });
        assert_eq!(entries[1].fingerprint, secret::fingerprint("clio_k2"));
        assert_eq!(parse("a read:x k1; b read:y k2", "env").unwrap().len(), 2);
    }

    #[test]
    fn bad_lines_name_their_line_and_reason() {
        let cases = [
            ("ok read:x k\nbroken", "line 2"),
            ("x read:x sha256:12", "64 hex"),
            ("x look:x k", "action"),
            ("x read:x k\nx read:y k2", "twice"),
            ("x/y read:x k", "letters"),
        ];
        for (text, expected) in cases {
            let error = parse(text, "keys.txt").unwrap_err().to_string();
            assert!(error.contains(expected) && error.contains("keys.txt"), "{text:?}: {error}");
        }
    }
}
