//! Pack sessions (one per order opened at the bench, closed when recorded or put aside) and
//! immutable pack results (with their captured serial numbers).
//!
//! A pack result row is written once, in the transaction that also marks the order packed,
//! appends the audit entries and enqueues the upload; triggers refuse any UPDATE or DELETE.

use crate::db::Migration;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use domain::verify::{OverrideRecord, Packaging, PackedInfo, PackedLine};
use domain::{Grams, Order};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Pack session and result tables.
pub const MIGRATIONS: &[Migration] = &[Migration {
    name: "store_002_results",
    sql: "CREATE TABLE IF NOT EXISTS pack_sessions (
        session_id TEXT PRIMARY KEY,
        order_no TEXT NOT NULL,
        operator TEXT,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        outcome TEXT CHECK (outcome IS NULL OR outcome IN ('recorded','closed','replaced')),
        result_id TEXT
    );
    CREATE INDEX IF NOT EXISTS pack_sessions_order ON pack_sessions(order_no);
    CREATE TABLE IF NOT EXISTS pack_results (
        result_id TEXT PRIMARY KEY,
        order_no TEXT NOT NULL,
        station_id TEXT NOT NULL,
        operator TEXT,
        packed_at TEXT NOT NULL,
        weight_g INTEGER NOT NULL,
        expected_g INTEGER NOT NULL,
        partial INTEGER NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS pack_results_order ON pack_results(order_no);
    CREATE TABLE IF NOT EXISTS pack_serials (
        sku TEXT NOT NULL,
        serial TEXT NOT NULL,
        order_no TEXT NOT NULL,
        result_id TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS pack_serials_sku_serial ON pack_serials(sku, serial);
    CREATE TRIGGER IF NOT EXISTS pack_results_no_update BEFORE UPDATE ON pack_results
        BEGIN SELECT RAISE(ABORT, 'pack results are immutable'); END;
    CREATE TRIGGER IF NOT EXISTS pack_results_no_delete BEFORE DELETE ON pack_results
        BEGIN SELECT RAISE(ABORT, 'pack results are immutable'); END;
    CREATE TRIGGER IF NOT EXISTS pack_serials_no_update BEFORE UPDATE ON pack_serials
        BEGIN SELECT RAISE(ABORT, 'pack results are immutable'); END;
    CREATE TRIGGER IF NOT EXISTS pack_serials_no_delete BEFORE DELETE ON pack_serials
        BEGIN SELECT RAISE(ABORT, 'pack results are immutable'); END;",
}];

fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { op, source }
}

/// A pack result: the payload uploaded to the order center (this struct serialised to JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackResult {
    /// UUIDv7, the idempotency key of every upload attempt.
    pub result_id: String,
    /// The bench.
    pub station_id: String,
    /// The operator signed in, if any.
    pub operator: Option<String>,
    /// Order no.
    pub order_no: String,
    /// Platform order nos.
    pub platform_order_nos: Vec<String>,
    /// Waybill nos.
    pub waybill_nos: Vec<String>,
    /// The first waybill no (what most order-center APIs key the weight upload on).
    pub waybill_no: Option<String>,
    /// Carrier code.
    pub carrier: String,
    /// Lines as packed (with serials).
    pub lines: Vec<PackedLine>,
    /// Weighed parcel weight.
    pub weight_g: Grams,
    /// Expected weight (counted items + packaging).
    pub expected_g: Grams,
    /// Tolerance applied.
    pub tolerance_g: Grams,
    /// Packaging chosen.
    pub packaging: Option<Packaging>,
    /// Supervisor overrides.
    pub overrides: Vec<OverrideRecord>,
    /// A short pack.
    pub partial: bool,
    /// The rate quote (from the rating module), if any.
    pub quote: Option<serde_json::Value>,
    /// When the order was opened at the bench.
    pub started_at: DateTime<Utc>,
    /// When the result was recorded.
    pub packed_at: DateTime<Utc>,
}

/// A committed pack: the result plus the full order (for the label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRecord {
    /// The order as packed.
    pub order: Order,
    /// The committed result.
    pub result: PackResult,
}

/// Writes a result, its serials, and marks the order packed. Call inside the recording
/// transaction (with the audit entries and the outbox row).
pub fn insert(conn: &Connection, r: &PackResult, payload_json: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO pack_results (result_id, order_no, station_id, operator, packed_at, weight_g,
            expected_g, partial, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            r.result_id,
            r.order_no,
            r.station_id,
            r.operator,
            r.packed_at.to_rfc3339(),
            r.weight_g.get(),
            r.expected_g.get(),
            r.partial,
            payload_json
        ])
    })
    .map_err(sql("write pack result"))?;
    let mut ins = conn
        .prepare_cached(
            "INSERT INTO pack_serials (sku, serial, order_no, result_id) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql("prepare serials"))?;
    for l in &r.lines {
        for s in &l.serials {
            ins.execute(params![l.sku, s, r.order_no, r.result_id])
                .map_err(sql("write serial"))?;
        }
    }
    conn.prepare_cached("UPDATE orders SET status = 'packed' WHERE order_no = ?1")
        .and_then(|mut s| s.execute([&r.order_no]))
        .map_err(sql("mark order packed"))?;
    Ok(())
}

/// When and by whom an order was packed here (the latest result), if it was.
pub fn packed_info(conn: &Connection, order_no: &str) -> Result<Option<PackedInfo>> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached(
            "SELECT packed_at, operator FROM pack_results WHERE order_no = ?1
             ORDER BY packed_at DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row([order_no], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(sql("read pack info"))?;
    Ok(row.map(|(at, by)| PackedInfo {
        at: DateTime::parse_from_rfc3339(&at)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        by,
    }))
}

/// The order where this serial of this SKU was recorded, if any.
pub fn serial_used(conn: &Connection, sku: &str, serial: &str) -> Result<Option<String>> {
    conn.prepare_cached("SELECT order_no FROM pack_serials WHERE sku = ?1 AND serial = ?2 LIMIT 1")
        .and_then(|mut s| s.query_row([sku, serial], |r| r.get(0)).optional())
        .map_err(sql("look up serial"))
}

/// A result by id.
pub fn get(conn: &Connection, result_id: &str) -> Result<Option<PackResult>> {
    let payload: Option<String> = conn
        .prepare_cached("SELECT payload FROM pack_results WHERE result_id = ?1")
        .and_then(|mut s| s.query_row([result_id], |r| r.get(0)).optional())
        .map_err(sql("read pack result"))?;
    payload
        .map(|p| {
            serde_json::from_str(&p).map_err(|e| Error::Invalid {
                place: format!("pack_results {result_id}"),
                message: format!("stored payload is not valid: {e}"),
            })
        })
        .transpose()
}

/// Number of pack results.
pub fn count(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT count(*) FROM pack_results", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| u64::try_from(n).unwrap_or(0))
    .map_err(sql("count pack results"))
}

/// Starts a pack session (an order opened at the bench).
pub fn session_open(
    conn: &Connection,
    session_id: &str,
    order_no: &str,
    operator: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO pack_sessions (session_id, order_no, operator, opened_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| s.execute(params![session_id, order_no, operator, at.to_rfc3339()]))
    .map_err(sql("open pack session"))?;
    Ok(())
}

/// How a pack session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Recorded as a pack result.
    Recorded,
    /// Put aside (closed without recording).
    Closed,
    /// Another order was opened instead (the first could not be packed).
    Replaced,
}

impl SessionEnd {
    fn as_str(self) -> &'static str {
        match self {
            SessionEnd::Recorded => "recorded",
            SessionEnd::Closed => "closed",
            SessionEnd::Replaced => "replaced",
        }
    }
}

/// Ends a pack session.
pub fn session_close(
    conn: &Connection,
    session_id: &str,
    end: SessionEnd,
    result_id: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE pack_sessions SET closed_at = ?2, outcome = ?3, result_id = ?4
         WHERE session_id = ?1 AND closed_at IS NULL",
    )
    .and_then(|mut s| {
        s.execute(params![
            session_id,
            at.to_rfc3339(),
            end.as_str(),
            result_id
        ])
    })
    .map_err(sql("close pack session"))?;
    Ok(())
}
