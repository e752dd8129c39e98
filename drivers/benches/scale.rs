#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)] // criterion_group! generates an undocumented `pub fn`.
//! Scale benchmarks: decode throughput per protocol, and capture latency from the last byte of
//! the stable frame to the capture event — sans-IO (decoder + capture) and end to end over a
//! pseudo-terminal (write → serial read → decode → capture → event channel).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use drivers::scale::capture::{Capture, CaptureConfig, CaptureEvent};
use drivers::scale::sim::{parse_script, VirtualScale};
use drivers::scale::{DecoderOptions, FrameDecoder, Polling, Protocol, Unit};
use std::hint::black_box;

/// About 64 kB of a protocol's traffic from the simulator (a parcel placed and settling).
fn traffic(p: Protocol) -> Vec<u8> {
    let mut s = VirtualScale::new(
        p,
        Unit::Kg,
        parse_script("jitter 5; place 1250 settle=100000").unwrap(),
    );
    let mut out = Vec::new();
    let mut t = 0;
    while out.len() < 64 * 1024 {
        match p.polling() {
            Polling::Poll { request, .. } => {
                s.handle_input(&request, t);
                out.extend(s.take_output());
            }
            _ => out.extend(s.frame(t)),
        }
        t += 100;
    }
    out
}

fn decode_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale_decode");
    for p in Protocol::ALL {
        let bytes = traffic(p);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(p.name(), |b| {
            b.iter(|| {
                let mut d = p.decoder(&DecoderOptions::default());
                let mut n = 0usize;
                for chunk in bytes.chunks(64) {
                    d.feed(chunk);
                    while let Some(f) = d.poll() {
                        n += f.raw.len();
                    }
                }
                black_box(n)
            });
        });
    }
    g.finish();
}

/// Decoder + capture primed with everything but the last byte of the frame that completes
/// stability; the measured step feeds that byte and runs until the capture event.
fn capture_latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale_capture_latency");
    for p in [
        Protocol::MtSics,
        Protocol::Toledo,
        Protocol::Xk3190,
        Protocol::And,
    ] {
        // Settled readings: flag protocols capture on the first stable frame, XK3190 on the
        // N-th identical one.
        let mut s = VirtualScale::new(p, Unit::Kg, parse_script("place 1250 settle=0").unwrap());
        let frames: Vec<Vec<u8>> = (0..6).map(|i| s.frame(i * 100)).collect();
        let needed = if p.has_stability_flag() { 1 } else { 5 };
        g.bench_function(p.name(), |b| {
            b.iter_batched(
                || {
                    let mut d = p.decoder(&DecoderOptions::default());
                    let mut cap = Capture::new(CaptureConfig::default());
                    for (i, f) in frames.iter().take(needed - 1).enumerate() {
                        d.feed(f);
                        while let Some(fr) = d.poll() {
                            cap.handle_frame(&fr, i as u64 * 100);
                        }
                    }
                    while cap.poll().is_some() {}
                    let last = frames.get(needed - 1).unwrap();
                    d.feed(&last[..last.len() - 1]);
                    while let Some(fr) = d.poll() {
                        cap.handle_frame(&fr, 0);
                    }
                    (d, cap, *last.last().unwrap())
                },
                |(mut d, mut cap, last_byte)| {
                    d.feed(&[last_byte]);
                    while let Some(fr) = d.poll() {
                        cap.handle_frame(&fr, (needed as u64 - 1) * 100 + 400);
                    }
                    let mut captured = false;
                    while let Some(e) = cap.poll() {
                        captured |= matches!(e, CaptureEvent::Captured(_));
                    }
                    assert!(captured, "{p}: no capture");
                },
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

#[cfg(unix)]
fn pty_latency(c: &mut Criterion) {
    use drivers::scale::transport::{self, DeviceConfig, DeviceEvent, ProtocolChoice};
    use serialport::{SerialPort, TTYPort};
    use std::io::Write;
    use std::time::{Duration, Instant};

    let (mut master, slave) = TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    drop(slave);
    let (tx, rx) = std::sync::mpsc::channel();
    let cfg = DeviceConfig::serial(path, ProtocolChoice::Fixed(Protocol::And));
    let handle = transport::spawn(cfg, move |e| {
        if matches!(e, DeviceEvent::Captured(_)) {
            let _ = tx.send(Instant::now());
        }
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let zero = b"ST,GS,+0000.00kg\r\n";
    let parcel = b"ST,GS,+0001.25kg\r\n";
    c.bench_function("scale_capture_latency/pty_end_to_end_and", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                master.write_all(zero).unwrap();
                std::thread::sleep(Duration::from_millis(3));
                let t0 = Instant::now();
                master.write_all(parcel).unwrap();
                let t1 = rx
                    .recv_timeout(Duration::from_secs(2))
                    .expect("capture over pty");
                total += t1.saturating_duration_since(t0);
            }
            total
        });
    });
    handle.stop();
}

#[cfg(not(unix))]
fn pty_latency(_c: &mut Criterion) {}

criterion_group!(benches, decode_throughput, capture_latency, pty_latency);
criterion_main!(benches);
