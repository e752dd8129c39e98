#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Crash test: a real station process (`pb-helper queue stress`, the packbench CLI) enqueues
//! results one transaction at a time while its sync thread uploads them to a faulty order
//! center, and is killed with SIGKILL at random moments, 200+ times. Afterwards every result
//! the station committed reaches the server exactly once with an identical payload, and the
//! database passes `PRAGMA integrity_check`.

use packbench_tests::order_center::{start, Fault};
use packbench_tests::sync_support::{
    assert_server_matches, drain, integrity, local_rows, rest_deliverer,
};
use station::sync::backoff::Jitter;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CYCLES: u64 = 210;

#[test]
fn sigkill_during_enqueue_and_upload_loses_and_doubles_nothing() {
    let server = start(None).unwrap();
    server.set_random_faults(300, Fault::all(300), 7);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("station.db");
    let db_s = db.to_str().unwrap().to_string();
    let mut rng = Jitter::seeded(2026);
    let t = Instant::now();
    for cycle in 0..CYCLES {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pb-helper"))
            .args([
                "queue",
                "stress",
                "--db",
                &db_s,
                "--order-center",
                &server.url(),
                "--seed",
            ])
            .arg(cycle.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill between 5 and 80 ms after start: during open, enqueue commits or uploads.
        std::thread::sleep(Duration::from_millis(5 + rng.up_to(75)));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "cycle {cycle}: the station exited on its own"
        );
    }
    eprintln!("{CYCLES} kill cycles in {:?}", t.elapsed());

    let mut c = station::db::open(&db_s).unwrap();
    assert_eq!(integrity(&c).unwrap(), "ok");
    let committed = local_rows(&c).unwrap().len();
    assert!(
        committed > 200,
        "only {committed} results committed over {CYCLES} cycles"
    );
    let acked_before: i64 = c
        .query_row(
            "SELECT count(*) FROM outbox WHERE state = 'acked'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(acked_before > 0, "no upload completed between kills");

    // Recovery: a fresh station drains the rest against a healthy server.
    server.clear_faults();
    station::outbox::recover(&c).unwrap();
    let mut d = rest_deliverer(&server.url(), None, 50, Duration::from_secs(2));
    drain(&mut c, &mut d, Duration::from_secs(60)).unwrap();
    let st = station::outbox::status(&c, chrono::Utc::now()).unwrap();
    assert_eq!((st.depth, st.dead_letters), (0, 0));
    assert_eq!(server.result_count(), u64::try_from(committed).unwrap());
    assert_eq!(assert_server_matches(&c, &server).unwrap(), committed);
    assert_eq!(integrity(&c).unwrap(), "ok");
    let stats = server.stats();
    eprintln!("committed {committed}, acked before recovery {acked_before}, server: {stats:?}");
}
