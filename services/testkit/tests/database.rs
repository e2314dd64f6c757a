//! A process's pools open at most the connections its settings say
//! (`CLIO_DATABASE_MAX_CONNECTIONS`), so a server's `max_connections` can be sized for a
//! deployment's parts.

use clio_runtime::settings::DatabaseSettings;

#[tokio::test]
async fn a_pool_opens_at_most_the_connections_the_settings_say() {
    let settings =
        DatabaseSettings { database_url: clio_testkit::harness::test_database_url(), database_max_connections: 3 };
    let pool = settings.connect().await.expect("a pool");
    let busy: Vec<_> = (0..8)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { sqlx::query("SELECT pg_sleep(0.2)").execute(&pool).await.map(|_| pool.size()) })
        })
        .collect();
    let mut most = 0;
    for query in busy {
        most = most.max(query.await.expect("ran").expect("the query"));
    }
    assert!((1..=3).contains(&most), "the pool had {most} connections at once");
    pool.close().await;
}
