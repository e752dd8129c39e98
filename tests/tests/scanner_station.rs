#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Scans reach the station exactly once: simulator source → scanner hub (double reads
//! dropped, sequence numbers) → forwarder → `Intent::Scan` → verification outcomes; and a
//! keyboard-wedge burst decoded from simulated key events opens the same order.

use chrono::Utc;
use drivers::scanner::sim::{KeySimulator, WedgeTiming};
use drivers::scanner::wedge::{WedgeDecoder, WedgeOutput};
use drivers::scanner::{RawScan, SourceKind};
use station::devices::scanner::{deliver, Forwarder, HubEvent, ScannerConfig, ScannerHub};
use station::station::Station;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn simulated_scans_are_delivered_exactly_once_in_order() {
    let station = Station::open_demo(Utc::now()).unwrap();
    // The waybill opens DEMO0001; the scanner reads the tea twice (a double read: far inside
    // the window whatever the machine's load), then the cup (plain EAN without AIM id).
    let cfg = ScannerConfig {
        sources: vec![
            "sim:SF1000000007907@0,]E06901230010002@0,]E06901230010002@0,6901230011375@0".into(),
        ],
        dedup_window_ms: 10_000,
        ..ScannerConfig::default()
    };
    let hub = ScannerHub::start(&cfg, Instant::now()).unwrap();
    let (tx, rx) = mpsc::channel();
    let fwd = Forwarder::start(hub, station.clone(), move |ev, outcomes| {
        let names: Vec<String> = outcomes
            .unwrap_or(&[])
            .iter()
            .map(|o| o.kind.name().to_string())
            .collect();
        let _ = tx.send((ev.clone(), names));
    })
    .unwrap();
    let mut scans = Vec::new();
    let mut doubles = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok((HubEvent::Scan(s), names)) => scans.push((s.seq, s.code, names)),
            Ok((HubEvent::DoubleRead { .. }, _)) => doubles += 1,
            Ok((HubEvent::Ended { .. }, _)) => break,
            Ok((HubEvent::Error { message, .. }, _)) => panic!("error: {message}"),
            Ok(_) | Err(_) => {}
        }
    }
    let hub = fwd.stop().unwrap();
    hub.stop();
    let seqs: Vec<u64> = scans.iter().map(|s| s.0).collect();
    assert_eq!(seqs, [1, 2, 3], "scans {scans:?}");
    assert_eq!(doubles, 1);
    assert_eq!(scans[0].2.first().map(String::as_str), Some("order_opened"));
    for s in &scans[1..] {
        assert_eq!(
            s.2.first().map(String::as_str),
            Some("item_accepted"),
            "{s:?}"
        );
    }
    let view = station.view();
    assert_eq!(
        view.order.as_ref().map(|o| o.order_no.as_str()),
        Some("DEMO0001")
    );
    let counted: Vec<(String, u32)> = view
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.scanned))
        .collect();
    assert_eq!(
        counted,
        [("TEA-LJ-250".to_string(), 1), ("CUP-CER-01".to_string(), 1)]
    );
}

#[test]
fn wedge_burst_opens_the_order_and_typing_is_released() {
    let station = Station::open_demo(Utc::now()).unwrap();
    let mut sim = KeySimulator::new(42);
    let mut keys = Vec::new();
    // The packer types two characters into a search field, then scans the waybill.
    let (typed, t) = sim.human("ab", 1_000, 80, 250, Default::default());
    keys.extend(typed);
    let (scan, _) = sim.scan("SF1000000007907", t + 400, &WedgeTiming::default());
    keys.extend(scan);
    let mut dec = WedgeDecoder::default();
    let mut hub = ScannerHub::start(&ScannerConfig::default(), Instant::now()).unwrap();
    let mut released = String::new();
    let mut outcomes = Vec::new();
    for k in keys {
        if let Some(t) = dec.poll_timeout().filter(|t| *t <= k.at_ms) {
            dec.handle_timeout(t);
        }
        dec.handle_key(k);
        while let Some(out) = dec.poll() {
            match out {
                WedgeOutput::Scan { code, last_ms, .. } => {
                    let ev = hub.push(RawScan {
                        code,
                        source: SourceKind::Wedge,
                        at_ms: last_ms,
                    });
                    let HubEvent::Scan(scan) = ev else {
                        panic!("not accepted: {ev:?}")
                    };
                    assert_eq!(scan.seq, 1);
                    outcomes.extend(deliver(&station, &scan, Utc::now()).unwrap());
                }
                WedgeOutput::PassThrough { keys } => {
                    for k in keys {
                        if let drivers::scanner::wedge::Key::Char(c) = k.key {
                            released.push(c);
                        }
                    }
                }
            }
        }
    }
    hub.stop();
    assert_eq!(released, "ab");
    assert_eq!(
        outcomes.first().map(|o| o.kind.name()),
        Some("order_opened")
    );
    assert_eq!(
        station.view().order.map(|o| o.order_no),
        Some("DEMO0001".to_string())
    );
}
