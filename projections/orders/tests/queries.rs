//! Every query in `queries/` prepares against the tables the migrations define.

#[tokio::test]
async fn every_query_prepares_against_the_migrated_read_model() {
    let (migrations, queries) = (clio_orders_projection::MIGRATIONS, clio_orders_projection::queries::ALL);
    clio_testkit::queries::assert_every_query_prepares(migrations, queries).await;
}
