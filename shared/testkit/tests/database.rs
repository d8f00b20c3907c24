//! Tests for the per-test Postgres database: create, use, drop.

use std::time::Duration;

use novij_testkit::{eventually, TestDatabase, DEFAULT_TEST_DATABASE_URL};
use sea_orm::{ConnectionTrait as _, Database, DbBackend, Statement};

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned())
}

async fn database_exists(name: &str) -> anyhow::Result<bool> {
    let admin = Database::connect(admin_url()).await?;
    let row = admin
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*)::int4 AS n FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?
        .expect("one row");
    admin.close().await?;
    Ok(row.try_get::<i32>("", "n")? == 1)
}

#[tokio::test]
async fn create_use_and_drop() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let name = db.name().to_owned();
    assert!(name.starts_with("nt_test_"));
    assert!(db.url().ends_with(&format!("/{name}")));
    assert!(database_exists(&name).await?);

    let conn = db.connect().await?;
    conn.execute_unprepared("CREATE TABLE t (id int4 PRIMARY KEY, v text NOT NULL)").await?;
    conn.execute_unprepared("INSERT INTO t VALUES (1, 'one'), (2, 'two')").await?;
    let row = conn
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*)::int4 AS n, current_database() AS db FROM t",
        ))
        .await?
        .expect("one row");
    assert_eq!(row.try_get::<i32>("", "n")?, 2);
    assert_eq!(row.try_get::<String>("", "db")?, name);

    // Dropped even though a connection is still open (WITH (FORCE)),
    // and from inside an async test.
    drop(db);
    eventually(Duration::from_secs(10), || {
        let name = name.clone();
        async move { (!database_exists(&name).await.ok()?).then_some(()) }
    })
    .await?;
    drop(conn);
    Ok(())
}

#[tokio::test]
async fn databases_are_independent() -> anyhow::Result<()> {
    let a = TestDatabase::create().await?;
    let b = TestDatabase::create().await?;
    assert_ne!(a.url(), b.url());
    let conn = a.connect().await?;
    conn.execute_unprepared("CREATE TABLE only_in_a (x int4)").await?;
    let other = b.connect().await?;
    assert!(other.execute_unprepared("SELECT * FROM only_in_a").await.is_err());
    Ok(())
}
