//! Opening the SQLite database (WAL, synchronous=FULL) and applying migrations.
//!
//! Migrations live beside the module that owns each table: every module exposes a
//! `MIGRATIONS: &[Migration]` list and [`ALL`] collects them. Applied migrations are recorded
//! by name in `schema_migrations`, so modules can add theirs without renumbering others.

use crate::error::{Error, Result};
use rusqlite::Connection;

/// One schema change, identified by a unique name such as `orders_001_init`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Unique name; never change it once shipped.
    pub name: &'static str,
    /// SQL to run (may hold several statements).
    pub sql: &'static str,
}

/// Every module's migrations, in the order they apply.
pub fn all() -> Vec<Migration> {
    let mut v = Vec::new();
    // Modules append their lists here, each in its own line.
    v.extend_from_slice(CORE);
    v.extend_from_slice(crate::outbox::MIGRATIONS);
    v.extend_from_slice(crate::printing::MIGRATIONS);
    v.extend_from_slice(crate::store::MIGRATIONS);
    v
}

/// Tables every module may rely on.
pub const CORE: &[Migration] = &[Migration {
    name: "core_001_meta",
    sql: "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
}];

/// Opens (or creates) the database at `path` (`:memory:` for an in-memory one), sets WAL and
/// `synchronous=FULL`, checks that it is a SQLite file and applies pending migrations.
pub fn open(path: &str) -> Result<Connection> {
    let db_err = |source| Error::Db {
        path: path.to_string(),
        source,
    };
    let conn = if path == ":memory:" {
        Connection::open_in_memory().map_err(db_err)?
    } else {
        Connection::open(path).map_err(db_err)?
    };
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(db_err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(db_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(db_err)?;
    migrate(&conn).map_err(db_err)?;
    Ok(conn)
}

/// Applies every migration in [`all`] not yet recorded, each in its own transaction.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')));",
    )?;
    for m in all() {
        let done: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE name = ?1)",
            [m.name],
            |r| r.get(0),
        )?;
        if !done {
            conn.execute_batch(&format!(
                "BEGIN; {} INSERT INTO schema_migrations(name) VALUES ('{}'); COMMIT;",
                m.sql, m.name
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_and_migrates_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        let p = p.to_str().unwrap();
        drop(open(p).unwrap());
        let c = open(p).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(usize::try_from(n).unwrap(), all().len());
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn rejects_a_file_that_is_not_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.db");
        std::fs::write(
            &p,
            b"this is not a database, just some text that is long enough to have a header",
        )
        .unwrap();
        let err = open(p.to_str().unwrap()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("bad.db"), "{msg}");
        assert_eq!(err.code(), "db_open");
    }
}
