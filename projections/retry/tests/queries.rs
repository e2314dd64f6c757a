//! Every query in `queries/` prepares against the tables the migrations define.

use clio_retry_projection::{MIGRATIONS, queries};
use sqlx::Executor as _;

#[tokio::test]
async fn every_query_prepares_against_the_migrated_read_model() {
    let env = clio_testkit::harness::TestEnv::start().await.expect("env");
    let schema = env.unique("retry-queries");
    clio_projection::schema::prepare(&env.pool, &schema, MIGRATIONS).await.expect("migrated");
    let mut connection = env.pool.acquire().await.expect("a connection");
    for query in queries::ALL {
        let sql = query.in_schema(&schema);
        if let Err(error) = (&mut *connection).prepare(sql.as_str()).await {
            panic!("{}.sql does not prepare: {error}", query.name);
        }
    }
    drop(connection);
    clio_projection::schema::drop_schema(&env.pool, &schema).await.expect("dropped");
}
