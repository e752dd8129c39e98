#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A 30-day outage: 50,000 results pile up while the order center is unreachable, the queue
//! reports its depth and age, scanning (order lookups in the cache) stays fast with that
//! backlog and while it drains, and everything drains once the center is back.

use packbench_tests::order_center::start;
use packbench_tests::sync_support::{assert_server_matches, integrity};
use station::sync::backoff::Jitter;
use station::sync::deliver::{DeliverConfig, Deliverer};
use station::sync::http::UreqTransport;
use station::sync::rest::RestAdapter;
use station::sync::worker::{SyncEvent, SyncWorker, WorkerConfig};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BACKLOG: usize = 50_000;
const ORDERS: usize = 2_000;

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() * 99 / 100]
}

#[test]
fn thirty_day_backlog_drains_and_scanning_stays_fast() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let path_s = path.to_str().unwrap().to_string();
    let mut c = station::db::open(&path_s).unwrap();
    let now = chrono::Utc::now();
    // The orders cache the bench scans against.
    {
        let tx = c.transaction().unwrap();
        for i in 0..ORDERS {
            let o: domain::order::Order = serde_json::from_value(serde_json::json!({
                "order_no": format!("O{i}"), "waybill_nos": [format!("SF{i:010}")],
                "lines": [{"sku": "A", "qty": 1, "barcodes": [{"code": format!("69{i:011}")}]}]
            }))
            .unwrap();
            station::store::orders::upsert(&tx, &o, now).unwrap();
        }
        tx.commit().unwrap();
    }
    // Thirty days of results (≈1,700 a day), committed a day at a time for test speed; the
    // durable one-by-one path is measured by the outbox benchmark and the crash test.
    let start_day = now - chrono::Duration::days(30);
    for day in 0..30 {
        let tx = c.transaction().unwrap();
        for k in 0..BACKLOG / 30 + 1 {
            let i = day * (BACKLOG / 30 + 1) + k;
            if i >= BACKLOG {
                break;
            }
            let at = (start_day + chrono::Duration::days(i64::try_from(day).unwrap())).to_rfc3339();
            let p = serde_json::json!({"order_no": format!("O{}", i % ORDERS), "weight_g": i, "seq": i});
            station::outbox::enqueue(
                &tx,
                &uuid::Uuid::now_v7().to_string(),
                &format!("O{}", i % ORDERS),
                &p.to_string(),
                &at,
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let st = station::outbox::status(&c, chrono::Utc::now()).unwrap();
    assert_eq!(st.depth, u64::try_from(BACKLOG).unwrap());
    assert!(st.oldest_pending_age_s.unwrap() >= 30 * 86_400 - 60);

    // Scanning with the backlog in place.
    let lookups = |c: &rusqlite::Connection| -> Vec<Duration> {
        (0..500)
            .map(|i| {
                let code = format!("SF{:010}", (i * 7) % ORDERS);
                let t = Instant::now();
                let o = station::store::orders::find_by_code(c, &code).unwrap();
                let d = t.elapsed();
                assert!(o.is_some(), "{code}");
                d
            })
            .collect()
    };
    let idle_p99 = p99(lookups(&c));

    // The center comes back: the sync thread drains while the bench keeps scanning.
    let server = start(None).unwrap();
    let adapter = RestAdapter::new(
        &server.url(),
        None,
        200,
        Box::new(UreqTransport::new(Duration::from_secs(5))),
    )
    .unwrap();
    let deliverer = Deliverer::new(
        Box::new(adapter),
        DeliverConfig {
            batch: 200,
            ..DeliverConfig::default()
        },
        Jitter::seeded(5),
    );
    let acked = Arc::new(AtomicUsize::new(0));
    let a2 = acked.clone();
    let t = Instant::now();
    let worker = SyncWorker::spawn(
        WorkerConfig {
            db_path: path_s.clone(),
            order_poll: None,
        },
        deliverer,
        Box::new(|_: &rusqlite::Connection, _: &domain::order::Order| Ok(())),
        Box::new(move |e| {
            if let SyncEvent::Delivered { acked, .. } = e {
                a2.fetch_add(acked, Ordering::Relaxed);
            }
        }),
    )
    .unwrap();
    let mut busy = Vec::new();
    while acked.load(Ordering::Relaxed) < BACKLOG {
        assert!(
            t.elapsed() < Duration::from_secs(240),
            "backlog not drained: {} acked",
            acked.load(Ordering::Relaxed)
        );
        busy.extend(lookups(&c));
    }
    let drain_time = t.elapsed();
    worker.stop();
    let busy_p99 = p99(busy);
    eprintln!(
        "drained {BACKLOG} in {drain_time:?} ({:.0}/s); lookup p99 idle {idle_p99:?}, while draining {busy_p99:?}",
        BACKLOG as f64 / drain_time.as_secs_f64()
    );
    // Generous bounds (debug build, shared CI machine): a lookup is an indexed query.
    assert!(
        busy_p99 < Duration::from_millis(50),
        "lookups slowed to {busy_p99:?} while draining"
    );
    let st = station::outbox::status(&c, chrono::Utc::now()).unwrap();
    assert_eq!(st.depth, 0);
    assert_eq!(server.result_count(), u64::try_from(BACKLOG).unwrap());
    assert_server_matches(&c, &server).unwrap();
    assert_eq!(integrity(&c).unwrap(), "ok");
}
