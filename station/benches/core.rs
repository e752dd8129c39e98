//! Core benchmark (a bench binary, `harness = false`): a million orders in the cache.
//!
//! Measures, on a real file database (WAL, synchronous=FULL) in a temp directory:
//! - import time of N synthetic orders streamed as JSON lines (default N = 1,000,000; set
//!   `PACKBENCH_BENCH_ORDERS` to change it),
//! - database size,
//! - open-by-waybill latency (store lookup alone, and the whole `scan` intent through the
//!   `Station`: lookup + engine + audit commit), p50/p99/max,
//! - scan-to-outcome latency of item scans through the `Station`, p50/p99/max,
//! - the full pack including the recording transaction.
//!
//! Run: `cargo bench -p packbench-station --bench core`. Goals: import ≤ 60 s, p99 ≤ 1 ms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration as CDuration, Utc};
use domain::verify::{Engine, EngineConfig, Event, OrderMatch, ScanLookup};
use station::station::{Intent, Station};
use station::store::{import, orders};
use std::io::Read;
use std::time::{Duration, Instant};

const SKUS: u64 = 20_000;

fn ean13(body12: u64) -> String {
    let body = format!("{body12:012}");
    let mut sum = 0u32;
    for (i, d) in body.bytes().rev().enumerate() {
        let v = u32::from(d - b'0');
        sum += if i % 2 == 0 { v * 3 } else { v };
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn sku_barcode(sku: u64) -> String {
    ean13(690_000_000_000 + sku)
}

/// Deterministic pseudo-random numbers (SplitMix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn waybill(i: u64) -> String {
    format!("SF{:013}", 1_000_000_000_000 + i)
}

/// The lines of order `i`: (sku index, qty).
fn lines_of(i: u64) -> Vec<(u64, u32)> {
    let r = mix(i);
    let n = 1 + r % 3;
    (0..n)
        .map(|k| {
            let s = mix(r ^ k) % SKUS;
            (s, 1 + u32::try_from(mix(r + k) % 3).unwrap())
        })
        .fold(Vec::new(), |mut v, (s, q)| {
            if !v.iter().any(|(x, _)| *x == s) {
                v.push((s, q));
            }
            v
        })
}

fn order_json(i: u64) -> String {
    let lines: Vec<String> = lines_of(i)
        .iter()
        .map(|(s, q)| {
            format!(
                r#"{{"sku":"SKU{s:06}","name":"商品 {s}","qty":{q},"unit_weight_g":{},"barcodes":[{{"code":"{}","units":1}}]}}"#,
                100 + s % 900,
                sku_barcode(*s)
            )
        })
        .collect();
    format!(
        r#"{{"order_no":"B{i:08}","platform_order_nos":["P{:018}"],"waybill_nos":["{}"],"carrier":"SF","status":"open","destination":{{"province":"广东省","city":"深圳市","district":"南山区","address":"科技园南路 {} 号"}},"lines":[{}]}}
"#,
        3_000_000_000_000_000_000u64 + i,
        waybill(i),
        i % 300,
        lines.join(",")
    )
}

/// Streams N orders as JSON lines without holding them in memory.
struct Gen {
    next: u64,
    n: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for Gen {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.buf.len() {
            if self.next >= self.n {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            while self.buf.len() < 64 * 1024 && self.next < self.n {
                self.buf.extend_from_slice(order_json(self.next).as_bytes());
                self.next += 1;
            }
        }
        let k = out.len().min(self.buf.len() - self.pos);
        out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

/// The `p`-th percentile (nearest rank, integer arithmetic).
fn pct(v: &mut [Duration], p: usize) -> Duration {
    v.sort();
    let idx = ((v.len() - 1) * p + 50) / 100;
    v[idx.min(v.len() - 1)]
}

fn report(name: &str, v: &mut [Duration]) {
    let p50 = pct(v, 50);
    let p99 = pct(v, 99);
    let max = *v.iter().max().unwrap();
    println!(
        "{name:<44} n={:>6}  p50={:>8.1} µs  p99={:>8.1} µs  max={:>8.1} µs",
        v.len(),
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        max.as_secs_f64() * 1e6
    );
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("PACKBENCH_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 1_000_000 });
    let samples: u64 = if quick { 50 } else { 2_000 };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let path_s = path.to_str().unwrap().to_string();
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-25T09:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc);

    // Import.
    let mut conn = station::db::open(&path_s).unwrap();
    let started = Instant::now();
    let gen = Gen {
        next: 0,
        n,
        buf: Vec::new(),
        pos: 0,
    };
    let summary = import::import_reader(
        &mut conn,
        gen,
        import::Format::JsonLines,
        "synthetic",
        now,
        &mut |_| {},
    )
    .unwrap();
    let import_time = started.elapsed();
    assert_eq!(summary.inserted, n, "{:?}", summary.errors.first());
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    let size = std::fs::metadata(&path).unwrap().len();
    println!("PackBench core benchmark: {n} orders");
    println!(
        "{:<44} {:.1} s ({:.0} orders/s)",
        "import (JSON lines, streaming)",
        import_time.as_secs_f64(),
        n as f64 / import_time.as_secs_f64()
    );
    println!(
        "{:<44} {:.1} MiB ({:.0} bytes/order)",
        "database size",
        size as f64 / (1024.0 * 1024.0),
        size as f64 / n as f64
    );

    // Store lookup alone.
    let conn = station::db::open(&path_s).unwrap();
    let mut lookups = Vec::new();
    for k in 0..samples {
        let i = mix(k ^ 0xABCD) % n;
        let w = waybill(i);
        let t = Instant::now();
        let o = orders::find_by_code(&conn, &w).unwrap().unwrap();
        lookups.push(t.elapsed());
        assert_eq!(o.order.order_no, format!("B{i:08}"));
    }
    drop(conn);
    report("store lookup by waybill", &mut lookups);

    // Through the Station: open by waybill, scan every unit, weigh (records), per order.
    let cfg = Station::demo_config(&path_s).unwrap();
    let station = Station::open(cfg).unwrap();
    let mut open = Vec::new();
    let mut scans = Vec::new();
    let mut weigh = Vec::new();
    let mut t_now = now;
    for k in 0..samples {
        let i = mix(k ^ 0x1234) % n;
        t_now += CDuration::seconds(1);
        let t = Instant::now();
        let out = station
            .handle(Intent::Scan { code: waybill(i) }, t_now)
            .unwrap();
        open.push(t.elapsed());
        if out[0].name() == "already_packed" {
            continue;
        }
        assert_eq!(out[0].name(), "order_opened", "{out:?}");
        let mut expected = 0i64;
        for (s, q) in lines_of(i) {
            expected += i64::from(q) * i64::try_from(100 + s % 900).unwrap();
            for _ in 0..q {
                t_now += CDuration::seconds(1);
                let t = Instant::now();
                let out = station
                    .handle(
                        Intent::Scan {
                            code: sku_barcode(s),
                        },
                        t_now,
                    )
                    .unwrap();
                scans.push(t.elapsed());
                assert_eq!(out[0].name(), "item_accepted", "{out:?}");
            }
        }
        t_now += CDuration::seconds(1);
        let t = Instant::now();
        let out = station
            .handle(
                Intent::Weight {
                    grams: expected,
                    stable: true,
                    raw: None,
                },
                t_now,
            )
            .unwrap();
        weigh.push(t.elapsed());
        assert_eq!(out.last().unwrap().name(), "pack_recorded", "{out:?}");
    }
    // Opening without a pack record in between (open, close, open…).
    let mut reopen = Vec::new();
    for k in 0..samples {
        let i = mix(k ^ 0x5678) % n;
        t_now += CDuration::seconds(1);
        let t = Instant::now();
        let out = station
            .handle(Intent::Scan { code: waybill(i) }, t_now)
            .unwrap();
        reopen.push(t.elapsed());
        if out[0].name() == "order_opened" {
            t_now += CDuration::seconds(1);
            station.handle(Intent::Close, t_now).unwrap();
        }
    }
    // The engine alone (no store, no audit): what the state machine itself costs per scan.
    let mut engine_scans = Vec::new();
    for k in 0..samples {
        let i = mix(k ^ 0x9999) % n;
        let order: domain::Order = serde_json::from_str(order_json(i).trim()).unwrap();
        let mut e = Engine::new(EngineConfig::default());
        t_now += CDuration::seconds(1);
        let open = ScanLookup {
            order: Some(OrderMatch {
                order,
                packed: None,
            }),
            ..ScanLookup::default()
        };
        e.handle(Event::scan(&waybill(i), open), t_now);
        for (s, q) in lines_of(i) {
            for _ in 0..q {
                t_now += CDuration::seconds(1);
                let code = sku_barcode(s);
                let t = Instant::now();
                let out = e.handle(Event::scan(&code, ScanLookup::default()), t_now);
                engine_scans.push(t.elapsed());
                assert_eq!(out[0].name(), "item_accepted");
            }
        }
    }
    report("engine only: item scan to outcome", &mut engine_scans);
    report("open by waybill (scan intent, audited)", &mut open);
    report("open by waybill, no record before it", &mut reopen);
    report("item scan to outcome (scan intent, audited)", &mut scans);
    report("weigh → weight_ok → pack recorded (commit)", &mut weigh);
}
