//! The shift report of the bench app, driven headless: packs of two packers at hour and day
//! boundaries (station time +08:00), alarms, a short pack under a supervisor override, and the
//! same report after the app is closed and opened again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use domain::verify::Role;
use domain::Order;
use station::app::{App, AppConfig, OverrideRequest, ReportRequest, ShiftReport, SignInRequest};
use station::station::{Intent, DEMO_CONFIG};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A configured station (the demo operators: packers p1 and p2, supervisor sup1 with PIN 1234)
/// with its database in `dir`, no printer.
fn station_toml(dir: &Path) -> PathBuf {
    let db = dir.join("bench.db");
    let text = DEMO_CONFIG.replace(
        "db_path = \":memory:\"",
        &format!("db_path = {:?}", db.display().to_string()),
    ) + "\n[labels]\nenabled = false\n";
    assert!(
        text.contains("bench.db"),
        "the demo configuration names its database"
    );
    let path = dir.join("station.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn open(dir: &Path, cfg: &Path, now: DateTime<Utc>) -> App {
    let (tx, _rx) = mpsc::channel();
    App::open(
        &AppConfig {
            data_dir: dir.to_path_buf(),
            config_file: Some(cfg.to_path_buf()),
        },
        tx,
        now,
    )
    .unwrap()
}

fn sign_in(app: &mut App, operator: &str, now: DateTime<Utc>) {
    app.sign_in(
        SignInRequest {
            operator: operator.into(),
            role: Role::Packer,
            station: String::new(),
            pin: String::new(),
        },
        now,
    )
    .unwrap();
}

/// A short pack: one of two items, an unknown code scanned on the way (a warning), the
/// supervisor's override for the missing item, then the weight.
fn short_pack(app: &mut App, now: DateTime<Utc>) {
    let order: Order = serde_json::from_value(serde_json::json!({
        "order_no": "SHORT-1",
        "waybill_nos": ["SFSHORT0001"],
        "carrier": "SF",
        "destination": {"province": "广东省", "city": "深圳市", "district": "南山区", "address": "科技园"},
        "lines": [
            {"sku": "A", "name": "A", "qty": 1, "unit_weight_g": 300, "barcodes": [{"code": "CODE-A"}]},
            {"sku": "B", "name": "B", "qty": 1, "unit_weight_g": 200, "barcodes": [{"code": "CODE-B"}]}
        ]
    }))
    .unwrap();
    app.station()
        .with_db(|c| station::store::orders::upsert(c, &order, now))
        .unwrap()
        .unwrap();
    app.scan("SFSHORT0001", now).unwrap();
    let v = app.scan("NOT-A-CODE-999", now).unwrap();
    assert!(v.alarm.is_some(), "an unknown code raises an alarm");
    app.acknowledge(now).unwrap();
    app.scan("CODE-A", now).unwrap();
    let v = app
        .short_pack(
            OverrideRequest {
                pin: station::station::DEMO_SUPERVISOR_PIN.into(),
                reason: "stock_short".into(),
            },
            now,
        )
        .unwrap();
    let expected = v
        .pack
        .expected_g
        .expect("expected weight after the short pack");
    let out = app
        .station()
        .handle(
            Intent::Weight {
                grams: expected + 5,
                stable: true,
                raw: None,
            },
            now,
        )
        .unwrap();
    assert!(
        out.iter().any(|o| o.name() == "pack_recorded"),
        "{:?}",
        out.iter().map(|o| o.name()).collect::<Vec<_>>()
    );
}

fn busy_hours(r: &ShiftReport) -> Vec<(String, u64)> {
    r.per_hour
        .iter()
        .filter(|h| h.parcels > 0)
        .map(|h| (h.hour.clone(), h.parcels))
        .collect()
}

fn check_today(r: &ShiftReport) {
    assert_eq!(r.utc_offset, "+08:00");
    assert_eq!(r.from, "2026-11-25T00:00:00+08:00");
    // 08:59:59.999 and 09:00:00 local fall in two hours; the short pack at 09:30.
    assert_eq!(
        busy_hours(r),
        [("08".to_string(), 1), ("09".to_string(), 2)]
    );
    // Every hour of the day so far, 00 to 10.
    assert_eq!(r.per_hour.len(), 11);
    assert_eq!((r.parcels, r.items, r.short_packs), (3, 5, 1));
    assert_eq!(r.overrides, 1);
    let p1 = r.per_packer.iter().find(|p| p.operator == "p1").unwrap();
    let p2 = r.per_packer.iter().find(|p| p.operator == "p2").unwrap();
    assert_eq!(
        (p1.parcels, p1.items, p1.alarms, p1.overrides),
        (2, 4, 0, 0)
    );
    assert_eq!((p2.parcels, p2.items, p2.short_packs), (1, 1, 1));
    assert!(p2.alarms >= 1, "{p2:?}");
    assert_eq!(p2.overrides, 1);
    // The simulated packs weigh exactly what they should, the short pack 5 g more.
    assert_eq!(r.variance.max_abs_g, Some(5));
    assert_eq!(r.variance.outside_tolerance, 0);
}

#[test]
fn report_from_the_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = station_toml(dir.path());
    let mut app = open(dir.path(), &cfg, utc("2026-11-24T15:00:00Z"));

    // 23:59:59 local on the 24th: yesterday's shift.
    sign_in(&mut app, "p2", utc("2026-11-24T15:59:00Z"));
    app.simulate_pack(1, utc("2026-11-24T15:59:59Z")).unwrap();
    app.sign_out(utc("2026-11-24T16:00:00Z")).unwrap();
    // 08:59:59.999 and 09:00:00 local on the 25th, packer p1.
    sign_in(&mut app, "p1", utc("2026-11-25T00:50:00Z"));
    app.simulate_pack(2, utc("2026-11-25T00:59:59.999Z"))
        .unwrap();
    app.simulate_pack(3, utc("2026-11-25T01:00:00Z")).unwrap();
    app.sign_out(utc("2026-11-25T01:10:00Z")).unwrap();
    // 09:30 local, packer p2: a short pack with an alarm and an override.
    sign_in(&mut app, "p2", utc("2026-11-25T01:20:00Z"));
    short_pack(&mut app, utc("2026-11-25T01:30:00Z"));

    let now = utc("2026-11-25T02:15:00Z");
    let r = app.shift_report(now).unwrap();
    check_today(&r);
    let y = app
        .shift_report_for(
            ReportRequest {
                preset: Some("yesterday".into()),
                ..ReportRequest::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(
        (y.parcels, busy_hours(&y)),
        (1, vec![("23".to_string(), 1)])
    );
    assert_eq!(y.per_packer[0].operator, "p2");

    // Close the app and open it again: the report is read from the database.
    drop(app);
    let mut app = open(dir.path(), &cfg, now);
    check_today(&app.shift_report(now).unwrap());

    // Explicit bounds: only the 09:00 hour (local), given with the station's offset.
    let w = app
        .shift_report_for(
            serde_json::from_value(serde_json::json!({
                "from": "2026-11-25T09:00:00+08:00",
                "to": "2026-11-25T10:00:00+08:00"
            }))
            .unwrap(),
            now,
        )
        .unwrap();
    assert_eq!(w.parcels, 2);
    assert_eq!(w.per_hour.len(), 1);
    // A window that ends before it starts is refused with its place.
    let e = app
        .shift_report_for(
            ReportRequest {
                from: Some(now),
                to: Some(utc("2026-11-25T00:00:00Z")),
                preset: None,
            },
            now,
        )
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.to_string().contains("shift report window"), "{e}");
}

#[test]
fn two_shifts_a_day_and_a_custom_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = station_toml(dir.path());
    // Day shift 08:00, night shift 20:00, station at +07:00.
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\n[shift]\nutc_offset = \"Asia/Bangkok\"\nstarts = [\"08:00\", \"20:00\"]\n");
    std::fs::write(&cfg, text).unwrap();
    let mut app = open(dir.path(), &cfg, utc("2026-11-25T00:00:00Z"));
    sign_in(&mut app, "p1", utc("2026-11-25T00:00:00Z"));
    // 07:59 local (night shift) and 08:00 local (day shift).
    app.simulate_pack(10, utc("2026-11-25T00:59:00Z")).unwrap();
    app.simulate_pack(11, utc("2026-11-25T01:00:00Z")).unwrap();
    let now = utc("2026-11-25T03:00:00Z");
    let day = app.shift_report(now).unwrap();
    assert_eq!(day.from, "2026-11-25T08:00:00+07:00");
    assert_eq!(day.parcels, 1);
    assert_eq!(busy_hours(&day), [("08".to_string(), 1)]);
    let night = app
        .shift_report_for(
            ReportRequest {
                preset: Some("previous_shift".into()),
                ..ReportRequest::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(night.from, "2026-11-24T20:00:00+07:00");
    assert_eq!(night.to, "2026-11-25T08:00:00+07:00");
    assert_eq!(night.parcels, 1);
}
