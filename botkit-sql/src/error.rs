//! Turning driver errors into [`StoreError`]s that name the cause and say whether to retry.
//!
//! The retry logic of the store and of every caller hangs on one question — is this
//! transient? — so the mapping is explicit per SQLite result code and per PostgreSQL
//! SQLSTATE class rather than left to the driver's message text: a locked database or a
//! dropped connection is [`StoreError::Unavailable`], a serialization failure is
//! [`StoreError::Conflict`], a file that is not a database is [`StoreError::Corrupt`], and a
//! full disk is a [`StoreError::Backend`] that says to free space.

use std::sync::Arc;

use botkit::store::StoreError;

/// Maps a driver error of `backend` (`sqlite` or `postgres`).
pub(crate) fn map(backend: &'static str, err: sqlx::Error) -> StoreError {
    let (kind, reason) = classify(backend, &err);
    let source: Option<Arc<dyn std::error::Error + Send + Sync>> = Some(Arc::new(err));
    match kind {
        Kind::Unavailable => StoreError::Unavailable {
            backend: backend.to_owned(),
            reason,
            source,
        },
        Kind::Conflict => StoreError::Conflict { what: reason },
        Kind::Corrupt => StoreError::corrupt(reason),
        Kind::Backend => StoreError::Backend {
            backend: backend.to_owned(),
            message: reason,
            source,
        },
    }
}

/// A closure for `map_err` on `backend`'s results.
pub(crate) fn on(backend: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| map(backend, e)
}

enum Kind {
    Unavailable,
    Conflict,
    Corrupt,
    Backend,
}

fn classify(backend: &str, err: &sqlx::Error) -> (Kind, String) {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let msg = db.message();
            if backend == "sqlite" {
                sqlite_code(&code, msg)
            } else {
                postgres_code(&code, msg)
            }
        }
        sqlx::Error::Io(e) => (
            Kind::Unavailable,
            format!("cannot talk to the database: {e}"),
        ),
        sqlx::Error::Tls(e) => (Kind::Unavailable, format!("TLS failed: {e}")),
        sqlx::Error::PoolTimedOut => (
            Kind::Unavailable,
            "no database connection became free in time (the server may be down or overloaded)"
                .to_owned(),
        ),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            (Kind::Unavailable, format!("the connection is gone: {err}"))
        }
        sqlx::Error::Protocol(p) => (
            Kind::Unavailable,
            format!("the connection broke mid-message: {p}"),
        ),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => (
            Kind::Corrupt,
            format!(
                "a row does not have the expected shape ({err}); the schema may be from another program"
            ),
        ),
        sqlx::Error::Configuration(e) => (Kind::Backend, format!("bad connection settings: {e}")),
        _ => (Kind::Backend, err.to_string()),
    }
}

/// SQLite extended result codes: the primary code is the low byte.
fn sqlite_code(code: &str, msg: &str) -> (Kind, String) {
    let primary = code.parse::<i32>().map(|c| c & 0xff).unwrap_or(-1);
    match primary {
        5 | 6 => (
            Kind::Unavailable,
            format!("the database is locked by another connection or process ({msg})"),
        ),
        13 => (
            Kind::Backend,
            format!(
                "the database or disk is full ({msg}); free disk space or raise the size limit, then writes succeed again"
            ),
        ),
        11 | 26 => (
            Kind::Corrupt,
            format!("the SQLite file is damaged or is not a SQLite database ({msg})"),
        ),
        14 => (
            Kind::Backend,
            format!(
                "cannot open the database file ({msg}); check that the path exists, is a file and is readable and writable"
            ),
        ),
        8 => (
            Kind::Backend,
            format!("the database is read-only ({msg}); check the file's permissions"),
        ),
        10 => (Kind::Backend, format!("disk I/O error ({msg})")),
        _ => (Kind::Backend, format!("{msg} (SQLite code {code})")),
    }
}

/// PostgreSQL SQLSTATE codes.
fn postgres_code(code: &str, msg: &str) -> (Kind, String) {
    let class = code.get(..2).unwrap_or_default();
    match (class, code) {
        (_, "40001" | "40P01") => (Kind::Conflict, format!("{msg} (SQLSTATE {code})")),
        ("08" | "53" | "57", _) => (
            Kind::Unavailable,
            format!("the server refused or dropped the connection: {msg} (SQLSTATE {code})"),
        ),
        (_, "3D000") => (
            Kind::Backend,
            format!("{msg}; create the database first (SQLSTATE {code})"),
        ),
        (_, "28P01" | "28000") => (
            Kind::Backend,
            format!("{msg}; check the user and password in the URL (SQLSTATE {code})"),
        ),
        _ => (Kind::Backend, format!("{msg} (SQLSTATE {code})")),
    }
}

/// An error for a JSON document that does not encode (never happens for `serde_json::Value`,
/// but the store never panics on it).
pub(crate) fn codec(key: &str, err: serde_json::Error) -> StoreError {
    StoreError::Codec {
        key: key.to_owned(),
        reason: err.to_string(),
    }
}

/// The store's background writer has stopped (its runtime is shutting down).
pub(crate) fn writer_gone(backend: &str) -> StoreError {
    StoreError::unavailable(
        backend,
        "the store's writer task has stopped (is the runtime shutting down?)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes() {
        assert!(matches!(sqlite_code("5", "locked").0, Kind::Unavailable));
        assert!(matches!(
            sqlite_code("517", "busy snapshot").0,
            Kind::Unavailable
        ));
        assert!(matches!(sqlite_code("13", "full").0, Kind::Backend));
        assert!(sqlite_code("13", "full").1.contains("disk is full"));
        assert!(matches!(sqlite_code("26", "not a db").0, Kind::Corrupt));
        assert!(matches!(sqlite_code("11", "malformed").0, Kind::Corrupt));
        assert!(
            sqlite_code("14", "cannot open")
                .1
                .contains("check that the path")
        );
    }

    #[test]
    fn postgres_codes() {
        assert!(matches!(
            postgres_code("08006", "gone").0,
            Kind::Unavailable
        ));
        assert!(matches!(
            postgres_code("57P01", "shutdown").0,
            Kind::Unavailable
        ));
        assert!(matches!(
            postgres_code("40001", "serialize").0,
            Kind::Conflict
        ));
        assert!(matches!(postgres_code("23505", "dup").0, Kind::Backend));
        assert!(matches!(postgres_code("", "odd").0, Kind::Backend));
    }

    #[test]
    fn io_errors_are_transient() {
        let e = map(
            "postgres",
            sqlx::Error::Io(std::io::Error::other("refused")),
        );
        assert!(e.is_transient());
        assert!(std::error::Error::source(&e).is_some());
        assert!(map("postgres", sqlx::Error::PoolTimedOut).is_transient());
    }
}
