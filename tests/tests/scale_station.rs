#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The scale wired to the station: a simulated MT-SICS scale on a pseudo-terminal, the station's
//! scale device thread and forwarder, and the demo station recording the pack with the scale's
//! own frame in the audit log.

#[cfg(unix)]
mod pty {
    use chrono::{DateTime, Duration as ChronoDuration, Utc};
    use drivers::scale::sim::{PtySimulator, Step, VirtualScale};
    use drivers::scale::{Protocol, Unit};
    use station::devices::scale::{ScaleConfig, ScaleDevice, ScaleEvent};
    use station::station::{Intent, Station, StationEvent};
    use station::store::results;
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T09:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn captured_weight_records_the_pack_with_the_raw_frame() {
        let station = Station::open_demo(t0()).unwrap();
        let events = station.subscribe();
        let mut now = t0();
        for code in [
            "SF1000000007907",
            "6901230010002",
            "6901230010002",
            "6901230011375",
        ] {
            now += ChronoDuration::seconds(1);
            station
                .handle(Intent::Scan { code: code.into() }, now)
                .unwrap();
        }
        assert_eq!(station.with_db(|c| results::count(c).unwrap()).unwrap(), 0);

        // The packer puts the parcel (910 g, as the demo order expects) on an MT-SICS scale.
        let sim = PtySimulator::start(
            VirtualScale::new(Protocol::MtSics, Unit::Kg, Vec::new()),
            None,
        )
        .unwrap();
        let cfg = ScaleConfig {
            port: Some(sim.path().display().to_string()),
            protocol: "mt-sics".into(),
            ..ScaleConfig::default()
        };
        let (ui_tx, ui_rx) = mpsc::channel();
        let clock_at = now + ChronoDuration::seconds(5);
        let device = ScaleDevice::spawn_for_station(
            &cfg,
            station.clone(),
            Arc::new(move || clock_at),
            ui_tx,
        )
        .unwrap();
        sim.push(Step::Wait { ms: 200 });
        sim.push(Step::Place {
            grams: 910,
            settle_ms: 400,
        });

        let deadline = Instant::now() + Duration::from_secs(10);
        let mut recorded = None;
        let mut live_seen = false;
        while Instant::now() < deadline && recorded.is_none() {
            while let Ok(ev) = ui_rx.try_recv() {
                live_seen |= matches!(ev, ScaleEvent::Live(_));
            }
            if let Ok(StationEvent::PackRecorded { order_no, .. }) =
                events.recv_timeout(Duration::from_millis(50))
            {
                recorded = Some(order_no);
            }
        }
        assert_eq!(recorded.as_deref(), Some("DEMO0001"));
        assert!(live_seen, "live readings reach the UI stream");
        assert_eq!(station.with_db(|c| results::count(c).unwrap()).unwrap(), 1);
        // The weight outcome in the audit log carries the scale's own frame.
        let raw: String = station
            .with_db(|c| {
                c.query_row(
                    "SELECT data FROM audit WHERE data LIKE '%\"raw\"%' ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
            })
            .unwrap();
        assert!(raw.contains("S S      0.910 kg"), "{raw}");
        drop(device);
    }
}
