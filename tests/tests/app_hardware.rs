#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The headless app facade over a configured (non-demo) station: a station.toml with a scale
//! on a pseudo-terminal driven by the scale simulator, a loopback order center, a `dir:`
//! printer and the demo rate cards. Orders arrive from the order center's feed, the scale's
//! capture records the pack with a quote, the label file is written, the result reaches the
//! server exactly once; a later cancellation raises the flagged stop alarm, and an
//! interception of the open order blocks it within seconds.

#[cfg(unix)]
mod hw {
    use chrono::Utc;
    use domain::verify::AlarmClass;
    use drivers::scale::sim::{PtySimulator, Step, VirtualScale};
    use drivers::scale::{Protocol, Unit};
    use serde_json::{json, Value};
    use station::app::{App, AppEvent, AppView};
    use station::sync::test_server::{OrderCenterServer, ServerOptions};
    use std::path::Path;

    use std::time::{Duration, Instant};

    const TIMEOUT: Duration = Duration::from_secs(8);

    fn order(no: &str, waybill: &str, status: &str) -> Value {
        json!({
            "order_no": no,
            "waybill_nos": [waybill],
            "carrier": "SF",
            "status": status,
            "destination": {"province": "广东省", "city": "深圳市", "district": "南山区",
                            "address": "科技园南路 18 号", "name": "张*", "phone": "138****0001"},
            "lines": [
                {"sku": "TEA-1", "name": "Tea", "qty": 2, "unit_weight_g": 280,
                 "barcodes": [{"code": "6901230010002", "units": 1}]},
                {"sku": "CUP-1", "name": "Cup", "qty": 1, "unit_weight_g": 350,
                 "barcodes": [{"code": "6901230011375", "units": 1}]}
            ]
        })
    }

    fn station_toml(dir: &Path, pty: &Path, url: &str) -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let template = root.join("labels/templates/express-100x150.toml");
        let sf = root.join("station/demo/rates/sf.toml");
        format!(
            r#"
station_id = "hw-bench-01"
db_path = "{db}"
debounce_ms = 100
default_packaging = "none"

[tolerance]
abs_g = 20
percent = "3"

[[packaging]]
id = "none"
name = "none"
weight_g = 0

[[operators]]
id = "p1"
name = "P1"
role = "packer"

[scale]
port = "{pty}"
protocol = "mt-sics"

[labels]
template = "{template}"
printer = "dir:{labels}"
preview_dir = "{preview}"
check_status = false

[rates]
cards = ["{sf}"]

[order_center]
kind = "rest"
url = "{url}"
secrets = "file"
order_poll_ms = 200
backoff_base_ms = 100
backoff_cap_ms = 1000
"#,
            db = dir.join("station.db").display(),
            pty = pty.display(),
            template = template.display(),
            labels = dir.join("labels").display(),
            preview = dir.join("preview").display(),
            sf = sf.display(),
        )
    }

    /// Steps the app like its thread does until `pred` holds on the view.
    fn tick_until(
        app: &mut App,
        what: &str,
        mut pred: impl FnMut(&App, &AppView) -> bool,
    ) -> AppView {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            app.tick(Utc::now()).unwrap();
            let v = app.view(Utc::now()).unwrap();
            if pred(app, &v) {
                return v;
            }
            if Instant::now() >= deadline {
                let devices = app.devices(Utc::now()).unwrap();
                panic!("timed out waiting for {what}; devices: {devices:#?}; view: {v:#?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn knows(app: &App, no: &str) -> bool {
        app.station()
            .with_db(|c| station::store::orders::get(c, no))
            .unwrap()
            .unwrap()
            .is_some()
    }

    #[test]
    fn configured_station_weighs_quotes_prints_and_uploads_once() {
        let dir = tempfile::tempdir().unwrap();
        let server = OrderCenterServer::start(ServerOptions::default()).unwrap();
        server
            .upsert_orders(&[
                order("HW0001", "SF7000000000011", "open"),
                order("HW0002", "SF7000000000022", "open"),
            ])
            .unwrap();
        let sim = PtySimulator::start(
            VirtualScale::new(Protocol::MtSics, Unit::G, Vec::new()),
            None,
        )
        .unwrap();
        let (mut app, events) = packbench_tests::app_support::open_configured(
            dir.path(),
            &station_toml(dir.path(), sim.path(), &server.url()),
        );
        packbench_tests::app_support::sign_in_packer(&mut app, "p1");

        // The orders come from the order center's feed; the scale connects.
        tick_until(&mut app, "orders from the feed", |app, _| {
            knows(app, "HW0001")
        });
        let devices = app.devices(Utc::now()).unwrap();
        assert!(
            devices
                .iter()
                .any(|d| d.kind == "printer" && d.status == "ok"),
            "{devices:#?}"
        );

        let v = app.scan("SF7000000000011", Utc::now()).unwrap();
        assert_eq!(v.pack.order.as_ref().unwrap().order_no, "HW0001");
        app.scan("6901230010002", Utc::now()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        app.scan("6901230010002", Utc::now()).unwrap();
        let v = app.scan("6901230011375", Utc::now()).unwrap();
        assert_eq!(v.pack.state, "awaiting_weight", "{v:#?}");
        let expected = v.pack.expected_g.unwrap();
        assert_eq!(expected, 2 * 280 + 350);

        // The parcel goes on the simulated scale: settling readings, then the capture.
        sim.push(Step::Place {
            grams: expected + 5,
            settle_ms: 400,
        });
        let v = tick_until(&mut app, "the pack recorded", |_, v| {
            v.pack.state == "recorded"
        });
        assert_eq!(v.verdict.as_ref().unwrap().outcome, "pack_recorded");
        let quote = v.pack.quote.clone().expect("a quote from the SF card");
        assert_eq!(quote.carrier, "SF");
        assert!(quote.total_fen.unwrap() > 0, "{quote:?}");
        let result_id = v.pack.result.as_ref().unwrap().result_id.clone();
        let live: Vec<_> = events
            .try_iter()
            .filter_map(|e| match e {
                AppEvent::Weight(w) => Some(w),
                _ => None,
            })
            .collect();
        assert!(
            live.iter().any(|w| w.stable && w.grams == expected + 5),
            "{live:?}"
        );

        // The label file is written by the printing thread.
        let labels = dir.path().join("labels");
        tick_until(&mut app, "the label file", |_, _| {
            std::fs::read_dir(&labels).is_ok_and(|d| d.count() > 0)
        });

        // The result reaches the order center once; the queue drains and says online.
        let v = tick_until(&mut app, "the upload", |_, v| {
            v.queue.pending == 0 && server.result_count() == 1
        });
        assert!(v.queue.online, "{:?}", v.queue);
        let results = server.results();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].0, result_id);
        assert_eq!(results[0].2, 1, "delivered exactly once");

        // The order is cancelled after packing: a flagged stop alarm until acknowledged.
        server
            .upsert_orders(&[order("HW0001", "SF7000000000011", "cancelled")])
            .unwrap();
        let v = tick_until(&mut app, "the flagged alarm", |_, v| {
            v.alarm
                .as_ref()
                .is_some_and(|a| a.outcome == "order_cancelled")
        });
        assert_eq!(v.alarm.as_ref().unwrap().class, AlarmClass::Stop);
        assert!(v.alarm.as_ref().unwrap().detail.contains(&result_id));
        let v = app.acknowledge(Utc::now()).unwrap();
        assert!(v.alarm.is_none(), "{:?}", v.alarm);

        // The next order is intercepted while open: blocked within seconds.
        let v = app.scan("SF7000000000022", Utc::now()).unwrap();
        assert_eq!(v.pack.order.as_ref().unwrap().order_no, "HW0002");
        server
            .upsert_orders(&[order("HW0002", "SF7000000000022", "intercepted")])
            .unwrap();
        let v = tick_until(&mut app, "the interception", |_, v| {
            v.pack.state == "blocked"
        });
        assert_eq!(v.alarm.as_ref().unwrap().class, AlarmClass::Stop);

        app.shutdown();
        assert_eq!(server.result_count(), 1);
    }
}
