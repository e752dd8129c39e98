//! Scanner decoder benchmarks: keystroke-to-scan-event latency of the wedge decoder (the
//! CPU time from the terminating key to the `Scan` output, and a whole 13-digit burst),
//! HID-POS report decoding and serial framing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use drivers::scanner::hidpos::{encode_scan, HidPosDecoder};
use drivers::scanner::serial::{SerialFramer, SerialScannerConfig};
use drivers::scanner::sim::{KeySimulator, WedgeTiming};
use drivers::scanner::wedge::{Key, KeyEvent, WedgeDecoder, WedgeOutput};

fn wedge(c: &mut Criterion) {
    let mut sim = KeySimulator::new(1);
    let (keys, _) = sim.scan("6901234567892", 0, &WedgeTiming::default());
    let (body, enter) = keys.split_at(keys.len() - 1);
    let enter = enter[0].clone();

    // Latency of the last key: the decoder holds 13 characters; Enter arrives; how long
    // until the Scan event can be polled.
    c.bench_function("wedge: Enter key -> scan event (13-char burst held)", |b| {
        b.iter_batched(
            || {
                let mut d = WedgeDecoder::default();
                for k in body {
                    d.handle_key(k.clone());
                }
                d
            },
            |mut d| {
                d.handle_key(enter.clone());
                let out = d.poll();
                assert!(matches!(out, Some(WedgeOutput::Scan { .. })));
                black_box(out)
            },
            BatchSize::SmallInput,
        );
    });

    c.bench_function("wedge: whole 13-digit burst + Enter", |b| {
        b.iter_batched(
            || keys.clone(),
            |keys| {
                let mut d = WedgeDecoder::default();
                for k in keys {
                    d.handle_key(k);
                }
                black_box(d.poll())
            },
            BatchSize::SmallInput,
        );
    });

    c.bench_function(
        "wedge: one human keystroke (pass-through on timeout)",
        |b| {
            b.iter(|| {
                let mut d = WedgeDecoder::default();
                d.handle_key(KeyEvent::hw(1, Key::Char('a'), 0));
                d.handle_timeout(1_000);
                black_box(d.poll())
            });
        },
    );
}

fn hidpos(c: &mut Criterion) {
    let reports = encode_scan(
        "]C1",
        b"0106901234567892\x1d10LOT-2026-0001\x1d21SN000000000001\x1d92X",
    );
    c.bench_function("hidpos: 2-report GS1 scan decode", |b| {
        b.iter(|| {
            let mut d = HidPosDecoder::default();
            let mut out = None;
            for r in &reports {
                out = d.feed(black_box(r)).unwrap();
            }
            black_box(out)
        });
    });
}

fn serial(c: &mut Criterion) {
    let bytes = b"\x02]E06901234567892\r\n".repeat(16);
    c.bench_function("serial: frame 16 scans (CRLF, STX prefix)", |b| {
        b.iter(|| {
            let mut f = SerialFramer::new(SerialScannerConfig {
                prefix: vec![2],
                ..SerialScannerConfig::default()
            });
            f.feed(black_box(&bytes));
            let mut n = 0;
            while f.poll().is_some() {
                n += 1;
            }
            assert_eq!(n, 16);
        });
    });
}

criterion_group!(benches, wedge, hidpos, serial);
criterion_main!(benches);
