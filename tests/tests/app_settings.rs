//! The settings page of the bench app, driven headless: who may read and change settings,
//! saving to the configuration file (validated, atomic, audited, applied at the next start),
//! and rate-card imports with progress and every row problem, all or nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use domain::verify::Role;
use station::app::{App, AppConfig, AppEvent, SaveRequest, SignInRequest};
use station::config_edit::Change;
use station::station::DEMO_CONFIG;
use std::path::Path;
use std::sync::mpsc::{self, Receiver};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
}

fn demo(dir: &Path) -> (App, Receiver<AppEvent>) {
    let (tx, rx) = mpsc::channel();
    (App::open(&AppConfig::demo(dir), tx, t0()).unwrap(), rx)
}

fn sign_in(app: &mut App, operator: &str, role: Role, pin: &str) {
    app.sign_in(
        SignInRequest {
            operator: operator.into(),
            role,
            station: String::new(),
            pin: pin.into(),
        },
        t0(),
    )
    .unwrap();
}

fn admin(app: &mut App) {
    sign_in(app, "adm1", Role::Admin, "9999");
}

fn change(field: &str, value: serde_json::Value) -> SaveRequest {
    SaveRequest {
        changes: vec![Change {
            field: field.into(),
            value,
        }],
    }
}

fn audit_kinds(app: &App) -> Vec<(String, Option<String>, String)> {
    app.station()
        .with_db(|c| {
            let mut st = c
                .prepare("SELECT kind, operator, data FROM audit WHERE kind IN ('settings_changed', 'rates_imported', 'app_restart') ORDER BY seq")
                .unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        })
        .unwrap()
}

#[test]
fn roles_decide_who_reads_and_who_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, _rx) = demo(dir.path());
    // Nobody signed in, then a packer: no access.
    assert!(app.settings().is_err());
    sign_in(&mut app, "p1", Role::Packer, "");
    let e = app.settings().unwrap_err();
    assert!(e.to_string().contains("packer"), "{e}");
    assert!(app
        .save_settings(change("tolerance.abs_g", serde_json::json!(30)), t0())
        .is_err());
    app.sign_out(t0()).unwrap();
    // A supervisor reads, cannot change.
    sign_in(&mut app, "sup1", Role::Supervisor, "1234");
    let v = app.settings().unwrap();
    assert!(!v.editable);
    assert_eq!(v.station.station_id, "demo-bench-01");
    assert_eq!(v.station.tolerance_abs_g, 20);
    assert_eq!(v.order_center.credentials, "not_needed");
    assert!(!v.rate_cards.is_empty());
    let e = app
        .save_settings(change("tolerance.abs_g", serde_json::json!(30)), t0())
        .unwrap_err();
    assert!(e.to_string().contains("supervisor"), "{e}");
    assert!(app.import_rates("x.csv", t0()).is_err());
    assert!(app.authorize_restart(t0()).is_err());
    app.sign_out(t0()).unwrap();
    admin(&mut app);
    assert!(app.settings().unwrap().editable);
}

#[test]
fn an_admin_saves_settings_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, _rx) = demo(dir.path());
    admin(&mut app);
    let saved = app
        .save_settings(
            SaveRequest {
                changes: vec![
                    Change {
                        field: "tolerance.abs_g".into(),
                        value: serde_json::json!(35),
                    },
                    Change {
                        field: "tolerance.percent".into(),
                        value: serde_json::json!("2.5"),
                    },
                    Change {
                        field: "shift.starts".into(),
                        value: serde_json::json!(["08:00", "20:00"]),
                    },
                ],
            },
            t0(),
        )
        .unwrap();
    assert!(saved.restart_needed);
    assert_eq!(saved.applied.len(), 3);
    assert!(saved.file.ends_with("demo-station.toml"), "{}", saved.file);
    assert_eq!(saved.view.pending.len(), 3);
    // The demo configuration's operators are kept in the file.
    let text = std::fs::read_to_string(&saved.file).unwrap();
    assert!(
        text.contains("adm1") && text.contains("abs_g = 35"),
        "{text}"
    );
    assert!(!Path::new(&saved.file).with_extension("toml.bak").exists());
    // Who changed what is in the audit log.
    let audit = audit_kinds(&app);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "settings_changed");
    assert_eq!(audit[0].1.as_deref(), Some("adm1"));
    assert!(audit[0].2.contains("tolerance.abs_g"), "{}", audit[0].2);

    // A refused value names the field and writes nothing.
    let e = app
        .save_settings(change("tolerance.abs_g", serde_json::json!(-1)), t0())
        .unwrap_err();
    assert!(e.to_string().contains("tolerance.abs_g"), "{e}");
    let e = app
        .save_settings(change("shift.utc_offset", serde_json::json!("CST")), t0())
        .unwrap_err();
    assert!(e.to_string().contains("shift.utc_offset"), "{e}");
    assert_eq!(std::fs::read_to_string(&saved.file).unwrap(), text);
    // A second save keeps a backup of the first.
    app.save_settings(change("station_id", serde_json::json!("bench-07")), t0())
        .unwrap();
    let bak = format!("{}.bak", saved.file);
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), text);
    app.authorize_restart(t0()).unwrap();
    assert_eq!(audit_kinds(&app).last().unwrap().0, "app_restart");

    // The next start of the demo uses the saved settings.
    drop(app);
    let (mut app, _rx) = demo(dir.path());
    let cfg = app.station().config().clone();
    assert_eq!(cfg.tolerance.abs_g, 35);
    assert_eq!(cfg.tolerance.percent.bp, 250);
    assert_eq!(cfg.station_id, "bench-07");
    admin(&mut app);
    assert!(app.settings().unwrap().pending.is_empty());
}

const GOOD: &str =
    "承运商,ZZ\n产品,标快\n生效日期,2025-01-01\n省份,首重价格,续重价格\n广东,5,2\n其他,8,4\n";

fn bad_rows(n: usize) -> String {
    let mut s = String::from("承运商,ZZ\n生效日期,2025-01-01\n省份,首重价格,续重价格\n");
    s.push_str("广东,5,2\n");
    for i in 0..n {
        // Every row has a bad first price; every third a bad province too.
        if i % 3 == 0 {
            s.push_str("火星,x,2\n");
        } else {
            s.push_str("浙江,x,2\n");
        }
    }
    s.push_str("其他,8,4\n");
    s
}

fn progress(rx: &Receiver<AppEvent>) -> Vec<(u64, u64)> {
    rx.try_iter()
        .filter_map(|e| match e {
            AppEvent::ImportProgress(p) => Some((p.rows_read, p.rows_total)),
            _ => None,
        })
        .collect()
}

#[test]
fn rate_import_reports_every_row_and_changes_nothing_when_bad() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, rx) = demo(dir.path());
    admin(&mut app);
    let import_dir = dir.path().join("rates/import");
    std::fs::create_dir_all(&import_dir).unwrap();
    std::fs::write(import_dir.join("bad.csv"), bad_rows(6)).unwrap();
    std::fs::write(import_dir.join("good.csv"), GOOD).unwrap();
    std::fs::write(import_dir.join("notes.txt"), "not a card").unwrap();
    let before = app.settings().unwrap();
    assert_eq!(before.import_files, ["bad.csv", "good.csv"]);
    let _ = progress(&rx);

    // A bad file: every bad cell of every row, with its place; the cards in use stay.
    let r = app.import_rates("bad.csv", t0()).unwrap();
    assert!(!r.ok);
    let places: Vec<(Option<u64>, Option<String>)> =
        r.issues.iter().map(|i| (i.row, i.column.clone())).collect();
    assert_eq!(places.len(), 8, "{:?}", r.issues);
    assert_eq!(places[0], (Some(5), Some("A".into())));
    assert_eq!(places[1], (Some(5), Some("B".into())));
    assert_eq!(places[2], (Some(6), Some("B".into())));
    assert!(r.issues.iter().all(|i| i.file.ends_with("bad.csv")));
    assert_eq!(r.issues[0].sheet.as_deref(), Some("csv"));
    assert!(
        r.issues[0].message.contains("火星"),
        "{}",
        r.issues[0].message
    );
    assert_eq!(r.more, 0);
    let after = app.settings().unwrap();
    assert_eq!(after.rate_cards, before.rate_cards);
    let p = progress(&rx);
    assert_eq!(p.last(), Some(&(r.rows, r.rows)), "{p:?}");

    // Hundreds of bad rows: the first 200 problems, the rest counted.
    std::fs::write(import_dir.join("many.csv"), bad_rows(300)).unwrap();
    let r = app.import_rates("many.csv", t0()).unwrap();
    assert_eq!((r.issues.len(), r.more), (200, 200));
    let p = progress(&rx);
    assert!(p.len() >= 2, "progress along the way: {p:?}");
    assert!(p.windows(2).all(|w| w[0].0 <= w[1].0), "{p:?}");

    // A good file joins the cards in use (demo: nothing kept on disk).
    let r = app.import_rates("good.csv", t0()).unwrap();
    assert!(r.ok, "{:?}", r.issues);
    assert_eq!((r.cards, r.replaced), (1, 0));
    assert_eq!(r.saved_to, None);
    let cards = app.settings().unwrap().rate_cards;
    assert_eq!(cards.len(), before.rate_cards.len() + 1);
    assert!(cards
        .iter()
        .any(|c| c.carrier == "ZZ" && c.service == "标快"));
    // Importing it again replaces it rather than conflicting with itself.
    let r = app.import_rates("good.csv", t0()).unwrap();
    assert!(r.ok, "{:?}", r.issues);
    assert_eq!(r.replaced, 1);
    assert_eq!(audit_kinds(&app).len(), 2);
    // A missing file is a problem with its place, not a crash.
    let r = app.import_rates("nowhere.csv", t0()).unwrap();
    assert!(!r.ok);
    assert!(r.issues[0].file.contains("nowhere.csv"));
}

#[test]
fn a_configured_station_keeps_imported_cards_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let cfg_path = dir.path().join("station.toml");
    let text = DEMO_CONFIG.replace(
        "db_path = \":memory:\"",
        &format!("db_path = {:?}", db.display().to_string()),
    ) + "\n[labels]\nenabled = false\n";
    std::fs::write(&cfg_path, text).unwrap();
    let config = AppConfig {
        data_dir: dir.path().to_path_buf(),
        config_file: Some(cfg_path.clone()),
    };
    let (tx, _rx) = mpsc::channel();
    let mut app = App::open(&config, tx, t0()).unwrap();
    admin(&mut app);
    assert!(app.settings().unwrap().rate_cards.is_empty());
    let src = dir.path().join("incoming.csv");
    std::fs::write(&src, GOOD).unwrap();
    let r = app.import_rates(src.to_str().unwrap(), t0()).unwrap();
    assert!(r.ok, "{:?}", r.issues);
    assert_eq!(r.saved_to.as_deref(), Some("rates/incoming.csv"));
    assert!(dir.path().join("rates/incoming.csv").is_file());
    let saved = std::fs::read_to_string(&cfg_path).unwrap();
    assert!(saved.contains("incoming.csv"), "{saved}");
    assert!(
        std::fs::read_to_string(format!("{}.bak", cfg_path.display()))
            .unwrap()
            .contains("demo-bench-01")
    );
    // A second import in the same run adds up; a corrected sheet under another name replaces
    // the first file's card, and that file is taken off the list so the next start loads one.
    let second = dir.path().join("second.csv");
    std::fs::write(&second, GOOD.replace("ZZ", "YY")).unwrap();
    assert!(app.import_rates(second.to_str().unwrap(), t0()).unwrap().ok);
    let v2 = dir.path().join("incoming-v2.csv");
    std::fs::write(&v2, GOOD.replace("广东,5,2", "广东,6,2")).unwrap();
    let r = app.import_rates(v2.to_str().unwrap(), t0()).unwrap();
    assert!(r.ok, "{:?}", r.issues);
    assert_eq!(r.replaced, 1);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("incoming.csv") && n.contains("taken off")),
        "{:?}",
        r.notes
    );
    let saved = std::fs::read_to_string(&cfg_path).unwrap();
    assert!(
        saved.contains("second.csv") && saved.contains("incoming-v2.csv"),
        "{saved}"
    );
    assert!(!saved.contains("rates/incoming.csv\""), "{saved}");
    // Settings edits go to the configured file.
    let s = app
        .save_settings(
            change("scale.port", serde_json::json!("/dev/ttyUSB7")),
            t0(),
        )
        .unwrap();
    assert_eq!(Path::new(&s.file), cfg_path.as_path());
    assert_eq!(
        s.applied[0].apply,
        station::config_edit::Apply::RestartDevices
    );

    drop(app);
    let (tx, _rx) = mpsc::channel();
    let mut app = App::open(&config, tx, t0()).unwrap();
    admin(&mut app);
    let v = app.settings().unwrap();
    let carriers: Vec<&str> = v.rate_cards.iter().map(|c| c.carrier.as_str()).collect();
    assert_eq!(carriers.len(), 2, "{carriers:?}");
    assert!(
        carriers.contains(&"ZZ") && carriers.contains(&"YY"),
        "{carriers:?}"
    );
    assert_eq!(v.devices.scale_port.as_deref(), Some("/dev/ttyUSB7"));
}
