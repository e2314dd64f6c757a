//! The Rust types of a domain's records cannot drift from their .avsc files: for any domain,
//! every file has a type and every type's derived schema equals its file's; and the catalogue's
//! topics of the domain carry exactly its records.

use std::path::Path;

use apache_avro::Schema;

/// The file's canonical form with logical types reduced to their plain type: what Rust types
/// (i64 microseconds, i32 days) derive.
pub fn plain_canonical_form(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema = Schema::parse_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    schema.canonical_form().replace(r#"{"type":"long"}"#, r#""long""#).replace(r#"{"type":"int"}"#, r#""int""#)
}

/// Asserts that `derived` (record short name, the schema its Rust type derives) covers every
/// `.avsc` file of `dir`, and that each matches its `<name>.avsc`.
#[track_caller]
pub fn assert_types_match_files(dir: &Path, derived: &[(&str, Schema)]) {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            path.extension().is_some_and(|e| e == "avsc").then_some(stem)
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = derived.iter().map(|(name, _)| (*name).to_string()).collect();
    names.sort();
    assert_eq!(names, files, "every .avsc file of {} has a Rust type, and no more", dir.display());
    for (name, schema) in derived {
        let path = dir.join(format!("{name}.avsc"));
        assert_eq!(schema.canonical_form(), plain_canonical_form(&path), "{name} drifted from {}", path.display());
    }
}

/// `schemas/<domain>/` in this repository.
pub fn domain_dir(domain: &str) -> std::path::PathBuf {
    crate::tools::repo_root().join("schemas").join(domain)
}

/// The catalogue's `<A::NAME>.commands` and `<A::NAME>.events` topics carry exactly `A`'s records.
#[track_caller]
pub fn assert_catalogue_lists<A: clio_aggregate::Aggregate>() {
    use clio_aggregate::RecordSet as _;
    let root = crate::tools::repo_root().join("schemas");
    let catalogue = clio_runtime::catalogue::Catalogue::load(&root).expect("the catalogue");
    let name = A::NAME;
    catalogue.check_records(&format!("{name}.commands"), A::Command::RECORDS).expect("the commands topic");
    catalogue.check_records(&format!("{name}.events"), A::Event::RECORDS).expect("the events topic");
}
