//! `packbench order-center serve --port N`: the reference order-center server (the same one the
//! tests use), for demos and integration work. Listens on 127.0.0.1 only.

use crate::sync::test_server::{Fault, OrderCenterServer, ServerOptions};
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Serve the reference contract on 127.0.0.1.
    Serve {
        /// Port (0 = any free port; the chosen URL is printed).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Database file (default: a temporary one, deleted on exit).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Require this bearer token (read from the named environment variable).
        #[arg(long)]
        token_env: Option<String>,
        /// Orders to serve (a JSON array or JSON lines in the import format).
        #[arg(long)]
        orders: Option<PathBuf>,
        /// Inject a random fault into this many of every 1000 uploads.
        #[arg(long, default_value_t = 0)]
        fault_permille: u32,
        /// Seed of the random faults.
        #[arg(long, default_value_t = 1)]
        fault_seed: u64,
    },
}

fn read_orders(p: &PathBuf) -> anyhow::Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text).with_context(|| format!("{}", p.display()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}:{}", p.display(), i + 1)))
        .collect()
}

/// Runs the subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Serve {
            port,
            db,
            token_env,
            orders,
            fault_permille,
            fault_seed,
        } => {
            let token = match token_env {
                Some(v) => {
                    Some(std::env::var(&v).with_context(|| format!("--token-env {v}: not set"))?)
                }
                None => None,
            };
            let server = OrderCenterServer::start(ServerOptions {
                port,
                db_path: db,
                token,
            })?;
            if let Some(p) = orders {
                let list = read_orders(&p)?;
                server
                    .upsert_orders(&list)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                eprintln!("{} order(s) loaded from {}", list.len(), p.display());
            }
            if fault_permille > 0 {
                server.set_random_faults(fault_permille, Fault::all(2000), fault_seed);
            }
            println!("{}", serde_json::json!({"listening": server.url()}));
            server.wait();
            Ok(())
        }
    }
}
