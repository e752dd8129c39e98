//! The outbox: pack results waiting for the order center.
//!
//! A result is enqueued in the same SQLite transaction that records it, keyed by its
//! client-minted `result_id` (UUIDv7), which is the idempotency key for every delivery attempt.
//! States: `pending` → `in_flight` → `acked`, or `rejected` (dead letter with the server's reason).
//! The delivery side (batching, backoff, adapters) lives in the sync module.

use crate::db::Migration;
use rusqlite::{params, Transaction};

/// Outbox tables.
pub const MIGRATIONS: &[Migration] = &[Migration {
    name: "outbox_001_init",
    sql: "CREATE TABLE IF NOT EXISTS outbox (
        result_id TEXT PRIMARY KEY,
        order_no TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','in_flight','acked','rejected')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        acked_at TEXT
    );
    CREATE INDEX IF NOT EXISTS outbox_state_next ON outbox(state, next_attempt_ms);",
}];

/// Enqueues a result inside the caller's transaction (the one that records the pack result),
/// so the result and its outbox row commit together or not at all.
/// `created_at` is an RFC 3339 timestamp supplied by the caller (time is injected).
pub fn enqueue(
    tx: &Transaction<'_>,
    result_id: &str,
    order_no: &str,
    payload_json: &str,
    created_at: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO outbox (result_id, order_no, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![result_id, order_no, payload_json, created_at],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enqueue_is_keyed_by_result_id() {
        let mut c = crate::db::open(":memory:").unwrap();
        let tx = c.transaction().unwrap();
        enqueue(&tx, "r1", "O1", "{}", "2026-01-01T00:00:00Z").unwrap();
        assert!(enqueue(&tx, "r1", "O1", "{}", "2026-01-01T00:00:00Z").is_err());
        tx.commit().unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM outbox WHERE state='pending'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }
}
