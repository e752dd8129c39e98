//! `packbench orders`: import order files into the cache and look orders up.

use crate::store::{import, orders};
use anyhow::Context;
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Default database path of the command-line tools.
pub const DEFAULT_DB: &str = "packbench.db";

/// Input formats on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// A JSON array of orders.
    Json,
    /// One JSON order per line.
    Jsonl,
    /// CSV, one row per order line.
    Csv,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Import orders from a JSON array, JSON lines or CSV file (streaming; errors name
    /// file:line:field and skip the row; exit code 1 when any row was rejected).
    Import {
        /// The file.
        file: PathBuf,
        /// Database.
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        /// Format (default: from the extension and first character).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
    },
    /// Show the order a code opens (order no, waybill no or platform order no).
    Show {
        /// The code.
        code: String,
        /// Database.
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
    },
    /// Count cached orders and pack results.
    Count {
        /// Database.
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
    },
}

/// Runs the subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Import { file, db, format } => {
            let mut conn = crate::db::open(&db)?;
            let format = format.map(|f| match f {
                FormatArg::Json => import::Format::JsonArray,
                FormatArg::Jsonl => import::Format::JsonLines,
                FormatArg::Csv => import::Format::Csv,
            });
            let started = Instant::now();
            let mut stderr = std::io::stderr();
            let summary = import::import_file(
                &mut conn,
                &file,
                format,
                chrono::Utc::now(),
                &mut |p: &import::Progress| {
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    let _ = write!(
                        stderr,
                        "\rimporting {}: {} orders, {} rejected, line {} ({:.0} orders/s)   ",
                        file.display(),
                        p.orders,
                        p.rejected,
                        p.line,
                        p.orders as f64 / secs
                    );
                },
            )
            .with_context(|| format!("importing {}", file.display()))?;
            eprintln!();
            for e in &summary.errors {
                eprintln!("rejected: {e}");
            }
            let shown = summary.errors.len() as u64;
            if summary.rejected > shown {
                eprintln!("… and {} more rejected rows", summary.rejected - shown);
            }
            eprintln!(
                "{}: {} read, {} new, {} updated, {} kept packed, {} rejected in {:.1} s",
                summary.source,
                summary.read,
                summary.inserted,
                summary.updated,
                summary.kept_packed,
                summary.rejected,
                started.elapsed().as_secs_f64()
            );
            println!("{}", serde_json::to_string(&summary)?);
            if summary.rejected > 0 {
                anyhow::bail!(
                    "{} of {} rows rejected (the others were imported)",
                    summary.rejected,
                    summary.read
                );
            }
            Ok(())
        }
        Cmd::Show { code, db } => {
            let conn = crate::db::open(&db)?;
            let all = orders::find_all_by_code(&conn, &code)?;
            if all.is_empty() {
                anyhow::bail!(
                    "no order with order no, waybill no or platform order no {code:?} in {db}"
                );
            }
            for o in all {
                println!(
                    "{}",
                    serde_json::json!({ "order": o.order, "packed": o.packed })
                );
            }
            Ok(())
        }
        Cmd::Count { db } => {
            let conn = crate::db::open(&db)?;
            println!(
                "{}",
                serde_json::json!({
                    "orders": orders::count(&conn)?,
                    "pack_results": crate::store::results::count(&conn)?,
                })
            );
            Ok(())
        }
    }
}
