//! Label printing in the station: a print queue with a job log, reprint by label id, and the
//! [`LabelService`](crate::station::LabelService) the station calls after each committed pack.
//!
//! Flow: `on_pack_recorded` turns the pack record into [`LabelData`], renders the PNG preview
//! for the screen, writes a `queued` row to `print_jobs` and hands the job id to the printing
//! thread. That thread owns the printer: it renders the job (TSPL, ZPL or PDF), optionally
//! asks the printer for its status, sends it, and records `printed` or — after the configured
//! retries — `failed` with the reason. A job is never dropped silently: failures are in the
//! log and reported to the listener, jobs left `queued`/`printing` by a crash are picked up
//! again at start, and `retry`/`reprint` put a job back on the printer.
//!
//! A reprint is a new job row with the **same label id, template and data** as the original,
//! so the waybill printed again is byte-for-byte the same label.
//!
//! Architecture invariant: printing (SQLite + printer IO) runs on its own thread and blocks;
//! nothing here runs on an async runtime.

use crate::db::Migration;
use crate::error::{Error, Result};
use crate::store::results::PackRecord;
use chrono::{DateTime, Utc};
use drivers::printer::{self, JobKind, Language, PrinterAddr, PrinterError, Timeouts};
use labels::{FontConfig, Fonts, Format, LabelData, Template};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The job log.
pub const MIGRATIONS: &[Migration] = &[Migration {
    name: "printing_001_jobs",
    sql: "CREATE TABLE IF NOT EXISTS print_jobs (
        job_id TEXT PRIMARY KEY,
        label_id TEXT NOT NULL,
        result_id TEXT,
        order_no TEXT,
        template TEXT NOT NULL,
        format TEXT NOT NULL,
        printer TEXT NOT NULL,
        data TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued','printing','printed','failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        reprint_of TEXT,
        bytes INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        printed_at TEXT
    );
    CREATE INDEX IF NOT EXISTS print_jobs_label ON print_jobs(label_id);
    CREATE INDEX IF NOT EXISTS print_jobs_state ON print_jobs(state);",
}];

/// Sender details printed on shipping labels (`[labels.sender]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SenderConfig {
    /// Name (warehouse or shop).
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Province.
    pub province: String,
    /// City.
    pub city: String,
    /// District.
    pub district: String,
    /// Street address.
    pub address: String,
}

/// The `[labels]` section of the station configuration.
///
/// ```toml
/// [labels]
/// template = "labels/templates/express-100x150.toml"
/// format = "tspl"                  # tspl | zpl | pdf
/// printer = "tcp://192.0.2.50:9100" # usb:/dev/usb/lp0 | usb:VID:PID | cups:QUEUE | dir:PATH
/// preview_dir = "labels-preview"   # PNG previews for the screen
/// retries = 3
/// retry_backoff_ms = 800
/// check_status = true              # ask the printer (ESC!? / ~HS) before each job
/// [labels.font]
/// path = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
/// index = 2
/// [labels.sender]
/// name = "好物仓"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelsConfig {
    /// Print labels at all.
    pub enabled: bool,
    /// Template file.
    pub template: PathBuf,
    /// What the printer speaks.
    pub format: Format,
    /// Where the printer is (see [`PrinterAddr`]); demo mode: `dir:` a folder of PDFs.
    pub printer: String,
    /// Where PNG previews go (one per label id); empty = no preview.
    pub preview_dir: Option<PathBuf>,
    /// Attempts after the first before a job is `failed`.
    pub retries: u32,
    /// Wait between attempts (doubles each time).
    pub retry_backoff_ms: u64,
    /// Ask the printer for its status before sending (TSPL/ZPL over TCP or USB).
    pub check_status: bool,
    /// Copies per label.
    pub copies: u32,
    /// Printer IO deadlines.
    pub timeouts: TimeoutsConfig,
    /// The CJK font.
    pub font: FontConfig,
    /// Sender printed on shipping labels.
    pub sender: SenderConfig,
}

/// Printer deadlines in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeoutsConfig {
    /// Connect/open.
    pub connect_ms: u64,
    /// Whole-job write.
    pub write_ms: u64,
    /// Status reply.
    pub read_ms: u64,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        let t = Timeouts::default();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        TimeoutsConfig {
            connect_ms: ms(t.connect),
            write_ms: ms(t.write),
            read_ms: ms(t.read),
        }
    }
}

impl TimeoutsConfig {
    /// As driver timeouts.
    pub fn to_timeouts(self) -> Timeouts {
        Timeouts {
            connect: Duration::from_millis(self.connect_ms),
            write: Duration::from_millis(self.write_ms),
            read: Duration::from_millis(self.read_ms),
        }
    }
}

impl Default for LabelsConfig {
    fn default() -> Self {
        LabelsConfig {
            enabled: true,
            template: PathBuf::from("labels/templates/express-100x150.toml"),
            format: Format::Pdf,
            printer: "dir:labels-out".into(),
            preview_dir: Some(PathBuf::from("labels-preview")),
            retries: 3,
            retry_backoff_ms: 800,
            check_status: true,
            copies: 1,
            timeouts: TimeoutsConfig::default(),
            font: FontConfig::default(),
            sender: SenderConfig::default(),
        }
    }
}

/// State of a print job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for the printer thread.
    Queued,
    /// Being sent.
    Printing,
    /// Handed to the printer.
    Printed,
    /// Gave up after retries; see `last_error`.
    Failed,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Printing => "printing",
            JobState::Printed => "printed",
            JobState::Failed => "failed",
        }
    }
    fn parse(s: &str) -> JobState {
        match s {
            "printing" => JobState::Printing,
            "printed" => JobState::Printed,
            "failed" => JobState::Failed,
            _ => JobState::Queued,
        }
    }
}

/// One row of the job log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrintJob {
    /// Job id (UUIDv7).
    pub job_id: String,
    /// Label id (same for reprints).
    pub label_id: String,
    /// Pack result, if the label belongs to one.
    pub result_id: Option<String>,
    /// Order no.
    pub order_no: Option<String>,
    /// Template file.
    pub template: String,
    /// Format sent.
    pub format: Format,
    /// Printer address.
    pub printer: String,
    /// The label data (JSON).
    pub data: LabelData,
    /// State.
    pub state: JobState,
    /// Attempts made.
    pub attempts: u32,
    /// Why the last attempt failed, for the bench: the cause in Chinese and English, then the
    /// printer and the detail (`PrinterError::bench_message`), e.g. `缺纸：请装入标签纸 / paper
    /// out: load labels — printer tcp://192.0.2.5:9100`.
    pub last_error: Option<String>,
    /// The job this one reprints.
    pub reprint_of: Option<String>,
    /// Bytes sent.
    pub bytes: Option<u64>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Printed (RFC 3339).
    pub printed_at: Option<String>,
}

/// What the printing thread reports (to the UI, via the listener).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrintEvent {
    /// Job id.
    pub job_id: String,
    /// Label id.
    pub label_id: String,
    /// Order no.
    pub order_no: Option<String>,
    /// New state.
    pub state: JobState,
    /// Attempt number.
    pub attempt: u32,
    /// Stable error code (`printer_offline`, `printer_timeout`, `printer_not_ready`,
    /// `printer_spooler`, `label_render` …) when it failed or is being retried.
    pub code: Option<String>,
    /// Message for the bench: `printed (REFERENCE)`, or the failure as in
    /// [`PrintJob::last_error`] (cause, printer, detail; `; retrying` while retries remain).
    pub message: String,
}

/// The clock the queue stamps the log with (injected for tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Receives print events.
pub type Listener = Arc<dyn Fn(PrintEvent) + Send + Sync>;

fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { op, source }
}

fn invalid(place: &str, message: impl Into<String>) -> Error {
    Error::Invalid {
        place: place.into(),
        message: message.into(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Msg {
    Job(String),
    Stop,
}

struct Shared {
    db: Mutex<Connection>,
    cfg: LabelsConfig,
    fonts: Option<Arc<Fonts>>,
    template: Arc<Template>,
    clock: Clock,
    listener: Mutex<Option<Listener>>,
}

/// The print queue: a job log in SQLite and a printing thread.
pub struct PrintQueue {
    shared: Arc<Shared>,
    tx: Mutex<Sender<Msg>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for PrintQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintQueue")
            .field("printer", &self.shared.cfg.printer)
            .finish_non_exhaustive()
    }
}

impl PrintQueue {
    /// Opens the job log at `db_path` (the station database; `:memory:` keeps a private one),
    /// loads the template and font, and starts the printing thread. Jobs left `queued` or
    /// `printing` by a previous run are printed again.
    pub fn start(db_path: &str, cfg: LabelsConfig, clock: Clock) -> Result<PrintQueue> {
        let conn = crate::db::open(db_path)?;
        parse_printer(&cfg.printer)?;
        let template = Template::load(&cfg.template)
            .map_err(|e| invalid("[labels] template", e.to_string()))?;
        let fonts = match Fonts::load(&cfg.font) {
            Ok(f) => Some(Arc::new(f)),
            // TSPL with the printer's own font can print without a font file; everything
            // else needs one.
            Err(e) if cfg.format == Format::Tspl => {
                eprintln!("warning: [labels] {e}; TSPL text uses the printer font only");
                None
            }
            Err(e) => return Err(invalid("[labels] font", e.to_string())),
        };
        let shared = Arc::new(Shared {
            db: Mutex::new(conn),
            cfg,
            fonts,
            template: Arc::new(template),
            clock,
            listener: Mutex::new(None),
        });
        let (tx, rx) = channel();
        let pending: Vec<String> = {
            let db = lock(&shared.db);
            let mut st = db
                .prepare(
                    "SELECT job_id FROM print_jobs WHERE state IN ('queued','printing') ORDER BY created_at, rowid",
                )
                .map_err(sql("read pending print jobs"))?;
            let rows = st
                .query_map([], |r| r.get(0))
                .map_err(sql("read pending print jobs"))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(sql("read pending print jobs"))?
        };
        for id in pending {
            let _ = tx.send(Msg::Job(id));
        }
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("printing".into())
            .spawn(move || worker_loop(&worker_shared, &rx))
            .map_err(|e| Error::Io {
                path: "printing thread".into(),
                source: e,
            })?;
        Ok(PrintQueue {
            shared,
            tx: Mutex::new(tx),
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Sets who hears about jobs printed and failed.
    pub fn set_listener(&self, l: Listener) {
        *lock(&self.shared.listener) = Some(l);
    }

    /// The configuration in force.
    pub fn config(&self) -> &LabelsConfig {
        &self.shared.cfg
    }

    /// Queues a label with `data` (label id taken from `data.label_id`). Returns the job id
    /// once the job is in the log.
    pub fn submit(
        &self,
        data: &LabelData,
        result_id: Option<&str>,
        reprint_of: Option<&str>,
    ) -> Result<String> {
        if data.label_id.is_empty() {
            return Err(invalid("print job", "label data has no label_id"));
        }
        let job_id = uuid::Uuid::now_v7().to_string();
        let now = (self.shared.clock)().to_rfc3339();
        let data_json = serde_json::to_string(data)
            .map_err(|e| invalid("print job", format!("label data: {e}")))?;
        let cfg = &self.shared.cfg;
        lock(&self.shared.db)
            .execute(
                "INSERT INTO print_jobs (job_id, label_id, result_id, order_no, template, format,
                    printer, data, state, created_at, updated_at, reprint_of)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?9, ?10)",
                params![
                    job_id,
                    data.label_id,
                    result_id,
                    (!data.order.no.is_empty()).then_some(&data.order.no),
                    cfg.template.display().to_string(),
                    cfg.format.extension(),
                    cfg.printer,
                    data_json,
                    now,
                    reprint_of
                ],
            )
            .map_err(sql("queue print job"))?;
        self.wake(&job_id);
        Ok(job_id)
    }

    fn wake(&self, job_id: &str) {
        let _ = lock(&self.tx).send(Msg::Job(job_id.to_string()));
    }

    /// Prints a label again: a new job with the same label id, template and data as the
    /// label's original job (recorded in `reprint_of`).
    pub fn reprint(&self, label_id: &str) -> Result<String> {
        let original = self
            .jobs_for_label(label_id)?
            .into_iter()
            .next()
            .ok_or_else(|| invalid("reprint", format!("no label {label_id} in the print log")))?;
        self.submit(
            &original.data,
            original.result_id.as_deref(),
            Some(&original.job_id),
        )
    }

    /// Puts a failed job back on the printer.
    pub fn retry(&self, job_id: &str) -> Result<()> {
        let now = (self.shared.clock)().to_rfc3339();
        let n = lock(&self.shared.db)
            .execute(
                "UPDATE print_jobs SET state = 'queued', attempts = 0, updated_at = ?2
                 WHERE job_id = ?1 AND state = 'failed'",
                params![job_id, now],
            )
            .map_err(sql("retry print job"))?;
        if n == 0 {
            return Err(invalid(
                "retry",
                format!("job {job_id} is not a failed job"),
            ));
        }
        self.wake(job_id);
        Ok(())
    }

    /// One job.
    pub fn job(&self, job_id: &str) -> Result<Option<PrintJob>> {
        let db = lock(&self.shared.db);
        read_job(&db, job_id)
    }

    /// Every job of a label, oldest first.
    pub fn jobs_for_label(&self, label_id: &str) -> Result<Vec<PrintJob>> {
        let db = lock(&self.shared.db);
        query_jobs(
            &db,
            "WHERE label_id = ?1 ORDER BY created_at, rowid",
            &[&label_id],
        )
    }

    /// The latest `limit` jobs, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<PrintJob>> {
        let db = lock(&self.shared.db);
        query_jobs(
            &db,
            "ORDER BY created_at DESC, rowid DESC LIMIT ?1",
            &[&limit],
        )
    }

    /// Renders the PNG preview of `data` into the preview folder; returns its path.
    pub fn preview(&self, data: &LabelData) -> Result<Option<PathBuf>> {
        let Some(dir) = &self.shared.cfg.preview_dir else {
            return Ok(None);
        };
        let fonts = self.shared.fonts.as_deref();
        let png = labels::layout(&self.shared.template, data, fonts)
            .and_then(|l| labels::render(&l, Format::Png, fonts, 1))
            .map_err(|e| invalid("label preview", e.to_string()))?;
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let name: String = data
            .label_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Some(path))
    }

    /// Waits until `job_id` is printed or failed (for tools and tests), at most `timeout`.
    pub fn wait(&self, job_id: &str, timeout: Duration) -> Result<PrintJob> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let job = self
                .job(job_id)?
                .ok_or_else(|| invalid("wait", format!("no job {job_id}")))?;
            if matches!(job.state, JobState::Printed | JobState::Failed)
                || std::time::Instant::now() >= deadline
            {
                return Ok(job);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the printing thread after the job in hand (queued jobs stay in the log).
    pub fn stop(&self) {
        let _ = lock(&self.tx).send(Msg::Stop);
        if let Some(h) = lock(&self.worker).take() {
            let _ = h.join();
        }
    }
}

impl Drop for PrintQueue {
    fn drop(&mut self) {
        self.stop();
    }
}

fn parse_printer(s: &str) -> Result<PrinterAddr> {
    s.parse::<PrinterAddr>()
        .map_err(|e| invalid("[labels] printer", e.to_string()))
}

const JOB_COLS: &str = "job_id, label_id, result_id, order_no, template, format, printer, data,
    state, attempts, last_error, reprint_of, bytes, created_at, printed_at";

fn row_to_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<PrintJob> {
    let data: String = r.get(7)?;
    let format: String = r.get(5)?;
    let state: String = r.get(8)?;
    Ok(PrintJob {
        job_id: r.get(0)?,
        label_id: r.get(1)?,
        result_id: r.get(2)?,
        order_no: r.get(3)?,
        template: r.get(4)?,
        format: Format::parse(&format).unwrap_or(Format::Pdf),
        printer: r.get(6)?,
        data: serde_json::from_str(&data).unwrap_or_default(),
        state: JobState::parse(&state),
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        reprint_of: r.get(11)?,
        bytes: r.get(12)?,
        created_at: r.get(13)?,
        printed_at: r.get(14)?,
    })
}

fn read_job(db: &Connection, job_id: &str) -> Result<Option<PrintJob>> {
    db.query_row(
        &format!("SELECT {JOB_COLS} FROM print_jobs WHERE job_id = ?1"),
        [job_id],
        row_to_job,
    )
    .optional()
    .map_err(sql("read print job"))
}

fn query_jobs(db: &Connection, tail: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<PrintJob>> {
    let mut st = db
        .prepare(&format!("SELECT {JOB_COLS} FROM print_jobs {tail}"))
        .map_err(sql("list print jobs"))?;
    let rows = st
        .query_map(p, row_to_job)
        .map_err(sql("list print jobs"))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(sql("list print jobs"))
}

fn status_language(format: Format) -> Option<Language> {
    match format {
        Format::Tspl => Some(Language::Tspl),
        Format::Zpl => Some(Language::Zpl),
        Format::Pdf | Format::Png => None,
    }
}

fn job_kind(format: Format) -> JobKind {
    match format {
        Format::Tspl | Format::Zpl => JobKind::Raw,
        Format::Pdf => JobKind::Pdf,
        Format::Png => JobKind::Png,
    }
}

/// Renders one job's bytes (template cached by path; the configured template is preloaded).
fn render_job(
    sh: &Shared,
    cache: &mut HashMap<String, Arc<Template>>,
    job: &PrintJob,
) -> std::result::Result<Vec<u8>, String> {
    let template = match cache.get(&job.template) {
        Some(t) => t.clone(),
        None => {
            let t = if Path::new(&job.template) == sh.cfg.template {
                sh.template.clone()
            } else {
                Arc::new(Template::load(Path::new(&job.template)).map_err(|e| e.to_string())?)
            };
            cache.insert(job.template.clone(), t.clone());
            t
        }
    };
    let fonts = sh.fonts.as_deref();
    let layout = labels::layout(&template, &job.data, fonts).map_err(|e| e.to_string())?;
    labels::render(&layout, job.format, fonts, sh.cfg.copies).map_err(|e| e.to_string())
}

fn attempt(sh: &Shared, job: &PrintJob, bytes: &[u8]) -> std::result::Result<String, PrinterError> {
    let addr: PrinterAddr = job.printer.parse()?;
    let t = sh.cfg.timeouts.to_timeouts();
    let can_query = matches!(
        addr,
        PrinterAddr::Tcp { .. } | PrinterAddr::UsbDevice(_) | PrinterAddr::UsbId { .. }
    );
    if let (true, true, Some(lang)) = (sh.cfg.check_status, can_query, status_language(job.format))
    {
        let st = printer::query_status(&addr, lang, &t)?;
        if !st.is_ready() {
            return Err(PrinterError::NotReady {
                addr: addr.to_string(),
                status: st,
            });
        }
    }
    let name = job_name(&job.label_id, &job.job_id);
    let report = printer::send(&addr, bytes, job_kind(job.format), &name, &t)?;
    Ok(report
        .reference
        .unwrap_or_else(|| format!("{} bytes", report.bytes)))
}

/// The name a job is sent under (spooler title, file name in a `dir:` printer).
pub fn job_name(label_id: &str, job_id: &str) -> String {
    format!("{label_id}-{}", &job_id[job_id.len().saturating_sub(8)..])
}

/// Standard base64 (for the preview the UI shows inline).
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= c.len() {
                out.push(char::from(T[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn set_state(
    sh: &Shared,
    job_id: &str,
    state: JobState,
    attempts: u32,
    err: Option<&str>,
    bytes: Option<usize>,
) {
    let now = (sh.clock)().to_rfc3339();
    let printed_at = (state == JobState::Printed).then_some(now.clone());
    let res = lock(&sh.db).execute(
        "UPDATE print_jobs SET state = ?2, attempts = ?3, last_error = ?4, updated_at = ?5,
            printed_at = COALESCE(?6, printed_at), bytes = COALESCE(?7, bytes) WHERE job_id = ?1",
        params![
            job_id,
            state.as_str(),
            attempts,
            err,
            now,
            printed_at,
            bytes.map(|b| b as i64)
        ],
    );
    if let Err(e) = res {
        eprintln!("error: print job {job_id}: cannot update the job log: {e}");
    }
}

fn emit(sh: &Shared, ev: PrintEvent) {
    let l = lock(&sh.listener).clone();
    if let Some(l) = l {
        l(ev);
    }
}

fn process(
    sh: &Shared,
    cache: &mut HashMap<String, Arc<Template>>,
    job_id: &str,
    rx: &Receiver<Msg>,
) -> bool {
    let mut job = match read_job(&lock(&sh.db), job_id) {
        Ok(Some(j)) if matches!(j.state, JobState::Queued | JobState::Printing) => j,
        Ok(_) => return true,
        Err(e) => {
            eprintln!("error: print job {job_id}: {e}");
            return true;
        }
    };
    // A job goes to the printer configured now (the bench may have swapped printers since it
    // was queued); the label itself is fixed by its template and data.
    if job.printer != sh.cfg.printer || job.format != sh.cfg.format {
        job.printer = sh.cfg.printer.clone();
        job.format = sh.cfg.format;
        let res = lock(&sh.db).execute(
            "UPDATE print_jobs SET printer = ?2, format = ?3 WHERE job_id = ?1",
            params![job_id, job.printer, job.format.extension()],
        );
        if let Err(e) = res {
            eprintln!("error: print job {job_id}: cannot update the job log: {e}");
        }
    }
    let job = job;
    let ev = |state, attempt, code: Option<&str>, message: String| PrintEvent {
        job_id: job.job_id.clone(),
        label_id: job.label_id.clone(),
        order_no: job.order_no.clone(),
        state,
        attempt,
        code: code.map(str::to_string),
        message,
    };
    let bytes = match render_job(sh, cache, &job) {
        Ok(b) => b,
        Err(m) => {
            // A label that cannot be rendered will not render on retry either.
            let msg = format!("标签无法生成 / cannot render label {}: {m}", job.label_id);
            set_state(
                sh,
                job_id,
                JobState::Failed,
                job.attempts + 1,
                Some(&msg),
                None,
            );
            emit(
                sh,
                ev(
                    JobState::Failed,
                    job.attempts + 1,
                    Some("label_render"),
                    msg,
                ),
            );
            return true;
        }
    };
    let max = sh.cfg.retries + 1;
    let mut attempts = job.attempts;
    let mut backoff = Duration::from_millis(sh.cfg.retry_backoff_ms);
    loop {
        attempts += 1;
        set_state(sh, job_id, JobState::Printing, attempts, None, None);
        match attempt(sh, &job, &bytes) {
            Ok(reference) => {
                set_state(
                    sh,
                    job_id,
                    JobState::Printed,
                    attempts,
                    None,
                    Some(bytes.len()),
                );
                emit(
                    sh,
                    ev(
                        JobState::Printed,
                        attempts,
                        None,
                        format!("printed ({reference})"),
                    ),
                );
                return true;
            }
            Err(e) => {
                // Cause first, in the packer's words, then the printer and the detail.
                let msg = e.bench_message();
                if !e.is_transient() || attempts >= max {
                    set_state(sh, job_id, JobState::Failed, attempts, Some(&msg), None);
                    emit(sh, ev(JobState::Failed, attempts, Some(e.code()), msg));
                    return true;
                }
                set_state(sh, job_id, JobState::Printing, attempts, Some(&msg), None);
                emit(
                    sh,
                    ev(
                        JobState::Printing,
                        attempts,
                        Some(e.code()),
                        format!("{msg}; retrying"),
                    ),
                );
                // Wait, but wake for a stop request.
                match rx.recv_timeout(backoff) {
                    Ok(Msg::Stop) => {
                        set_state(sh, job_id, JobState::Queued, attempts, Some(&msg), None);
                        return false;
                    }
                    // Another job arrived during the wait: it stays `queued` in the log and
                    // the sweep after this job prints it, in order. The wait ends early.
                    Ok(Msg::Job(_)) => {}
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return false,
                }
                backoff = backoff.saturating_mul(2);
            }
        }
    }
}

/// Lays out and renders a sample label once, off the bench's path, so the fonts' glyphs and
/// the template's fixed text are rasterised before the first parcel (a cold ZPL label with
/// bitmap text costs ~1.6 ms, a warm one ~0.15 ms). A failure here only warns: the first real
/// job reports it properly.
fn warm_up(sh: &Shared) {
    let fonts = sh.fonts.as_deref();
    let rendered = labels::layout(&sh.template, &LabelData::sample(), fonts)
        .and_then(|l| labels::render(&l, sh.cfg.format, fonts, 1));
    if let Err(e) = rendered {
        eprintln!("warning: label warm-up with sample data: {e}");
    }
}

fn worker_loop(sh: &Shared, rx: &Receiver<Msg>) {
    warm_up(sh);
    let mut cache = HashMap::new();
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Stop => return,
            Msg::Job(id) => {
                if !process(sh, &mut cache, &id, rx) {
                    return;
                }
                // Jobs whose wake-up was consumed during a retry wait are still queued.
                let queued: Vec<String> = {
                    let db = lock(&sh.db);
                    query_jobs(
                        &db,
                        "WHERE state = 'queued' ORDER BY created_at, rowid",
                        &[],
                    )
                    .map(|v| v.into_iter().map(|j| j.job_id).collect())
                    .unwrap_or_default()
                };
                for q in queued {
                    if !process(sh, &mut cache, &q, rx) {
                        return;
                    }
                }
            }
        }
    }
}

/// Builds the label data of a committed pack: order, waybill, receiver, weight, cost (from
/// the quote, when there is one) and the configured sender. The label id is the result id,
/// so every reprint carries the same id.
pub fn label_data(record: &PackRecord, sender: &SenderConfig) -> LabelData {
    let o = &record.order;
    let r = &record.result;
    let d = &o.destination;
    let cost_fen = r.quote.as_ref().and_then(quote_total_fen);
    let items: Vec<String> = o
        .lines
        .iter()
        .map(|l| format!("{} x{}", l.name, l.qty))
        .collect();
    let units: u64 = o.lines.iter().map(|l| u64::from(l.qty)).sum();
    LabelData {
        label_id: r.result_id.clone(),
        order: labels::data::OrderData {
            no: o.order_no.clone(),
            platform_no: o.platform_order_nos.first().cloned().unwrap_or_default(),
            shop: o.shop.clone().unwrap_or_default(),
            remark: String::new(),
        },
        waybill: labels::data::WaybillData {
            no: r.waybill_no.clone().unwrap_or_default(),
            carrier: carrier_name(&o.carrier),
            routing_code: o.routing_code.clone().unwrap_or_default(),
            package_center: String::new(),
            sort_code: String::new(),
        },
        sender: labels::data::Party {
            name: sender.name.clone(),
            phone: sender.phone.clone(),
            province: sender.province.clone(),
            city: sender.city.clone(),
            district: sender.district.clone(),
            address: sender.address.clone(),
            ..Default::default()
        },
        receiver: labels::data::Party {
            name: d.name.clone().unwrap_or_default(),
            phone: d.phone.clone().unwrap_or_default(),
            province: d.province.clone(),
            city: d.city.clone(),
            district: d.district.clone(),
            address: d.address.clone(),
            ..Default::default()
        },
        weight_g: u64::try_from(r.weight_g.get()).ok(),
        cost_fen,
        item_count: u32::try_from(units).ok(),
        items: items.join(", "),
        // Labels in China show Beijing time.
        packed_at: match chrono::FixedOffset::east_opt(8 * 3600) {
            Some(tz) => r
                .packed_at
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            None => r.packed_at.format("%Y-%m-%d %H:%M").to_string(),
        },
        packer: r.operator.clone().unwrap_or_default(),
        station: r.station_id.clone(),
        extra: Default::default(),
    }
}

/// The total cost in fen from a quote record: `total_fen` at the top, or under `assigned` /
/// `cheapest`.
pub fn quote_total_fen(q: &serde_json::Value) -> Option<i64> {
    q.get("total_fen")
        .or_else(|| q.get("assigned").and_then(|a| a.get("total_fen")))
        .or_else(|| q.get("cheapest").and_then(|a| a.get("total_fen")))
        .and_then(serde_json::Value::as_i64)
}

/// The Chinese name of a carrier code, for the label header (unknown codes as given).
pub fn carrier_name(code: &str) -> String {
    match code.to_ascii_uppercase().as_str() {
        "SF" => "顺丰速运",
        "ZTO" => "中通快递",
        "YTO" => "圆通速递",
        "YUNDA" | "YD" => "韵达快递",
        "STO" => "申通快递",
        "JD" => "京东物流",
        "EMS" => "EMS",
        "YZPY" | "CHINAPOST" => "中国邮政",
        "JT" | "JTSD" => "极兔速递",
        "DBL" | "DEPPON" => "德邦快递",
        _ => return code.to_string(),
    }
    .to_string()
}

/// The station's label hook: preview, queue, report.
pub struct Printing {
    queue: Arc<PrintQueue>,
}

impl Printing {
    /// Wraps a running queue.
    pub fn new(queue: Arc<PrintQueue>) -> Self {
        Printing { queue }
    }
    /// The queue (for reprint, retry, the job log).
    pub fn queue(&self) -> &Arc<PrintQueue> {
        &self.queue
    }
}

impl crate::station::LabelService for Printing {
    fn on_pack_recorded(
        &self,
        record: &PackRecord,
    ) -> std::result::Result<serde_json::Value, String> {
        let cfg = self.queue.config();
        if !cfg.enabled {
            return Ok(serde_json::json!({ "state": "disabled" }));
        }
        let data = label_data(record, &cfg.sender);
        // The preview is a convenience: a failure there must not stop the print.
        let preview = match self.queue.preview(&data) {
            Ok(p) => p.map(|p| p.display().to_string()),
            Err(e) => {
                eprintln!("warning: {e}");
                None
            }
        };
        let job_id = self
            .queue
            .submit(&data, Some(&record.result.result_id), None)
            .map_err(|e| e.to_string())?;
        let file = match cfg.printer.parse::<PrinterAddr>() {
            Ok(PrinterAddr::Dir(dir)) => Some(
                dir.join(format!(
                    "{}.{}",
                    job_name(&data.label_id, &job_id),
                    cfg.format.extension()
                ))
                .display()
                .to_string(),
            ),
            _ => None,
        };
        let preview_png_b64 = preview
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| base64(&b));
        // `status` follows the view's vocabulary (none / printing / printed / failed); the
        // outcome of the job arrives later through the queue's listener.
        Ok(serde_json::json!({
            "status": "printing",
            "state": "queued",
            "job_id": job_id,
            "label_id": data.label_id,
            "printer": cfg.printer,
            "detail": format!("{} ({})", cfg.printer, cfg.format.extension()),
            "format": cfg.format.extension(),
            "preview": preview,
            "preview_png_b64": preview_png_b64,
            "file": file,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o, "{i}");
        }
    }

    #[test]
    fn cost_comes_from_the_quote() {
        for (q, want) in [
            (serde_json::json!({"total_fen": 800}), Some(800)),
            (
                serde_json::json!({"assigned": {"total_fen": 1200}}),
                Some(1200),
            ),
            (
                serde_json::json!({"cheapest": {"total_fen": 900}}),
                Some(900),
            ),
            (serde_json::json!({"assigned": null}), None),
        ] {
            assert_eq!(quote_total_fen(&q), want, "{q}");
        }
        assert_eq!(carrier_name("zto"), "中通快递");
        assert_eq!(carrier_name("ACME"), "ACME");
    }
}
