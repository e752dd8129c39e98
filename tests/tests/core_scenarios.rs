//! Whole packs replayed through the real engine and store: the demo script, persistence across
//! a restart, interception while packing, the hooks, and bad input that must lose nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use domain::{Grams, Order, OrderStatus};
use packbench_tests::app_support::demo0001_scans;
use serde_json::Value;
use station::cli::replay;
use station::config::StationConfig;
use station::station::{Intent, LabelService, Quoter, Station, StationEvent};
use station::store::results::PackRecord;
use station::store::{audit, orders, results};
use std::sync::{Arc, Mutex};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T09:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc)
}

fn replay_lines(station: &Station, script: &str) -> Vec<Value> {
    let mut out = Vec::new();
    replay::replay(station, script.as_bytes(), &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn demo_script_replays_every_step_and_records_four_packs() {
    let station = Station::open_demo(t0()).unwrap();
    let lines = replay_lines(&station, replay::DEMO_SCRIPT);
    let got: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["outcome"].as_str().unwrap(), l["alarm"].as_str().unwrap()))
        .collect();
    let expected = [
        ("signed_in", "ok"),
        ("unknown_order", "warn"),
        ("order_opened", "ok"),
        ("packaging_set", "notice"),
        ("item_accepted", "ok"),
        ("duplicate_scan_ignored", "notice"),
        ("item_accepted", "ok"),
        ("over_scan", "stop"),
        ("wrong_item", "stop"),
        ("other_order_scanned", "stop"),
        ("acknowledged", "ok"),
        ("order_complete", "ok"),
        ("weight_unstable", "notice"),
        ("weight_out_of_tolerance", "stop"),
        ("override_rejected", "warn"),
        ("pack_recorded", "ok"),
        ("order_opened", "ok"),
        ("item_accepted", "ok"),
        ("serial_missing", "warn"),
        ("serial_captured", "ok"),
        ("item_accepted", "ok"),
        ("serial_duplicate", "warn"),
        ("order_complete", "ok"),
        ("packaging_set", "notice"),
        ("pack_recorded", "ok"),
        ("order_opened", "ok"),
        ("order_complete", "ok"),
        ("undone", "notice"),
        ("order_complete", "ok"),
        ("packaging_set", "notice"),
        ("pack_recorded", "ok"),
        ("order_cancelled", "stop"),
        ("order_intercepted", "stop"),
        ("order_on_hold", "warn"),
        ("order_closed", "notice"),
        ("already_packed", "stop"),
        ("already_packed", "stop"),
        ("invalid_input", "warn"),
        ("order_opened", "ok"),
        ("permission_denied", "warn"),
        ("signed_in", "ok"),
        ("quantity_set", "notice"),
        ("item_accepted", "ok"),
        ("item_accepted", "ok"),
        ("order_complete", "notice"),
        ("pack_recorded", "ok"),
    ];
    assert_eq!(got, expected);
    // Line numbers are the script's (comments skipped); the broken line says where it is.
    let broken = lines
        .iter()
        .find(|l| l["outcome"] == "invalid_input")
        .unwrap();
    let n = broken["line"].as_u64().unwrap();
    assert!(broken["message"]
        .as_str()
        .unwrap()
        .starts_with(&format!("line {n}:")));
    // Order numbers travel with the outcomes.
    assert_eq!(lines[2]["order_no"], "DEMO0001");
    assert_eq!(lines[9]["order_no"], "DEMO0001");
    assert_eq!(lines[9]["outcomes"][0]["other_order_no"], "DEMO0002");
    let packed_by = &lines[36]["outcomes"][0];
    assert_eq!(packed_by["packed_by"], "p1");

    station
        .with_db(|c| {
            assert_eq!(results::count(c).unwrap(), 4);
            let pending: i64 = c
                .query_row(
                    "SELECT count(*) FROM outbox WHERE state = 'pending'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(pending, 4);
            for no in ["DEMO0001", "DEMO0002", "DEMO0003", "DEMO0008"] {
                let o = orders::get(c, no).unwrap().unwrap();
                assert_eq!(o.order.status, OrderStatus::Packed, "{no}");
                assert!(o.packed.is_some(), "{no}");
            }
            // The short pack is partial, with the supervisor's override and reason.
            let id: String = c
                .query_row(
                    "SELECT result_id FROM pack_results WHERE order_no = 'DEMO0008'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            let r = results::get(c, &id).unwrap().unwrap();
            assert!(r.partial);
            assert_eq!(r.operator.as_deref(), Some("sup1"));
            assert_eq!(r.overrides[0].reason, "stock_short");
            assert_eq!(r.expected_g, Grams(330));
            assert_eq!(r.lines[2].scanned, 0);
            // Serials are in the DEMO0003 result and indexed against reuse.
            assert_eq!(
                results::serial_used(c, "EAR-BT-X1", "SN-EAR-000002")
                    .unwrap()
                    .as_deref(),
                Some("DEMO0003")
            );
            // One pack session per order opened: recorded, put aside, or replaced by the next.
            let sessions: Vec<(String, i64)> = c
                .prepare(
                    "SELECT outcome, count(*) FROM pack_sessions GROUP BY outcome ORDER BY outcome",
                )
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let expected_sessions =
                [("closed", 1), ("recorded", 4), ("replaced", 2)].map(|(k, n)| (k.to_string(), n));
            assert_eq!(sessions, expected_sessions);
            let report = audit::verify(c).unwrap();
            assert!(report.ok(), "{:?}", report.problems);
            // Every input left at least one audit entry (plus the import and pack records).
            assert!(report.entries >= i64::try_from(lines.len()).unwrap() + 4);
        })
        .unwrap();
}

#[test]
fn a_recorded_pack_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let cfg = Station::demo_config(db.to_str().unwrap()).unwrap();
    let station = Station::open(cfg.clone()).unwrap();
    station
        .with_db(|c| station::station::seed_demo(c, t0()))
        .unwrap()
        .unwrap();
    let script = r#"{"at":"2026-11-25T09:00:10+08:00","scan":"SF1000000007907"}
{"at":"2026-11-25T09:00:12+08:00","scan":"6901230010002"}
{"at":"2026-11-25T09:00:14+08:00","scan":"6901230010002"}
{"at":"2026-11-25T09:00:16+08:00","scan":"6901230011375"}
{"at":"2026-11-25T09:00:20+08:00","weight_g":915,"stable":true}
"#;
    let lines = replay_lines(&station, script);
    assert_eq!(lines.last().unwrap()["outcome"], "pack_recorded");
    let result_id = lines.last().unwrap()["outcomes"][1]["result_id"]
        .as_str()
        .unwrap()
        .to_string();
    drop(station);

    let station = Station::open(cfg).unwrap();
    let out = station
        .handle(
            Intent::Scan {
                code: "SF1000000007907".into(),
            },
            t0() + Duration::minutes(5),
        )
        .unwrap();
    assert_eq!(out[0].name(), "already_packed");
    station
        .with_db(|c| {
            let r = results::get(c, &result_id).unwrap().unwrap();
            assert_eq!(r.weight_g, Grams(915));
            assert_eq!(r.waybill_no.as_deref(), Some("SF1000000007907"));
            assert_eq!(r.station_id, "demo-bench-01");
            let payload: String = c
                .query_row(
                    "SELECT payload FROM outbox WHERE result_id = ?1",
                    [&result_id],
                    |r| r.get(0),
                )
                .unwrap();
            let p: Value = serde_json::from_str(&payload).unwrap();
            assert_eq!(p["order_no"], "DEMO0001");
            assert_eq!(p["weight_g"], 915);
            assert_eq!(p["expected_g"], 910);
            assert!(audit::verify(c).unwrap().ok());
            // Pack results cannot be changed.
            assert!(c
                .execute("UPDATE pack_results SET weight_g = 1", [])
                .is_err());
            assert!(c.execute("DELETE FROM pack_results", []).is_err());
        })
        .unwrap();
}

#[test]
fn interception_while_packing_blocks_the_record() {
    let station = Station::open_demo(t0()).unwrap();
    let mut now = t0();
    let mut go = |i: Intent| {
        now += Duration::seconds(1);
        station.handle(i, now).unwrap()
    };
    let scan = |c: &str| Intent::Scan { code: c.into() };
    go(scan("SF1000000007907"));
    go(scan("6901230010002"));
    go(scan("6901230010002"));
    go(scan("6901230011375"));
    // The order center intercepts the order (sync writes the store).
    station
        .with_db(|c| orders::set_status(c, "DEMO0001", OrderStatus::Intercepted).unwrap())
        .unwrap();
    let out = go(Intent::Weight {
        grams: 910,
        stable: true,
        raw: None,
    });
    let names: Vec<&str> = out.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["weight_ok", "order_intercepted"]);
    assert!(station
        .view()
        .blockers
        .contains(&domain::verify::Blocker::Intercepted));
    station
        .with_db(|c| assert_eq!(results::count(c).unwrap(), 0))
        .unwrap();
    // refresh_order sees the same status without a weight.
    assert!(station
        .refresh_order(t0() + Duration::minutes(1))
        .unwrap()
        .is_empty());
    // A supervisor who confirmed with the order center may still ship it.
    let out = go(Intent::Override {
        pin: "1234".into(),
        reason: "order_center_confirmed".into(),
        scope: Default::default(),
    });
    let names: Vec<&str> = out.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["override_accepted", "pack_recorded"]);
}

struct FixedQuote;
impl Quoter for FixedQuote {
    fn quote(&self, order: &Order, weight: Grams, _at: DateTime<Utc>) -> Option<Value> {
        Some(serde_json::json!({"carrier": order.carrier, "weight_g": weight, "total_fen": 1200}))
    }
}

#[derive(Default)]
struct Labels(Mutex<Vec<String>>);
impl LabelService for Labels {
    fn on_pack_recorded(&self, record: &PackRecord) -> Result<Value, String> {
        self.0.lock().unwrap().push(record.result.result_id.clone());
        if record.order.order_no == "DEMO0011" {
            return Err("printer offline".into());
        }
        Ok(serde_json::json!({"printed": true, "waybill": record.result.waybill_no}))
    }
}

#[test]
fn hooks_and_events() {
    let station = Station::open_demo(t0()).unwrap();
    let labels = Arc::new(Labels::default());
    station.set_quoter(Arc::new(FixedQuote));
    station.set_label_service(labels.clone());
    let events = station.subscribe();
    let mut now = t0();
    let weigh = Intent::Weight {
        grams: 905,
        stable: true,
        raw: Some("ST,GS,+0000.905kg".into()),
    };
    for i in demo0001_scans().into_iter().chain([weigh]) {
        now += Duration::seconds(1);
        station.handle(i, now).unwrap();
    }
    let view = station.view();
    assert_eq!(view.quote.as_ref().unwrap()["total_fen"], 1200);
    assert_eq!(view.label.as_ref().unwrap()["printed"], true);
    let rec = view.last_recorded.clone().unwrap();
    assert_eq!(rec.order_no, "DEMO0001");
    assert_eq!(
        labels.0.lock().unwrap().as_slice(),
        std::slice::from_ref(&rec.result_id)
    );
    assert!(view.order.is_none());
    station
        .with_db(|c| {
            let r = results::get(c, &rec.result_id).unwrap().unwrap();
            assert_eq!(r.quote.unwrap()["carrier"], "SF");
            // The scale's raw frame is kept with the weight verdict (carrier disputes).
            let raw: String = c
                .query_row("SELECT data FROM audit WHERE kind = 'weight_ok'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert!(raw.contains("ST,GS,+0000.905kg"), "{raw}");
        })
        .unwrap();
    let all: Vec<StationEvent> = events.try_iter().collect();
    let recorded = all
        .iter()
        .position(|e| matches!(e, StationEvent::PackRecorded { result_id, .. } if *result_id == rec.result_id))
        .unwrap();
    let label = all
        .iter()
        .position(|e| matches!(e, StationEvent::LabelStatus { .. }))
        .unwrap();
    assert!(label > recorded, "the label is printed after the commit");
    assert!(all
        .iter()
        .any(|e| matches!(e, StationEvent::ViewChanged { .. })));
    assert_eq!(
        all.iter()
            .filter(|e| matches!(e, StationEvent::Outcome { .. }))
            .count(),
        7
    );
    // A failing label service does not undo the record: the error becomes the label status.
    for i in [
        Intent::Scan {
            code: "4312000006127".into(),
        },
        Intent::Scan {
            code: "6901230029189".into(),
        },
        Intent::Weight {
            grams: 5080,
            stable: true,
            raw: None,
        },
    ] {
        now += Duration::seconds(1);
        station.handle(i, now).unwrap();
    }
    let v = station.view();
    let rec = v.last_recorded.unwrap();
    assert_eq!(rec.order_no, "DEMO0011");
    assert_eq!(v.label.unwrap()["error"], "printer offline");
    assert_eq!(labels.0.lock().unwrap().len(), 2);
    station
        .with_db(|c| assert!(results::get(c, &rec.result_id).unwrap().is_some()))
        .unwrap();
}

#[test]
fn view_model_shows_progress_band_and_blockers() {
    let station = Station::open_demo(t0()).unwrap();
    let mut now = t0();
    let mut go = |i: Intent| {
        now += Duration::seconds(1);
        station.handle(i, now).unwrap()
    };
    go(Intent::SetPackaging { id: "box-s".into() });
    go(Intent::Scan {
        code: "SF1000000007907".into(),
    });
    go(Intent::Scan {
        code: "6901230010002".into(),
    });
    let v = station.view();
    let o = v.order.as_ref().unwrap();
    assert_eq!(o.order_no, "DEMO0001");
    assert_eq!(o.carrier, "SF");
    assert_eq!(o.destination.city, "深圳市");
    assert_eq!((v.lines[0].scanned, v.lines[0].ordered), (1, 2));
    // 280 g counted + 120 g box; tolerance 20 g.
    assert_eq!(v.expected_g, Some(Grams(400)));
    assert_eq!(v.band_low_g, Some(Grams(380)));
    assert_eq!(v.band_high_g, Some(Grams(420)));
    assert_eq!(v.packaging.as_ref().unwrap().id, "box-s");
    assert_eq!(v.packaging_options.len(), 4);
    use domain::verify::Blocker;
    assert_eq!(v.blockers, vec![Blocker::Incomplete, Blocker::NoWeight]);
    go(Intent::Scan { code: "XYZ".into() });
    let v = station.view();
    assert_eq!(v.alarm.as_ref().unwrap().name(), "unknown_barcode");
    assert_eq!(v.alarm_class, domain::verify::AlarmClass::Stop);
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["alarm"]["outcome"], "unknown_barcode");
    assert_eq!(j["order"]["status"], "open");
}

#[test]
fn bad_scans_count_nothing_and_are_audited() {
    let station = Station::open_demo(t0()).unwrap();
    let mut now = t0();
    now += Duration::seconds(1);
    station
        .handle(
            Intent::Scan {
                code: "SF1000000007907".into(),
            },
            now,
        )
        .unwrap();
    let binary =
        String::from_utf8_lossy(&[0x50, 0x4b, 0x03, 0x04, 0xff, 0xfe, 0x00, 0x01]).into_owned();
    for (code, why) in [
        (String::new(), "empty"),
        ("8".repeat(10_000), "10000 characters"),
        (binary, "not text"),
        ("6901230010002\r".to_string(), "control character"),
        ("6901230010002\u{1b}[A".to_string(), "control character"),
        ("69012 30010002".to_string(), "whitespace"),
    ] {
        now += Duration::seconds(1);
        let out = station
            .handle(Intent::Scan { code: code.clone() }, now)
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name(), "invalid_input", "{code:?}");
        let msg = serde_json::to_value(&out[0]).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(msg.contains(why), "{code:?}: {msg}");
    }
    assert!(station.view().lines.iter().all(|l| l.scanned == 0));
    now += Duration::seconds(1);
    let out = station
        .handle(
            Intent::Scan {
                code: "6901230010002".into(),
            },
            now,
        )
        .unwrap();
    assert_eq!(out[0].name(), "item_accepted");
    station
        .with_db(|c| {
            let n: i64 = c
                .query_row(
                    "SELECT count(*) FROM audit WHERE kind = 'invalid_input'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 6);
            assert!(audit::verify(c).unwrap().ok());
        })
        .unwrap();
}

#[test]
fn a_database_that_is_not_sqlite_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("orders.xlsx");
    std::fs::write(&p, b"PK\x03\x04 this is a zip file, not a database, padded to be long enough for a header ..............................").unwrap();
    let before = std::fs::read(&p).unwrap();
    let cfg = StationConfig {
        db_path: p.to_str().unwrap().to_string(),
        ..StationConfig::default()
    };
    let err = Station::open(cfg).unwrap_err();
    assert_eq!(err.code(), "db_open");
    assert!(err.to_string().contains("orders.xlsx"), "{err}");
    // The file is untouched.
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[test]
fn sign_in_is_checked_against_the_configuration() {
    let station = Station::open_demo(t0()).unwrap();
    let now = t0();
    let check = |i: Intent, expected: &str| {
        let out = station.handle(i.clone(), now).unwrap();
        assert_eq!(out[0].name(), expected, "{i:?}");
    };
    check(
        Intent::SignIn {
            operator: "nobody".into(),
            role: None,
            pin: None,
        },
        "invalid_input",
    );
    check(
        Intent::SignIn {
            operator: "p1".into(),
            role: Some(domain::verify::Role::Supervisor),
            pin: None,
        },
        "invalid_input",
    );
    check(
        Intent::SignIn {
            operator: "sup1".into(),
            role: None,
            pin: Some("1111".into()),
        },
        "invalid_input",
    );
    check(
        Intent::SignIn {
            operator: "sup1".into(),
            role: None,
            pin: None,
        },
        "invalid_input",
    );
    check(
        Intent::SignIn {
            operator: "sup1".into(),
            role: None,
            pin: Some("1234".into()),
        },
        "signed_in",
    );
    assert_eq!(station.view().operator.unwrap().0, "sup1");
    check(Intent::SetPackaging { id: "crate".into() }, "invalid_input");
}

#[test]
fn a_failed_commit_loses_nothing_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let station = Station::open(Station::demo_config(db.to_str().unwrap()).unwrap()).unwrap();
    station
        .with_db(|c| station::station::seed_demo(c, t0()))
        .unwrap()
        .unwrap();
    // Simulate a failing disk at the outbox write (last step of the recording transaction).
    station
        .with_db(|c| {
            c.execute_batch(
                "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END;",
            )
            .unwrap()
        })
        .unwrap();
    let mut now = t0();
    let mut go = |i: Intent| {
        now += Duration::seconds(1);
        station.handle(i, now).unwrap()
    };
    for i in demo0001_scans() {
        go(i);
    }
    let out = go(Intent::Weight {
        grams: 910,
        stable: true,
        raw: None,
    });
    let names: Vec<&str> = out.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["weight_ok", "record_failed"]);
    assert_eq!(out[1].alarm, domain::verify::AlarmClass::Stop);
    // Nothing half-written: no result, order still open, still on screen.
    station
        .with_db(|c| {
            assert_eq!(results::count(c).unwrap(), 0);
            assert_eq!(
                orders::get(c, "DEMO0001").unwrap().unwrap().order.status,
                OrderStatus::Open
            );
        })
        .unwrap();
    assert_eq!(station.view().order.unwrap().order_no, "DEMO0001");
    // The disk recovers; the next intent records the pack.
    station
        .with_db(|c| c.execute_batch("DROP TRIGGER fail_outbox;").unwrap())
        .unwrap();
    let out = go(Intent::Acknowledge);
    let names: Vec<&str> = out.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["acknowledged", "pack_recorded"]);
    station
        .with_db(|c| {
            assert_eq!(results::count(c).unwrap(), 1);
            assert!(audit::verify(c).unwrap().ok());
        })
        .unwrap();
}

#[test]
fn a_hold_lifted_by_the_order_center_lets_the_pack_through() {
    let station = Station::open_demo(t0()).unwrap();
    let mut now = t0();
    let mut go = |i: Intent| {
        now += Duration::seconds(1);
        let out = station.handle(i, now).unwrap();
        out.iter().map(|o| o.name()).collect::<Vec<_>>()
    };
    assert_eq!(
        go(Intent::Scan {
            code: "1180000000582".into()
        }),
        ["order_on_hold"]
    );
    assert_eq!(
        go(Intent::Scan {
            code: "6901230023705".into()
        }),
        ["item_accepted", "order_complete"]
    );
    assert_eq!(
        go(Intent::Weight {
            grams: 612,
            stable: true,
            raw: None
        }),
        ["weight_ok"]
    );
    assert!(station
        .view()
        .blockers
        .contains(&domain::verify::Blocker::OnHold));
    // Sync writes the new status; the station is told and records the waiting pack.
    station
        .with_db(|c| orders::set_status(c, "DEMO0006", OrderStatus::Open).unwrap())
        .unwrap();
    let out = station.refresh_order(t0() + Duration::minutes(1)).unwrap();
    let names: Vec<&str> = out.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["pack_recorded"]);
    station
        .with_db(|c| {
            let o = orders::get(c, "DEMO0006").unwrap().unwrap();
            assert_eq!(o.order.status, OrderStatus::Packed);
        })
        .unwrap();
}
