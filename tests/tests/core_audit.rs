//! The audit log of a real bench database: every outcome is chained, and an edited, deleted or
//! truncated entry is found by `audit::verify` (what `packbench audit verify` runs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use station::cli::replay;
use station::station::Station;
use station::store::audit;

fn packed_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db").to_str().unwrap().to_string();
    let station = Station::open(Station::demo_config(&db).unwrap()).unwrap();
    let t0 = DateTime::parse_from_rfc3339("2026-11-25T09:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc);
    station
        .with_db(|c| station::station::seed_demo(c, t0))
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    replay::replay(&station, replay::DEMO_SCRIPT.as_bytes(), &mut out).unwrap();
    drop(station);
    (dir, db)
}

/// Tampers with a copy of the database the way someone with the sqlite3 shell would
/// (triggers dropped first) and returns the first problem reported.
fn check(tamper: &str, expect_seq: Option<i64>, words: &str) {
    let (_dir, db) = packed_db();
    let c = station::db::open(&db).unwrap();
    assert!(audit::verify(&c).unwrap().ok());
    c.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
    c.execute_batch(tamper).unwrap();
    let r = audit::verify(&c).unwrap();
    assert!(!r.ok(), "{tamper}: not detected");
    let p = &r.problems[0];
    if let Some(seq) = expect_seq {
        assert_eq!(p.seq, seq, "{tamper}: {:?}", r.problems);
    }
    assert!(p.what.contains(words), "{tamper}: {:?}", r.problems);
}

#[test]
fn a_real_log_is_intact_and_covers_every_outcome() {
    let (_dir, db) = packed_db();
    let c = station::db::open(&db).unwrap();
    let r = audit::verify(&c).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    let kinds: Vec<String> = c
        .prepare("SELECT DISTINCT kind FROM audit ORDER BY kind")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for k in [
        "orders_imported",
        "order_opened",
        "over_scan",
        "override_rejected",
        "override_accepted",
        "weight_out_of_tolerance",
        "pack_recorded",
        "serial_duplicate",
        "invalid_input",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    // The PIN never reaches the log.
    let leaked: i64 = c
        .query_row(
            "SELECT count(*) FROM audit WHERE data LIKE '%1234%' AND kind LIKE 'override%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaked, 0);
}

#[test]
fn tampering_is_detected() {
    check(
        r#"UPDATE audit SET data = replace(data, '"weight_g":1041', '"weight_g":1200') WHERE kind = 'pack_recorded'"#,
        None,
        "edited",
    );
    check(
        "UPDATE audit SET operator = 'p2' WHERE seq = 10",
        Some(10),
        "edited",
    );
    check("DELETE FROM audit WHERE seq = 12", Some(13), "missing");
    check(
        "DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit)",
        None,
        "truncated",
    );
    check(
        "UPDATE audit SET kind = 'weight_ok' WHERE kind = 'weight_out_of_tolerance'",
        None,
        "edited",
    );
}
