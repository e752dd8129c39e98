//! `packbench queue`: the outbox as operators and admins see it.
//!
//! - `status`: depth, oldest pending age, last success, last error, dead letters, flagged
//!   results (JSON on stdout).
//! - `retry [ID…]`: put dead letters back in the queue (all of them without ids).
//! - `export [--out FILE]`: dead letters as JSON lines (stdout without `--out`).
//! - `stress` (hidden): the crash-test workload — enqueue results one transaction at a time
//!   while the sync thread uploads them, until killed.

use crate::outbox;
use crate::sync::backoff::Jitter;
use crate::sync::deliver::{DeliverConfig, Deliverer};
use crate::sync::http::UreqTransport;
use crate::sync::rest::RestAdapter;
use crate::sync::worker::{SyncWorker, WorkerConfig};
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::time::Duration;

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Queue depth, oldest pending age, last success, dead letters, flagged results.
    Status {
        /// Database path.
        #[arg(long, default_value = "packbench.db")]
        db: String,
        /// Also list the dead letters and flagged results.
        #[arg(long)]
        verbose: bool,
    },
    /// Put dead letters back in the queue (all of them when no id is given).
    Retry {
        /// Database path.
        #[arg(long, default_value = "packbench.db")]
        db: String,
        /// Result ids to retry.
        ids: Vec<String>,
    },
    /// Export dead letters as JSON lines.
    Export {
        /// Database path.
        #[arg(long, default_value = "packbench.db")]
        db: String,
        /// Output file (stdout when absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Crash-test workload: enqueue results while uploading them, until killed.
    #[command(hide = true)]
    Stress {
        /// Database path.
        #[arg(long)]
        db: String,
        /// Order-center URL.
        #[arg(long)]
        order_center: String,
        /// Results to enqueue before exiting on its own.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// Seed for payload contents and pacing.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn open(db: &str) -> anyhow::Result<rusqlite::Connection> {
    if db != ":memory:" && !std::path::Path::new(db).exists() {
        anyhow::bail!("{db}: no such database");
    }
    Ok(crate::db::open(db)?)
}

/// Runs the subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Status { db, verbose } => {
            let c = open(&db)?;
            let st = outbox::status(&c, chrono::Utc::now())?;
            let mut v = serde_json::to_value(&st)?;
            if verbose {
                v["dead_letter_list"] = serde_json::to_value(outbox::dead_letters(&c)?)?;
                v["flagged_list"] = serde_json::to_value(outbox::flagged(&c)?)?;
            }
            println!("{v}");
            if st.flagged > 0 {
                eprintln!(
                    "ALARM: {} packed result(s) belong to orders cancelled or intercepted after packing; pull those parcels",
                    st.flagged
                );
            }
            Ok(())
        }
        Cmd::Retry { db, ids } => {
            let mut c = open(&db)?;
            let n = outbox::retry_dead_letters(&mut c, &ids)?;
            println!("{}", serde_json::json!({"requeued": n}));
            Ok(())
        }
        Cmd::Export { db, out } => {
            let c = open(&db)?;
            let n = match out {
                Some(p) => {
                    let mut f =
                        std::fs::File::create(&p).with_context(|| format!("{}", p.display()))?;
                    let n = outbox::export_dead_letters(&c, &mut f)?;
                    f.sync_all().with_context(|| format!("{}", p.display()))?;
                    n
                }
                None => outbox::export_dead_letters(&c, &mut std::io::stdout().lock())?,
            };
            eprintln!("{n} dead letter(s) exported");
            Ok(())
        }
        Cmd::Stress {
            db,
            order_center,
            count,
            seed,
        } => stress(&db, &order_center, count, seed),
    }
}

fn stress(db: &str, url: &str, count: u64, seed: u64) -> anyhow::Result<()> {
    let mut conn = crate::db::open(db)?;
    let adapter = RestAdapter::new(
        url,
        None,
        50,
        Box::new(UreqTransport::new(Duration::from_millis(800))),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let deliverer = Deliverer::new(
        Box::new(adapter),
        DeliverConfig {
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_millis(200),
            ..DeliverConfig::default()
        },
        Jitter::seeded(seed),
    );
    let worker = SyncWorker::spawn(
        WorkerConfig {
            db_path: db.to_string(),
            order_poll: None,
        },
        deliverer,
        Box::new(|_: &rusqlite::Connection, _: &domain::order::Order| Ok(())),
        Box::new(|_| {}),
    )?;
    let mut rng = Jitter::seeded(seed ^ 0x5eed);
    for i in 0..count {
        let id = uuid::Uuid::now_v7().to_string();
        let order_no = format!("S{seed}-{i}");
        let payload = serde_json::json!({
            "order_no": order_no,
            "waybill_no": format!("SF{:012}", rng.up_to(999_999_999_999)),
            "weight_g": rng.up_to(30_000),
            "station_id": "stress",
            "seq": i,
            "note": "称重 ✓",
        });
        let now = chrono::Utc::now().to_rfc3339();
        let tx = conn.transaction()?;
        outbox::enqueue(&tx, &id, &order_no, &payload.to_string(), &now)?;
        tx.commit()?;
        worker.kick();
        if rng.up_to(3) == 0 {
            std::thread::sleep(Duration::from_millis(rng.up_to(3)));
        }
    }
    worker.stop();
    Ok(())
}
