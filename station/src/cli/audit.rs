//! `packbench audit`: verify the hash-chained audit log and list entries.

use crate::store::audit;
use clap::Subcommand;

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Walk the chain: detects edited, deleted and truncated entries (exit code 1 if any).
    Verify {
        /// Database.
        #[arg(long, default_value = super::orders::DEFAULT_DB)]
        db: String,
    },
    /// Print entries as JSON lines (newest last).
    Show {
        /// Database.
        #[arg(long, default_value = super::orders::DEFAULT_DB)]
        db: String,
        /// Only this order.
        #[arg(long)]
        order: Option<String>,
        /// At most this many (the latest).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// Runs the subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Verify { db } => {
            let conn = crate::db::open(&db)?;
            let report = audit::verify(&conn)?;
            println!("{}", serde_json::to_string(&report)?);
            if report.ok() {
                eprintln!(
                    "audit log of {db}: {} entries, chain intact",
                    report.entries
                );
                Ok(())
            } else {
                for p in &report.problems {
                    eprintln!("entry {}: {}", p.seq, p.what);
                }
                anyhow::bail!(
                    "audit log of {db} is NOT intact: {} problem(s)",
                    report.problems.len()
                )
            }
        }
        Cmd::Show { db, order, limit } => {
            let conn = crate::db::open(&db)?;
            let mut st = conn.prepare(
                "SELECT seq, at, kind, order_no, operator, data, hash FROM (
                   SELECT * FROM audit WHERE ?1 IS NULL OR order_no = ?1 ORDER BY seq DESC LIMIT ?2
                 ) ORDER BY seq",
            )?;
            let rows = st.query_map(rusqlite::params![order, limit], |r| {
                Ok(serde_json::json!({
                    "seq": r.get::<_, i64>(0)?,
                    "at": r.get::<_, String>(1)?,
                    "kind": r.get::<_, String>(2)?,
                    "order_no": r.get::<_, Option<String>>(3)?,
                    "operator": r.get::<_, Option<String>>(4)?,
                    "data": serde_json::from_str::<serde_json::Value>(&r.get::<_, String>(5)?)
                        .unwrap_or(serde_json::Value::Null),
                    "hash": r.get::<_, String>(6)?,
                }))
            })?;
            for row in rows {
                println!("{}", row?);
            }
            Ok(())
        }
    }
}
