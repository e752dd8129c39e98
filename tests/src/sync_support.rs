//! Helpers for the sync scenarios: a station database with queued results, a real-time drain
//! loop over the delivery step, and the end-to-end check that the server holds exactly what
//! the station committed.

use rusqlite::Connection;
use serde_json::Value;
use station::sync::backoff::Jitter;
use station::sync::deliver::{DeliverConfig, Deliverer, Step};
use station::sync::http::UreqTransport;
use station::sync::rest::RestAdapter;
use station::sync::RequestTime;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A deliverer for the reference contract at `url` with short timeouts and backoff (tests).
pub fn rest_deliverer(
    url: &str,
    token: Option<&str>,
    batch: usize,
    timeout: Duration,
) -> Deliverer {
    let adapter = RestAdapter::new(
        url,
        token.map(station::sync::secrets::Secret::new),
        batch,
        Box::new(UreqTransport::new(timeout)),
    );
    match adapter {
        Ok(a) => Deliverer::new(
            Box::new(a),
            DeliverConfig {
                batch,
                backoff_base: Duration::from_millis(20),
                backoff_cap: Duration::from_millis(300),
                mapping: Vec::new(),
            },
            Jitter::seeded(11),
        ),
        Err(e) => unreachable_config(&e.to_string()),
    }
}

fn unreachable_config(msg: &str) -> ! {
    eprintln!("bad test configuration: {msg}");
    std::process::exit(2)
}

/// Enqueues `n` results (one transaction each, as the station does) and returns their ids.
/// Every `poison_every`-th result (if any) carries `"poison": true`.
pub fn enqueue_results(
    conn: &mut Connection,
    n: usize,
    tag: &str,
    poison_every: Option<usize>,
) -> rusqlite::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = uuid::Uuid::now_v7().to_string();
        let mut p = serde_json::json!({
            "order_no": format!("{tag}-{i}"),
            "waybill_no": format!("SF{tag}{i:08}"),
            "weight_g": 1000 + i,
            "packer": "p1",
            "名称": "测试",
        });
        if poison_every.is_some_and(|k| k > 0 && i % k == k - 1) {
            p["poison"] = Value::Bool(true);
        }
        let tx = conn.transaction()?;
        station::outbox::enqueue(
            &tx,
            &id,
            &format!("{tag}-{i}"),
            &p.to_string(),
            "2026-01-01T00:00:00Z",
        )?;
        tx.commit()?;
        ids.push(id);
    }
    Ok(ids)
}

/// Steps the deliverer in real time until nothing is due, or `deadline` passes.
/// Returns the number of requests sent.
pub fn drain(
    conn: &mut Connection,
    d: &mut Deliverer,
    deadline: Duration,
) -> Result<usize, String> {
    let start = Instant::now();
    let mut sent = 0;
    loop {
        if start.elapsed() > deadline {
            return Err(format!("not drained within {deadline:?} ({sent} requests)"));
        }
        let at = RequestTime {
            mono_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            unix_s: chrono::Utc::now().timestamp(),
        };
        match d.step(conn, at).map_err(|e| e.to_string())? {
            Step::Sent { .. } => sent += 1,
            Step::Idle { next_due_ms: None } => return Ok(sent),
            Step::Idle {
                next_due_ms: Some(t),
            }
            | Step::Wait { until_ms: t } => {
                std::thread::sleep(Duration::from_millis(
                    t.saturating_sub(at.mono_ms).min(2000),
                ));
            }
        }
    }
}

/// Local outbox rows: id → (state, payload).
pub fn local_rows(conn: &Connection) -> rusqlite::Result<HashMap<String, (String, Value)>> {
    let mut st = conn.prepare("SELECT result_id, state, payload FROM outbox")?;
    let rows = st.query_map([], |r| {
        let p: String = r.get(2)?;
        Ok((
            r.get::<_, String>(0)?,
            (
                r.get::<_, String>(1)?,
                serde_json::from_str(&p).unwrap_or(Value::Null),
            ),
        ))
    })?;
    rows.collect()
}

/// Checks that every acknowledged local result is on the server once with an identical
/// payload (plus its `result_id`) and that the server holds nothing else. Returns the number
/// of results compared.
pub fn assert_server_matches(
    conn: &Connection,
    server: &station::sync::test_server::OrderCenterServer,
) -> Result<usize, String> {
    let local = local_rows(conn).map_err(|e| e.to_string())?;
    let remote = server.results();
    let mut remote_by_id: HashMap<String, Value> = HashMap::with_capacity(remote.len());
    for (id, p, _) in remote {
        if remote_by_id.insert(id.clone(), p).is_some() {
            return Err(format!("result {id} stored twice on the server"));
        }
    }
    for (id, (state, payload)) in &local {
        if state != "acked" {
            continue;
        }
        let Some(r) = remote_by_id.get(id) else {
            return Err(format!("acked result {id} missing on the server"));
        };
        let mut expect = payload.clone();
        expect["result_id"] = Value::String(id.clone());
        if *r != expect {
            return Err(format!(
                "result {id}: server has {r}, station committed {expect}"
            ));
        }
    }
    for id in remote_by_id.keys() {
        if !local.contains_key(id) {
            return Err(format!(
                "server holds {id}, which the station never committed"
            ));
        }
    }
    Ok(local.len())
}

/// `PRAGMA integrity_check` result.
pub fn integrity(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
}
