#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Fault matrix: every fault the test order center can inject, against the real delivery
//! step over real HTTP on 127.0.0.1. After each, every result is on the server exactly once
//! with its committed payload, and nothing was dead-lettered by a transient fault.

use packbench_tests::order_center::{start, Fault};
use packbench_tests::sync_support::{
    assert_server_matches, drain, enqueue_results, rest_deliverer,
};
use std::time::{Duration, Instant};

const CLIENT_TIMEOUT: Duration = Duration::from_millis(400);

fn db() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let c = station::db::open(dir.path().join("s.db").to_str().unwrap()).unwrap();
    (dir, c)
}

fn count(c: &rusqlite::Connection, state: &str) -> i64 {
    c.query_row(
        "SELECT count(*) FROM outbox WHERE state = ?1",
        [state],
        |r| r.get(0),
    )
    .unwrap()
}

fn run_fault(fault: Fault) -> (u64, Duration) {
    let server = start(None).unwrap();
    let (_d, mut c) = db();
    enqueue_results(&mut c, 12, "F", None).unwrap();
    server.push_faults([fault.clone()]);
    let mut d = rest_deliverer(&server.url(), None, 5, CLIENT_TIMEOUT);
    let t = Instant::now();
    drain(&mut c, &mut d, Duration::from_secs(20)).unwrap();
    let took = t.elapsed();
    assert_eq!(count(&c, "acked"), 12, "{fault:?}");
    assert_eq!(
        count(&c, "rejected"),
        0,
        "{fault:?}: a transient fault dead-lettered a result"
    );
    assert_eq!(server.result_count(), 12, "{fault:?}");
    assert_server_matches(&c, &server).unwrap();
    let st = server.stats();
    assert_eq!(st.faults, 1, "{fault:?}");
    (st.duplicates, took)
}

#[test]
fn each_status_fault_retries_without_committing() {
    for code in [500u16, 502, 503, 429] {
        let (dups, _) = run_fault(Fault::Status {
            code,
            retry_after: None,
        });
        assert_eq!(
            dups, 0,
            "{code}: nothing was committed, so nothing is a duplicate"
        );
    }
}

#[test]
fn retry_after_is_honoured() {
    for code in [503u16, 429] {
        let (_, took) = run_fault(Fault::Status {
            code,
            retry_after: Some(1),
        });
        assert!(
            took >= Duration::from_millis(1000),
            "{code}: retried after {took:?}, before Retry-After"
        );
    }
}

#[test]
fn timeouts_and_drops_before_commit_are_retried() {
    let (dups, _) = run_fault(Fault::Timeout { ms: 700 });
    assert_eq!(dups, 0);
    let (dups, _) = run_fault(Fault::DropBeforeCommit);
    assert_eq!(dups, 0);
}

#[test]
fn faults_after_commit_resend_and_the_server_dedupes() {
    for f in [
        Fault::DropAfterCommit,
        Fault::CommitThen500,
        Fault::MalformedJson,
    ] {
        let (dups, _) = run_fault(f.clone());
        // The first batch (5) was stored, its answer lost, so it came again as duplicates.
        assert_eq!(dups, 5, "{f:?}");
    }
}

#[test]
fn slow_200_within_the_timeout_is_fine_and_beyond_it_is_a_duplicate() {
    let (dups, _) = run_fault(Fault::Slow200 { ms: 100 });
    assert_eq!(dups, 0);
    let (dups, _) = run_fault(Fault::Slow200 { ms: 700 });
    assert_eq!(dups, 5);
}

#[test]
fn poison_results_are_dead_lettered_after_one_refusal_and_never_block_the_rest() {
    let server = start(None).unwrap();
    let (_d, mut c) = db();
    // Results 7, 15, 23 … are poison (every 8th).
    let ids = enqueue_results(&mut c, 40, "P", Some(8)).unwrap();
    let mut d = rest_deliverer(&server.url(), None, 10, CLIENT_TIMEOUT);
    drain(&mut c, &mut d, Duration::from_secs(20)).unwrap();
    assert_eq!(count(&c, "rejected"), 5);
    assert_eq!(count(&c, "acked"), 35);
    let dl = station::outbox::dead_letters(&c).unwrap();
    let dead: Vec<&str> = dl.iter().map(|d| d.result_id.as_str()).collect();
    let want: Vec<&str> = [7usize, 15, 23, 31, 39]
        .iter()
        .map(|&i| ids[i].as_str())
        .collect();
    assert_eq!(dead, want);
    for d in &dl {
        assert!(d.reason.contains("422"), "{}", d.reason);
        assert_eq!(d.attempts, 1, "dead-lettered after one attempt of its own");
    }
    assert_server_matches(&c, &server).unwrap();
    // An operator retries the dead letters: they are refused again, still without blocking.
    enqueue_results(&mut c, 3, "Q", None).unwrap();
    assert_eq!(station::outbox::retry_dead_letters(&mut c, &[]).unwrap(), 5);
    drain(&mut c, &mut d, Duration::from_secs(20)).unwrap();
    assert_eq!(count(&c, "acked"), 38);
    assert_eq!(count(&c, "rejected"), 5);
}

#[test]
fn per_item_rejections_are_dead_letters_with_the_servers_reason() {
    let server = start(None).unwrap();
    let (_d, mut c) = db();
    enqueue_results(&mut c, 3, "R", None).unwrap();
    let tx = c.transaction().unwrap();
    station::outbox::enqueue(
        &tx,
        "bad-1",
        "R-x",
        r#"{"reject":"unknown waybill SF0"}"#,
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    tx.commit().unwrap();
    let mut d = rest_deliverer(&server.url(), None, 50, CLIENT_TIMEOUT);
    drain(&mut c, &mut d, Duration::from_secs(10)).unwrap();
    let dl = station::outbox::dead_letters(&c).unwrap();
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0].reason, "unknown waybill SF0");
    assert_eq!(count(&c, "acked"), 3);
    let mut out = Vec::new();
    station::outbox::export_dead_letters(&c, &mut out).unwrap();
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("unknown waybill SF0"));
}

#[test]
fn a_wrong_token_keeps_results_queued_and_says_why() {
    let server = start(Some("right")).unwrap();
    let (_d, mut c) = db();
    enqueue_results(&mut c, 4, "A", None).unwrap();
    let mut d = rest_deliverer(&server.url(), Some("wrong"), 50, CLIENT_TIMEOUT);
    assert!(drain(&mut c, &mut d, Duration::from_millis(600)).is_err());
    assert_eq!(count(&c, "rejected"), 0);
    let st = station::outbox::status(&c, chrono::Utc::now()).unwrap();
    assert_eq!(st.depth, 4);
    assert!(st.last_error.unwrap().contains("401"));
    assert!(st.last_success_at.is_none());
    let mut d = rest_deliverer(&server.url(), Some("right"), 50, CLIENT_TIMEOUT);
    station::outbox::recover(&c).unwrap();
    drain(&mut c, &mut d, Duration::from_secs(10)).unwrap();
    assert_eq!(count(&c, "acked"), 4);
}

#[test]
fn random_faults_of_every_kind_still_deliver_exactly_once() {
    let server = start(None).unwrap();
    let (_d, mut c) = db();
    enqueue_results(&mut c, 300, "M", None).unwrap();
    server.set_random_faults(400, Fault::all(600), 99);
    let mut d = rest_deliverer(&server.url(), None, 20, CLIENT_TIMEOUT);
    drain(&mut c, &mut d, Duration::from_secs(60)).unwrap();
    assert_eq!(count(&c, "acked"), 300);
    assert_eq!(server.result_count(), 300);
    assert!(server.stats().faults > 5);
    assert_server_matches(&c, &server).unwrap();
}
