//! `packbench print` (send a file to a printer) and `packbench printer` (status, job log,
//! reprint).

use anyhow::Context as _;
use clap::Subcommand;
use drivers::printer::{self, JobKind, Language, PrinterAddr, Timeouts};
use std::path::PathBuf;
use std::time::Duration;

/// Subcommands of `packbench printer`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Ask a printer for its status (TSPL `<ESC>!?` or ZPL `~HS`).
    Status {
        /// tcp://HOST:9100, usb:/dev/usb/lp0, usb:VID:PID, cups:QUEUE or dir:PATH.
        #[arg(long)]
        printer: String,
        /// Status language.
        #[arg(long, value_parser = ["tspl", "zpl"], default_value = "tspl")]
        language: String,
        /// Reply deadline in milliseconds.
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
    /// List the print job log of a station database.
    Jobs {
        /// Station database.
        #[arg(long)]
        db: String,
        /// How many (newest first).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Print arguments.
#[derive(Debug, clap::Args)]
pub struct PrintArgs {
    /// tcp://HOST:9100, usb:/dev/usb/lp0, usb:VID:PID, cups:QUEUE or dir:PATH.
    #[arg(long)]
    pub printer: String,
    /// File to send (TSPL/ZPL bytes go raw; a .pdf goes to the spooler or a folder).
    pub file: PathBuf,
    /// Connect deadline (ms).
    #[arg(long, default_value_t = 3000)]
    pub connect_timeout_ms: u64,
    /// Write deadline (ms).
    #[arg(long, default_value_t = 10000)]
    pub write_timeout_ms: u64,
}

/// Runs `printer`.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Status {
            printer: p,
            language,
            timeout_ms,
        } => {
            let addr: PrinterAddr = p.parse()?;
            let lang = if language == "zpl" {
                Language::Zpl
            } else {
                Language::Tspl
            };
            let t = Timeouts {
                read: Duration::from_millis(timeout_ms),
                ..Timeouts::default()
            };
            let st = printer::query_status(&addr, lang, &t)
                .map_err(|e| anyhow::anyhow!("{} [{}]", e.bench_message(), e.code()))?;
            println!(
                "{}",
                serde_json::json!({
                    "printer": addr.to_string(),
                    "ready": st.is_ready(),
                    "message": st.message(),
                    "status": st,
                })
            );
            if st.is_ready() {
                Ok(())
            } else {
                anyhow::bail!("printer {addr}: {}", st.message())
            }
        }
        Cmd::Jobs { db, limit } => {
            let conn = crate::db::open(&db)?;
            let mut st = conn.prepare(
                "SELECT job_id, label_id, order_no, state, attempts, last_error, printer, format,
                        created_at, printed_at, reprint_of
                 FROM print_jobs ORDER BY created_at DESC, rowid DESC LIMIT ?1",
            )?;
            let rows = st.query_map([limit], |r| {
                Ok(serde_json::json!({
                    "job_id": r.get::<_, String>(0)?,
                    "label_id": r.get::<_, String>(1)?,
                    "order_no": r.get::<_, Option<String>>(2)?,
                    "state": r.get::<_, String>(3)?,
                    "attempts": r.get::<_, i64>(4)?,
                    "last_error": r.get::<_, Option<String>>(5)?,
                    "printer": r.get::<_, String>(6)?,
                    "format": r.get::<_, String>(7)?,
                    "created_at": r.get::<_, String>(8)?,
                    "printed_at": r.get::<_, Option<String>>(9)?,
                    "reprint_of": r.get::<_, Option<String>>(10)?,
                }))
            })?;
            for row in rows {
                println!("{}", row?);
            }
            Ok(())
        }
    }
}

/// Runs `print`.
pub fn print(a: PrintArgs) -> anyhow::Result<()> {
    let addr: PrinterAddr = a.printer.parse()?;
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let kind = match a
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => JobKind::Pdf,
        Some("png") => JobKind::Png,
        _ => JobKind::Raw,
    };
    let t = Timeouts {
        connect: Duration::from_millis(a.connect_timeout_ms),
        write: Duration::from_millis(a.write_timeout_ms),
        ..Timeouts::default()
    };
    let name = a
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("job")
        .to_string();
    let report = printer::send(&addr, &bytes, kind, &name, &t)
        .map_err(|e| anyhow::anyhow!("{} [{}]", e.bench_message(), e.code()))?;
    println!(
        "{}",
        serde_json::json!({ "printer": addr.to_string(), "report": report })
    );
    Ok(())
}
