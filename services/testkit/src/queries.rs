//! Every read-model query of a domain prepares against the tables its migrations define: a
//! renamed column or a typo in a `.sql` file fails a test, not a route at run time.

use clio_projection::Migration;
use clio_projection::query::Query;
use sqlx::Executor as _;

use crate::harness::TestEnv;

/// Migrates a schema of the test's own, prepares each of `queries` against it, drops it.
pub async fn assert_every_query_prepares(migrations: &[Migration], queries: &[Query]) {
    let env = TestEnv::start().await.expect("env");
    let schema = env.unique("queries");
    clio_projection::schema::prepare(&env.pool, &schema, migrations).await.expect("migrated");
    let mut connection = env.pool.acquire().await.expect("a connection");
    for query in queries {
        let sql = query.in_schema(&schema);
        if let Err(error) = (&mut *connection).prepare(sql.as_str()).await {
            panic!("{}.sql does not prepare: {error}", query.name);
        }
    }
    drop(connection);
    clio_projection::schema::drop_schema(&env.pool, &schema).await.expect("dropped");
}
