//! Shift-report benchmark: a day of 5,000 packs by four packers (with 30,000 audit entries
//! around them) read back as one shift report through the time indexes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chrono::{DateTime, Duration, FixedOffset, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use rusqlite::params;
use station::store::audit;
use station::store::report::{shift_report, Window};

const PACKS: i64 = 5_000;
const AUDIT_PER_PACK: i64 = 6;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("report.db");
    let mut conn = station::db::open(db.to_str().unwrap()).unwrap();
    // Local day 2026-11-25 at +08:00.
    let day: DateTime<Utc> = "2026-11-24T16:00:00Z".parse().unwrap();
    let tx = conn.transaction().unwrap();
    for i in 0..PACKS {
        let at = day + Duration::milliseconds(i * 86_400_000 / PACKS);
        let op = format!("p{}", i % 4);
        let payload = r#"{"tolerance_g":20,"overrides":[],"lines":[{"sku":"A","scanned":2},{"sku":"B","scanned":1}],"quote":{"total_fen":1200}}"#;
        tx.execute(
            "INSERT INTO pack_results (result_id, order_no, station_id, operator, packed_at,
                weight_g, expected_g, partial, payload) VALUES (?1, ?1, 's', ?2, ?3, ?4, 500, 0, ?5)",
            params![format!("r{i}"), op, at.to_rfc3339(), 490 + i % 25, payload],
        )
        .unwrap();
        for k in 0..AUDIT_PER_PACK {
            let (kind, alarm) = match k {
                0 => ("order_opened", "ok"),
                1 if i % 10 == 0 => ("wrong_item", "stop"),
                2 if i % 7 == 0 => ("unknown_barcode", "warn"),
                _ => ("item_accepted", "ok"),
            };
            let data = format!(r#"{{"alarm":"{alarm}","order_no":"r{i}"}}"#);
            audit::append(
                &tx,
                &audit::Entry {
                    at: at - Duration::seconds(AUDIT_PER_PACK - k),
                    kind,
                    order_no: None,
                    operator: Some(&op),
                    data: &data,
                },
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    let w = Window {
        from: day,
        to: day + Duration::days(1),
        offset: FixedOffset::east_opt(8 * 3600).unwrap(),
    };
    let r = shift_report(&conn, &w).unwrap();
    assert_eq!(r.parcels, PACKS as u64);
    assert_eq!(r.per_hour.len(), 24);
    eprintln!(
        "report: {} parcels, {} items, {} alarms, {} packers",
        r.parcels,
        r.items,
        r.alarms,
        r.per_packer.len()
    );
    c.bench_function("shift report, one day of 5,000 packs", |b| {
        b.iter(|| shift_report(&conn, &w).unwrap())
    });
    let hour = Window {
        from: day + Duration::hours(9),
        to: day + Duration::hours(10),
        ..w
    };
    c.bench_function("shift report, one hour of that day", |b| {
        b.iter(|| shift_report(&conn, &hour).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
