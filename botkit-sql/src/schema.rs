//! The embedded schema migrations, one directory per backend.
//!
//! The SQL files are compiled into the binary (`include_str!`), so a deployed bot needs no
//! migration files on disk, and applied through sqlx's migrator at open (and by
//! `botkit db migrate`). The bookkeeping table is `botkit_migrations` rather than sqlx's
//! default, so a bot can share a database with another sqlx application.

use std::borrow::Cow;

use botkit::store::StoreError;
use sqlx::SqlSafeStr;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

/// The table that records which migrations ran.
pub(crate) const TABLE: &str = "botkit_migrations";

/// A migrator over `(version, description, sql)` steps.
pub(crate) fn migrator(steps: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = steps
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let mut m = Migrator::with_migrations(migrations);
    m.dangerous_set_table_name(TABLE);
    m
}

/// Maps a migration failure, saying what to do about schema version trouble.
pub(crate) fn map_err(backend: &'static str, err: MigrateError) -> StoreError {
    match err {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
            crate::error::map(backend, e)
        }
        MigrateError::VersionMissing(v) | MigrateError::VersionTooNew(v, _) => {
            StoreError::Backend {
                backend: backend.to_owned(),
                message: format!(
                    "the database has schema migration {v}, which this botkit does not know: it was written by a newer botkit; upgrade botkit"
                ),
                source: Some(std::sync::Arc::new(err)),
            }
        }
        other => StoreError::Backend {
            backend: backend.to_owned(),
            message: format!("migrating the schema failed: {other}"),
            source: Some(std::sync::Arc::new(other)),
        },
    }
}
