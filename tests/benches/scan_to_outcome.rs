//! Scan-to-outcome latency through the station: a raw scan enters the scanner hub's
//! pipeline (double-read check, sequence number) and is delivered as `Intent::Scan` to a
//! demo station (in-memory SQLite): lookup, verification engine, audit log, view.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use chrono::{Duration, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use drivers::scanner::{RawScan, SourceKind};
use station::devices::scanner::{deliver, HubEvent, ScannerConfig, ScannerHub};
use station::station::{Intent, Station};
use std::time::Instant;

fn scan_to_outcome(c: &mut Criterion) {
    let start = Utc::now();
    bench_station(c, "in-memory db", Station::open_demo(start).unwrap());
    // A file database as on the bench: WAL, synchronous=FULL (an fsync per commit).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let station = Station::open(Station::demo_config(path.to_str().unwrap()).unwrap()).unwrap();
    station
        .with_db(|conn| station::station::seed_demo(conn, start))
        .unwrap()
        .unwrap();
    bench_station(c, "file db", station);
}

fn bench_station(c: &mut Criterion, name: &str, station: Station) {
    let start = Utc::now();
    let mut hub = ScannerHub::start(&ScannerConfig::default(), Instant::now()).unwrap();
    let mut at_ms = 0u64;
    let mut now = start;
    let mut scan = |code: &str| {
        // Scans 1 s apart: past the double-read window and the engine's debounce.
        at_ms += 1_000;
        now += Duration::seconds(1);
        let ev = hub.push(RawScan {
            code: code.to_string(),
            source: SourceKind::Serial,
            at_ms,
        });
        let HubEvent::Scan(s) = ev else {
            panic!("not accepted: {ev:?}")
        };
        let outcomes = deliver(&station, &s, now).unwrap();
        assert!(!outcomes.is_empty());
        black_box(outcomes)
    };
    // One cycle = 2 scans (waybill opens DEMO0002, one soap counted) + Close.
    c.bench_function(
        &format!("station ({name}): waybill scan + item scan + close (2 scans)"),
        |b| {
            b.iter(|| {
                scan("75310000007142");
                scan("]E06901230012747");
                station.handle(Intent::Close, Utc::now()).unwrap();
            });
        },
    );
}

fn barcode(c: &mut Criterion) {
    let gs1 = "]C10106901234567892\u{1d}10LOT-2026-0001\u{1d}17271231\u{1d}21SN0001";
    c.bench_function("domain: normalize_for_match (GS1-128, 4 AIs)", |b| {
        b.iter(|| domain::barcode::normalize_for_match(black_box(gs1)).unwrap())
    });
    c.bench_function("domain: normalize_for_match (EAN-13)", |b| {
        b.iter(|| domain::barcode::normalize_for_match(black_box("]E06901234567892")).unwrap())
    });
    c.bench_function("domain: analyze (waybill, courier hint)", |b| {
        b.iter(|| domain::barcode::analyze(black_box("1Z5R89390357567127")))
    });
}

criterion_group!(benches, scan_to_outcome, barcode);
criterion_main!(benches);
