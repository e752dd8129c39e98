#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end scale scenarios over pseudo-terminals: simulator → serial transport → decoder →
//! capture, for every serial protocol; unplug and replug with reconnect; protocol auto-probe;
//! tare over MT-SICS; the station wiring turning a capture into a weight intent.

#[cfg(unix)]
mod pty {
    use drivers::scale::sim::{parse_script, PtySimulator, Step, VirtualScale};
    use drivers::scale::transport::{self, Backoff, DeviceConfig, DeviceEvent, ProtocolChoice};
    use drivers::scale::{Protocol, ScaleCommand, Unit};
    use station::devices::scale::{ScaleConfig, ScaleDevice, ScaleEvent};
    use station::station::Intent;
    use std::sync::mpsc::{self, Receiver};
    use std::time::{Duration, Instant};

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn fast(mut cfg: DeviceConfig) -> DeviceConfig {
        cfg.backoff = Backoff {
            initial_ms: 50,
            max_ms: 200,
        };
        cfg
    }

    /// Waits for the first event matching `pred`, failing with what was seen.
    fn wait_for<T>(
        rx: &Receiver<DeviceEvent>,
        what: &str,
        mut pred: impl FnMut(&DeviceEvent) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(ev) = rx.recv_timeout(Duration::from_millis(50)) {
                if let Some(t) = pred(&ev) {
                    return t;
                }
                if seen.len() < 20 {
                    seen.push(format!("{ev:?}"));
                }
            }
        }
        panic!("timed out waiting for {what}; saw {seen:#?}");
    }

    fn captured_grams(ev: &DeviceEvent) -> Option<i64> {
        match ev {
            DeviceEvent::Captured(c) => Some(c.grams),
            _ => None,
        }
    }

    #[test]
    fn every_serial_protocol_captures_over_a_pty() {
        let runs: Vec<_> = Protocol::serial()
            .map(|p| {
                std::thread::spawn(move || {
                    let steps =
                        parse_script("jitter 6; wait 200; place 1250 settle=400; wait 60000")
                            .unwrap();
                    let sim =
                        PtySimulator::start(VirtualScale::new(p, Unit::Kg, steps), None).unwrap();
                    let (tx, rx) = mpsc::channel();
                    let cfg = fast(DeviceConfig::serial(
                        sim.path().display().to_string(),
                        ProtocolChoice::Fixed(p),
                    ));
                    let handle = transport::spawn(cfg, move |e| {
                        let _ = tx.send(e);
                    })
                    .unwrap();
                    let cap = wait_for(&rx, &format!("{p} capture"), |e| match e {
                        DeviceEvent::Captured(c) => Some(c.clone()),
                        _ => None,
                    });
                    handle.stop();
                    drop(sim);
                    (p, cap)
                })
            })
            .collect();
        for r in runs {
            let (p, cap) = r.join().unwrap();
            assert_eq!(cap.grams, 1250, "{p}");
            assert_eq!(cap.mg, 1_250_000, "{p}");
            assert!(!cap.raw.is_empty(), "{p}: raw frame kept");
            assert_eq!(cap.weight.unit, Unit::Kg, "{p}");
        }
    }

    #[test]
    fn unplug_and_replug_reconnects_and_captures_again() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("scale0");
        let steps = parse_script("wait 100; place 1250 settle=200").unwrap();
        let mut sim = PtySimulator::start(
            VirtualScale::new(Protocol::And, Unit::Kg, steps),
            Some(link.clone()),
        )
        .unwrap();
        let (tx, rx) = mpsc::channel();
        let cfg = fast(DeviceConfig::serial(
            link.display().to_string(),
            ProtocolChoice::Fixed(Protocol::And),
        ));
        let handle = transport::spawn(cfg, move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        wait_for(&rx, "connected", |e| {
            matches!(e, DeviceEvent::Connected { .. }).then_some(())
        });
        assert_eq!(wait_for(&rx, "first capture", captured_grams), 1250);

        // Pull the cable: the reader sees the hang-up and starts retrying.
        sim.unplug();
        let reason = wait_for(&rx, "disconnect", |e| match e {
            DeviceEvent::Disconnected { reason, .. } => Some(reason.clone()),
            _ => None,
        });
        assert!(!reason.is_empty());

        // A new parcel is placed while unplugged; plug back in (a new pty behind the same name).
        sim.push(Step::Remove { settle_ms: 0 });
        sim.push(Step::Wait { ms: 300 });
        sim.push(Step::Place {
            grams: 2000,
            settle_ms: 200,
        });
        std::thread::sleep(Duration::from_millis(300));
        sim.replug().unwrap();
        wait_for(&rx, "reconnected", |e| {
            matches!(e, DeviceEvent::Connected { .. }).then_some(())
        });
        assert_eq!(wait_for(&rx, "capture after replug", captured_grams), 2000);
        handle.stop();
    }

    #[test]
    fn auto_probe_finds_protocol_over_a_pty() {
        for p in [Protocol::Xk3190A12, Protocol::Sma] {
            let steps = parse_script("place 800 settle=0; wait 600000").unwrap();
            let sim = PtySimulator::start(VirtualScale::new(p, Unit::Kg, steps), None).unwrap();
            let (tx, rx) = mpsc::channel();
            let cfg = fast(DeviceConfig::serial(
                sim.path().display().to_string(),
                ProtocolChoice::Auto,
            ));
            let handle = transport::spawn(cfg, move |e| {
                let _ = tx.send(e);
            })
            .unwrap();
            let (found, probe) = wait_for(&rx, "connected after probe", |e| match e {
                DeviceEvent::Connected {
                    protocol, probe, ..
                } => Some((*protocol, probe.clone())),
                _ => None,
            });
            assert_eq!(found, p);
            let probe = probe.expect("probe result reported");
            assert!(probe.frames >= 2, "{probe:?}");
            assert_eq!(wait_for(&rx, "capture", captured_grams), 800);
            handle.stop();
        }
    }

    #[test]
    fn mt_sics_tare_restarts_the_stream() {
        let steps = parse_script("place 500 settle=0; wait 600000").unwrap();
        let sim = PtySimulator::start(VirtualScale::new(Protocol::MtSics, Unit::Kg, steps), None)
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let cfg = fast(DeviceConfig::serial(
            sim.path().display().to_string(),
            ProtocolChoice::Fixed(Protocol::MtSics),
        ));
        let handle = transport::spawn(cfg, move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        assert_eq!(wait_for(&rx, "capture", captured_grams), 500);
        handle.command(ScaleCommand::Tare).unwrap();
        // After `T` the SIR stream is restarted and reads net zero.
        wait_for(&rx, "net zero after tare", |e| match e {
            DeviceEvent::Live(r) if r.mg == Some(0) => Some(()),
            _ => None,
        });
        handle.stop();
    }

    #[test]
    fn station_wiring_turns_a_capture_into_a_weight_intent() {
        let steps = parse_script("wait 100; place 3480 settle=300; wait 600000").unwrap();
        let sim = PtySimulator::start(VirtualScale::new(Protocol::Toledo, Unit::Kg, steps), None)
            .unwrap();
        let cfg = ScaleConfig {
            port: Some(sim.path().display().to_string()),
            protocol: "toledo".into(),
            ..ScaleConfig::default()
        };
        let (tx, rx) = mpsc::channel();
        let dev = ScaleDevice::spawn(&cfg, move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        let deadline = Instant::now() + TIMEOUT;
        let mut intent = None;
        let mut connected = false;
        while Instant::now() < deadline && intent.is_none() {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(ScaleEvent::Weight(i)) => intent = Some(i),
                Ok(ScaleEvent::Status(s)) => connected |= s.connected,
                _ => {}
            }
        }
        assert!(connected);
        match intent.expect("a weight intent") {
            Intent::Weight { grams, stable, raw } => {
                assert_eq!(grams, 3480);
                assert!(stable);
                assert!(
                    raw.unwrap().starts_with("\\x02"),
                    "raw Toledo frame escaped for the audit"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        drop(dev);
    }
}
