//! The `packbench orders` and `packbench audit` commands run in-process on temp databases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use station::cli::{audit, orders, run, Command};
use station::store::orders as store_orders;

const GOOD: &str = r#"{"order_no":"O1","waybill_nos":["SF1"],"lines":[{"sku":"A","qty":1,"unit_weight_g":100,"barcodes":[{"code":"6901234567892"}]}]}"#;

#[test]
fn import_reports_bad_rows_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db").to_str().unwrap().to_string();
    let file = dir.path().join("orders.jsonl");
    std::fs::write(
        &file,
        format!(
            "{GOOD}\n{{\"order_no\":\"O2\",\"lines\":[{{\"sku\":\"A\",\"qty\":\"x\"}}]}}\n{}\n",
            GOOD.replace("O1", "O3").replace("SF1", "SF3")
        ),
    )
    .unwrap();
    let err = run(Command::Orders(orders::Cmd::Import {
        file: file.clone(),
        db: db.clone(),
        format: None,
    }))
    .unwrap_err();
    assert!(err.to_string().contains("1 of 3 rows rejected"), "{err}");
    let c = station::db::open(&db).unwrap();
    assert_eq!(store_orders::count(&c).unwrap(), 2);
    drop(c);
    // A missing file names itself.
    let err = run(Command::Orders(orders::Cmd::Import {
        file: dir.path().join("nope.csv"),
        db: db.clone(),
        format: None,
    }))
    .unwrap_err();
    assert!(format!("{err:#}").contains("nope.csv"), "{err:#}");
    // A database that is not SQLite names itself.
    let bad = dir.path().join("not.db");
    std::fs::write(&bad, vec![0xAB; 4096]).unwrap();
    let err = run(Command::Orders(orders::Cmd::Count {
        db: bad.to_str().unwrap().to_string(),
    }))
    .unwrap_err();
    assert!(format!("{err:#}").contains("not.db"), "{err:#}");

    // The audit log of that database verifies; after tampering it does not.
    run(Command::Audit(audit::Cmd::Verify { db: db.clone() })).unwrap();
    let c = station::db::open(&db).unwrap();
    c.execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit;")
        .unwrap();
    drop(c);
    let err = run(Command::Audit(audit::Cmd::Verify { db })).unwrap_err();
    assert!(err.to_string().contains("NOT intact"), "{err}");
}
