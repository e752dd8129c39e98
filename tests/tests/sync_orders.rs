#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Order download through the sync thread: incremental feed into the station's orders cache,
//! an interception applied within 10 s while online with the offline-packed result flagged
//! loudly, and lookup on a cache miss.

use packbench_tests::order_center::start;
use station::sync::backoff::Jitter;
use station::sync::deliver::{DeliverConfig, Deliverer};
use station::sync::http::UreqTransport;
use station::sync::rest::RestAdapter;
use station::sync::worker::{SyncEvent, SyncWorker, WorkerConfig};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn order(no: &str, waybill: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "order_no": no, "waybill_nos": [waybill], "carrier": "SF", "status": status,
        "destination": {"province": "广东省", "city": "深圳市"},
        "lines": [{"sku": "A", "qty": 1, "unit_weight_g": 300, "barcodes": [{"code": "6901234567892"}]}]
    })
}

#[test]
fn feed_interception_and_lookup_on_miss() {
    let server = start(Some("tok")).unwrap();
    server
        .upsert_orders(&[order("O1", "SF001", "open"), order("O2", "SF002", "open")])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db").to_str().unwrap().to_string();
    let mut c = station::db::open(&path).unwrap();
    // O2 was packed while offline: its result sits in the outbox (the server is "down" for
    // uploads because every upload is refused with 503 for now).
    server.set_random_faults(
        1000,
        vec![station::sync::test_server::Fault::Status {
            code: 503,
            retry_after: None,
        }],
        1,
    );
    let tx = c.transaction().unwrap();
    station::outbox::enqueue(
        &tx,
        "res-O2",
        "O2",
        r#"{"order_no":"O2","waybill_no":"SF002","weight_g":310}"#,
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    tx.commit().unwrap();

    let adapter = RestAdapter::new(
        &server.url(),
        Some(station::sync::secrets::Secret::new("tok")),
        50,
        Box::new(UreqTransport::new(Duration::from_secs(2))),
    )
    .unwrap();
    let d = Deliverer::new(
        Box::new(adapter),
        DeliverConfig::default(),
        Jitter::seeded(1),
    );
    let (etx, erx) = mpsc::channel();
    let worker = SyncWorker::spawn(
        WorkerConfig {
            db_path: path.clone(),
            order_poll: Some(Duration::from_millis(300)),
        },
        d,
        station::cli::sync::store_sink(),
        Box::new(move |e| {
            let _ = etx.send(e);
        }),
    )
    .unwrap();

    // The feed fills the cache.
    let t = Instant::now();
    while station::store::orders::find_by_code(&c, "SF002")
        .unwrap()
        .is_none()
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "orders never arrived"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(station::store::orders::find_by_code(&c, "SF001")
        .unwrap()
        .is_some());

    // The shop intercepts O2: the bench knows within 10 s and flags the packed result.
    let t = Instant::now();
    server
        .upsert_orders(&[order("O2", "SF002", "intercepted")])
        .unwrap();
    let flagged = loop {
        let left = Duration::from_secs(10).saturating_sub(t.elapsed());
        match erx.recv_timeout(left) {
            Ok(SyncEvent::Flagged(f)) => break f,
            Ok(_) => {}
            Err(_) => panic!("interception not applied within 10 s"),
        }
    };
    let latency = t.elapsed();
    eprintln!("interception applied after {latency:?}");
    assert_eq!(flagged.result_id, "res-O2");
    assert_eq!(flagged.flag, "intercepted");
    let st = station::outbox::status(&c, chrono::Utc::now()).unwrap();
    assert_eq!(st.flagged, 1);
    let cached = station::store::orders::get(&c, "O2").unwrap().unwrap();
    assert_eq!(cached.order.status, domain::order::OrderStatus::Intercepted);

    // A waybill the cache has never seen: looked up at the order center and cached.
    server
        .upsert_orders(&[order("O9", "SF009", "open")])
        .unwrap();
    let o = worker
        .lookup("SF009", Duration::from_secs(5))
        .unwrap()
        .unwrap();
    assert_eq!(o.order_no, "O9");
    assert!(station::store::orders::find_by_code(&c, "SF009")
        .unwrap()
        .is_some());
    assert!(worker
        .lookup("NOPE", Duration::from_secs(5))
        .unwrap()
        .is_none());

    // Uploads recover when the center does; the flagged result is delivered too (the
    // order center decides what to do with it) and stays flagged locally.
    server.clear_faults();
    let t = Instant::now();
    while server.result_count() < 1 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "result never delivered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    worker.stop();
    assert_eq!(station::outbox::flagged(&c).unwrap().len(), 1);
    drop(c);
}

#[test]
fn lookup_fails_fast_and_clearly_when_the_center_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db").to_str().unwrap().to_string();
    drop(station::db::open(&path).unwrap());
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let adapter = RestAdapter::new(
        &format!("http://127.0.0.1:{port}"),
        None,
        50,
        Box::new(UreqTransport::new(Duration::from_secs(1))),
    )
    .unwrap();
    let d = Deliverer::new(
        Box::new(adapter),
        DeliverConfig::default(),
        Jitter::seeded(1),
    );
    let worker = SyncWorker::spawn(
        WorkerConfig {
            db_path: path,
            order_poll: None,
        },
        d,
        station::cli::sync::store_sink(),
        Box::new(|_| {}),
    )
    .unwrap();
    let t = Instant::now();
    let e = worker.lookup("SF1", Duration::from_secs(5)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(e.contains("SF1"), "{e}");
}
