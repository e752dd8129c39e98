//! `packbench sync`: deliver the outbox to the order center and download orders.
//!
//! - `packbench sync --order-center URL [--once]` uses the reference REST contract; the bearer
//!   token comes from `--token-env VAR` or from the secret store (`order_center.token`).
//! - `packbench sync --config station.toml [--once]` reads the `[order_center]` section (any
//!   adapter: `rest`, `jushuitan`, `wdt`) and `db_path`.
//! - `packbench sync secret set NAME` reads the value from stdin (or `--value-env VAR`) into the
//!   secret store; `packbench sync secret delete NAME`.
//!
//! `--once` delivers everything deliverable now (sleeping through backoff up to `--max-wait-s`),
//! pulls the order feed once, prints the queue status as JSON and exits. Without it the sync
//! thread runs until killed, printing one JSON line per event. Secrets are never printed.

use crate::outbox;
use crate::sync::backoff::Jitter;
use crate::sync::config::{AdapterKind, OrderCenterConfig};
use crate::sync::deliver::{Deliverer, Step};
use crate::sync::http::UreqTransport;
use crate::sync::orders::{self, OrderSink};
use crate::sync::rest::RestAdapter;
use crate::sync::secrets::{self, Secret};
use crate::sync::worker::{SyncEvent, SyncWorker, WorkerConfig};
use crate::sync::{Adapter, RequestTime};
use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Secret management instead of syncing.
    #[command(subcommand)]
    pub secret: Option<SecretCmd>,
    /// Order-center base URL (reference REST contract), e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub order_center: Option<String>,
    /// Station configuration file (TOML) with an `[order_center]` section.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Database path (default: `db_path` from --config, else packbench.db).
    #[arg(long)]
    pub db: Option<String>,
    /// Deliver what can be delivered now, poll orders once, print the status and exit.
    #[arg(long)]
    pub once: bool,
    /// With --once: longest total time spent waiting out backoff.
    #[arg(long, default_value_t = 30)]
    pub max_wait_s: u64,
    /// Read the bearer token from this environment variable instead of the secret store.
    #[arg(long)]
    pub token_env: Option<String>,
    /// Results per request.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Do not download orders.
    #[arg(long)]
    pub no_orders: bool,
    /// Directory of the encrypted secrets file (default: beside the database).
    #[arg(long)]
    pub secrets_dir: Option<PathBuf>,
}

/// `packbench sync secret …`.
#[derive(Debug, Subcommand)]
pub enum SecretCmd {
    /// Manage a secret.
    Secret {
        /// What to do.
        #[command(subcommand)]
        op: SecretOp,
    },
}

/// Secret operations.
#[derive(Debug, Subcommand)]
pub enum SecretOp {
    /// Store a secret; the value is read from stdin (first line) or `--value-env`.
    Set {
        /// Name, e.g. order_center.token, jushuitan.app_secret, wdt.appsecret.
        name: String,
        /// Read the value from this environment variable.
        #[arg(long)]
        value_env: Option<String>,
    },
    /// Delete a secret.
    Delete {
        /// Name.
        name: String,
    },
    /// Say whether a secret is set (never prints it).
    Check {
        /// Name.
        name: String,
    },
}

struct Resolved {
    db: String,
    oc: OrderCenterConfig,
    secrets_dir: PathBuf,
}

fn resolve(a: &Args) -> anyhow::Result<Resolved> {
    let mut oc = OrderCenterConfig::default();
    let mut db = None;
    if let Some(p) = &a.config {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("{}: not valid TOML", p.display()))?;
        if let Some(v) = table.get("order_center") {
            oc = v
                .clone()
                .try_into()
                .with_context(|| format!("{}: [order_center]", p.display()))?;
        }
        db = table
            .get("db_path")
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    if let Some(url) = &a.order_center {
        oc.kind = AdapterKind::Rest;
        oc.url.clone_from(url);
    }
    if let Some(b) = a.batch {
        oc.batch = b;
    }
    oc.validate().map_err(|e| anyhow!("{e}"))?;
    let db = a.db.clone().or(db).unwrap_or_else(|| "packbench.db".into());
    let secrets_dir = a.secrets_dir.clone().unwrap_or_else(|| {
        Path::new(&db)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    Ok(Resolved {
        db,
        oc,
        secrets_dir,
    })
}

fn adapter(r: &Resolved, a: &Args) -> anyhow::Result<Box<dyn Adapter>> {
    if r.oc.kind == AdapterKind::Rest {
        if let Some(var) = &a.token_env {
            let tok = std::env::var(var)
                .map_err(|_| anyhow!("--token-env {var}: environment variable not set"))?;
            let t = Box::new(UreqTransport::new(Duration::from_millis(r.oc.timeout_ms)));
            return Ok(Box::new(
                RestAdapter::new(&r.oc.url, Some(Secret::new(tok)), r.oc.batch, t)
                    .map_err(|e| anyhow!("{e}"))?,
            ));
        }
    }
    let store = secrets::open(r.oc.secrets, &r.secrets_dir)?;
    r.oc
        .build_adapter(store.as_ref())
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| {
            anyhow!("no order center configured: pass --order-center URL or a --config with [order_center] kind")
        })
}

/// The station's orders cache as the sync's order sink.
pub fn store_sink() -> Box<dyn OrderSink> {
    Box::new(
        |conn: &rusqlite::Connection, o: &domain::order::Order| -> crate::Result<()> {
            crate::store::orders::upsert(conn, o, chrono::Utc::now()).map(|_| ())
        },
    )
}

/// Runs the sync.
pub fn run(a: Args) -> anyhow::Result<()> {
    if let Some(SecretCmd::Secret { op }) = &a.secret {
        return secret(&a, op);
    }
    let r = resolve(&a)?;
    let ad = adapter(&r, &a)?;
    let deliverer = Deliverer::new(ad, r.oc.deliver_config(), Jitter::from_entropy());
    if a.once {
        return once(&r, &a, deliverer);
    }
    let poll = (!a.no_orders).then(|| Duration::from_millis(r.oc.order_poll_ms));
    let worker = SyncWorker::spawn(
        WorkerConfig {
            db_path: r.db.clone(),
            order_poll: poll,
        },
        deliverer,
        store_sink(),
        Box::new(|e| println!("{}", event_json(&e))),
    )?;
    eprintln!("sync running against the order center; Ctrl-C to stop");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
        worker.kick();
    }
}

/// One event as a JSON line.
pub fn event_json(e: &SyncEvent) -> serde_json::Value {
    match e {
        SyncEvent::Delivered {
            acked,
            rejected,
            retried,
        } => {
            serde_json::json!({"event":"delivered","acked":acked,"rejected":rejected,"retried":retried})
        }
        SyncEvent::Flagged(f) => serde_json::json!({"event":"flagged","alarm":"stop","result":f}),
        SyncEvent::OrdersSynced { upserted } => {
            serde_json::json!({"event":"orders_synced","upserted":upserted})
        }
        SyncEvent::Error(m) => serde_json::json!({"event":"error","message":m}),
    }
}

fn once(r: &Resolved, a: &Args, mut d: Deliverer) -> anyhow::Result<()> {
    let mut conn = crate::db::open(&r.db)?;
    outbox::recover(&conn)?;
    let epoch = Instant::now();
    let mono = || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    let at = || RequestTime {
        mono_ms: mono(),
        unix_s: chrono::Utc::now().timestamp(),
    };
    let mut flagged = Vec::new();
    if !a.no_orders {
        let mut sink = store_sink();
        match orders::poll(&mut conn, d.adapter_mut(), sink.as_mut(), at(), 1000) {
            Ok(rep) => {
                eprintln!("orders: {} upserted in {} page(s)", rep.upserted, rep.pages);
                for u in &rep.unreadable {
                    eprintln!("orders: skipped {u}");
                }
                flagged = rep.flagged;
            }
            Err(orders::PollError::Remote(crate::sync::DeliveryError::Unsupported { .. })) => {}
            Err(e) => eprintln!("orders: {e}"),
        }
    }
    let budget = Duration::from_secs(a.max_wait_s);
    let mut waited = Duration::ZERO;
    let (mut acked, mut rejected) = (0usize, 0usize);
    loop {
        match d.step(&mut conn, at())? {
            Step::Sent {
                acked: x,
                rejected: y,
                ..
            } => {
                acked += x;
                rejected += y;
            }
            Step::Idle { next_due_ms: None } => break,
            Step::Idle {
                next_due_ms: Some(t),
            }
            | Step::Wait { until_ms: t } => {
                let w = Duration::from_millis(t.saturating_sub(mono()));
                if waited + w > budget {
                    eprintln!("stopping: next attempt in {w:?} is past --max-wait-s");
                    break;
                }
                waited += w;
                std::thread::sleep(w);
            }
        }
    }
    let st = outbox::status(&conn, chrono::Utc::now())?;
    let out = serde_json::json!({
        "delivered": acked,
        "dead_lettered": rejected,
        "flagged": flagged,
        "status": st,
    });
    println!("{out}");
    if st.depth > 0 {
        bail!(
            "{} result(s) still queued (last error: {})",
            st.depth,
            st.last_error.unwrap_or_default()
        );
    }
    Ok(())
}

fn secret(a: &Args, op: &SecretOp) -> anyhow::Result<()> {
    let r = resolve(a)?;
    let store = secrets::open(r.oc.secrets, &r.secrets_dir)?;
    match op {
        SecretOp::Set { name, value_env } => {
            let v = match value_env {
                Some(var) => std::env::var(var)
                    .map_err(|_| anyhow!("--value-env {var}: environment variable not set"))?,
                None => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            if v.is_empty() {
                bail!("secret {name}: empty value refused");
            }
            store.set(name, &Secret::new(v))?;
            eprintln!("secret {name} stored in the {} store", store.backend());
        }
        SecretOp::Delete { name } => {
            store.delete(name)?;
            eprintln!("secret {name} deleted from the {} store", store.backend());
        }
        SecretOp::Check { name } => {
            let set = store.get(name)?.is_some();
            println!(
                "{}",
                serde_json::json!({"name": name, "set": set, "store": store.backend()})
            );
        }
    }
    Ok(())
}
