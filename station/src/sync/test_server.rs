//! A real, small HTTP/1.1 order center implementing the reference contract
//! (`docs/order-center.openapi.yaml`), with its own SQLite store, dedupe by `result_id`, and
//! fault injection. Tests, benchmarks and `packbench order-center serve` start it on
//! 127.0.0.1 only.
//!
//! Why it lives in `station` (and is re-exported by the `tests` crate): the `packbench` binary
//! must be able to start it (`packbench order-center serve --port N`) and the station crate
//! cannot depend on the tests crate. It is plain std networking plus rusqlite — no extra
//! dependencies, a few hundred lines — so keeping it here costs the production binary
//! nothing worth a separate crate.
//!
//! Faults ([`Fault`]) apply to `POST /v1/pack-results`, either scripted (next N requests) or at
//! random with a seed. A result carrying `"poison": true` makes the whole request fail with
//! 422 (nothing is stored); one carrying `"reject": "reason"` is rejected per item in a 200.
//!
//! Admin endpoints (no auth; loopback only): `PUT /admin/orders` with a JSON array of orders
//! (inserted or replaced, each bumping the feed cursor), `POST /admin/faults` with
//! `{"script":[…]}` or `{"random":{"permille":N,"faults":[…],"seed":S}}`, `GET /admin/stats`.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Idle keep-alive connections are closed after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// Answer this status without storing anything (500, 502, 503, 429 …), with an optional
    /// `Retry-After` in seconds.
    Status {
        /// Status code.
        code: u16,
        /// `Retry-After` seconds.
        #[serde(default)]
        retry_after: Option<u32>,
    },
    /// Hold the request this long without storing, then close without answering.
    Timeout {
        /// How long to hold, in ms.
        ms: u64,
    },
    /// Close the connection before storing anything.
    DropBeforeCommit,
    /// Store, then close the connection without answering.
    DropAfterCommit,
    /// Store, then answer 500.
    CommitThen500,
    /// Store, wait, then answer 200.
    Slow200 {
        /// Delay in ms.
        ms: u64,
    },
    /// Store, then answer 200 with a body that is not JSON.
    MalformedJson,
}

impl Fault {
    /// Every fault kind once (short delays), for matrices and random runs.
    pub fn all(timeout_ms: u64) -> Vec<Fault> {
        vec![
            Fault::Status {
                code: 500,
                retry_after: None,
            },
            Fault::Status {
                code: 502,
                retry_after: None,
            },
            Fault::Status {
                code: 503,
                retry_after: Some(1),
            },
            Fault::Status {
                code: 429,
                retry_after: Some(1),
            },
            Fault::Timeout { ms: timeout_ms },
            Fault::DropBeforeCommit,
            Fault::DropAfterCommit,
            Fault::CommitThen500,
            Fault::Slow200 { ms: 50 },
            Fault::MalformedJson,
        ]
    }
}

/// Server counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Requests to `POST /v1/pack-results`.
    pub upload_requests: u64,
    /// Faults injected.
    pub faults: u64,
    /// Items newly stored.
    pub accepted: u64,
    /// Items already stored (same `result_id`).
    pub duplicates: u64,
    /// Items rejected per item.
    pub rejected: u64,
    /// Requests refused with 422 for a poison result.
    pub poison_refusals: u64,
}

/// Server settings.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Port on 127.0.0.1 (0 = ephemeral).
    pub port: u16,
    /// Database file; `None` uses a private temporary file.
    pub db_path: Option<PathBuf>,
    /// Bearer token required on the contract's endpoints (`None` = no auth).
    pub token: Option<String>,
}

#[derive(Default)]
struct FaultPlan {
    script: VecDeque<Fault>,
    random: Option<(u32, Vec<Fault>, u64)>,
}

impl FaultPlan {
    fn next(&mut self) -> Option<Fault> {
        if let Some(f) = self.script.pop_front() {
            return Some(f);
        }
        let (permille, faults, state) = self.random.as_mut()?;
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = *state >> 33;
        if faults.is_empty() || r % 1000 >= u64::from(*permille) {
            return None;
        }
        let i = usize::try_from((r / 1000) % faults.len() as u64).unwrap_or(0);
        faults.get(i).cloned()
    }
}

struct Shared {
    db: Mutex<Connection>,
    faults: Mutex<FaultPlan>,
    token: Option<String>,
    stop: AtomicBool,
    stats: [AtomicU64; 6],
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn bump(&self, i: usize, n: u64) {
        if let Some(c) = self.stats.get(i) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// A running test order center.
pub struct OrderCenterServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    _tmp: Option<TempDb>,
}

struct TempDb(PathBuf);
impl Drop for TempDb {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS results (
  result_id TEXT PRIMARY KEY, payload TEXT NOT NULL, deliveries INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS orders (
  order_no TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_seq ON orders(seq);
CREATE TABLE IF NOT EXISTS waybills (waybill_no TEXT PRIMARY KEY, order_no TEXT NOT NULL);
";

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding or threading.
    #[error("order-center test server on 127.0.0.1:{port}: {source}")]
    Io {
        /// Port asked for.
        port: u16,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Its database.
    #[error("order-center test server database {path}: {source}")]
    Db {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
}

impl OrderCenterServer {
    /// Starts the server on 127.0.0.1.
    pub fn start(opts: ServerOptions) -> Result<OrderCenterServer, ServerError> {
        let io = |source| ServerError::Io {
            port: opts.port,
            source,
        };
        let (path, tmp) = match &opts.db_path {
            Some(p) => (p.clone(), None),
            None => {
                let p = std::env::temp_dir().join(format!(
                    "packbench-oc-{}-{}.db",
                    std::process::id(),
                    uuid::Uuid::now_v7()
                ));
                (p.clone(), Some(TempDb(p)))
            }
        };
        let dbe = |source| ServerError::Db {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(&path).map_err(dbe)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(dbe)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(dbe)?;
        conn.execute_batch(SCHEMA).map_err(dbe)?;
        let listener = TcpListener::bind(("127.0.0.1", opts.port)).map_err(io)?;
        let addr = listener.local_addr().map_err(io)?;
        let shared = Arc::new(Shared {
            db: Mutex::new(conn),
            faults: Mutex::new(FaultPlan::default()),
            token: opts.token.clone(),
            stop: AtomicBool::new(false),
            stats: Default::default(),
        });
        let sh = shared.clone();
        let accept = std::thread::Builder::new()
            .name("oc-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if sh.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let sh = sh.clone();
                    let _ = std::thread::Builder::new()
                        .name("oc-conn".into())
                        .spawn(move || serve_connection(stream, &sh));
                }
            })
            .map_err(io)?;
        Ok(OrderCenterServer {
            addr,
            shared,
            accept: Some(accept),
            _tmp: tmp,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Queues faults for the next upload requests, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.shared.faults).script.extend(faults);
    }

    /// Injects one of `faults` into `permille`/1000 upload requests, from `seed`.
    pub fn set_random_faults(&self, permille: u32, faults: Vec<Fault>, seed: u64) {
        lock(&self.shared.faults).random = Some((permille.min(1000), faults, seed));
    }

    /// Removes every scripted and random fault.
    pub fn clear_faults(&self) {
        *lock(&self.shared.faults) = FaultPlan::default();
    }

    /// Inserts or replaces orders (each bumps the feed cursor).
    pub fn upsert_orders(&self, orders: &[Value]) -> Result<(), String> {
        upsert_orders(&self.shared, orders)
    }

    /// Every stored result: `result_id` → payload as received.
    pub fn results(&self) -> Vec<(String, Value, u64)> {
        let db = lock(&self.shared.db);
        let Ok(mut st) = db.prepare("SELECT result_id, payload, deliveries FROM results") else {
            return Vec::new();
        };
        st.query_map([], |r| {
            let p: String = r.get(1)?;
            Ok((
                r.get::<_, String>(0)?,
                serde_json::from_str(&p).unwrap_or(Value::Null),
                u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            ))
        })
        .map(|it| it.filter_map(|r| r.ok()).collect())
        .unwrap_or_default()
    }

    /// How many results are stored.
    pub fn result_count(&self) -> u64 {
        lock(&self.shared.db)
            .query_row("SELECT count(*) FROM results", [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .unwrap_or(0)
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        stats(&self.shared)
    }

    /// Stops accepting connections (open keep-alive connections end at their next request
    /// or idle timeout).
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(j) = self.accept.take() {
            let _ = j.join();
        }
    }

    /// Blocks until the process is killed (for `packbench order-center serve`).
    pub fn wait(mut self) {
        if let Some(j) = self.accept.take() {
            let _ = j.join();
        }
    }
}

impl Drop for OrderCenterServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn stats(sh: &Shared) -> Stats {
    let g = |i: usize| sh.stats[i].load(Ordering::Relaxed);
    Stats {
        upload_requests: g(0),
        faults: g(1),
        accepted: g(2),
        duplicates: g(3),
        rejected: g(4),
        poison_refusals: g(5),
    }
}

fn upsert_orders(sh: &Shared, orders: &[Value]) -> Result<(), String> {
    let mut db = lock(&sh.db);
    let tx = db.transaction().map_err(|e| e.to_string())?;
    for (i, o) in orders.iter().enumerate() {
        let no = o
            .get("order_no")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("order #{i}: no order_no"))?;
        let seq: i64 = tx
            .query_row("SELECT COALESCE(max(seq), 0) + 1 FROM orders", [], |r| {
                r.get(0)
            })
            .map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO orders(order_no, seq, body) VALUES (?1, ?2, ?3)
             ON CONFLICT(order_no) DO UPDATE SET seq = excluded.seq, body = excluded.body",
            params![no, seq, o.to_string()],
        )
        .map_err(|e| e.to_string())?;
        if let Some(w) = o.get("waybill_nos").and_then(Value::as_array) {
            for w in w.iter().filter_map(Value::as_str) {
                tx.execute(
                    "INSERT OR REPLACE INTO waybills(waybill_no, order_no) VALUES (?1, ?2)",
                    params![w, no],
                )
                .map_err(|e| e.to_string())?;
            }
        }
    }
    tx.commit().map_err(|e| e.to_string())
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request<R: BufRead>(r: &mut R) -> Option<Request> {
    let mut line = String::new();
    let mut total = 0usize;
    // Skip stray empty lines between pipelined requests.
    loop {
        line.clear();
        let n = r.read_line(&mut line).ok()?;
        if n == 0 {
            return None;
        }
        total += n;
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        let n = r.read_line(&mut h).ok()?;
        total += n;
        if n == 0 || total > MAX_HEAD {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        return None;
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn respond(s: &mut TcpStream, code: u16, body: &[u8], extra: &[(&str, String)]) -> bool {
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        reason(code),
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).is_ok() && s.write_all(body).is_ok() && s.flush().is_ok()
}

fn serve_connection(stream: TcpStream, sh: &Shared) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(mut w) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    while let Some(req) = read_request(&mut r) {
        if sh.stop.load(Ordering::SeqCst) {
            break;
        }
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !handle(&req, &mut w, sh) || close {
            break;
        }
    }
    let _ = w.shutdown(Shutdown::Both);
}

fn json_body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// Handles one request; `false` closes the connection.
fn handle(req: &Request, w: &mut TcpStream, sh: &Shared) -> bool {
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    if path.starts_with("/v1/") {
        if let Some(t) = &sh.token {
            let ok = req
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|v| v == t);
            if !ok {
                return respond(
                    w,
                    401,
                    &json_body(&json!({"error":"missing or wrong bearer token"})),
                    &[("WWW-Authenticate", "Bearer".into())],
                );
            }
        }
    }
    match (req.method.as_str(), path) {
        ("POST", "/v1/pack-results") => upload(req, w, sh),
        ("GET", "/v1/orders") => {
            let mut since = 0i64;
            let mut limit = 100i64;
            for kv in query.split('&') {
                match kv.split_once('=') {
                    Some(("since", v)) => since = v.parse().unwrap_or(0),
                    Some(("limit", v)) => limit = v.parse::<i64>().unwrap_or(100).clamp(1, 1000),
                    _ => {}
                }
            }
            let db = lock(&sh.db);
            let rows: Vec<(i64, String)> = db
                .prepare_cached("SELECT seq, body FROM orders WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .and_then(|mut st| {
                    st.query_map(params![since, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .unwrap_or_default();
            drop(db);
            let next = rows.last().map_or(since, |r| r.0);
            let orders: Vec<Value> = rows
                .iter()
                .filter_map(|(_, b)| serde_json::from_str(b).ok())
                .collect();
            respond(
                w,
                200,
                &json_body(&json!({"orders": orders, "next": next.to_string()})),
                &[],
            )
        }
        ("GET", p) if p.starts_with("/v1/orders/") => {
            let no = percent_decode(&p["/v1/orders/".len()..]);
            let db = lock(&sh.db);
            let body: Option<String> = db
                .query_row(
                    "SELECT body FROM orders WHERE order_no = ?1
                     UNION ALL SELECT o.body FROM waybills w JOIN orders o ON o.order_no = w.order_no
                     WHERE w.waybill_no = ?1 LIMIT 1",
                    [&no],
                    |r| r.get(0),
                )
                .optional()
                .unwrap_or(None);
            drop(db);
            match body {
                Some(b) => respond(w, 200, b.as_bytes(), &[]),
                None => respond(
                    w,
                    404,
                    &json_body(&json!({"error": format!("no order {no}")})),
                    &[],
                ),
            }
        }
        ("PUT", "/admin/orders") => match serde_json::from_slice::<Vec<Value>>(&req.body) {
            Ok(v) => match upsert_orders(sh, &v) {
                Ok(()) => respond(w, 200, &json_body(&json!({"upserted": v.len()})), &[]),
                Err(e) => respond(w, 400, &json_body(&json!({"error": e})), &[]),
            },
            Err(e) => respond(w, 400, &json_body(&json!({"error": e.to_string()})), &[]),
        },
        ("POST", "/admin/faults") => {
            #[derive(Deserialize)]
            struct Random {
                permille: u32,
                faults: Vec<Fault>,
                #[serde(default)]
                seed: u64,
            }
            #[derive(Deserialize)]
            struct Body {
                #[serde(default)]
                script: Vec<Fault>,
                #[serde(default)]
                random: Option<Random>,
            }
            match serde_json::from_slice::<Body>(&req.body) {
                Ok(b) => {
                    let mut f = lock(&sh.faults);
                    f.script = b.script.into();
                    f.random = b.random.map(|r| (r.permille.min(1000), r.faults, r.seed));
                    respond(w, 200, b"{}", &[])
                }
                Err(e) => respond(w, 400, &json_body(&json!({"error": e.to_string()})), &[]),
            }
        }
        ("GET", "/admin/stats") => respond(w, 200, &json_body(&json!(stats(sh))), &[]),
        _ => respond(
            w,
            404,
            &json_body(&json!({"error": format!("no route {} {path}", req.method)})),
            &[],
        ),
    }
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Stores a batch in one transaction; returns per-item acknowledgements.
fn commit(sh: &Shared, results: &[Value]) -> Result<Vec<Value>, String> {
    let mut db = lock(&sh.db);
    let tx = db.transaction().map_err(|e| e.to_string())?;
    let mut acks = Vec::with_capacity(results.len());
    let (mut acc, mut dup, mut rej) = (0, 0, 0);
    for r in results {
        let id = r.get("result_id").and_then(Value::as_str).unwrap_or("");
        if let Some(why) = r.get("reject").and_then(Value::as_str) {
            rej += 1;
            acks.push(json!({"result_id": id, "status": "rejected", "reason": why}));
            continue;
        }
        let n = tx
            .execute(
                "INSERT INTO results(result_id, payload) VALUES (?1, ?2) ON CONFLICT(result_id) DO NOTHING",
                params![id, r.to_string()],
            )
            .map_err(|e| e.to_string())?;
        if n == 1 {
            acc += 1;
            acks.push(json!({"result_id": id, "status": "accepted"}));
        } else {
            dup += 1;
            tx.execute(
                "UPDATE results SET deliveries = deliveries + 1 WHERE result_id = ?1",
                [id],
            )
            .map_err(|e| e.to_string())?;
            acks.push(json!({"result_id": id, "status": "duplicate"}));
        }
    }
    tx.commit().map_err(|e| e.to_string())?;
    sh.bump(2, acc);
    sh.bump(3, dup);
    sh.bump(4, rej);
    Ok(acks)
}

fn upload(req: &Request, w: &mut TcpStream, sh: &Shared) -> bool {
    sh.bump(0, 1);
    #[derive(Deserialize)]
    struct Body {
        results: Vec<Value>,
    }
    let body: Body = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => {
            return respond(
                w,
                400,
                &json_body(&json!({"error": format!("body: {e}")})),
                &[],
            )
        }
    };
    for (i, r) in body.results.iter().enumerate() {
        if r.get("result_id")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return respond(
                w,
                400,
                &json_body(&json!({"error": format!("results[{i}]: no result_id")})),
                &[],
            );
        }
    }
    let fault = lock(&sh.faults).next();
    if fault.is_some() {
        sh.bump(1, 1);
    }
    match &fault {
        Some(Fault::Status { code, retry_after }) => {
            let extra: Vec<(&str, String)> = retry_after
                .map(|s| vec![("Retry-After", s.to_string())])
                .unwrap_or_default();
            return respond(w, *code, &json_body(&json!({"error":"injected"})), &extra);
        }
        Some(Fault::Timeout { ms }) => {
            std::thread::sleep(Duration::from_millis(*ms));
            return false;
        }
        Some(Fault::DropBeforeCommit) => return false,
        _ => {}
    }
    if let Some(p) = body
        .results
        .iter()
        .find(|r| r.get("poison").and_then(Value::as_bool) == Some(true))
    {
        sh.bump(5, 1);
        let id = p.get("result_id").cloned().unwrap_or(Value::Null);
        return respond(
            w,
            422,
            &json_body(&json!({"error": "poison result refused", "result_id": id})),
            &[],
        );
    }
    let acks = match commit(sh, &body.results) {
        Ok(a) => a,
        Err(e) => return respond(w, 500, &json_body(&json!({"error": e})), &[]),
    };
    match fault {
        Some(Fault::DropAfterCommit) => false,
        Some(Fault::CommitThen500) => respond(w, 500, b"{\"error\":\"after commit\"}", &[]),
        Some(Fault::MalformedJson) => respond(w, 200, b"{\"results\":[{\"result_id\":", &[]),
        Some(Fault::Slow200 { ms }) => {
            std::thread::sleep(Duration::from_millis(ms));
            respond(w, 200, &json_body(&json!({"results": acks})), &[])
        }
        _ => respond(w, 200, &json_body(&json!({"results": acks})), &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn request_parser_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let mut r = std::io::Cursor::new(bytes);
            while read_request(&mut r).is_some() {}
        }
    }

    #[test]
    fn parses_pipelined_requests_with_bodies() {
        let raw = b"POST /v1/pack-results HTTP/1.1\r\nContent-Length: 2\r\nAuthorization: Bearer t\r\n\r\n{}GET /v1/orders?since=3 HTTP/1.1\r\n\r\n";
        let mut r = std::io::Cursor::new(&raw[..]);
        let a = read_request(&mut r).unwrap();
        assert_eq!(
            (a.method.as_str(), a.target.as_str(), a.body.as_slice()),
            ("POST", "/v1/pack-results", &b"{}"[..])
        );
        assert_eq!(a.header("authorization"), Some("Bearer t"));
        let b = read_request(&mut r).unwrap();
        assert_eq!(b.target, "/v1/orders?since=3");
        assert!(read_request(&mut r).is_none());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("SF%201"), "SF 1");
        assert_eq!(percent_decode("%E4%B8%AD"), "中");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
    }

    #[test]
    fn random_fault_plan_is_seeded_and_respects_rate() {
        let mut p = FaultPlan {
            script: VecDeque::new(),
            random: Some((250, Fault::all(10), 42)),
        };
        let hits = (0..4000).filter(|_| p.next().is_some()).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
