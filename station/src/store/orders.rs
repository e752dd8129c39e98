//! The orders cache: one row per order (the full order as JSON plus its status), a code index
//! (waybill and platform order numbers → order) and a barcode index (normalised code → SKU).
//!
//! Used by the import, the order-center sync ([`upsert`], [`set_status`]) and the station
//! ([`find_by_code`], [`sku_for_barcode`]).

use crate::db::Migration;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use domain::barcode::normalize_for_match;
use domain::verify::PackedInfo;
use domain::{Order, OrderStatus};
use rusqlite::{params, Connection, OptionalExtension};

/// Orders cache tables.
pub const MIGRATIONS: &[Migration] = &[Migration {
    name: "store_001_orders",
    sql: "CREATE TABLE IF NOT EXISTS orders (
        order_no TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('open','on_hold','cancelled','intercepted','packed')),
        carrier TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS order_codes (
        code TEXT NOT NULL,
        order_no TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('waybill','platform')),
        PRIMARY KEY (code, order_no)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS order_codes_by_order ON order_codes(order_no);
    CREATE TABLE IF NOT EXISTS sku_barcodes (
        code TEXT NOT NULL,
        sku TEXT NOT NULL,
        units INTEGER NOT NULL,
        PRIMARY KEY (code, sku)
    ) WITHOUT ROWID;",
}];

fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { op, source }
}

/// An order from the cache, with its pack info when a pack result exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    /// The order (status from the status column, which sync keeps current).
    pub order: Order,
    /// When and by whom it was packed here, if it was.
    pub packed: Option<PackedInfo>,
}

/// What [`upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new order.
    Inserted,
    /// An existing order was replaced.
    Updated,
    /// An existing order packed here kept its `packed` status (the rest was updated).
    KeptPacked,
}

/// Inserts or replaces an order and its code and barcode index rows. An order that has a pack
/// result here stays `packed` whatever the incoming status says (a late download must not
/// reopen it). `now` is the update time.
pub fn upsert(conn: &Connection, order: &Order, now: DateTime<Utc>) -> Result<Upserted> {
    let body = serde_json::to_string(order).map_err(|e| Error::Invalid {
        place: format!("order {}", order.order_no),
        message: format!("cannot serialise: {e}"),
    })?;
    let existing: Option<String> = conn
        .prepare_cached("SELECT status FROM orders WHERE order_no = ?1")
        .and_then(|mut s| s.query_row([&order.order_no], |r| r.get(0)).optional())
        .map_err(sql("look up order"))?;
    let packed_here = existing.is_some()
        && conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM pack_results WHERE order_no = ?1)")
            .and_then(|mut s| s.query_row([&order.order_no], |r| r.get::<_, bool>(0)))
            .map_err(sql("look up pack result"))?;
    let status = if packed_here {
        OrderStatus::Packed
    } else {
        order.status
    };
    conn.prepare_cached(
        "INSERT INTO orders (order_no, status, carrier, body, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(order_no) DO UPDATE SET status = excluded.status, carrier = excluded.carrier,
           body = excluded.body, updated_at = excluded.updated_at",
    )
    .and_then(|mut s| {
        s.execute(params![
            order.order_no,
            status.as_str(),
            order.carrier,
            body,
            now.to_rfc3339()
        ])
    })
    .map_err(sql("write order"))?;
    if existing.is_some() {
        conn.prepare_cached("DELETE FROM order_codes WHERE order_no = ?1")
            .and_then(|mut s| s.execute([&order.order_no]))
            .map_err(sql("clear order codes"))?;
    }
    {
        let mut ins = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO order_codes (code, order_no, kind) VALUES (?1, ?2, ?3)",
            )
            .map_err(sql("prepare order codes"))?;
        for w in &order.waybill_nos {
            ins.execute(params![w, order.order_no, "waybill"])
                .map_err(sql("write waybill code"))?;
        }
        for p in &order.platform_order_nos {
            ins.execute(params![p, order.order_no, "platform"])
                .map_err(sql("write platform code"))?;
        }
        let mut bc = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO sku_barcodes (code, sku, units) VALUES (?1, ?2, ?3)",
            )
            .map_err(sql("prepare barcodes"))?;
        for line in &order.lines {
            for b in &line.barcodes {
                if let Ok(n) = normalize_for_match(&b.code) {
                    bc.execute(params![n, line.sku, b.units])
                        .map_err(sql("write barcode"))?;
                }
            }
        }
    }
    Ok(match (existing, packed_here) {
        (None, _) => Upserted::Inserted,
        (Some(_), true) => Upserted::KeptPacked,
        (Some(_), false) => Upserted::Updated,
    })
}

fn load(conn: &Connection, order_no: &str) -> Result<Option<StoredOrder>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT status, body FROM orders WHERE order_no = ?1")
        .and_then(|mut s| {
            s.query_row([order_no], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(sql("read order"))?;
    let Some((status, body)) = row else {
        return Ok(None);
    };
    let mut order: Order = serde_json::from_str(&body).map_err(|e| Error::Invalid {
        place: format!("orders table, order {order_no}"),
        message: format!("stored order is not valid: {e}"),
    })?;
    if let Some(s) = OrderStatus::parse(&status) {
        order.status = s;
    }
    let packed = crate::store::results::packed_info(conn, order_no)?;
    Ok(Some(StoredOrder { order, packed }))
}

/// The order with this order no.
pub fn get(conn: &Connection, order_no: &str) -> Result<Option<StoredOrder>> {
    load(conn, order_no)
}

/// Every order a code opens: the order no itself, a waybill no or a platform order no
/// (one platform order may be split into several orders). Exact match only.
pub fn find_all_by_code(conn: &Connection, code: &str) -> Result<Vec<StoredOrder>> {
    let mut found = Vec::new();
    if let Some(o) = load(conn, code)? {
        found.push(o);
    }
    let nos: Vec<String> = conn
        .prepare_cached("SELECT order_no FROM order_codes WHERE code = ?1 ORDER BY order_no")
        .and_then(|mut s| {
            s.query_map([code], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(sql("look up order code"))?;
    for no in nos {
        if found.iter().any(|f| f.order.order_no == no) {
            continue;
        }
        if let Some(o) = load(conn, &no)? {
            found.push(o);
        }
    }
    Ok(found)
}

/// The order a code opens. When a platform order no matches several orders, the first
/// (by order no) still open wins, else the first.
pub fn find_by_code(conn: &Connection, code: &str) -> Result<Option<StoredOrder>> {
    let mut all = find_all_by_code(conn, code)?;
    if all.len() <= 1 {
        return Ok(all.pop());
    }
    let open = all
        .iter()
        .position(|o| o.packed.is_none() && o.order.status == OrderStatus::Open);
    Ok(Some(all.swap_remove(open.unwrap_or(0))))
}

/// Sets an order's status (sync: cancellations, interceptions, holds). Returns false when
/// the order is not cached.
pub fn set_status(conn: &Connection, order_no: &str, status: OrderStatus) -> Result<bool> {
    let n = conn
        .prepare_cached("UPDATE orders SET status = ?2 WHERE order_no = ?1")
        .and_then(|mut s| s.execute(params![order_no, status.as_str()]))
        .map_err(sql("set order status"))?;
    Ok(n > 0)
}

/// The SKU a normalised barcode belongs to (any order in the cache), for `wrong_item`.
pub fn sku_for_barcode(conn: &Connection, normalized: &str) -> Result<Option<String>> {
    conn.prepare_cached("SELECT sku FROM sku_barcodes WHERE code = ?1 ORDER BY sku LIMIT 1")
        .and_then(|mut s| s.query_row([normalized], |r| r.get(0)).optional())
        .map_err(sql("look up barcode"))
}

/// Number of cached orders.
pub fn count(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT count(*) FROM orders", [], |r| r.get::<_, i64>(0))
        .map(|n| u64::try_from(n).unwrap_or(0))
        .map_err(sql("count orders"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(no: &str, waybill: &str, platform: &str, status: &str) -> Order {
        serde_json::from_str(&format!(
            r#"{{"order_no":"{no}","waybill_nos":["{waybill}"],"platform_order_nos":["{platform}"],"status":"{status}",
            "lines":[{{"sku":"A","qty":1,"unit_weight_g":100,"barcodes":[{{"code":"6901234567892"}}]}}]}}"#
        ))
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    #[test]
    fn finds_by_every_code_exactly() {
        let c = crate::db::open(":memory:").unwrap();
        assert_eq!(
            upsert(&c, &order("O1", "SF1", "P1", "open"), now()).unwrap(),
            Upserted::Inserted
        );
        for code in ["O1", "SF1", "P1"] {
            assert_eq!(
                find_by_code(&c, code).unwrap().unwrap().order.order_no,
                "O1",
                "{code}"
            );
        }
        for code in ["O", "SF", "SF12", "P", "o1", ""] {
            assert!(find_by_code(&c, code).unwrap().is_none(), "{code}");
        }
        assert_eq!(
            sku_for_barcode(&c, "06901234567892").unwrap().as_deref(),
            Some("A")
        );
        assert_eq!(sku_for_barcode(&c, "6901234567892").unwrap(), None);
    }

    #[test]
    fn update_replaces_codes_and_status() {
        let c = crate::db::open(":memory:").unwrap();
        upsert(&c, &order("O1", "SF1", "P1", "open"), now()).unwrap();
        assert_eq!(
            upsert(&c, &order("O1", "SF2", "P1", "on_hold"), now()).unwrap(),
            Upserted::Updated
        );
        assert!(find_by_code(&c, "SF1").unwrap().is_none());
        let o = find_by_code(&c, "SF2").unwrap().unwrap();
        assert_eq!(o.order.status, OrderStatus::OnHold);
        assert!(set_status(&c, "O1", OrderStatus::Intercepted).unwrap());
        assert!(!set_status(&c, "nope", OrderStatus::Intercepted).unwrap());
        assert_eq!(
            get(&c, "O1").unwrap().unwrap().order.status,
            OrderStatus::Intercepted
        );
        assert_eq!(count(&c).unwrap(), 1);
    }

    #[test]
    fn split_platform_order_prefers_the_open_one() {
        let c = crate::db::open(":memory:").unwrap();
        upsert(&c, &order("O1", "SF1", "P1", "cancelled"), now()).unwrap();
        upsert(&c, &order("O2", "SF2", "P1", "open"), now()).unwrap();
        assert_eq!(find_all_by_code(&c, "P1").unwrap().len(), 2);
        assert_eq!(
            find_by_code(&c, "P1").unwrap().unwrap().order.order_no,
            "O2"
        );
    }
}
