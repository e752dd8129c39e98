//! Outbox benchmarks (a bench binary; run with `cargo bench -p packbench-station --bench outbox`).
//!
//! 1. Durable enqueue latency (one result = one WAL + `synchronous=FULL` transaction through
//!    `outbox::enqueue`) next to a raw one-row WAL+FULL SQLite commit, interleaved in the same
//!    run on the same disk: p50 / p99 and the ratio (goal ≤ 1.5×).
//! 2. Drain rate to the loopback test order center, healthy and with random faults of every
//!    kind (goals ≥ 2,000 results/s healthy, ≥ 200/s with faults).
//!
//! Sizes: `OUTBOX_BENCH_N` commits per side (default 2000), `OUTBOX_BENCH_DRAIN` results per
//! drain run (default 20000).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rusqlite::{params, Connection};
use station::outbox;
use station::sync::backoff::Jitter;
use station::sync::deliver::{DeliverConfig, Deliverer, Step};
use station::sync::http::UreqTransport;
use station::sync::rest::RestAdapter;
use station::sync::test_server::{Fault, OrderCenterServer, ServerOptions};
use station::sync::RequestTime;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [Duration], p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

fn payload(i: usize) -> String {
    serde_json::json!({
        "order_no": format!("O{i}"), "waybill_no": format!("SF{i:012}"), "weight_g": 1200 + i,
        "expected_g": 1180, "cost_fen": 1250, "carrier": "SF", "packer": "p1", "station_id": "bench-01",
        "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}], "overrides": []
    })
    .to_string()
}

fn enqueue_vs_raw(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut st = station::db::open(dir.path().join("station.db").to_str().unwrap()).unwrap();
    let raw = Connection::open(dir.path().join("raw.db")).unwrap();
    raw.pragma_update(None, "journal_mode", "WAL").unwrap();
    raw.pragma_update(None, "synchronous", "FULL").unwrap();
    raw.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT NOT NULL)")
        .unwrap();
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    for i in 0..n {
        let p = payload(i);
        let id = uuid::Uuid::now_v7().to_string();
        let t = Instant::now();
        let tx = st.transaction().unwrap();
        outbox::enqueue(&tx, &id, &format!("O{i}"), &p, "2026-01-01T00:00:00Z").unwrap();
        tx.commit().unwrap();
        a.push(t.elapsed());
        let id = uuid::Uuid::now_v7().to_string();
        let t = Instant::now();
        raw.execute_batch("BEGIN").unwrap();
        raw.execute("INSERT INTO t (id, v) VALUES (?1, ?2)", params![id, p])
            .unwrap();
        raw.execute_batch("COMMIT").unwrap();
        b.push(t.elapsed());
    }
    let (a50, a99, b50, b99) = (
        pct(&mut a, 50),
        pct(&mut a, 99),
        pct(&mut b, 50),
        pct(&mut b, 99),
    );
    println!("durable enqueue      n={n}: p50 {a50:?}  p99 {a99:?}");
    println!("raw one-row commit   n={n}: p50 {b50:?}  p99 {b99:?}");
    println!(
        "ratio enqueue/raw: p50 {:.2}x  p99 {:.2}x  (goal <= 1.5x)",
        a50.as_secs_f64() / b50.as_secs_f64(),
        a99.as_secs_f64() / b99.as_secs_f64()
    );
}

fn drain_rate(n: usize, batch: usize, faults: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = station::db::open(dir.path().join("s.db").to_str().unwrap()).unwrap();
    let tx = c.transaction().unwrap();
    for i in 0..n {
        outbox::enqueue(
            &tx,
            &uuid::Uuid::now_v7().to_string(),
            &format!("O{i}"),
            &payload(i),
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
    }
    tx.commit().unwrap();
    let server = OrderCenterServer::start(ServerOptions::default()).unwrap();
    if faults {
        server.set_random_faults(200, Fault::all(300), 3);
    }
    let adapter = RestAdapter::new(
        &server.url(),
        None,
        batch,
        Box::new(UreqTransport::new(Duration::from_millis(250))),
    )
    .unwrap();
    let mut d = Deliverer::new(
        Box::new(adapter),
        DeliverConfig {
            batch,
            backoff_base: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(2),
            mapping: Vec::new(),
        },
        Jitter::seeded(9),
    );
    let start = Instant::now();
    let mut requests = 0;
    loop {
        let now = u64::try_from(start.elapsed().as_millis()).unwrap();
        match d
            .step(
                &mut c,
                RequestTime {
                    mono_ms: now,
                    unix_s: 1_767_225_600,
                },
            )
            .unwrap()
        {
            Step::Sent { .. } => requests += 1,
            Step::Idle { next_due_ms: None } => break,
            Step::Idle {
                next_due_ms: Some(t),
            }
            | Step::Wait { until_ms: t } => {
                std::thread::sleep(Duration::from_millis(t.saturating_sub(now)));
            }
        }
    }
    let took = start.elapsed();
    assert_eq!(server.result_count(), u64::try_from(n).unwrap());
    let st = server.stats();
    println!(
        "drain {} batch={batch:<3} n={n}: {:>7.0} results/s  ({took:.2?}, {requests} requests, {} faults, {} duplicates)",
        if faults { "with 20% faults" } else { "healthy        " },
        n as f64 / took.as_secs_f64(),
        st.faults,
        st.duplicates
    );
}

fn main() {
    // `cargo test --benches` passes `--bench`-less args; run quickly then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick {
        50
    } else {
        env("OUTBOX_BENCH_N", 2000)
    };
    let m = if quick {
        500
    } else {
        env("OUTBOX_BENCH_DRAIN", 20_000)
    };
    enqueue_vs_raw(n);
    drain_rate(m, 50, false);
    drain_rate(m, 200, false);
    drain_rate(m / 4, 50, true);
}
