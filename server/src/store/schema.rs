//! The database schema and its migrations: `PRAGMA user_version` numbers the schema; at open, the
//! migrations past it run in one transaction, and a file from a newer controlroom is refused.

use rusqlite::{Connection, TransactionBehavior};

/// The schema, one migration per version: `MIGRATIONS[i]` takes a file from version `i` to `i + 1`.
/// Version 1 is the schema from before versions were kept; its `IF NOT EXISTS` adopts such a file
/// (user_version 0 with these tables) as version 1 without touching its rows.
const MIGRATIONS: &[&str] = &[
    // 1
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS deltas (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS screens (
         worker_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, cols INTEGER NOT NULL,
         rows INTEGER NOT NULL, offset INTEGER NOT NULL, data TEXT NOT NULL);",
];

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// SQLite refused a migration or the version pragma.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer controlroom.
    #[error(
        "its schema is version {found}, newer than this controlroom reads (up to version {supported}); \
         run a newer controlroom or move the file away"
    )]
    Newer {
        /// The file's `user_version`.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
}

/// Brings `conn` up to the newest schema in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    migrate_with(conn, MIGRATIONS)
}

fn migrate_with(conn: &mut Connection, migrations: &[&str]) -> Result<(), SchemaError> {
    // A handful of migrations: the count always fits.
    let supported = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    // IMMEDIATE: two gateways opening one file at once must not both run a migration.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > supported {
        return Err(SchemaError::Newer { found, supported });
    }
    let start = usize::try_from(found).unwrap_or(usize::MAX);
    for step in migrations.iter().skip(start) {
        tx.execute_batch(step)?;
    }
    if found < supported {
        tx.pragma_update(None, "user_version", supported)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> u32 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("user_version")
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
    }

    #[test]
    fn a_new_file_gets_every_table_and_version_1() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        assert_eq!(version(&conn), 1, "today's schema is version 1");
        assert_eq!(tables(&conn), ["deltas", "meta", "screens", "sessions"]);
        migrate(&mut conn).expect("a second open changes nothing");
        assert_eq!(version(&conn), 1);
    }

    #[test]
    fn a_file_from_before_versions_is_adopted_as_version_1_with_its_rows() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(MIGRATIONS[0]).expect("old schema");
        conn.execute("INSERT INTO meta (key, value) VALUES ('epoch', 'e1')", []).expect("row");
        assert_eq!(version(&conn), 0);
        migrate(&mut conn).expect("migrate");
        assert_eq!(version(&conn), 1);
        let epoch: String =
            conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0)).expect("kept");
        assert_eq!(epoch, "e1");
    }

    #[test]
    fn a_file_from_a_newer_version_is_refused_naming_both_versions() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", 7).expect("pragma");
        let err = migrate(&mut conn).expect_err("must refuse");
        let text = err.to_string();
        assert!(text.contains("version 7") && text.contains("up to version 1"), "{text}");
        assert_eq!(version(&conn), 7, "left as it was");
        assert!(tables(&conn).is_empty(), "nothing created");
    }

    #[test]
    fn migrations_run_in_one_transaction() {
        let mut conn = Connection::open_in_memory().expect("open");
        let steps = ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y INTEGER); NOT SQL AT ALL;"];
        migrate_with(&mut conn, &steps).expect_err("the second step fails");
        assert_eq!(version(&conn), 0);
        assert!(tables(&conn).is_empty(), "the first step was rolled back: {:?}", tables(&conn));
        migrate_with(&mut conn, &steps[..1]).expect("one good step");
        migrate_with(&mut conn, &["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y INTEGER);"])
            .expect("next");
        assert_eq!(version(&conn), 2, "only the new step ran");
        assert_eq!(tables(&conn), ["a", "b"]);
    }
}
