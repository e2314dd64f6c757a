//! What the fuzz targets share: every record schema of the catalogue, loaded once.

use std::sync::OnceLock;

use apache_avro::Schema;

/// Every `.avsc` record of `schemas/`, in a fixed order.
pub fn schemas() -> &'static [Schema] {
    static SCHEMAS: OnceLock<Vec<Schema>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
        let catalogue = clio_runtime::catalogue::Catalogue::load(&dir).expect("the catalogue");
        catalogue.schemas.values().map(|file| file.schema.clone()).collect()
    })
}

/// The schema the first byte picks, and the rest of the input.
pub fn pick(data: &[u8]) -> Option<(&'static Schema, &[u8])> {
    let (first, rest) = data.split_first()?;
    let all = schemas();
    Some((&all[usize::from(*first) % all.len()], rest))
}
