//! The outbox: pack results waiting for the order center.
//!
//! A result is enqueued in the same SQLite transaction that records it, keyed by its
//! client-minted `result_id` (UUIDv7), which is the idempotency key for every delivery attempt.
//!
//! States: `pending` → `in_flight` → `acked`, or `rejected` (a dead letter with the server's
//! reason). A row is `in_flight` only while one delivery request for it is outstanding; after a
//! crash [`recover`] puts every `in_flight` row back to `pending`, so it is sent again and the
//! server's dedupe by `result_id` makes the repeat harmless.
//!
//! Time: `next_attempt_ms` is on the delivery loop's **monotonic** clock (milliseconds since that
//! process started its loop). A monotonic clock does not survive a restart, so [`recover`] also
//! makes every row due at once; backoff is then rebuilt from fresh failures. Wall-clock
//! timestamps (`created_at`, `acked_at` …) are RFC 3339 strings supplied by the caller.
//!
//! This module never does network IO and never reads the clock: the delivery side (batching,
//! backoff, adapters) lives in [`crate::sync`].

use crate::db::Migration;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

/// Outbox tables.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
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
    },
    Migration {
        name: "outbox_002_delivery",
        // `reason`/`rejected_at`: dead letters. `server_status`: accepted or duplicate.
        // `flag`/`flagged_at`: the order was cancelled or intercepted after this result was
        // packed (loud alarm). The `(state)` index is also ordered by rowid, which is the
        // enqueue order the delivery loop claims in.
        sql: "ALTER TABLE outbox ADD COLUMN reason TEXT;
    ALTER TABLE outbox ADD COLUMN rejected_at TEXT;
    ALTER TABLE outbox ADD COLUMN server_status TEXT;
    ALTER TABLE outbox ADD COLUMN flag TEXT;
    ALTER TABLE outbox ADD COLUMN flagged_at TEXT;
    CREATE INDEX IF NOT EXISTS outbox_state_seq ON outbox(state);
    CREATE INDEX IF NOT EXISTS outbox_order ON outbox(order_no);
    CREATE INDEX IF NOT EXISTS outbox_flag ON outbox(flag) WHERE flag IS NOT NULL;",
    },
];

/// `meta` key of the last acknowledged delivery (RFC 3339).
pub const META_LAST_SUCCESS: &str = "outbox.last_success_at";
/// `meta` key of the last delivery attempt (RFC 3339).
pub const META_LAST_ATTEMPT: &str = "outbox.last_attempt_at";
/// `meta` key of the last delivery error (text, never contains a secret).
pub const META_LAST_ERROR: &str = "outbox.last_error";

fn sq(op: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { op, source }
}

/// Enqueues a result inside the caller's transaction (the one that records the pack result),
/// so the result and its outbox row commit together or not at all.
/// `created_at` is an RFC 3339 timestamp supplied by the caller (time is injected).
///
/// `payload_json` must be a JSON object: the delivery adds `result_id` to it on the wire.
/// Anything else is refused here, at the source, rather than dead-lettered later.
pub fn enqueue(
    tx: &Transaction<'_>,
    result_id: &str,
    order_no: &str,
    payload_json: &str,
    created_at: &str,
) -> rusqlite::Result<()> {
    if !matches!(
        serde_json::from_str::<serde_json::Value>(payload_json),
        Ok(serde_json::Value::Object(_))
    ) {
        return Err(rusqlite::Error::ToSqlConversionFailure(
            format!("outbox payload of result {result_id} (order {order_no}) is not a JSON object")
                .into(),
        ));
    }
    tx.execute(
        "INSERT INTO outbox (result_id, order_no, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![result_id, order_no, payload_json, created_at],
    )?;
    Ok(())
}

/// One outbox row claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// Idempotency key.
    pub result_id: String,
    /// Order the result belongs to.
    pub order_no: String,
    /// The result as committed (a JSON object).
    pub payload: String,
    /// Earlier delivery attempts.
    pub attempts: u32,
    /// When the result was committed (RFC 3339).
    pub created_at: String,
}

/// Puts rows left `in_flight` by a crash back to `pending` and makes every pending row due now
/// (the monotonic clock of the previous process means nothing to this one). Returns how many
/// rows were in flight.
pub fn recover(conn: &Connection) -> Result<usize> {
    let n = conn
        .execute(
            "UPDATE outbox SET state = 'pending' WHERE state = 'in_flight'",
            [],
        )
        .map_err(sq("outbox recover"))?;
    conn.execute(
        "UPDATE outbox SET next_attempt_ms = 0 WHERE state = 'pending' AND next_attempt_ms <> 0",
        [],
    )
    .map_err(sq("outbox recover"))?;
    Ok(n)
}

/// Claims up to `limit` due pending rows (oldest first) and marks them `in_flight`, atomically.
pub fn claim(conn: &mut Connection, now_ms: u64, limit: usize) -> Result<Vec<Claimed>> {
    let tx = conn.transaction().map_err(sq("outbox claim"))?;
    let rows = {
        let mut st = tx
            .prepare_cached(
                "SELECT rowid, result_id, order_no, payload, attempts, created_at FROM outbox
                 WHERE state = 'pending' AND next_attempt_ms <= ?1 ORDER BY rowid LIMIT ?2",
            )
            .map_err(sq("outbox claim"))?;
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let it = st
            .query_map(params![now, lim], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Claimed {
                        result_id: r.get(1)?,
                        order_no: r.get(2)?,
                        payload: r.get(3)?,
                        attempts: u32::try_from(r.get::<_, i64>(4)?).unwrap_or(u32::MAX),
                        created_at: r.get(5)?,
                    },
                ))
            })
            .map_err(sq("outbox claim"))?;
        it.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sq("outbox claim"))?
    };
    {
        let mut up = tx
            .prepare_cached("UPDATE outbox SET state = 'in_flight' WHERE rowid = ?1")
            .map_err(sq("outbox claim"))?;
        for (rowid, _) in &rows {
            up.execute([rowid]).map_err(sq("outbox claim"))?;
        }
    }
    tx.commit().map_err(sq("outbox claim"))?;
    Ok(rows.into_iter().map(|(_, c)| c).collect())
}

/// How the server acknowledged an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ack {
    /// Stored now.
    Accepted,
    /// Already stored by an earlier attempt (same `result_id`).
    Duplicate,
}

impl Ack {
    fn as_str(self) -> &'static str {
        match self {
            Ack::Accepted => "accepted",
            Ack::Duplicate => "duplicate",
        }
    }
}

/// What happened to one delivered item; applied with [`settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The server has it.
    Acked(Ack),
    /// Permanently refused: becomes a dead letter with this reason.
    Rejected(String),
    /// Try again at `next_attempt_ms` (monotonic), counting one more attempt.
    Retry {
        /// When it is due again.
        next_attempt_ms: u64,
        /// Why it failed (kept as `last_error`).
        error: String,
    },
}

/// Applies the outcomes of one delivery attempt in one transaction. `at` is the wall-clock
/// time (RFC 3339) recorded for acknowledgements and dead letters.
pub fn settle(conn: &mut Connection, outcomes: &[(String, Settlement)], at: &str) -> Result<()> {
    let tx = conn.transaction().map_err(sq("outbox settle"))?;
    let mut any_ack = false;
    let mut last_err: Option<&str> = None;
    {
        let mut ack = tx
            .prepare_cached(
                "UPDATE outbox SET state = 'acked', acked_at = ?2, server_status = ?3,
                 attempts = attempts + 1, last_error = NULL WHERE result_id = ?1",
            )
            .map_err(sq("outbox settle"))?;
        let mut rej = tx
            .prepare_cached(
                "UPDATE outbox SET state = 'rejected', rejected_at = ?2, reason = ?3,
                 attempts = attempts + 1 WHERE result_id = ?1",
            )
            .map_err(sq("outbox settle"))?;
        let mut retry = tx
            .prepare_cached(
                "UPDATE outbox SET state = 'pending', next_attempt_ms = ?2, last_error = ?3,
                 attempts = attempts + 1 WHERE result_id = ?1",
            )
            .map_err(sq("outbox settle"))?;
        for (id, s) in outcomes {
            match s {
                Settlement::Acked(a) => {
                    any_ack = true;
                    ack.execute(params![id, at, a.as_str()])
                }
                Settlement::Rejected(reason) => {
                    last_err = Some(reason);
                    rej.execute(params![id, at, reason])
                }
                Settlement::Retry {
                    next_attempt_ms,
                    error,
                } => {
                    last_err = Some(error);
                    retry.execute(params![
                        id,
                        i64::try_from(*next_attempt_ms).unwrap_or(i64::MAX),
                        error
                    ])
                }
            }
            .map_err(sq("outbox settle"))?;
        }
    }
    set_meta(&tx, META_LAST_ATTEMPT, at)?;
    if any_ack {
        set_meta(&tx, META_LAST_SUCCESS, at)?;
    }
    if let Some(e) = last_err {
        set_meta(&tx, META_LAST_ERROR, e)?;
    } else if any_ack {
        tx.execute("DELETE FROM meta WHERE key = ?1", [META_LAST_ERROR])
            .map_err(sq("outbox settle"))?;
    }
    tx.commit().map_err(sq("outbox settle"))
}

/// Records a delivery error that concerned no item in particular (for example an unreachable
/// server while nothing was claimed, or a failed order download).
pub fn record_error(conn: &Connection, at: &str, error: &str) -> Result<()> {
    set_meta(conn, META_LAST_ATTEMPT, at)?;
    set_meta(conn, META_LAST_ERROR, error)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![key, value]))
    .map_err(sq("outbox meta"))?;
    Ok(())
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
        .map_err(sq("outbox meta"))
}

/// A result packed for an order that was later cancelled or intercepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flagged {
    /// Idempotency key of the result.
    pub result_id: String,
    /// The order.
    pub order_no: String,
    /// `cancelled` or `intercepted`.
    pub flag: String,
    /// When the result was committed.
    pub created_at: String,
    /// When the cancellation/interception arrived.
    pub flagged_at: String,
    /// Delivery state of the result at that time.
    pub state: String,
}

/// Flags every result of `order_no` not flagged yet with `flag` (`cancelled`/`intercepted`):
/// the parcel was packed, possibly offline, for an order that must not ship. Returns the newly
/// flagged results, so the caller can raise a loud alarm for each.
pub fn flag_order(conn: &Connection, order_no: &str, flag: &str, at: &str) -> Result<Vec<Flagged>> {
    conn.execute(
        "UPDATE outbox SET flag = ?2, flagged_at = ?3 WHERE order_no = ?1 AND flag IS NULL",
        params![order_no, flag, at],
    )
    .map_err(sq("outbox flag"))?;
    let mut st = conn
        .prepare_cached(
            "SELECT result_id, order_no, flag, created_at, flagged_at, state FROM outbox
             WHERE order_no = ?1 AND flagged_at = ?2 AND flag = ?3 ORDER BY rowid",
        )
        .map_err(sq("outbox flag"))?;
    let rows = st
        .query_map(params![order_no, at, flag], flagged_row)
        .map_err(sq("outbox flag"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sq("outbox flag"))
}

fn flagged_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Flagged> {
    Ok(Flagged {
        result_id: r.get(0)?,
        order_no: r.get(1)?,
        flag: r.get(2)?,
        created_at: r.get(3)?,
        flagged_at: r.get(4)?,
        state: r.get(5)?,
    })
}

/// Every flagged result, newest flag first.
pub fn flagged(conn: &Connection) -> Result<Vec<Flagged>> {
    let mut st = conn
        .prepare_cached(
            "SELECT result_id, order_no, flag, created_at, flagged_at, state FROM outbox
             WHERE flag IS NOT NULL ORDER BY flagged_at DESC, rowid DESC",
        )
        .map_err(sq("outbox flagged"))?;
    let rows = st
        .query_map([], flagged_row)
        .map_err(sq("outbox flagged"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sq("outbox flagged"))
}

/// A dead letter: a result the order center refused permanently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Idempotency key.
    pub result_id: String,
    /// Order.
    pub order_no: String,
    /// The server's reason.
    pub reason: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the result was committed.
    pub created_at: String,
    /// When it was rejected.
    pub rejected_at: String,
    /// The payload as committed.
    pub payload: serde_json::Value,
}

/// All dead letters, oldest first.
pub fn dead_letters(conn: &Connection) -> Result<Vec<DeadLetter>> {
    let mut st = conn
        .prepare_cached(
            "SELECT result_id, order_no, COALESCE(reason, ''), attempts, created_at,
                    COALESCE(rejected_at, ''), payload
             FROM outbox WHERE state = 'rejected' ORDER BY rowid",
        )
        .map_err(sq("outbox dead letters"))?;
    let rows = st
        .query_map([], |r| {
            let payload: String = r.get(6)?;
            Ok(DeadLetter {
                result_id: r.get(0)?,
                order_no: r.get(1)?,
                reason: r.get(2)?,
                attempts: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(u32::MAX),
                created_at: r.get(4)?,
                rejected_at: r.get(5)?,
                payload: serde_json::from_str(&payload)
                    .unwrap_or(serde_json::Value::String(payload)),
            })
        })
        .map_err(sq("outbox dead letters"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sq("outbox dead letters"))
}

/// Puts dead letters back to `pending` (all of them when `ids` is empty). Returns how many.
/// Used after an integrator fixed the cause (a mapping, master data in the ERP …).
pub fn retry_dead_letters(conn: &mut Connection, ids: &[String]) -> Result<usize> {
    let tx = conn.transaction().map_err(sq("outbox retry"))?;
    let n = if ids.is_empty() {
        tx.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_ms = 0, reason = NULL, rejected_at = NULL
             WHERE state = 'rejected'",
            [],
        )
        .map_err(sq("outbox retry"))?
    } else {
        let mut n = 0;
        for id in ids {
            let k = tx
                .execute(
                    "UPDATE outbox SET state = 'pending', next_attempt_ms = 0, reason = NULL, rejected_at = NULL
                     WHERE state = 'rejected' AND result_id = ?1",
                    [id],
                )
                .map_err(sq("outbox retry"))?;
            if k == 0 {
                return Err(Error::Invalid {
                    place: format!("outbox result {id}"),
                    message: "no dead letter with this result id".into(),
                });
            }
            n += k;
        }
        n
    };
    tx.commit().map_err(sq("outbox retry"))?;
    Ok(n)
}

/// Writes every dead letter as one JSON object per line. Returns how many.
pub fn export_dead_letters(conn: &Connection, out: &mut dyn std::io::Write) -> Result<usize> {
    let all = dead_letters(conn)?;
    for d in &all {
        let line = serde_json::to_string(d).map_err(|e| Error::Invalid {
            place: format!("dead letter {}", d.result_id),
            message: e.to_string(),
        })?;
        writeln!(out, "{line}").map_err(|source| Error::Io {
            path: "dead-letter export".into(),
            source,
        })?;
    }
    Ok(all.len())
}

/// Deletes acknowledged rows acknowledged before `before` (RFC 3339). Returns how many.
pub fn prune_acked(conn: &Connection, before: &str) -> Result<usize> {
    conn.execute(
        "DELETE FROM outbox WHERE state = 'acked' AND acked_at < ?1 AND flag IS NULL",
        [before],
    )
    .map_err(sq("outbox prune"))
}

/// What operators and admins see about the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// Results not yet acknowledged nor rejected (pending + in flight).
    pub depth: u64,
    /// Pending.
    pub pending: u64,
    /// In flight.
    pub in_flight: u64,
    /// Acknowledged (still kept locally).
    pub acked: u64,
    /// Dead letters.
    pub dead_letters: u64,
    /// Commit time of the oldest pending result.
    pub oldest_pending_at: Option<String>,
    /// Its age in seconds at `now`.
    pub oldest_pending_age_s: Option<i64>,
    /// Last acknowledged delivery.
    pub last_success_at: Option<String>,
    /// Last delivery attempt.
    pub last_attempt_at: Option<String>,
    /// Last delivery error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Results whose order was cancelled or intercepted after packing.
    pub flagged: u64,
}

/// Queue status at wall-clock `now`.
pub fn status(conn: &Connection, now: DateTime<Utc>) -> Result<QueueStatus> {
    let count = |state: &str| -> Result<u64> {
        conn.query_row(
            "SELECT count(*) FROM outbox WHERE state = ?1",
            [state],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| u64::try_from(n).unwrap_or(0))
        .map_err(sq("outbox status"))
    };
    let pending = count("pending")?;
    let in_flight = count("in_flight")?;
    let acked = count("acked")?;
    let dead = count("rejected")?;
    let oldest: Option<String> = conn
        .query_row(
            "SELECT created_at FROM outbox WHERE state IN ('pending','in_flight') ORDER BY rowid LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sq("outbox status"))?;
    let age = oldest.as_deref().and_then(|s| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| (now - t.with_timezone(&Utc)).num_seconds())
    });
    let flagged: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE flag IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .map_err(sq("outbox status"))?;
    Ok(QueueStatus {
        depth: pending + in_flight,
        pending,
        in_flight,
        acked,
        dead_letters: dead,
        oldest_pending_at: oldest,
        oldest_pending_age_s: age,
        last_success_at: get_meta(conn, META_LAST_SUCCESS)?,
        last_attempt_at: get_meta(conn, META_LAST_ATTEMPT)?,
        last_error: get_meta(conn, META_LAST_ERROR)?,
        flagged: u64::try_from(flagged).unwrap_or(0),
    })
}

/// The earliest `next_attempt_ms` among pending rows, if any (when the loop should wake).
pub fn next_due_ms(conn: &Connection) -> Result<Option<u64>> {
    conn.query_row(
        "SELECT min(next_attempt_ms) FROM outbox WHERE state = 'pending'",
        [],
        |r| r.get::<_, Option<i64>>(0),
    )
    .map(|v| v.map(|n| u64::try_from(n).unwrap_or(0)))
    .map_err(sq("outbox next due"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        crate::db::open(":memory:").unwrap()
    }

    fn put(c: &mut Connection, id: &str, order: &str) {
        let tx = c.transaction().unwrap();
        enqueue(
            &tx,
            id,
            order,
            &format!(r#"{{"order_no":"{order}","weight_g":1200}}"#),
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        tx.commit().unwrap();
    }

    fn state(c: &Connection, id: &str) -> String {
        c.query_row("SELECT state FROM outbox WHERE result_id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn enqueue_is_keyed_by_result_id() {
        let mut c = db();
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

    #[test]
    fn enqueue_refuses_payloads_that_are_not_objects() {
        let mut c = db();
        let tx = c.transaction().unwrap();
        for bad in ["", "[]", "42", "{", "\"x\""] {
            let e = enqueue(&tx, "r", "O9", bad, "2026-01-01T00:00:00Z").unwrap_err();
            assert!(e.to_string().contains("O9"), "{e}");
        }
    }

    #[test]
    fn claim_is_fifo_respects_due_time_and_limit() {
        let mut c = db();
        for i in 0..5 {
            put(&mut c, &format!("r{i}"), "O");
        }
        let got = claim(&mut c, 0, 3).unwrap();
        let ids: Vec<_> = got.iter().map(|g| g.result_id.as_str()).collect();
        assert_eq!(ids, ["r0", "r1", "r2"]);
        assert_eq!(state(&c, "r0"), "in_flight");
        // In-flight rows are not claimed twice.
        let got = claim(&mut c, 0, 10).unwrap();
        assert_eq!(got.len(), 2);
        // A retry later than now is not due.
        settle(
            &mut c,
            &[(
                "r3".into(),
                Settlement::Retry {
                    next_attempt_ms: 500,
                    error: "503".into(),
                },
            )],
            "2026-01-01T00:00:01Z",
        )
        .unwrap();
        assert!(claim(&mut c, 499, 10).unwrap().is_empty());
        assert_eq!(next_due_ms(&c).unwrap(), Some(500));
        let again = claim(&mut c, 500, 10).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
    }

    #[test]
    fn recover_returns_in_flight_rows_and_makes_them_due() {
        let mut c = db();
        put(&mut c, "a", "O");
        put(&mut c, "b", "O");
        claim(&mut c, 0, 1).unwrap();
        settle(
            &mut c,
            &[(
                "a".into(),
                Settlement::Retry {
                    next_attempt_ms: 99_999,
                    error: "x".into(),
                },
            )],
            "t",
        )
        .unwrap();
        claim(&mut c, 0, 1).unwrap();
        assert_eq!(state(&c, "b"), "in_flight");
        assert_eq!(recover(&c).unwrap(), 1);
        assert_eq!(claim(&mut c, 0, 10).unwrap().len(), 2);
    }

    #[test]
    fn settle_acks_rejects_and_status_reports_them() {
        let mut c = db();
        for id in ["a", "b", "c", "d"] {
            put(&mut c, id, "O1");
        }
        claim(&mut c, 0, 10).unwrap();
        settle(
            &mut c,
            &[
                ("a".into(), Settlement::Acked(Ack::Accepted)),
                ("b".into(), Settlement::Acked(Ack::Duplicate)),
                ("c".into(), Settlement::Rejected("422 unknown sku".into())),
            ],
            "2026-01-01T00:10:00Z",
        )
        .unwrap();
        let now = DateTime::parse_from_rfc3339("2026-01-01T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let s = status(&c, now).unwrap();
        assert_eq!((s.depth, s.pending, s.in_flight), (1, 0, 1));
        assert_eq!((s.acked, s.dead_letters), (2, 1));
        assert_eq!(s.oldest_pending_age_s, Some(3600));
        assert_eq!(s.last_success_at.as_deref(), Some("2026-01-01T00:10:00Z"));
        assert_eq!(s.last_error.as_deref(), Some("422 unknown sku"));
        let dl = dead_letters(&c).unwrap();
        assert_eq!(dl.len(), 1);
        assert_eq!(dl[0].reason, "422 unknown sku");
        assert_eq!(dl[0].payload["weight_g"], 1200);
        let mut out = Vec::new();
        assert_eq!(export_dead_letters(&c, &mut out).unwrap(), 1);
        let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(line["result_id"], "c");
        // Retry by id; an unknown id is an error naming it.
        let e = retry_dead_letters(&mut c, &["zz".into()]).unwrap_err();
        assert!(e.to_string().contains("zz"));
        assert_eq!(retry_dead_letters(&mut c, &["c".into()]).unwrap(), 1);
        assert_eq!(state(&c, "c"), "pending");
        assert_eq!(retry_dead_letters(&mut c, &[]).unwrap(), 0);
    }

    #[test]
    fn flags_results_of_cancelled_orders_once() {
        let mut c = db();
        put(&mut c, "a", "O1");
        put(&mut c, "b", "O2");
        claim(&mut c, 0, 1).unwrap();
        settle(
            &mut c,
            &[("a".into(), Settlement::Acked(Ack::Accepted))],
            "t1",
        )
        .unwrap();
        let f = flag_order(&c, "O1", "intercepted", "t2").unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].state, "acked");
        assert!(flag_order(&c, "O1", "cancelled", "t3").unwrap().is_empty());
        assert!(flag_order(&c, "O3", "cancelled", "t3").unwrap().is_empty());
        assert_eq!(flagged(&c).unwrap().len(), 1);
        // Flagged rows survive pruning; others go.
        put(&mut c, "c", "O2");
        claim(&mut c, 0, 10).unwrap();
        settle(
            &mut c,
            &[
                ("b".into(), Settlement::Acked(Ack::Accepted)),
                ("c".into(), Settlement::Acked(Ack::Accepted)),
            ],
            "t1",
        )
        .unwrap();
        assert_eq!(prune_acked(&c, "t9").unwrap(), 2);
        assert_eq!(state(&c, "a"), "acked");
    }
}
