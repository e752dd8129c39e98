//! Order download: incremental sync by cursor into the orders cache, lookup on a cache miss,
//! and cancellations/interceptions applied as they arrive — with every result already packed
//! for such an order flagged loudly ([`crate::outbox::flag_order`]).
//!
//! The cursor is kept in the `meta` table (`orders.cursor`), so a restart resumes where it
//! stopped. Orders are written through an [`OrderSink`] (the station's store functions);
//! this module writes no order SQL of its own.

use super::{Adapter, DeliveryError, RequestTime};
use crate::error::{Error, Result};
use crate::outbox::{self, Flagged};
use domain::order::{Order, OrderStatus};
use rusqlite::{Connection, OptionalExtension};

/// `meta` key of the order-feed cursor.
pub const META_CURSOR: &str = "orders.cursor";
/// How often to poll the feed while online: interceptions must land within 10 s.
pub const POLL_INTERVAL_MS: u64 = 3_000;
/// Page size asked for.
pub const PAGE_LIMIT: u32 = 500;

/// Where downloaded orders go (the station's orders cache).
pub trait OrderSink: Send {
    /// Inserts or replaces one order (status included), inside `conn`.
    fn upsert(&mut self, conn: &Connection, order: &Order) -> Result<()>;
}

impl<F> OrderSink for F
where
    F: FnMut(&Connection, &Order) -> Result<()> + Send,
{
    fn upsert(&mut self, conn: &Connection, order: &Order) -> Result<()> {
        self(conn, order)
    }
}

/// What one poll did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PollReport {
    /// Orders written to the cache.
    pub upserted: usize,
    /// Orders that arrived cancelled or intercepted.
    pub stopped: usize,
    /// Results packed for those orders, newly flagged (raise an alarm for each).
    pub flagged: Vec<Flagged>,
    /// Orders in the feed that could not be read.
    pub unreadable: Vec<String>,
    /// Pages fetched.
    pub pages: usize,
}

fn sq(op: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { op, source }
}

/// The stored cursor.
pub fn cursor(conn: &Connection) -> Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        [META_CURSOR],
        |r| r.get(0),
    )
    .optional()
    .map_err(sq("orders cursor"))
}

fn rfc3339(unix_s: i64) -> String {
    chrono::DateTime::from_timestamp(unix_s, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Applies one order: upsert and, when it is cancelled or intercepted, flag packed results.
/// Runs in one transaction.
pub fn apply(
    conn: &mut Connection,
    sink: &mut dyn OrderSink,
    order: &Order,
    at_unix_s: i64,
) -> Result<Vec<Flagged>> {
    let tx = conn.transaction().map_err(sq("orders apply"))?;
    sink.upsert(&tx, order)?;
    let flagged = match order.status {
        OrderStatus::Cancelled | OrderStatus::Intercepted => outbox::flag_order(
            &tx,
            &order.order_no,
            order.status.as_str(),
            &rfc3339(at_unix_s),
        )?,
        _ => Vec::new(),
    };
    tx.commit().map_err(sq("orders apply"))?;
    Ok(flagged)
}

/// Pulls every page available now, applying each page and advancing the cursor in the same
/// transaction as its orders (a crash never skips orders; it may re-apply one page, which is
/// harmless because upserts are idempotent).
pub fn poll(
    conn: &mut Connection,
    adapter: &mut dyn Adapter,
    sink: &mut dyn OrderSink,
    at: RequestTime,
    max_pages: usize,
) -> std::result::Result<PollReport, PollError> {
    let mut rep = PollReport::default();
    for _ in 0..max_pages.max(1) {
        let cur = cursor(conn)?;
        let page = adapter.fetch_orders(cur.as_deref(), PAGE_LIMIT, at)?;
        rep.pages += 1;
        let tx = conn.transaction().map_err(sq("orders page"))?;
        for o in &page.orders {
            sink.upsert(&tx, o)?;
            rep.upserted += 1;
            if matches!(o.status, OrderStatus::Cancelled | OrderStatus::Intercepted) {
                rep.stopped += 1;
                rep.flagged.extend(outbox::flag_order(
                    &tx,
                    &o.order_no,
                    o.status.as_str(),
                    &rfc3339(at.unix_s),
                )?);
            }
        }
        let advanced = page.next.is_some() && page.next != cur;
        if let Some(n) = &page.next {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                rusqlite::params![META_CURSOR, n],
            )
            .map_err(sq("orders cursor"))?;
        }
        tx.commit().map_err(sq("orders page"))?;
        rep.unreadable.extend(page.unreadable);
        let full = page.orders.len() >= usize::try_from(PAGE_LIMIT).unwrap_or(usize::MAX);
        if !advanced || !full {
            break;
        }
    }
    Ok(rep)
}

/// Looks an order up at the order center after a cache miss and stores it.
pub fn lookup(
    conn: &mut Connection,
    adapter: &mut dyn Adapter,
    sink: &mut dyn OrderSink,
    no: &str,
    at: RequestTime,
) -> std::result::Result<Option<(Order, Vec<Flagged>)>, PollError> {
    match adapter.lookup_order(no, at)? {
        None => Ok(None),
        Some(o) => {
            let f = apply(conn, sink, &o, at.unix_s)?;
            Ok(Some((o, f)))
        }
    }
}

/// A failed poll or lookup: the order center or the local store.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The order center.
    #[error(transparent)]
    Remote(#[from] DeliveryError),
    /// The local store.
    #[error(transparent)]
    Local(#[from] Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{ItemOutcome, OrderPage, Outgoing};
    use std::collections::VecDeque;

    struct Feed(VecDeque<OrderPage>, Vec<Option<String>>);
    impl Adapter for Feed {
        fn name(&self) -> &'static str {
            "feed"
        }
        fn max_batch(&self) -> usize {
            1
        }
        fn upload(
            &mut self,
            _: &[Outgoing],
            _: RequestTime,
        ) -> std::result::Result<Vec<(String, ItemOutcome)>, DeliveryError> {
            Ok(vec![])
        }
        fn fetch_orders(
            &mut self,
            cursor: Option<&str>,
            _limit: u32,
            _at: RequestTime,
        ) -> std::result::Result<OrderPage, DeliveryError> {
            self.1.push(cursor.map(str::to_string));
            Ok(self.0.pop_front().unwrap_or(OrderPage {
                orders: vec![],
                next: cursor.map(str::to_string),
                unreadable: vec![],
            }))
        }
    }

    fn order(no: &str, status: OrderStatus) -> Order {
        serde_json::from_value(serde_json::json!({"order_no": no, "status": status.as_str()}))
            .unwrap()
    }

    #[test]
    fn cursor_advances_and_interceptions_flag_packed_results() {
        let mut c = crate::db::open(":memory:").unwrap();
        let tx = c.transaction().unwrap();
        outbox::enqueue(&tx, "r1", "O2", "{}", "2026-01-01T00:00:00Z").unwrap();
        tx.commit().unwrap();
        let mut feed = Feed(
            VecDeque::from([OrderPage {
                orders: vec![
                    order("O1", OrderStatus::Open),
                    order("O2", OrderStatus::Intercepted),
                ],
                next: Some("c2".into()),
                unreadable: vec![],
            }]),
            vec![],
        );
        let mut stored: Vec<(String, OrderStatus)> = Vec::new();
        let mut sink = |_: &Connection, o: &Order| -> Result<()> {
            stored.push((o.order_no.clone(), o.status));
            Ok(())
        };
        let at = RequestTime {
            mono_ms: 0,
            unix_s: 1_767_225_600,
        };
        let rep = poll(&mut c, &mut feed, &mut sink, at, 10).unwrap();
        assert_eq!(rep.upserted, 2);
        assert_eq!(rep.stopped, 1);
        assert_eq!(rep.flagged.len(), 1);
        assert_eq!(rep.flagged[0].result_id, "r1");
        assert_eq!(rep.flagged[0].flag, "intercepted");
        assert_eq!(cursor(&c).unwrap().as_deref(), Some("c2"));
        // The next poll asks from the stored cursor.
        poll(&mut c, &mut feed, &mut sink, at, 10).unwrap();
        assert_eq!(feed.1, vec![None, Some("c2".to_string())]);
        assert_eq!(stored.len(), 2);
    }
}
