#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The command line end to end, as an integrator would use it: `order-center serve`,
//! `sync secret set`, `sync --once`, `queue status|export|retry`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_pb-helper");

struct Server(Child, String);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(token_env: Option<(&str, &str)>) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["order-center", "serve", "--port", "0"]);
    if let Some((var, val)) = token_env {
        cmd.args(["--token-env", var]).env(var, val);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = v["listening"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    Server(child, url)
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_sync_once_and_queue_commands() {
    let server = serve(Some(("OC_TOKEN", "s3cret-token")));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let db_s = db.to_str().unwrap();
    {
        let mut c = station::db::open(db_s).unwrap();
        let tx = c.transaction().unwrap();
        for i in 0..5 {
            station::outbox::enqueue(
                &tx,
                &format!("r{i}"),
                "O1",
                &format!(r#"{{"order_no":"O1","weight_g":{i}}}"#),
                "2026-01-01T00:00:00Z",
            )
            .unwrap();
        }
        station::outbox::enqueue(
            &tx,
            "bad",
            "O2",
            r#"{"order_no":"O2","poison":true}"#,
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    // Without the token: nothing is lost, the command says why and fails.
    let (ok, _, err) = run(
        &[
            "sync",
            "--order-center",
            &server.1,
            "--db",
            db_s,
            "--once",
            "--no-orders",
            "--max-wait-s",
            "0",
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("still queued"), "{err}");

    // Store the token in the secret store (encrypted file beside the database).
    let (ok, _, err) = run(
        &[
            "sync",
            "--db",
            db_s,
            "secret",
            "set",
            "order_center.token",
            "--value-env",
            "TOK",
        ],
        &[("TOK", "s3cret-token")],
    );
    assert!(ok, "{err}");
    let raw = std::fs::read_to_string(dir.path().join("secrets.json")).unwrap();
    assert!(!raw.contains("s3cret-token"));
    let (ok, out, err) = run(
        &[
            "sync",
            "--order-center",
            &server.1,
            "--db",
            db_s,
            "--once",
            "--no-orders",
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(!out.contains("s3cret-token") && !err.contains("s3cret-token"));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["delivered"], 5);
    assert_eq!(v["dead_lettered"], 1);
    assert_eq!(v["status"]["depth"], 0);

    let (ok, out, _) = run(&["queue", "status", "--db", db_s, "--verbose"], &[]);
    assert!(ok);
    let st: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(st["dead_letters"], 1);
    assert_eq!(st["acked"], 5);
    assert!(st["last_success_at"].is_string());
    assert_eq!(st["dead_letter_list"][0]["result_id"], "bad");

    let export = dir.path().join("dead.jsonl");
    let (ok, _, _) = run(
        &[
            "queue",
            "export",
            "--db",
            db_s,
            "--out",
            export.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok);
    let lines = std::fs::read_to_string(&export).unwrap();
    assert_eq!(lines.lines().count(), 1);
    assert!(lines.contains("422"));

    let (ok, out, _) = run(&["queue", "retry", "--db", db_s, "bad"], &[]);
    assert!(ok);
    assert!(out.contains("\"requeued\":1"));
    let (ok, _, err) = run(&["queue", "retry", "--db", db_s, "nope"], &[]);
    assert!(!ok);
    assert!(err.contains("nope"), "{err}");

    let (ok, _, err) = run(
        &[
            "queue",
            "status",
            "--db",
            dir.path().join("missing.db").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("missing.db"), "{err}");
}
