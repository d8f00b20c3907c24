//! A fresh, empty Postgres database per test, dropped afterwards.

use std::time::Duration;

use anyhow::Context as _;
use sea_orm::{ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection};

/// Admin URL used when `TEST_DATABASE_URL` is not set.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://novij:novij@127.0.0.1:5432/postgres";

const DROP_TIMEOUT: Duration = Duration::from_secs(15);

/// A fresh, empty Postgres database for one test, dropped afterwards.
///
/// The database is created through the admin URL from `TEST_DATABASE_URL`
/// (default [`DEFAULT_TEST_DATABASE_URL`]); its role needs `CREATEDB`.
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates `nt_test_<uuid>` and returns a handle whose [`url`](Self::url) points at it.
    pub async fn create() -> anyhow::Result<TestDatabase> {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_owned());
        let name = format!("nt_test_{}", uuid::Uuid::new_v4().simple());
        let url = with_database(&admin_url, &name)?;

        let admin = connect(&admin_url).await.with_context(|| {
            format!(
                "connecting to the test Postgres admin URL {} (set TEST_DATABASE_URL, \
                 or run `./dev test` / scripts/bootstrap.sh)",
                redact(&admin_url)
            )
        })?;
        let created = admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("CREATE DATABASE {name}"));
        let _ = admin.close().await;
        created?;
        tracing::debug!(database = %name, "test database created");
        Ok(TestDatabase { name, url, admin_url })
    }

    /// Connection URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Name of the new database (`nt_test_...`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Opens a SeaORM connection to the new database.
    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        connect(&self.url).await.with_context(|| format!("connecting to {}", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // A fresh thread with its own runtime works whether or not the caller is
        // inside an async runtime (blocking on the caller's runtime would panic).
        let handle = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(err) => {
                    tracing::warn!("cannot drop test database {name}: {err}");
                    return;
                }
            };
            runtime.block_on(async {
                let drop_db = async {
                    let admin = connect(&admin_url).await?;
                    let result =
                        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    let _ = admin.close().await;
                    result.map(|_| ())
                };
                match tokio::time::timeout(DROP_TIMEOUT, drop_db).await {
                    Ok(Ok(())) => tracing::debug!(database = %name, "test database dropped"),
                    Ok(Err(err)) => tracing::warn!("cannot drop test database {name}: {err}"),
                    Err(_) => tracing::warn!("timed out dropping test database {name}"),
                }
            });
        });
        let _ = handle.join();
    }
}

async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(2)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// Replaces the database name (the URL path) of a Postgres URL.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).with_context(|| format!("not a URL: {}", redact(url)))?;
    let authority_end = base[scheme_end..].find('/').map(|i| scheme_end + i).unwrap_or(base.len());
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// The URL with any password replaced by `***`, for error messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end], &url[scheme_end + at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{redact, with_database};

    #[test]
    fn replaces_database_name() {
        assert_eq!(with_database("postgres://u:p@h:5432/postgres", "x").unwrap(), "postgres://u:p@h:5432/x");
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x").unwrap(), "postgres://u@h/x");
        assert!(with_database("nonsense", "x").is_err());
    }

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact("postgres://novij:secret@127.0.0.1:5432/postgres"),
            "postgres://novij:***@127.0.0.1:5432/postgres"
        );
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
