//! Every query in `queries/` that reads the table prepares against the tables the migration
//! defines (the statements the model applies with are run by the dead-letter tests).

#[tokio::test]
async fn every_query_prepares_against_the_migrated_read_model() {
    let (migrations, queries) = (clio_platform_projection::MIGRATIONS, clio_platform_projection::queries::ALL);
    clio_testkit::queries::assert_every_query_prepares(migrations, queries).await;
}
