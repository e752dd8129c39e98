#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The tower light of a configured app on a pseudo-terminal relay board: the exact frames on
//! the wire for idle, a wrong item (red + buzzer), acknowledge (back to green), a warning that
//! falls back to green, sign-out (dark), a replugged board (everything resent), the lamp test,
//! and lamps off at shutdown — for an LCUS board, and for a Modbus board that answers (one 0F request per
//! change) and then falls silent (reported on the devices page).

#[cfg(unix)]
mod light {
    use chrono::Utc;
    use domain::verify::AlarmClass;
    use domain::Order;
    use drivers::light::codec::{lcus, modbus_write_coils};
    use drivers::light::sim::PtyRelay;
    use drivers::light::RelayProtocol;
    use serde_json::json;
    use station::app::{App, AppEvent, DiagRequest};
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::mpsc;
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(5);

    fn order(no: &str, waybill: &str, sku: &str, ean: &str) -> Order {
        serde_json::from_value(json!({
            "order_no": no,
            "waybill_nos": [waybill],
            "carrier": "SF",
            "status": "open",
            "destination": {"province": "广东省", "city": "深圳市", "district": "南山区",
                            "address": "科技园南路 18 号", "name": "张*", "phone": "138****0001"},
            "lines": [{"sku": sku, "name": sku, "qty": 2, "unit_weight_g": 280,
                       "barcodes": [{"code": ean, "units": 1}]}]
        }))
        .unwrap()
    }

    fn station_toml(dir: &Path, relay: &Path, light: &str) -> String {
        format!(
            r#"
station_id = "light-bench"
db_path = "{db}"
debounce_ms = 100

[[operators]]
id = "p1"
name = "P1"
role = "packer"

[labels]
enabled = false

[tower_light]
port = "{relay}"
idle = "green"
warning_seconds = 1
reconnect_initial_ms = 20
reconnect_max_ms = 100
frame_gap_ms = 2
{light}
"#,
            db = dir.join("station.db").display(),
            relay = relay.display(),
        )
    }

    fn open(dir: &Path, relay: &Path, light: &str) -> (App, mpsc::Receiver<AppEvent>) {
        let (app, rx) =
            packbench_tests::app_support::open_configured(dir, &station_toml(dir, relay, light));
        for o in [
            order("L0001", "SF1000000000011", "TEA-1", "6901230010002"),
            order("L0002", "SF1000000000022", "CUP-1", "6901230011375"),
        ] {
            app.station()
                .with_db(|c| station::store::orders::upsert(c, &o, Utc::now()))
                .unwrap()
                .unwrap();
        }
        (app, rx)
    }

    fn sign_in(app: &mut App) {
        packbench_tests::app_support::sign_in_packer(app, "p1");
    }

    fn relays(pairs: &[(u16, bool)]) -> BTreeMap<u16, bool> {
        pairs.iter().copied().collect()
    }

    /// Waits until the board shows `want`, then returns (and forgets) the bytes written.
    fn expect_board(board: &PtyRelay, want: &[(u16, bool)], what: &str) -> Vec<u8> {
        let want = relays(want);
        assert!(
            board.wait_for(WAIT, |r| *r == want),
            "{what}: board {:?}, want {want:?}, log {:?}",
            board.relays(),
            board.log()
        );
        // Let any frame still in flight arrive (there must be none).
        std::thread::sleep(Duration::from_millis(40));
        board.take_wire()
    }

    fn frames(list: &[[u8; 4]]) -> Vec<u8> {
        list.concat()
    }

    #[test]
    fn lcus_light_follows_the_bench() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("ttyRELAY");
        let mut board = PtyRelay::start(RelayProtocol::Lcus, Some(link.clone())).unwrap();
        let (mut app, events) = open(dir.path(), &link, "protocol = \"lcus\"");

        // Connected, nobody signed in: every lamp is switched off once.
        let wire = expect_board(
            &board,
            &[(1, false), (2, false), (3, false), (4, false)],
            "connect",
        );
        assert_eq!(
            wire,
            frames(&[
                lcus(1, false),
                lcus(2, false),
                lcus(3, false),
                lcus(4, false)
            ])
        );

        // Signed in, idle: green (configured steady).
        sign_in(&mut app);
        let wire = expect_board(
            &board,
            &[(1, true), (2, false), (3, false), (4, false)],
            "idle",
        );
        assert_eq!(wire, frames(&[lcus(1, true)]));

        // An order open: still green, nothing sent.
        let v = app.scan("SF1000000000011", Utc::now()).unwrap();
        assert_eq!(v.pack.order.as_ref().unwrap().order_no, "L0001");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(board.take_wire(), Vec::<u8>::new());

        // Another order's item: stop alarm → green off, red on, buzzer on.
        let v = app.scan("6901230011375", Utc::now()).unwrap();
        assert_eq!(v.alarm.as_ref().unwrap().class, AlarmClass::Stop);
        let wire = expect_board(
            &board,
            &[(1, false), (2, false), (3, true), (4, true)],
            "stop",
        );
        assert_eq!(
            wire,
            frames(&[lcus(1, false), lcus(3, true), lcus(4, true)])
        );
        let devices = app.devices(Utc::now()).unwrap();
        let light = devices.iter().find(|d| d.id == "tower-light").unwrap();
        assert_eq!(
            (light.kind.as_str(), light.status.as_str()),
            ("light", "ok")
        );
        assert!(light.detail.contains("stop"), "{light:?}");
        assert!(light.detail.contains("red + buzzer"), "{light:?}");
        // The bytes also reach the diagnostics stream.
        let raw: Vec<String> = events
            .try_iter()
            .filter_map(|e| match e {
                AppEvent::Raw(r) if r.device == "tower-light" => Some(r.hex),
                _ => None,
            })
            .collect();
        assert!(raw.contains(&"a0 04 01 a5".to_string()), "{raw:?}");

        // Acknowledged: back to green.
        let v = app.acknowledge(Utc::now()).unwrap();
        assert!(v.alarm.is_none(), "{:?}", v.alarm);
        let wire = expect_board(
            &board,
            &[(1, true), (2, false), (3, false), (4, false)],
            "acknowledged",
        );
        assert_eq!(
            wire,
            frames(&[lcus(1, true), lcus(3, false), lcus(4, false)])
        );

        // The board is unplugged and comes back: everything is sent again.
        board.unplug();
        std::thread::sleep(Duration::from_millis(100));
        board.replug().unwrap();
        let wire = expect_board(
            &board,
            &[(1, true), (2, false), (3, false), (4, false)],
            "replugged",
        );
        assert_eq!(
            wire,
            frames(&[
                lcus(1, true),
                lcus(2, false),
                lcus(3, false),
                lcus(4, false)
            ])
        );

        // The lamp test: green, yellow, red, buzzer in turn, then back to green.
        let r = app
            .diagnose(
                DiagRequest {
                    device: "tower-light".into(),
                    action: "test".into(),
                },
                Utc::now(),
            )
            .unwrap();
        assert!(r.summary.contains("lamp test"), "{r:?}");
        let done = board.wait_for(Duration::from_secs(8), |_| {
            let log = board.log();
            log.iter().any(|s| s.channel == 4 && s.on)
                && log.last().is_some_and(|s| s.channel == 1 && s.on)
        });
        assert!(done, "{:?}", board.log());
        let on_order: Vec<u16> = board
            .log()
            .iter()
            .filter(|s| s.on)
            .map(|s| s.channel)
            .collect();
        assert!(on_order.ends_with(&[1, 2, 3, 4, 1]), "{on_order:?}");

        // Shutdown switches the lamps off.
        app.shutdown();
        let off = relays(&[(1, false), (2, false), (3, false), (4, false)]);
        assert!(board.wait_for(WAIT, |r| *r == off), "{:?}", board.relays());
    }

    #[test]
    fn warning_shows_yellow_then_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let board = PtyRelay::start(RelayProtocol::Lcus, None).unwrap();
        let (mut app, _events) = open(dir.path(), board.path(), "protocol = \"lcus\"");
        sign_in(&mut app);
        expect_board(
            &board,
            &[(1, true), (2, false), (3, false), (4, false)],
            "idle",
        );
        // An unknown waybill with no order open: a warning.
        let v = app.scan("SF9999999999999", Utc::now()).unwrap();
        assert_eq!(v.alarm.as_ref().unwrap().class, AlarmClass::Warn, "{v:?}");
        let wire = expect_board(
            &board,
            &[(1, false), (2, true), (3, false), (4, false)],
            "warning",
        );
        assert_eq!(wire, frames(&[lcus(1, false), lcus(2, true)]));
        // warning_seconds = 1: back to green without any action.
        let wire = expect_board(
            &board,
            &[(1, true), (2, false), (3, false), (4, false)],
            "after the warning",
        );
        assert_eq!(wire, frames(&[lcus(1, true), lcus(2, false)]));
        // Signed out at a station with operators: dark.
        app.sign_out(Utc::now()).unwrap();
        let wire = expect_board(
            &board,
            &[(1, false), (2, false), (3, false), (4, false)],
            "signed out",
        );
        assert_eq!(wire, frames(&[lcus(1, false)]));
    }

    #[test]
    fn modbus_board_answers_then_falls_silent() {
        let dir = tempfile::tempdir().unwrap();
        let proto = RelayProtocol::Modbus {
            address: 1,
            check_answers: true,
            multiple_coils: true,
        };
        let board = PtyRelay::start(proto, None).unwrap();
        let (mut app, _events) = open(
            dir.path(),
            board.path(),
            "protocol = \"modbus\"\nmodbus_address = 1\nanswer_timeout_ms = 200\nretry_ms = 300",
        );
        let all_off = expect_board(
            &board,
            &[(1, false), (2, false), (3, false), (4, false)],
            "connect",
        );
        assert_eq!(
            all_off,
            modbus_write_coils(1, 0, &[false, false, false, false]).unwrap()
        );
        sign_in(&mut app);
        app.scan("SF1000000000011", Utc::now()).unwrap();
        let wire = expect_board(
            &board,
            &[(1, true), (2, false), (3, false), (4, false)],
            "ready",
        );
        assert_eq!(
            wire,
            modbus_write_coils(1, 0, &[true, false, false, false]).unwrap()
        );
        // The stop alarm switches red and buzzer together: one 0F request.
        app.scan("6901230011375", Utc::now()).unwrap();
        let wire = expect_board(
            &board,
            &[(1, false), (2, false), (3, true), (4, true)],
            "stop",
        );
        assert_eq!(
            wire,
            modbus_write_coils(1, 0, &[false, false, true, true]).unwrap()
        );
        let light = |app: &mut App| {
            app.devices(Utc::now())
                .unwrap()
                .into_iter()
                .find(|d| d.id == "tower-light")
                .unwrap()
        };
        let d = light(&mut app);
        assert_eq!(d.status, "ok", "{d:?}");
        assert!(d.detail.contains("answers"), "{d:?}");

        // The board stops answering: reported, and the request is retried.
        board.set_silent(true);
        app.acknowledge(Utc::now()).unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let d = light(&mut app);
            if d.status == "error" {
                assert!(d.detail.contains("no answer"), "{d:?}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{d:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        board.set_silent(false);
        let deadline = std::time::Instant::now() + WAIT;
        while light(&mut app).status != "ok" {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                light(&mut app)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        app.shutdown();
    }
}
