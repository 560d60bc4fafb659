//! Several processes starting on one new database (a bot and `botkit db migrate`, or two
//! bots) all get a migrated store: the loser of the schema race migrates again instead of
//! failing with "table already exists".

#![cfg(feature = "sqlite")]

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_opens_of_one_database_all_succeed() {
    for round in 0..5 {
        let dir = std::env::temp_dir().join(format!(
            "botkit-sql-concurrent-{}-{round}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("bot.db").display());
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { botkit_sql::open(&url).await })
            })
            .collect();
        for open in opens {
            let store = open
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            store.health().await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
