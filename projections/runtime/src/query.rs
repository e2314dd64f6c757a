//! Read-model queries kept as `.sql` files beside the migrations of the tables they read, so a
//! table and every statement that reads it are found together. A query names its tables as
//! `{schema}.table`: the read model's schema is `ledger` in production and a test's own
//! elsewhere, and [`Query::in_schema`] puts the (quoted) schema in.

/// One query of a read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// The file's name, for errors.
    pub name: &'static str,
    pub sql: &'static str,
}

impl Query {
    /// The statement against the read model in `schema`.
    pub fn in_schema(&self, schema: &str) -> String {
        self.sql.replace("{schema}", &clio_runtime::database::quote_ident(schema))
    }
}

/// `queries/<name>.sql` of the calling crate (or `<dir>/<name>.sql`), as a [`Query`].
#[macro_export]
macro_rules! include_query {
    ($name:literal) => {
        $crate::include_query!("queries", $name)
    };
    ($dir:literal, $name:literal) => {
        $crate::query::Query {
            name: $name,
            sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $name, ".sql")),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn the_schema_is_quoted_wherever_the_query_names_it() {
        let query = Query { name: "q", sql: "SELECT * FROM {schema}.a JOIN {schema}.b USING (id)" };
        assert_eq!(query.in_schema("t1-x"), r#"SELECT * FROM "t1-x".a JOIN "t1-x".b USING (id)"#);
    }
}
