//! The bench application facade: everything the desktop shell (and its tests) call, in one
//! transport-agnostic API over the [`Station`], the demo devices and the queue.
//!
//! [`AppHandle::start`] moves an [`App`] onto its own thread (the only owner of the station's
//! SQLite connection and of the simulated devices) and returns a handle that runs closures there
//! ([`AppHandle::call`]) plus a receiver of [`AppEvent`]s (view changes, live weight, raw device
//! bytes, queue changes). The Tauri commands are one line each over this; tests drive [`App`]
//! directly.
//!
//! What this module must never do: decide anything about an order. Verification, tolerances,
//! overrides and recording live in [`domain::verify`] and [`Station`]; this module turns their
//! state into view models ([`AppView`]) and routes intents and device readings to them.
//!
//! Demo mode (no hardware configured): a fresh SQLite file seeded with the bundled demo orders,
//! a simulated MT-SICS scale whose bytes go through the real decoder and auto-capture
//! ([`drivers::scale`]), a panel of sample barcodes, and labels rendered to files.
//!
//! Configured mode (a `station.toml`): the rate cards of `[rates]` quote each pack, `[labels]`
//! prints through a [`PrintQueue`] (job log in its own database file, [`PRINT_DB_FILE`]), the
//! `[scale]` device thread's captures become weight intents on this thread, `[scanner]` sources
//! and the window's keyboard wedge share one [`ScannerHub`] pipeline (double reads dropped,
//! scans numbered), and `[order_center]` runs the sync thread: kicked after each recorded pack,
//! its order downloads re-check the open order, and a result packed for an order cancelled or
//! intercepted meanwhile raises a stop alarm. Every thread is stopped when the app is dropped.

use crate::config::StationConfig;
use crate::devices::scale::{ScaleDevice, ScaleEvent, ScaleStatus};
use crate::devices::scanner::{HubEvent, ScannerConfig, ScannerHub};
use crate::error::{Error, Result};
use crate::outbox::Flagged;
use crate::printing::{JobState, LabelsConfig, PrintEvent, PrintQueue, Printing};
use crate::rating::Rating;
use crate::station::{Intent, PackView, Station, StationEvent, DEMO_ORDERS};
use crate::sync::worker::{SyncEvent, SyncWorker};
use chrono::{DateTime, Utc};
use domain::verify::{AlarmClass, Blocker, Outcome, OutcomeKind, Role};
use domain::Order;
use drivers::scale::capture::{Capture, CaptureConfig, CaptureEvent};
use drivers::scale::mt_sics;
use drivers::scale::weight::{Decimal, Unit};
use drivers::scale::FrameDecoder;
use drivers::scanner::wedge::{Key, KeyEvent, WedgeConfig, WedgeDecoder, WedgeOutput};
use drivers::scanner::{RawScan, SourceKind};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

mod diagnostics;
mod light;
mod report;
mod settings;

pub use crate::store::report::{HourCount, PackerTally, ShiftReport, Variance};
pub use report::ReportRequest;
pub use settings::{
    CardView, DeviceSettings, ImportProgress, ImportReport, OrderCenterSettings, PrintingSettings,
    SaveRequest, SaveResult, SettingsView, StationSettings,
};

/// How often the app thread steps the simulated devices and timers.
pub const TICK: Duration = Duration::from_millis(50);
/// How long the simulated scale takes to settle after a parcel is placed.
pub const DEMO_SETTLE_MS: u64 = 900;
/// How often the simulated scale sends a reading (MT-SICS `SIR` at ~10 Hz).
pub const DEMO_SCALE_PERIOD_MS: u64 = 100;
/// How many alarms and overrides the exceptions page keeps.
pub const HISTORY_LEN: usize = 50;
/// How many sample codes the demo panel offers.
pub const DEMO_CODES_MAX: usize = 12;
/// File name of the demo database inside the data directory (recreated at each demo start).
pub const DEMO_DB_FILE: &str = "demo.db";
/// The demo shipping-label template, built into the binary (an installed app has no source
/// tree): written with its logo to `templates/` of the data directory at each demo start.
pub const DEMO_TEMPLATE_TOML: &str = include_str!("../../labels/templates/express-100x150.toml");
/// The logo the demo template refers to (`path = "logo.png"`, relative to the template).
const DEMO_LOGO_PNG: &[u8] = include_bytes!("../../labels/templates/logo.png");
/// File name of the demo template inside `templates/` of the data directory.
pub const DEMO_TEMPLATE_FILE: &str = "express-100x150.toml";
/// File name of the demo print-job log inside the data directory.
pub const DEMO_PRINT_DB_FILE: &str = "demo-print-jobs.db";
/// File name of the station configuration inside the data directory (hardware mode).
pub const CONFIG_FILE: &str = "station.toml";
/// File name of the print-job log inside the data directory (hardware mode): its own database
/// file, so the printing thread never contends with the station for the write lock.
pub const PRINT_DB_FILE: &str = "print-jobs.db";
/// How long after its last delivery or feed answer the order center still counts as online.
pub const ONLINE_FOR_S: i64 = 120;

/// Where the app keeps its files and whether it runs the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// Data directory (database, label files).
    pub data_dir: PathBuf,
    /// Station configuration file; `None` runs the demo.
    pub config_file: Option<PathBuf>,
}

impl AppConfig {
    /// Demo mode in `data_dir`.
    pub fn demo(data_dir: impl Into<PathBuf>) -> AppConfig {
        AppConfig {
            data_dir: data_dir.into(),
            config_file: None,
        }
    }

    /// From the environment: `PACKBENCH_DATA_DIR` (default: the user's data directory),
    /// `PACKBENCH_CONFIG` (default: `station.toml` in the data directory, when it exists);
    /// `PACKBENCH_DEMO=1` forces the demo. Without a configuration file the app runs the demo.
    pub fn from_env() -> Result<AppConfig> {
        let data_dir = match std::env::var_os("PACKBENCH_DATA_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => default_data_dir()?,
        };
        let forced_demo = std::env::var("PACKBENCH_DEMO").is_ok_and(|v| v == "1");
        let config_file = match std::env::var_os("PACKBENCH_CONFIG") {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
            _ => Some(data_dir.join(CONFIG_FILE)).filter(|p| p.is_file()),
        };
        Ok(AppConfig {
            data_dir,
            config_file: if forced_demo { None } else { config_file },
        })
    }

    /// Whether this configuration runs the demo.
    pub fn is_demo(&self) -> bool {
        self.config_file.is_none()
    }
}

fn default_data_dir() -> Result<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").or_else(|| std::env::var_os("APPDATA"))
    } else {
        std::env::var_os("XDG_DATA_HOME").or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".local").join("share").into())
        })
    };
    base.map(|b| PathBuf::from(b).join("packbench"))
        .ok_or_else(|| Error::Invalid {
            place: "environment".into(),
            message: "no data directory: set PACKBENCH_DATA_DIR (or HOME / LOCALAPPDATA)".into(),
        })
}

// ---------------------------------------------------------------------------------------------
// View models (what the UI renders). Everything is integers and codes; the UI translates codes.
// ---------------------------------------------------------------------------------------------

/// The signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionView {
    /// Operator id.
    pub operator: String,
    /// Display name.
    pub operator_name: String,
    /// Role.
    pub role: Role,
    /// This station.
    pub station: String,
}

/// What the pack panel showed for the order being packed, kept for after it is recorded.
#[derive(Debug, Clone)]
struct KeptPanel {
    order_no: String,
    head: Option<OrderHead>,
    lines: Vec<LineView>,
    expected_g: Option<i64>,
    tolerance_g: Option<i64>,
}

/// The open order's heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderHead {
    /// Order no (shown large).
    pub order_no: String,
    /// Carrier code.
    pub carrier: String,
    /// First waybill no.
    pub waybill_no: Option<String>,
    /// Province city district.
    pub destination: String,
    /// Shop.
    pub shop: Option<String>,
    /// Order status (snake_case).
    pub status: String,
}

/// One line with its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineView {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Units counted.
    pub scanned: u32,
    /// Units ordered.
    pub ordered: u32,
    /// Serials captured.
    pub serials: Vec<String>,
}

/// The quote of the last recorded pack, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteView {
    /// Carrier.
    pub carrier: String,
    /// Service.
    pub service: String,
    /// Zone name.
    pub zone: String,
    /// Billable grams.
    pub billable_g: Option<i64>,
    /// Total in fen.
    pub total_fen: Option<i64>,
    /// Explanation, Chinese.
    pub explain_zh: String,
    /// Explanation, English.
    pub explain_en: String,
}

/// Label status of the last recorded pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct LabelView {
    /// `none`, `printing`, `printed` or `failed`.
    pub status: String,
    /// Printer, file or error detail.
    pub detail: Option<String>,
    /// File name of the PNG preview inside [`App::preview_dir`] (the shell serves it to the
    /// window by name, so the view stays a few KB however large the label is).
    pub preview: Option<String>,
    /// Label file written (PDF), when there is one.
    pub file: Option<String>,
    /// Stable code of a failed or retrying print (`printer_offline`, `printer_not_ready`…);
    /// `detail` then carries the bench message (cause, printer, what to do).
    pub code: Option<String>,
}

/// The last recorded result and where it is in the upload queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultView {
    /// Result id (UUIDv7).
    pub result_id: String,
    /// `queued`, `uploaded` or `dead`.
    pub status: String,
}

/// What the operator can do now (buttons enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Actions {
    /// Undo the last scan.
    pub undo: bool,
    /// Re-weigh.
    pub reweigh: bool,
    /// Supervisor override.
    #[serde(rename = "override")]
    pub override_: bool,
    /// Short pack.
    pub short_pack: bool,
    /// Reprint the last label.
    pub reprint: bool,
}

/// The pack panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackPanel {
    /// `idle`, `verifying`, `awaiting_weight`, `weighed`, `recorded` or `blocked`.
    pub state: &'static str,
    /// The open order (or the one just recorded).
    pub order: Option<OrderHead>,
    /// Lines.
    pub lines: Vec<LineView>,
    /// SKU of the last counted scan.
    pub last_sku: Option<String>,
    /// Expected grams.
    pub expected_g: Option<i64>,
    /// Tolerance grams.
    pub tolerance_g: Option<i64>,
    /// Captured grams.
    pub captured_g: Option<i64>,
    /// What blocks recording.
    pub blockers: Vec<Blocker>,
    /// Quote.
    pub quote: Option<QuoteView>,
    /// Why there is no quote, when a pack was recorded without one.
    pub quote_error: Option<String>,
    /// Label.
    pub label: LabelView,
    /// Last result.
    pub result: Option<ResultView>,
    /// Buttons.
    pub actions: Actions,
}

/// The last outcome, for the verdict banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Increases with every outcome shown (the UI plays a sound when it changes).
    pub seq: u64,
    /// Outcome code (snake_case).
    pub outcome: String,
    /// Alarm class.
    pub alarm: AlarmClass,
    /// Language-neutral detail (codes, SKUs, grams).
    pub detail: String,
    /// Order concerned.
    pub order_no: Option<String>,
}

/// The alarm on screen until cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmView {
    /// Changes when a new alarm is raised.
    pub seq: u64,
    /// `warn` or `stop` (full-screen colour; stop repeats its sound until acknowledged).
    pub class: AlarmClass,
    /// Outcome code.
    pub outcome: String,
    /// Detail.
    pub detail: String,
}

/// One dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadView {
    /// Order no.
    pub order_no: String,
    /// Result id.
    pub result_id: String,
    /// The server's reason.
    pub reason: String,
    /// When it was rejected.
    pub at: String,
}

/// Upload queue and link state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct QueueView {
    /// Whether the order center answered recently.
    pub online: bool,
    /// Results waiting (pending + in flight).
    pub pending: u64,
    /// Age of the oldest waiting result, seconds.
    pub oldest_age_s: Option<i64>,
    /// Seconds since the last acknowledged delivery.
    pub last_success_age_s: Option<i64>,
    /// Last delivery error.
    pub last_error: Option<String>,
    /// Dead letters with reasons.
    pub dead: Vec<DeadView>,
    /// Results flagged because the order was cancelled or intercepted after packing.
    pub flagged: u64,
}

/// The simulated scale's state (demo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScaleView {
    /// A parcel is on the scale.
    pub on_scale: bool,
}

/// A sample code on the demo panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoCode {
    /// What it is (order no, item name, "wrong item" …).
    pub label: String,
    /// The code sent as a scan.
    pub code: String,
}

/// One alarm or override in this shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryItem {
    /// `HH:MM:SS` in the station's time zone (`[shift] utc_offset`).
    pub at: String,
    /// Order no.
    pub order_no: Option<String>,
    /// Outcome code.
    pub outcome: String,
    /// Detail.
    pub detail: String,
}

/// Everything the bench screen renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppView {
    /// Increases with every change.
    pub seq: u64,
    /// Demo mode.
    pub demo: bool,
    /// Signed-in operator.
    pub session: Option<SessionView>,
    /// The pack panel.
    pub pack: PackPanel,
    /// The last outcome.
    pub verdict: Option<Verdict>,
    /// The alarm on screen.
    pub alarm: Option<AlarmView>,
    /// Queue summary for the top bar.
    pub queue: QueueView,
    /// Simulated scale (demo).
    pub scale: Option<ScaleView>,
    /// Demo sample codes.
    pub demo_codes: Vec<DemoCode>,
    /// Alarms and overrides of this shift, newest first.
    pub history: Vec<HistoryItem>,
}

/// An operator to choose at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorChoice {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// An override reason with its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonChoice {
    /// Reason code.
    pub code: String,
    /// Chinese label.
    pub zh: String,
    /// English label.
    pub en: String,
}

/// What the UI needs at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bootstrap {
    /// Demo mode.
    pub demo: bool,
    /// Station id.
    pub station_name: String,
    /// Operators.
    pub operators: Vec<OperatorChoice>,
    /// Override reasons.
    pub reasons: Vec<ReasonChoice>,
    /// The first view.
    pub view: AppView,
}

/// Sign-in request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SignInRequest {
    /// Operator id.
    pub operator: String,
    /// Role asked for.
    pub role: Role,
    /// Station name shown in the top bar (informational).
    #[serde(default)]
    pub station: String,
    /// PIN (supervisors and admins).
    #[serde(default)]
    pub pin: String,
}

/// Override or short-pack request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OverrideRequest {
    /// Supervisor PIN.
    pub pin: String,
    /// Reason code.
    pub reason: String,
}

/// One key event from the window, with its timestamp (ms since the Unix epoch, 1 ms resolution).
/// The UI holds every forwarded key back until the decoder releases it or consumes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WedgeKey {
    /// Id chosen by the UI, to release exactly the keys that were typing.
    pub id: u64,
    /// `KeyboardEvent.key`: one character, `Enter`, `Tab` or another key name.
    pub key: String,
    /// Timestamp in milliseconds.
    pub t_ms: u64,
}

impl WedgeKey {
    fn to_event(&self) -> KeyEvent {
        let mut chars = self.key.chars();
        let key = match (self.key.as_str(), chars.next(), chars.next()) {
            ("Enter" | "\n" | "\r", _, _) => Key::Enter,
            ("Tab" | "\t", _, _) => Key::Tab,
            (_, Some(c), None) => Key::Char(c),
            (other, _, _) => Key::Other(other.to_string()),
        };
        KeyEvent::hw(self.id, key, self.t_ms)
    }

    fn from_event(ev: &KeyEvent) -> WedgeKey {
        let key = match &ev.key {
            Key::Char(c) => c.to_string(),
            Key::Enter => "Enter".into(),
            Key::Tab => "Tab".into(),
            Key::Other(name) => name.clone(),
        };
        WedgeKey {
            id: ev.id,
            key,
            t_ms: ev.at_ms,
        }
    }
}

/// What the wedge decoder made of a batch of keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WedgeResult {
    /// A scan was recognised.
    pub scanned: bool,
    /// Keys that were typing: the UI releases them to the focused text field, in order.
    pub released: Vec<WedgeKey>,
    /// The view after the scans, when there were any.
    pub view: Option<AppView>,
}

/// Simulated scale actions (demo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleAction {
    /// Place a parcel of about the expected weight.
    Place,
    /// Place a parcel well above the tolerance (to show the weight alarm).
    PlaceHeavy,
    /// Take the parcel off.
    Remove,
}

/// A device's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceView {
    /// Id for diagnostics.
    pub id: String,
    /// `scanner`, `scale` or `printer`.
    pub kind: String,
    /// Name or port.
    pub name: String,
    /// `ok`, `simulated`, `offline` or `error`.
    pub status: String,
    /// Protocol, port, last reading…
    pub detail: String,
}

/// Diagnostics request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DiagRequest {
    /// Device id.
    pub device: String,
    /// `probe` or `test_print`.
    pub action: String,
}

/// Diagnostics result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagResult {
    /// One-line summary.
    pub summary: String,
    /// Details.
    pub lines: Vec<String>,
}

/// Raw device bytes for the diagnostics page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawBytes {
    /// Device id.
    pub device: String,
    /// `rx` or `tx`.
    pub dir: &'static str,
    /// Hex.
    pub hex: String,
    /// Printable text.
    pub text: String,
}

/// A live weight reading (throttled) for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WeightReading {
    /// Grams (rounded).
    pub grams: i64,
    /// Stable by the capture rule.
    pub stable: bool,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// Events from the app thread to the shell: one closed enum, mapped to typed events in one place
/// (`packbench_app::forward_events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AppEvent {
    /// The view changed without a command (scale capture, wedge scan, sync).
    View(Box<AppView>),
    /// A live weight reading (sent on a channel, not as an event).
    Weight(WeightReading),
    /// Raw device bytes.
    Raw(RawBytes),
    /// The queue changed.
    Queue(QueueView),
    /// Keys the wedge decoder released as typing after a silence (not in a command's answer).
    Released(Vec<WedgeKey>),
    /// Rate-card import progress (rows read of rows known).
    ImportProgress(ImportProgress),
}

// ---------------------------------------------------------------------------------------------
// The simulated scale (demo): MT-SICS bytes through the real decoder and auto-capture.
// ---------------------------------------------------------------------------------------------

/// A parcel on the simulated scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placed {
    grams: i64,
    at_ms: u64,
}

/// The simulated scale: produces MT-SICS `SIR` replies; settling is a damped oscillation
/// (deterministic) that ends in a stable reading after [`DEMO_SETTLE_MS`].
#[derive(Debug)]
struct DemoScale {
    placed: Option<Placed>,
    next_ms: u64,
}

impl DemoScale {
    fn new() -> DemoScale {
        DemoScale {
            placed: None,
            next_ms: 0,
        }
    }

    /// The reading at `now_ms`: grams and whether the scale says it is stable.
    fn reading(&self, now_ms: u64) -> (i64, bool) {
        match self.placed {
            None => (0, true),
            Some(p) => {
                let t = now_ms.saturating_sub(p.at_ms);
                if t >= DEMO_SETTLE_MS {
                    (p.grams, true)
                } else {
                    // Damped swing: amplitude falls linearly, sign alternates every period.
                    let left = i64::try_from(DEMO_SETTLE_MS - t).unwrap_or(0);
                    let amp = p.grams / 8 * left / i64::try_from(DEMO_SETTLE_MS).unwrap_or(1);
                    let sign = if (t / DEMO_SCALE_PERIOD_MS) % 2 == 0 {
                        1
                    } else {
                        -1
                    };
                    (p.grams + sign * amp, false)
                }
            }
        }
    }

    /// The bytes the scale sends at `now_ms`, if a reading is due.
    fn poll_bytes(&mut self, now_ms: u64) -> Option<Vec<u8>> {
        if now_ms < self.next_ms {
            return None;
        }
        self.next_ms = now_ms + DEMO_SCALE_PERIOD_MS;
        let (g, stable) = self.reading(now_ms);
        let value = Decimal::new(g, 0)?;
        Some(mt_sics::encode_weight(value, Unit::G, stable))
    }
}

// ---------------------------------------------------------------------------------------------
// The app.
// ---------------------------------------------------------------------------------------------

/// The bench application: a [`Station`] plus demo devices, alarms and tallies.
pub struct App {
    station: Station,
    events: Receiver<StationEvent>,
    out: Sender<AppEvent>,
    demo: bool,
    data_dir: PathBuf,
    demo_orders: Vec<Order>,
    station_label: String,
    seq: u64,
    verdict: Option<Verdict>,
    alarm_seq: u64,
    alarm_key: Option<String>,
    history: VecDeque<HistoryItem>,
    settings: settings::SettingsState,
    scale: Option<DemoScale>,
    decoder: mt_sics::Decoder,
    capture: Capture,
    wedge: WedgeDecoder,
    printing: Option<Arc<PrintQueue>>,
    rating: Option<Arc<Rating>>,
    print_events: Arc<Mutex<Option<PrintEvent>>>,
    last_print_key: Option<String>,
    /// The open order's panel, kept to show after it is recorded.
    kept: Option<KeptPanel>,
    last_weight_sent: Option<(i64, bool)>,
    dirty: bool,
    hw: Hardware,
    light: light::LightSide,
    diag: diagnostics::Diag,
}

/// The configured devices and services of a (non-demo) station, plus the scanner hub that
/// numbers and de-duplicates every scan (wedge scans included, in demo mode too).
#[derive(Default)]
struct Hardware {
    /// The scale device thread (stopped when dropped).
    scale: Option<ScaleDevice>,
    /// Its events, read by [`App::tick`] on the app thread.
    scale_rx: Option<Receiver<ScaleEvent>>,
    /// The scale's last connection state.
    scale_status: Option<ScaleStatus>,
    /// Why the scale could not start.
    scale_error: Option<String>,
    /// Scanner sources and the shared pipeline.
    hub: Option<ScannerHub>,
    /// Why the scanner sources could not start.
    hub_error: Option<String>,
    /// The sync thread.
    sync: Option<SyncWorker>,
    /// Its events, read by [`App::tick`].
    sync_rx: Option<Receiver<SyncEvent>>,
    /// When the order center last answered (delivery or order feed).
    sync_ok_at: Option<DateTime<Utc>>,
    /// The last sync error (cleared by a success).
    sync_error: Option<String>,
    /// Why the sync thread could not start.
    sync_start_error: Option<String>,
    /// Results packed for orders cancelled or intercepted meanwhile, not yet acknowledged.
    flagged: VecDeque<Flagged>,
    /// Why the printer could not start.
    printer_error: Option<String>,
}

impl Hardware {
    /// Stops every device and service thread and waits for them.
    fn stop(&mut self) {
        self.scale = None;
        self.scale_rx = None;
        if let Some(h) = self.hub.take() {
            h.stop();
        }
        if let Some(s) = self.sync.take() {
            s.stop();
        }
        self.sync_rx = None;
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("station", &self.station)
            .field("demo", &self.demo)
            .finish()
    }
}

fn hhmmss(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S").to_string()
}

impl App {
    /// `HH:MM:SS` in the station's time zone (`[shift] utc_offset`, the same clock the shift
    /// report uses), for what the packer reads on screen.
    fn local_hhmmss(&self, at: DateTime<Utc>) -> String {
        let offset =
            crate::store::report::parse_utc_offset(&self.station.config().shift.utc_offset)
                .unwrap_or_else(|| chrono::Offset::fix(&Utc));
        at.with_timezone(&offset).format("%H:%M:%S").to_string()
    }
}

/// A language-neutral detail line for an outcome (codes, SKUs and grams only).
pub fn outcome_detail(o: &Outcome) -> String {
    use OutcomeKind as K;
    match &o.kind {
        K::OrderOpened { code, lines, units } => format!("{code} · {lines} / {units}"),
        K::UnknownOrder { code } | K::UnknownBarcode { code } => code.clone(),
        K::AlreadyPacked {
            packed_at,
            packed_by,
        } => format!(
            "{} {}",
            packed_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            packed_by.clone().unwrap_or_default()
        )
        .trim()
        .to_string(),
        K::ItemAccepted {
            sku,
            units,
            scanned,
            ordered,
            case_pack,
            ..
        } => {
            if *case_pack {
                format!("{sku} +{units} · {scanned}/{ordered}")
            } else {
                format!("{sku} · {scanned}/{ordered}")
            }
        }
        K::WrongItem { code, sku } => format!("{sku} · {code}"),
        K::OverScan {
            sku,
            scanned,
            ordered,
            ..
        } => format!("{sku} · {scanned}/{ordered}"),
        K::SerialCaptured { sku, serial, .. } => format!("{sku} · {serial}"),
        K::SerialMissing { sku, code } => format!("{sku} {}", code.clone().unwrap_or_default())
            .trim()
            .to_string(),
        K::SerialDuplicate {
            sku,
            serial,
            first_order_no,
        } => format!("{sku} · {serial} · {first_order_no}"),
        K::OtherOrderScanned {
            code,
            other_order_no,
        } => format!("{code} → {other_order_no}"),
        K::DuplicateScanIgnored { code, after_ms } => format!("{code} · {after_ms} ms"),
        K::Undone { sku, scanned, .. } => format!("{sku} · {scanned}"),
        K::OrderComplete { expected_g, .. } => format!("{} g", expected_g.get()),
        K::WeightOk {
            weight_g,
            expected_g,
            tolerance_g,
        } => format!(
            "{} g / {} ± {} g",
            weight_g.get(),
            expected_g.get(),
            tolerance_g.get()
        ),
        K::WeightOutOfTolerance {
            weight_g,
            expected_g,
            tolerance_g,
            deviation_g,
        } => format!(
            "{} g / {} ± {} g ({:+} g)",
            weight_g.get(),
            expected_g.get(),
            tolerance_g.get(),
            deviation_g.get()
        ),
        K::OverrideAccepted {
            reason, supervisor, ..
        } => format!("{supervisor} · {reason}"),
        K::OverrideRejected {
            refusal, failures, ..
        } => format!("{refusal:?} · {failures}"),
        K::PackRecorded {
            result_id,
            weight_g,
            ..
        } => format!("{} g · {result_id}", weight_g.get()),
        K::InvalidInput { message } | K::RecordFailed { message } => message.clone(),
        K::QuantitySet {
            sku,
            scanned,
            ordered,
        } => format!("{sku} · {scanned}/{ordered}"),
        K::PermissionDenied { action } => action.clone(),
        K::WeightCaptured { weight_g } | K::WeightUnstable { weight_g } => {
            format!("{} g", weight_g.get())
        }
        K::PackagingSet { id, weight_g } => format!("{id} · {} g", weight_g.get()),
        K::SignedIn { operator, role } => format!("{operator} · {}", role.as_str()),
        K::SignedOut { operator } => operator.clone(),
        K::OrderCancelled
        | K::OrderIntercepted
        | K::OrderOnHold
        | K::Acknowledged
        | K::OrderClosed => String::new(),
    }
}

/// Labels of the override reason codes (unknown codes are shown as they are).
pub fn reason_labels(code: &str) -> (String, String) {
    let (zh, en) = match code {
        "customer_agreed" => ("客户同意", "Customer agreed"),
        "stock_short" => ("库存不足", "Stock short"),
        "packaging_heavier" => ("包材偏重", "Packaging heavier"),
        "scale_fault" => ("秤故障", "Scale fault"),
        "order_center_confirmed" => ("订单中心已确认", "Order center confirmed"),
        "data_error" => ("资料错误", "Data error"),
        other => (other, other),
    };
    (zh.to_string(), en.to_string())
}

fn json_str(v: &serde_json::Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn json_i64(v: &serde_json::Value, keys: &[&str]) -> Option<i64> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(serde_json::Value::as_i64))
}

/// Maps the quoter's JSON (recorded with the pack) to what the UI shows.
fn quote_view(q: &serde_json::Value) -> Option<QuoteView> {
    if q.is_null() {
        return None;
    }
    let explain = json_str(q, &["explain", "explain_zh"]).unwrap_or_default();
    Some(QuoteView {
        carrier: json_str(q, &["carrier"]).unwrap_or_default(),
        service: json_str(q, &["service"]).unwrap_or_default(),
        zone: json_str(q, &["zone"]).unwrap_or_default(),
        billable_g: json_i64(q, &["billable_g"]),
        total_fen: json_i64(q, &["total_fen"]),
        explain_en: json_str(q, &["explain_en"]).unwrap_or_else(|| explain.clone()),
        explain_zh: explain,
    })
}

/// The path of preview `name` inside `dir`: only a plain `*.png` file name is accepted (no
/// separators, no `..`), so the window can ask for previews and for nothing else.
pub fn preview_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let stem = name.strip_suffix(".png").unwrap_or("");
    if stem.is_empty()
        || !stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::Invalid {
            place: format!("label preview {name:?}"),
            message: "not a preview file name (letters, digits, - and _ then .png)".into(),
        });
    }
    Ok(dir.join(name))
}

/// Maps the label service's JSON to what the UI shows.
fn label_view(l: Option<&serde_json::Value>) -> LabelView {
    let Some(l) = l else {
        return LabelView {
            status: "none".into(),
            ..LabelView::default()
        };
    };
    if let Some(err) = json_str(l, &["error"]) {
        return LabelView {
            status: "failed".into(),
            detail: Some(err),
            code: Some(json_str(l, &["code"]).unwrap_or_else(|| "label_failed".into())),
            ..LabelView::default()
        };
    }
    LabelView {
        status: json_str(l, &["status"]).unwrap_or_else(|| "printed".into()),
        detail: json_str(l, &["printer", "detail"]),
        preview: json_str(l, &["preview"]).and_then(|p| {
            Path::new(&p)
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
        }),
        file: json_str(l, &["file", "pdf"]),
        code: None,
    }
}

impl App {
    /// Opens the app: the demo (fresh database seeded with the demo orders) or the configured
    /// station.
    pub fn open(config: &AppConfig, out: Sender<AppEvent>, now: DateTime<Utc>) -> Result<App> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let station = match &config.config_file {
            None => {
                let db = config.data_dir.join(DEMO_DB_FILE);
                let print_db = config.data_dir.join(DEMO_PRINT_DB_FILE);
                for (file, suffix) in [&db, &print_db]
                    .into_iter()
                    .flat_map(|f| ["", "-wal", "-shm"].map(|s| (f, s)))
                {
                    let p = PathBuf::from(format!("{}{suffix}", file.display()));
                    if p.exists() {
                        std::fs::remove_file(&p).map_err(|source| Error::Io {
                            path: p.display().to_string(),
                            source,
                        })?;
                    }
                }
                let db_path = db.display().to_string();
                let station = Station::open(settings::demo_config(&config.data_dir, &db_path)?)?;
                station.with_db(|conn| crate::station::seed_demo(conn, now))??;
                let rating = Rating::demo().map_err(|e| Error::Invalid {
                    place: "demo rate cards".into(),
                    message: e.to_string(),
                })?;
                let rating = Arc::new(rating);
                station.set_quoter(rating.clone());
                (station, Some(rating))
            }
            Some(path) => {
                let cfg = StationConfig::load(path)?;
                let station = Station::open(cfg.clone())?;
                let rating = if cfg.rates.cards.is_empty() {
                    None
                } else {
                    let rating =
                        Arc::new(Rating::load(cfg.rates.clone()).map_err(|e| Error::Invalid {
                            place: format!("{} [rates]", path.display()),
                            message: e.to_string(),
                        })?);
                    station.set_quoter(rating.clone());
                    Some(rating)
                };
                (station, rating)
            }
        };
        let (station, rating) = station;
        let demo = config.is_demo();
        let mut app = App::with_station(station, demo, config.data_dir.clone(), out)?;
        app.rating = rating;
        app.settings.config_path = config.config_file.clone();
        if demo {
            app.start_demo_printing()?;
            app.start_scanners(&ScannerConfig::default())?;
        } else {
            app.start_hardware()?;
        }
        app.start_light();
        Ok(app)
    }

    /// Starts the configured station's devices and services: printer, scale, scanner sources
    /// and the order-center sync. A printer or scale that cannot start is shown on the devices
    /// page (the bench can still verify and record); a bad scanner or order-center section
    /// fails the start with its place.
    fn start_hardware(&mut self) -> Result<()> {
        let cfg = self.station.config().clone();
        if cfg.labels.enabled {
            if let Err(e) = self.start_printing(cfg.labels.clone()) {
                eprintln!("packbench: printer not started: {e}");
                self.hw.printer_error = Some(e.to_string());
            }
        }
        if cfg.scale.is_configured() {
            let (tx, rx) = mpsc::channel();
            match ScaleDevice::spawn(&cfg.scale, move |ev| {
                let _ = tx.send(ev);
            }) {
                Ok(dev) => {
                    self.hw.scale = Some(dev);
                    self.hw.scale_rx = Some(rx);
                }
                Err(e) => {
                    eprintln!("packbench: scale not started: {e}");
                    self.hw.scale_error = Some(e.to_string());
                }
            }
        }
        self.start_scanners(&cfg.scanner)?;
        let secrets_dir = Path::new(&cfg.db_path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| self.data_dir.clone(), Path::to_path_buf);
        let (tx, rx) = mpsc::channel();
        match crate::sync::worker::start_from_config(
            &cfg.db_path,
            &cfg.order_center,
            &secrets_dir,
            Box::new(move |ev| {
                let _ = tx.send(ev);
            }),
        ) {
            Ok(Some(worker)) => {
                self.hw.sync = Some(worker);
                self.hw.sync_rx = Some(rx);
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("packbench: order-center sync not started: {e}");
                self.hw.sync_start_error = Some(e.to_string());
            }
        }
        Ok(())
    }

    /// Starts the scanner hub: the configured sources (none in demo mode) and the pipeline
    /// every scan goes through, wedge scans included.
    fn start_scanners(&mut self, cfg: &ScannerConfig) -> Result<()> {
        if let Some(old) = self.hw.hub.take() {
            old.stop();
        }
        match ScannerHub::start(cfg, Instant::now()) {
            Ok(hub) => self.hw.hub = Some(hub),
            Err(e) => {
                eprintln!("packbench: scanner sources not started: {e}");
                self.hw.hub_error = Some(e.to_string());
            }
        }
        Ok(())
    }

    /// Printing for a configured station: the job log in its own database file.
    fn start_printing(&mut self, cfg: LabelsConfig) -> Result<()> {
        let db = self.data_dir.join(PRINT_DB_FILE).display().to_string();
        let queue = Arc::new(PrintQueue::start(&db, cfg, Arc::new(Utc::now))?);
        self.attach_printing(queue);
        Ok(())
    }

    fn attach_printing(&mut self, queue: Arc<PrintQueue>) {
        let events = self.print_events.clone();
        queue.set_listener(Arc::new(move |ev: PrintEvent| {
            *events.lock().unwrap_or_else(PoisonError::into_inner) = Some(ev);
        }));
        self.station
            .set_label_service(Arc::new(Printing::new(queue.clone())));
        self.printing = Some(queue);
    }

    /// Stops the devices and services (also done when the app is dropped).
    pub fn shutdown(&mut self) {
        self.hw.stop();
        self.light.stop();
        if let Some(q) = self.printing.take() {
            q.stop();
        }
    }

    /// Demo printing: the shipping-label template rendered to PDF files in `labels/` of the
    /// data directory, with PNG previews for the screen.
    fn start_demo_printing(&mut self) -> Result<()> {
        let dir = self.data_dir.join("templates");
        let template = dir.join(DEMO_TEMPLATE_FILE);
        let write = |path: &Path, bytes: &[u8]| {
            std::fs::write(path, bytes).map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })
        };
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        write(&template, DEMO_TEMPLATE_TOML.as_bytes())?;
        write(&dir.join("logo.png"), DEMO_LOGO_PNG)?;
        let cfg = LabelsConfig {
            template,
            printer: format!("dir:{}", self.data_dir.join("labels").display()),
            preview_dir: Some(self.data_dir.join("labels-preview")),
            check_status: false,
            ..LabelsConfig::default()
        };
        // The job log gets its own database file: the printing thread then never contends with
        // the station's transactions for the write lock.
        let db = self.data_dir.join(DEMO_PRINT_DB_FILE).display().to_string();
        let queue = Arc::new(PrintQueue::start(&db, cfg, Arc::new(Utc::now))?);
        self.attach_printing(queue);
        Ok(())
    }

    /// An app over an existing station (tests).
    pub fn with_station(
        station: Station,
        demo: bool,
        data_dir: PathBuf,
        out: Sender<AppEvent>,
    ) -> Result<App> {
        let events = station.subscribe();
        let demo_orders = if demo {
            DEMO_ORDERS
                .lines()
                .filter(|l| !l.trim().is_empty())
                .filter_map(|l| serde_json::from_str::<Order>(l).ok())
                .collect()
        } else {
            Vec::new()
        };
        let station_label = station.config().station_id.clone();
        Ok(App {
            station,
            events,
            out,
            demo,
            data_dir,
            demo_orders,
            station_label,
            seq: 0,
            verdict: None,
            alarm_seq: 0,
            alarm_key: None,
            history: VecDeque::new(),
            settings: settings::SettingsState::default(),
            scale: demo.then(DemoScale::new),
            decoder: mt_sics::Decoder::new(),
            capture: Capture::new(CaptureConfig::default()),
            wedge: WedgeDecoder::new(WedgeConfig::default()),
            printing: None,
            rating: None,
            print_events: Arc::default(),
            last_print_key: None,
            kept: None,
            last_weight_sent: None,
            dirty: false,
            hw: Hardware::default(),
            light: light::LightSide::default(),
            diag: diagnostics::Diag::default(),
        })
    }

    /// The station underneath.
    pub fn station(&self) -> &Station {
        &self.station
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Device time in milliseconds, from the injected wall clock (tests step it).
    fn ms(now: DateTime<Utc>) -> u64 {
        u64::try_from(now.timestamp_millis()).unwrap_or(0)
    }

    /// Feeds an intent to the station and folds its outcomes into verdict and history.
    fn handle(&mut self, intent: Intent, now: DateTime<Utc>) -> Result<Vec<Outcome>> {
        if let Intent::Scan { code } = &intent {
            self.diag.note_scan(code, now);
        }
        let outcomes = self.station.handle(intent, now)?;
        self.absorb(&outcomes);
        // Drain the station's own events (label status arrives there too); the view is rebuilt
        // from the station, so only the label status needs noting.
        while self.events.try_recv().is_ok() {}
        Ok(outcomes)
    }

    fn absorb(&mut self, outcomes: &[Outcome]) {
        for o in outcomes {
            self.seq += 1;
            let detail = outcome_detail(o);
            self.verdict = Some(Verdict {
                seq: self.seq,
                outcome: o.name().to_string(),
                alarm: o.alarm,
                detail: detail.clone(),
                order_no: o.order_no.clone(),
            });
            let notable = matches!(o.alarm, AlarmClass::Warn | AlarmClass::Stop)
                || matches!(o.kind, OutcomeKind::OverrideAccepted { .. });
            if notable {
                self.history.push_front(HistoryItem {
                    at: self.local_hhmmss(o.at),
                    order_no: o.order_no.clone(),
                    outcome: o.name().to_string(),
                    detail,
                });
                self.history.truncate(HISTORY_LEN);
            }
            if let OutcomeKind::PackRecorded { .. } = o.kind {
                // The result is in the outbox: send it now rather than at the next poll.
                if let Some(sync) = &self.hw.sync {
                    sync.kick();
                }
            }
        }
        self.dirty = true;
    }

    fn alarm_view(&mut self, v: &PackView) -> Option<AlarmView> {
        let a = v.alarm.as_ref()?;
        if !matches!(a.alarm, AlarmClass::Warn | AlarmClass::Stop) {
            self.alarm_key = None;
            return None;
        }
        let key = format!(
            "{}|{}|{}",
            a.name(),
            a.at.timestamp_millis(),
            outcome_detail(a)
        );
        if self.alarm_key.as_deref() != Some(key.as_str()) {
            self.alarm_seq += 1;
            self.alarm_key = Some(key);
        }
        Some(AlarmView {
            seq: self.alarm_seq,
            class: a.alarm,
            outcome: a.name().to_string(),
            detail: outcome_detail(a),
        })
    }

    fn pack_panel(&self, v: &PackView, queue: &QueueView) -> PackPanel {
        let recorded = v.order.is_none() && v.last_recorded.is_some();
        let state = if v.order.is_none() {
            if recorded {
                "recorded"
            } else {
                "idle"
            }
        } else if v.blockers.iter().any(|b| {
            matches!(
                b,
                Blocker::Cancelled
                    | Blocker::Intercepted
                    | Blocker::OnHold
                    | Blocker::WeightOutOfTolerance
            )
        }) {
            "blocked"
        } else if v.blockers.contains(&Blocker::Incomplete)
            || v.blockers.contains(&Blocker::SerialPending)
        {
            "verifying"
        } else if v.weight_g.is_none() {
            "awaiting_weight"
        } else {
            "weighed"
        };
        let order = v.order.as_ref().map(|o| OrderHead {
            order_no: o.order_no.clone(),
            carrier: o.carrier.clone(),
            waybill_no: o.waybill_nos.first().cloned(),
            destination: [
                &o.destination.province,
                &o.destination.city,
                &o.destination.district,
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
            shop: o.shop.clone(),
            status: o.status.as_str().to_string(),
        });
        let order = order.or_else(|| {
            v.last_recorded.as_ref().map(|r| OrderHead {
                order_no: r.order_no.clone(),
                carrier: String::new(),
                waybill_no: None,
                destination: String::new(),
                shop: None,
                status: "packed".into(),
            })
        });
        let last_sku = match v.last.as_ref().map(|o| &o.kind) {
            Some(OutcomeKind::ItemAccepted { sku, .. })
            | Some(OutcomeKind::SerialCaptured { sku, .. })
            | Some(OutcomeKind::Undone { sku, .. }) => Some(sku.clone()),
            _ => None,
        };
        let overridable = v.blockers.iter().any(|b| b.overridable());
        let result = v.last_recorded.as_ref().map(|r| ResultView {
            result_id: r.result_id.clone(),
            status: if queue.dead.iter().any(|d| d.result_id == r.result_id) {
                "dead".into()
            } else {
                "queued".into()
            },
        });
        PackPanel {
            state,
            order,
            lines: v
                .lines
                .iter()
                .map(|l| LineView {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    scanned: l.scanned,
                    ordered: l.ordered,
                    serials: l.serials.clone(),
                })
                .collect(),
            last_sku,
            expected_g: v.expected_g.map(|g| g.get()),
            tolerance_g: v.tolerance_g.map(|g| g.get()),
            captured_g: v.weight_g.map(|g| g.get()),
            blockers: v.blockers.clone(),
            quote: v.quote.as_ref().and_then(quote_view),
            quote_error: (recorded && v.quote.is_none())
                .then(|| "no rate card quote for this parcel".to_string()),
            label: self.label_with_progress(v.label.as_ref()),
            result,
            actions: Actions {
                undo: v.order.is_some() && v.lines.iter().any(|l| l.scanned > 0),
                reweigh: v.order.is_some() && v.weight_g.is_some(),
                override_: v.order.is_some() && overridable,
                short_pack: v.order.is_some() && v.blockers.contains(&Blocker::Incomplete),
                reprint: v.last_recorded.is_some() && v.label.is_some(),
            },
        }
    }

    /// The pack panel; once an order is recorded the engine has no open order, so the panel
    /// keeps showing the recorded order's heading, lines and weights (what the packer just
    /// packed) until the next order opens.
    fn pack_panel_kept(&mut self, v: &PackView, queue: &QueueView) -> PackPanel {
        let mut pack = self.pack_panel(v, queue);
        match (&v.order, &v.last_recorded) {
            (Some(o), _) if !pack.lines.is_empty() => {
                self.kept = Some(KeptPanel {
                    order_no: o.order_no.clone(),
                    head: pack.order.clone(),
                    lines: pack.lines.clone(),
                    expected_g: pack.expected_g,
                    tolerance_g: pack.tolerance_g,
                });
            }
            (None, Some(r)) => {
                if let Some(k) = self.kept.as_ref().filter(|k| k.order_no == r.order_no) {
                    if pack.lines.is_empty() {
                        pack.lines = k.lines.clone();
                        pack.expected_g = k.expected_g;
                        pack.tolerance_g = k.tolerance_g;
                        pack.captured_g = Some(r.weight_g.get());
                        if let Some(mut head) = k.head.clone() {
                            head.status = "packed".into();
                            pack.order = Some(head);
                        }
                    }
                }
            }
            _ => {}
        }
        pack
    }

    /// The label view, with the printing thread's latest word on that label.
    fn label_with_progress(&self, l: Option<&serde_json::Value>) -> LabelView {
        let mut view = label_view(l);
        let label_id = l.and_then(|l| json_str(l, &["label_id"]));
        let ev = self
            .print_events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let (Some(id), Some(ev)) = (label_id, ev) {
            if ev.label_id == id {
                match ev.state {
                    JobState::Printed => view.status = "printed".into(),
                    JobState::Failed => {
                        view.status = "failed".into();
                        view.detail = Some(ev.message.clone());
                        view.code = ev.code.clone();
                    }
                    JobState::Queued | JobState::Printing => {
                        view.status = "printing".into();
                        // A retry after a failed attempt: say why it is not printed yet.
                        if ev.code.is_some() {
                            view.detail = Some(ev.message.clone());
                            view.code = ev.code.clone();
                        }
                    }
                }
            }
        }
        view
    }

    fn session_view(&self, v: &PackView) -> Option<SessionView> {
        v.operator.as_ref().map(|(id, role)| SessionView {
            operator: id.clone(),
            operator_name: self
                .station
                .config()
                .operator(id)
                .map(|o| o.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| id.clone()),
            role: *role,
            station: self.station_label.clone(),
        })
    }

    fn demo_codes(&self, v: &PackView) -> Vec<DemoCode> {
        if !self.demo {
            return Vec::new();
        }
        let mut codes = Vec::new();
        match &v.order {
            Some(open) => {
                let in_order: Vec<&str> = v.lines.iter().map(|l| l.sku.as_str()).collect();
                if let Some(o) = self
                    .demo_orders
                    .iter()
                    .find(|o| o.order_no == open.order_no)
                {
                    for l in &o.lines {
                        for b in &l.barcodes {
                            let label = if b.units > 1 {
                                format!("{} ×{}", l.name, b.units)
                            } else {
                                l.name.clone()
                            };
                            codes.push(DemoCode {
                                label,
                                code: b.code.clone(),
                            });
                        }
                    }
                }
                // A known SKU from another order: the wrong-item alarm.
                let wrong = self
                    .demo_orders
                    .iter()
                    .flat_map(|o| o.lines.iter())
                    .find(|l| !in_order.contains(&l.sku.as_str()) && !l.barcodes.is_empty());
                if let Some(l) = wrong {
                    codes.push(DemoCode {
                        label: format!("✗ {}", l.name),
                        code: l.barcodes[0].code.clone(),
                    });
                }
                codes.push(DemoCode {
                    label: "✗ ?".into(),
                    code: "6900000000000".into(),
                });
            }
            None => {
                let packed: Option<&str> = v.last_recorded.as_ref().map(|r| r.order_no.as_str());
                for o in self
                    .demo_orders
                    .iter()
                    .filter(|o| Some(o.order_no.as_str()) != packed)
                    .take(DEMO_CODES_MAX)
                {
                    let code = o
                        .waybill_nos
                        .first()
                        .cloned()
                        .unwrap_or_else(|| o.order_no.clone());
                    codes.push(DemoCode {
                        label: format!("{} · {}", o.order_no, o.status.as_str()),
                        code,
                    });
                }
            }
        }
        codes.truncate(DEMO_CODES_MAX + 2);
        codes
    }

    /// The queue summary.
    pub fn queue_status(&mut self, now: DateTime<Utc>) -> Result<QueueView> {
        let (status, dead) = self.station.with_db(|conn| {
            let s = crate::outbox::status(conn, now)?;
            let d = crate::outbox::dead_letters(conn)?;
            Ok::<_, Error>((s, d))
        })??;
        let last_success_age_s = status
            .last_success_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| (now - t.with_timezone(&Utc)).num_seconds());
        let online = if self.hw.sync.is_some() {
            // The sync thread's own word: it reports errors as they happen and successes
            // (deliveries, orders downloaded), so online means no error since the last success.
            self.hw.sync_error.is_none()
        } else {
            last_success_age_s.is_some_and(|a| a < ONLINE_FOR_S) && status.last_error.is_none()
        };
        Ok(QueueView {
            online,
            pending: status.pending + status.in_flight,
            oldest_age_s: status.oldest_pending_age_s,
            last_success_age_s,
            last_error: status
                .last_error
                .or_else(|| self.hw.sync_error.clone())
                .or_else(|| self.hw.sync_start_error.clone()),
            dead: dead
                .into_iter()
                .map(|d| DeadView {
                    order_no: d.order_no,
                    result_id: d.result_id,
                    reason: d.reason,
                    at: d.rejected_at,
                })
                .collect(),
            flagged: status.flagged,
        })
    }

    /// The whole view model.
    pub fn view(&mut self, now: DateTime<Utc>) -> Result<AppView> {
        let v = self.station.view();
        let queue = self.queue_status(now)?;
        let mut alarm = self.alarm_view(&v);
        if let Some(f) = self.hw.flagged.front() {
            if alarm.as_ref().is_none_or(|a| a.class != AlarmClass::Stop) {
                alarm = Some(flagged_alarm(f, self.alarm_seq));
            }
        }
        let view = AppView {
            seq: self.seq,
            demo: self.demo,
            session: self.session_view(&v),
            pack: self.pack_panel_kept(&v, &queue),
            verdict: self.verdict.clone(),
            alarm,
            queue,
            scale: self.scale.as_ref().map(|s| ScaleView {
                on_scale: s.placed.is_some(),
            }),
            demo_codes: self.demo_codes(&v),
            history: self.history.iter().cloned().collect(),
        };
        self.show_light(&view, now);
        Ok(view)
    }

    /// What the UI needs at start.
    pub fn bootstrap(&mut self, now: DateTime<Utc>) -> Result<Bootstrap> {
        let cfg = self.station.config();
        let operators = cfg
            .operators
            .iter()
            .map(|o| OperatorChoice {
                id: o.id.clone(),
                name: if o.name.is_empty() {
                    o.id.clone()
                } else {
                    o.name.clone()
                },
                role: o.role,
            })
            .collect();
        let reasons = cfg
            .override_reasons
            .iter()
            .map(|c| {
                let (zh, en) = reason_labels(c);
                ReasonChoice {
                    code: c.clone(),
                    zh,
                    en,
                }
            })
            .collect();
        Ok(Bootstrap {
            demo: self.demo,
            station_name: cfg.station_id.clone(),
            operators,
            reasons,
            view: self.view(now)?,
        })
    }

    /// Signs an operator in (the station checks the role and PIN).
    pub fn sign_in(&mut self, req: SignInRequest, now: DateTime<Utc>) -> Result<AppView> {
        let out = self.handle(
            Intent::SignIn {
                operator: req.operator.clone(),
                role: Some(req.role),
                pin: (!req.pin.is_empty()).then_some(req.pin),
            },
            now,
        )?;
        if let Some(o) = out.iter().find(|o| o.alarm != AlarmClass::Ok) {
            return Err(Error::Invalid {
                place: format!("sign-in of {}", req.operator),
                message: outcome_detail(o),
            });
        }
        if !req.station.trim().is_empty() {
            self.station_label = req.station.trim().to_string();
        }
        self.view(now)
    }

    /// Signs out.
    pub fn sign_out(&mut self, now: DateTime<Utc>) -> Result<AppView> {
        self.handle(Intent::SignOut, now)?;
        self.view(now)
    }

    /// A whole scanned code.
    pub fn scan(&mut self, code: &str, now: DateTime<Utc>) -> Result<AppView> {
        self.handle(
            Intent::Scan {
                code: code.to_string(),
            },
            now,
        )?;
        self.view(now)
    }

    /// Key events from the window, fed to the keyboard-wedge decoder
    /// ([`drivers::scanner::wedge`]): scanner bursts become scans, typing is released back.
    pub fn wedge_keys(&mut self, keys: &[WedgeKey], now: DateTime<Utc>) -> Result<WedgeResult> {
        for k in keys {
            self.wedge.handle_key(k.to_event());
        }
        let (scans, released) = self.drain_wedge();
        let scanned = !scans.is_empty();
        for code in scans {
            if let Some(code) = self.through_pipeline(code) {
                self.handle(Intent::Scan { code }, now)?;
            }
        }
        Ok(WedgeResult {
            scanned,
            released,
            view: if scanned { Some(self.view(now)?) } else { None },
        })
    }

    /// Runs a wedge scan through the scanner hub's pipeline (shared numbering and
    /// de-duplication with the other sources). `None`: a double read, dropped.
    fn through_pipeline(&mut self, code: String) -> Option<String> {
        let Some(hub) = self.hw.hub.as_mut() else {
            return Some(code);
        };
        let at_ms = hub.now_ms();
        match hub.push(RawScan {
            code,
            source: SourceKind::Wedge,
            at_ms,
        }) {
            HubEvent::Scan(s) => Some(s.code),
            _ => None,
        }
    }

    fn drain_wedge(&mut self) -> (Vec<String>, Vec<WedgeKey>) {
        let mut scans = Vec::new();
        let mut released = Vec::new();
        while let Some(out) = self.wedge.poll() {
            match out {
                WedgeOutput::Scan { code, .. } => scans.push(code),
                WedgeOutput::PassThrough { keys } => {
                    released.extend(keys.iter().map(WedgeKey::from_event));
                }
            }
        }
        (scans, released)
    }

    /// Supervisor override (PIN + reason).
    pub fn supervisor_override(
        &mut self,
        req: OverrideRequest,
        now: DateTime<Utc>,
    ) -> Result<AppView> {
        self.handle(
            Intent::Override {
                pin: req.pin,
                reason: req.reason,
                scope: Default::default(),
            },
            now,
        )?;
        self.view(now)
    }

    /// Short pack authorised by a supervisor.
    pub fn short_pack(&mut self, req: OverrideRequest, now: DateTime<Utc>) -> Result<AppView> {
        self.handle(
            Intent::ShortPack {
                pin: req.pin,
                reason: req.reason,
            },
            now,
        )?;
        self.view(now)
    }

    /// Undo the last counted scan.
    pub fn undo(&mut self, now: DateTime<Utc>) -> Result<AppView> {
        self.handle(Intent::Undo, now)?;
        self.view(now)
    }

    /// Re-weigh: the next stable weight is captured again even if it did not change.
    pub fn reweigh(&mut self, now: DateTime<Utc>) -> Result<AppView> {
        self.capture.rearm();
        if let Some(scale) = &self.hw.scale {
            scale.rearm()?;
        }
        if let Some(s) = self.scale.as_mut() {
            if let Some(p) = s.placed.as_mut() {
                // The parcel is lifted and put back: it settles again.
                p.at_ms = App::ms(now);
            }
        }
        self.view(now)
    }

    /// Reprint the last label: a new job with the same label id and data.
    pub fn reprint(&mut self, now: DateTime<Utc>) -> Result<AppView> {
        let label_id = self
            .station
            .view()
            .label
            .as_ref()
            .and_then(|l| json_str(l, &["label_id"]));
        let (Some(q), Some(id)) = (&self.printing, label_id) else {
            return Err(Error::Invalid {
                place: format!("reprint at {}", hhmmss(now)),
                message: "no printer configured or no label printed yet".into(),
            });
        };
        q.reprint(&id)?;
        self.view(now)
    }

    /// Acknowledge the alarm on screen.
    pub fn acknowledge(&mut self, now: DateTime<Utc>) -> Result<AppView> {
        // A flagged result is acknowledged on its own (one at a time, oldest first), unless a
        // stop alarm of the open order is on screen above it.
        let station_stop = self
            .station
            .view()
            .alarm
            .as_ref()
            .is_some_and(|a| a.alarm == AlarmClass::Stop);
        if !station_stop && self.hw.flagged.pop_front().is_some() {
            self.alarm_seq += 1;
            return self.view(now);
        }
        self.handle(Intent::Acknowledge, now)?;
        self.view(now)
    }

    /// Demo: put a parcel on the simulated scale or take it off.
    pub fn demo_scale(&mut self, action: ScaleAction, now: DateTime<Utc>) -> Result<AppView> {
        let v = self.station.view();
        let at_ms = App::ms(now);
        let Some(scale) = self.scale.as_mut() else {
            return Err(Error::Invalid {
                place: "demo scale".into(),
                message: "the simulated scale exists only in demo mode".into(),
            });
        };
        let expected = v.expected_g.map(|g| g.get()).unwrap_or(1000);
        let tol = v.tolerance_g.map(|g| g.get()).unwrap_or(30);
        scale.placed = match action {
            // A real parcel is a little off: a third of the tolerance above.
            ScaleAction::Place => Some(Placed {
                grams: expected + tol / 3,
                at_ms,
            }),
            ScaleAction::PlaceHeavy => Some(Placed {
                grams: expected + 2 * tol + 50,
                at_ms,
            }),
            ScaleAction::Remove => None,
        };
        self.view(now)
    }

    /// Steps the simulated devices: scale bytes → decoder → capture → station.
    /// Returns whether the view changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Result<bool> {
        let now_ms = App::ms(now);
        let mut changed = std::mem::take(&mut self.dirty);
        let print_key = self
            .print_events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|e| format!("{}:{:?}:{}", e.job_id, e.state, e.attempt));
        if print_key != self.last_print_key {
            self.last_print_key = print_key;
            changed = true;
        }
        if let Some(scale) = self.scale.as_mut() {
            if let Some(bytes) = scale.poll_bytes(now_ms) {
                let _ = self.out.send(AppEvent::Raw(RawBytes {
                    device: "scale-demo".into(),
                    dir: "rx",
                    hex: bytes
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    text: String::from_utf8_lossy(&bytes).trim_end().to_string(),
                }));
                self.decoder.feed(&bytes);
                while let Some(frame) = self.decoder.poll() {
                    self.capture.handle_frame(&frame, now_ms);
                }
            }
        }
        self.capture.handle_timeout(now_ms);
        let wall_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        if self.wedge.poll_timeout().is_some_and(|t| t <= wall_ms) {
            self.wedge.handle_timeout(wall_ms);
        }
        let (scans, released) = self.drain_wedge();
        if !released.is_empty() {
            let _ = self.out.send(AppEvent::Released(released));
        }
        for code in scans {
            if let Some(code) = self.through_pipeline(code) {
                self.handle(Intent::Scan { code }, now)?;
                changed = true;
            }
        }
        changed |= self.step_hardware(now)?;
        while let Some(ev) = self.capture.poll() {
            match ev {
                CaptureEvent::Live(r) => {
                    let grams = r.mg.map(|mg| (mg + 500).div_euclid(1000)).unwrap_or(0);
                    if self.last_weight_sent != Some((grams, r.stable)) {
                        self.last_weight_sent = Some((grams, r.stable));
                        let _ = self.out.send(AppEvent::Weight(WeightReading {
                            grams,
                            stable: r.stable,
                            at_ms: r.at_ms,
                        }));
                    }
                }
                CaptureEvent::Captured(c) => {
                    let raw = String::from_utf8_lossy(&c.raw).trim_end().to_string();
                    self.handle(
                        Intent::Weight {
                            grams: c.grams,
                            stable: true,
                            raw: Some(raw),
                        },
                        now,
                    )?;
                    changed = true;
                }
                CaptureEvent::Stale { .. } => {}
            }
        }
        Ok(changed)
    }

    /// Reads what the configured devices and the sync thread reported since the last tick:
    /// captured weights and scans go to the station, live readings and queue changes to the
    /// window. Returns whether the view changed.
    fn step_hardware(&mut self, now: DateTime<Utc>) -> Result<bool> {
        let mut changed = false;
        let scale_events: Vec<ScaleEvent> = self
            .hw
            .scale_rx
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default();
        for ev in scale_events {
            match ev {
                ScaleEvent::Weight(intent) => {
                    self.handle(intent, now)?;
                    changed = true;
                }
                ScaleEvent::Live(w) => {
                    let grams = w.grams.unwrap_or(0);
                    if self.last_weight_sent != Some((grams, w.stable)) {
                        self.last_weight_sent = Some((grams, w.stable));
                        let _ = self.out.send(AppEvent::Weight(WeightReading {
                            grams,
                            stable: w.stable,
                            at_ms: App::ms(now),
                        }));
                    }
                }
                ScaleEvent::Status(st) => {
                    self.hw.scale_status = Some(st);
                    changed = true;
                }
                ScaleEvent::Stale => {
                    if let Some(st) = self.hw.scale_status.as_mut() {
                        st.detail = "no readings (stale)".into();
                    }
                }
            }
        }
        let hub_events = self
            .hw
            .hub
            .as_mut()
            .map(ScannerHub::drain)
            .unwrap_or_default();
        for ev in hub_events {
            match ev {
                HubEvent::Scan(s) => {
                    self.handle(Intent::Scan { code: s.code }, now)?;
                    changed = true;
                }
                HubEvent::DoubleRead { .. } => {}
                HubEvent::Connected { .. } | HubEvent::Error { .. } | HubEvent::Ended { .. } => {
                    changed = true;
                }
            }
        }
        let sync_events: Vec<SyncEvent> = self
            .hw
            .sync_rx
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default();
        let mut queue_changed = false;
        for ev in sync_events {
            queue_changed = true;
            match ev {
                SyncEvent::Delivered { .. } => {
                    self.hw.sync_ok_at = Some(now);
                    self.hw.sync_error = None;
                }
                SyncEvent::OrdersSynced { .. } => {
                    self.hw.sync_ok_at = Some(now);
                    self.hw.sync_error = None;
                    // An interception or cancellation of the open order shows at once.
                    let outcomes = self.station.refresh_order(now)?;
                    if !outcomes.is_empty() {
                        self.absorb(&outcomes);
                        while self.events.try_recv().is_ok() {}
                        changed = true;
                    }
                }
                SyncEvent::Flagged(f) => {
                    self.history.push_front(HistoryItem {
                        at: self.local_hhmmss(now),
                        order_no: Some(f.order_no.clone()),
                        outcome: format!("order_{}", f.flag),
                        detail: flagged_detail(&f),
                    });
                    self.history.truncate(HISTORY_LEN);
                    self.alarm_seq += 1;
                    self.hw.flagged.push_back(f);
                    changed = true;
                }
                SyncEvent::Error(e) => self.hw.sync_error = Some(e),
            }
        }
        if queue_changed {
            let q = self.queue_status(now)?;
            let _ = self.out.send(AppEvent::Queue(q));
            changed = true;
        }
        Ok(changed)
    }

    /// The folder of label previews ([`LabelView::preview`] names a file in it), when labels
    /// are printed at this station.
    pub fn preview_dir(&self) -> Option<PathBuf> {
        self.printing
            .as_ref()
            .and_then(|q| q.config().preview_dir.clone())
    }

    /// Device status.
    pub fn devices(&mut self, now: DateTime<Utc>) -> Result<Vec<DeviceView>> {
        let mut v = Vec::new();
        if self.demo {
            let (g, stable) = self.last_weight_sent.unwrap_or((0, true));
            v.push(DeviceView {
                id: "scale-demo".into(),
                kind: "scale".into(),
                name: "MT-SICS (simulated)".into(),
                status: "simulated".into(),
                detail: format!("{g} g · {}", if stable { "stable" } else { "motion" }),
            });
            v.push(DeviceView {
                id: "scanner-wedge".into(),
                kind: "scanner".into(),
                name: "keyboard wedge + demo panel".into(),
                status: "simulated".into(),
                detail: "any window focus".into(),
            });
            v.push(DeviceView {
                id: "printer-pdf".into(),
                kind: "printer".into(),
                name: "PDF files".into(),
                status: "simulated".into(),
                detail: self.data_dir.join("labels").display().to_string(),
            });
        } else {
            v.push(DeviceView {
                id: "scanner-wedge".into(),
                kind: "scanner".into(),
                name: "keyboard wedge".into(),
                status: "ok".into(),
                detail: "any window focus".into(),
            });
            self.hardware_devices(&mut v);
        }
        v.extend(self.light_device_view(now));
        Ok(v)
    }

    fn hardware_devices(&self, v: &mut Vec<DeviceView>) {
        let cfg = self.station.config();
        if let Some(hub) = &self.hw.hub {
            for (i, st) in hub.status().iter().enumerate() {
                v.push(DeviceView {
                    id: format!("scanner-{i}"),
                    kind: "scanner".into(),
                    name: st.source.clone(),
                    status: st.status.clone(),
                    detail: format!("{} · {} scans", st.detail, st.scans),
                });
            }
        } else if let Some(e) = &self.hw.hub_error {
            v.push(DeviceView {
                id: "scanner-0".into(),
                kind: "scanner".into(),
                name: cfg.scanner.sources.join(", "),
                status: "error".into(),
                detail: e.clone(),
            });
        }
        if cfg.scale.is_configured() {
            let name = cfg
                .scale
                .port
                .clone()
                .unwrap_or_else(|| cfg.scale.protocol.clone());
            let (status, detail) = match (&self.hw.scale_error, &self.hw.scale_status) {
                (Some(e), _) => ("error", e.clone()),
                (None, None) => ("offline", "connecting".to_string()),
                (None, Some(st)) => {
                    let (g, stable) = self.last_weight_sent.unwrap_or((0, true));
                    let proto = st
                        .protocol
                        .map(|p| p.name().to_string())
                        .unwrap_or_default();
                    if st.connected {
                        (
                            "ok",
                            format!(
                                "{proto} {} · {g} g · {}",
                                st.detail,
                                if stable { "stable" } else { "motion" }
                            ),
                        )
                    } else {
                        ("offline", st.detail.clone())
                    }
                }
            };
            v.push(DeviceView {
                id: "scale".into(),
                kind: "scale".into(),
                name,
                status: status.into(),
                detail,
            });
        }
        if cfg.labels.enabled {
            let (status, detail) = match (&self.hw.printer_error, &self.printing) {
                (Some(e), _) => ("error", e.clone()),
                (None, Some(_)) => ("ok", cfg.labels.template.display().to_string()),
                (None, None) => ("offline", String::new()),
            };
            v.push(DeviceView {
                id: "printer".into(),
                kind: "printer".into(),
                name: cfg.labels.printer.clone(),
                status: status.into(),
                detail,
            });
        }
    }

    /// Diagnostics of a device on the devices page: `probe` (scale), `test_print` and
    /// `status` (printer), `test` (scanner, tower light); the table is in `app/diagnostics.rs`.
    pub fn diagnose(&mut self, req: DiagRequest, now: DateTime<Utc>) -> Result<DiagResult> {
        self.run_diagnostics(req, now)
    }

    /// One whole pack of a synthetic order through the real station (import, open, two item
    /// scans, stable weight, record): the load of the memory benchmark and a smoke check.
    /// The view goes to the window like any device-driven change.
    pub fn simulate_pack(&mut self, i: u64, now: DateTime<Utc>) -> Result<()> {
        let order_no = format!("BENCH-{i:06}");
        let order: Order = serde_json::from_value(serde_json::json!({
            "order_no": order_no,
            "waybill_nos": [format!("SFB{i:010}")],
            "carrier": "SF",
            "destination": {"province": "广东省", "city": "深圳市", "district": "南山区", "address": "科技园"},
            "lines": [
                {"sku": "BENCH-A", "name": "Bench item A", "qty": 1, "unit_weight_g": 350,
                 "barcodes": [{"code": "PB-BENCH-A-0001"}]},
                {"sku": "BENCH-B", "name": "Bench item B", "qty": 1, "unit_weight_g": 120,
                 "barcodes": [{"code": "PB-BENCH-B-0002"}]}
            ]
        }))
        .map_err(|e| Error::Invalid {
            place: format!("simulated order {order_no}"),
            message: e.to_string(),
        })?;
        self.station
            .with_db(|c| crate::store::orders::upsert(c, &order, now))??;
        if self.station.view().operator.is_none() {
            let packer = self
                .station
                .config()
                .operators
                .iter()
                .find(|o| o.role == Role::Packer && o.pin_hash.is_none())
                .map(|o| o.id.clone())
                .unwrap_or_else(|| "bench".into());
            self.handle(
                Intent::SignIn {
                    operator: packer,
                    role: Some(Role::Packer),
                    pin: None,
                },
                now,
            )?;
        }
        for code in [
            format!("SFB{i:010}"),
            "PB-BENCH-A-0001".into(),
            "PB-BENCH-B-0002".into(),
        ] {
            self.handle(Intent::Scan { code }, now)?;
        }
        let expected = self.station.view().expected_g.map_or(470, |g| g.get());
        let out = self.handle(
            Intent::Weight {
                grams: expected,
                stable: true,
                raw: None,
            },
            now,
        )?;
        if !out.iter().any(|o| o.name() == "pack_recorded") {
            let got: Vec<&str> = out.iter().map(|o| o.name()).collect();
            return Err(Error::Invalid {
                place: format!("simulated pack {order_no}"),
                message: format!("not recorded; outcomes: {}", got.join(", ")),
            });
        }
        let v = self.view(now)?;
        let _ = self.out.send(AppEvent::View(Box::new(v)));
        Ok(())
    }

    /// Moves every dead letter back to pending.
    pub fn retry_dead(&mut self, now: DateTime<Utc>) -> Result<QueueView> {
        self.station
            .with_db(|conn| crate::outbox::retry_dead_letters(conn, &[]))??;
        let q = self.queue_status(now)?;
        let _ = self.out.send(AppEvent::Queue(q.clone()));
        Ok(q)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A language-neutral detail for a flagged result.
fn flagged_detail(f: &Flagged) -> String {
    format!("{} · {} · {}", f.order_no, f.result_id, f.created_at)
}

/// The stop alarm for a result packed for an order cancelled or intercepted meanwhile.
fn flagged_alarm(f: &Flagged, seq: u64) -> AlarmView {
    AlarmView {
        seq,
        class: AlarmClass::Stop,
        outcome: format!("order_{}", f.flag),
        detail: flagged_detail(f),
    }
}

// ---------------------------------------------------------------------------------------------
// The app thread.
// ---------------------------------------------------------------------------------------------

type Job = Box<dyn FnOnce(&mut App, DateTime<Utc>) + Send>;

enum Msg {
    Job(Job),
    Stop,
}

/// A handle to the app thread: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct AppHandle {
    tx: Sender<Msg>,
}

impl std::fmt::Debug for AppHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppHandle")
    }
}

fn gone() -> Error {
    Error::Invalid {
        place: "app thread".into(),
        message: "the station thread has stopped".into(),
    }
}

impl AppHandle {
    /// Opens the app on its own thread. `clock` gives wall-clock time (injected so tests can
    /// fix it). Returns the handle and the event receiver.
    pub fn start(
        config: AppConfig,
        clock: fn() -> DateTime<Utc>,
    ) -> Result<(AppHandle, Receiver<AppEvent>)> {
        let (ev_tx, ev_rx) = mpsc::channel();
        let (tx, rx) = mpsc::channel::<Msg>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        std::thread::Builder::new()
            .name("pb-station".into())
            .spawn(move || {
                let mut app = match App::open(&config, ev_tx.clone(), clock()) {
                    Ok(a) => {
                        let _ = ready_tx.send(Ok(()));
                        a
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                run_loop(&mut app, &rx, &ev_tx, clock);
            })
            .map_err(|source| Error::Io {
                path: "spawn station thread".into(),
                source,
            })?;
        ready_rx.recv().map_err(|_| gone())??;
        Ok((AppHandle { tx }, ev_rx))
    }

    /// Runs `f` on the app thread and waits for its answer (blocking: call it from a plain
    /// thread or `spawn_blocking`).
    pub fn call<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut App, DateTime<Utc>) -> Result<R> + Send + 'static,
    {
        let (rtx, rrx) = mpsc::channel();
        let job: Job = Box::new(move |app, now| {
            let _ = rtx.send(f(app, now));
        });
        self.tx.send(Msg::Job(job)).map_err(|_| gone())?;
        rrx.recv().map_err(|_| gone())?
    }

    /// Stops the app thread (the station's database is closed when it ends).
    pub fn shutdown(&self) {
        let _ = self.tx.send(Msg::Stop);
    }
}

fn run_loop(
    app: &mut App,
    rx: &Receiver<Msg>,
    ev: &Sender<AppEvent>,
    clock: fn() -> DateTime<Utc>,
) {
    loop {
        match rx.recv_timeout(TICK) {
            Ok(Msg::Job(job)) => {
                job(app, clock());
                // A command answers with the view itself; nothing to push.
                app.dirty = false;
            }
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = clock();
        match app.tick(now) {
            Ok(true) => match app.view(now) {
                Ok(v) => {
                    if ev.send(AppEvent::View(Box::new(v))).is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("packbench: view after a device event failed: {e}"),
            },
            Ok(false) => {}
            Err(e) => eprintln!("packbench: device step failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
    }

    fn at(ms: i64) -> DateTime<Utc> {
        t0() + chrono::Duration::milliseconds(ms)
    }

    struct Bench {
        app: App,
        events: Receiver<AppEvent>,
        _dir: tempfile::TempDir,
    }

    fn demo() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let app = App::open(&AppConfig::demo(dir.path()), tx, t0()).unwrap();
        Bench {
            app,
            events: rx,
            _dir: dir,
        }
    }

    fn keys(text: &str, start_ms: u64, gap_ms: u64) -> Vec<WedgeKey> {
        text.chars()
            .enumerate()
            .map(|(i, c)| WedgeKey {
                id: i as u64 + 1,
                key: if c == '\n' {
                    "Enter".into()
                } else {
                    c.to_string()
                },
                t_ms: start_ms + i as u64 * gap_ms,
            })
            .collect()
    }

    /// Steps the devices from `from_ms` for `for_ms`, like the app thread's tick.
    fn run(app: &mut App, from_ms: i64, for_ms: i64) {
        let mut t = from_ms;
        while t <= from_ms + for_ms {
            app.tick(at(t)).unwrap();
            t += 50;
        }
    }

    fn sign_in(app: &mut App) {
        let v = app
            .sign_in(
                SignInRequest {
                    operator: "p1".into(),
                    role: Role::Packer,
                    station: String::new(),
                    pin: String::new(),
                },
                t0(),
            )
            .unwrap();
        assert_eq!(v.session.unwrap().operator, "p1");
    }

    #[test]
    fn bootstrap_lists_operators_reasons_and_demo_codes() {
        let mut b = demo();
        let boot = b.app.bootstrap(t0()).unwrap();
        assert!(boot.demo);
        assert!(boot
            .operators
            .iter()
            .any(|o| o.id == "sup1" && o.role == Role::Supervisor));
        assert!(boot
            .reasons
            .iter()
            .any(|r| r.code == "scale_fault" && r.zh == "秤故障"));
        assert_eq!(boot.view.pack.state, "idle");
        assert!(boot
            .view
            .demo_codes
            .iter()
            .any(|c| c.code == "SF1000000007907"));
    }

    #[test]
    fn wrong_pin_at_sign_in_is_an_error_with_the_place() {
        let mut b = demo();
        let err = b
            .app
            .sign_in(
                SignInRequest {
                    operator: "sup1".into(),
                    role: Role::Supervisor,
                    station: String::new(),
                    pin: "0000".into(),
                },
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input");
        assert!(err.to_string().contains("sign-in of sup1"), "{err}");
    }

    #[test]
    fn wedge_tells_scanner_bursts_from_typing() {
        // (text, ms per key, scanned?, keys released as typing)
        let cases: &[(&str, u64, bool, usize)] = &[
            ("SF1000000007907\n", 2, true, 0),
            ("SF1000000007907\n", 120, false, 16),
            ("abc\n", 2, false, 4),
        ];
        for (text, gap, scanned, released) in cases {
            let mut b = demo();
            sign_in(&mut b.app);
            let r = b.app.wedge_keys(&keys(text, 1_000, *gap), t0()).unwrap();
            let mut got_released = r.released.len();
            // Typing is released after a silence, from the tick.
            b.app.tick(at(60_000)).unwrap();
            while let Ok(ev) = b.events.try_recv() {
                if let AppEvent::Released(k) = ev {
                    got_released += k.len();
                }
            }
            assert_eq!(r.scanned, *scanned, "{text:?} at {gap} ms");
            assert_eq!(got_released, *released, "{text:?} at {gap} ms");
            if *scanned {
                let v = r.view.unwrap();
                assert_eq!(v.pack.order.unwrap().order_no, "DEMO0001");
            }
        }
    }

    #[test]
    fn full_pack_with_wrong_item_heavy_parcel_and_override() {
        let mut b = demo();
        let app = &mut b.app;
        sign_in(app);
        let v = app.scan("SF1000000007907", at(0)).unwrap();
        assert_eq!(v.pack.state, "verifying");
        app.scan("6901230010002", at(200)).unwrap();
        app.scan("6901230010002", at(400)).unwrap();
        // A known SKU of another order: stop alarm, nothing counted.
        let v = app.scan("6901230012747", at(600)).unwrap();
        assert_eq!(v.verdict.as_ref().unwrap().outcome, "wrong_item");
        assert_eq!(v.alarm.as_ref().unwrap().class, AlarmClass::Stop);
        assert_eq!(v.pack.lines[0].scanned, 2);
        // History in the station's zone: 09:00 UTC is 17:00 at the default +08:00.
        assert_eq!(v.history[0].outcome, "wrong_item");
        assert_eq!(v.history[0].at, "17:00:00");
        let v = app.acknowledge(at(700)).unwrap();
        assert!(v.alarm.is_none());
        let v = app.scan("6901230011375", at(800)).unwrap();
        assert_eq!(v.pack.state, "awaiting_weight");
        assert_eq!(v.pack.expected_g, Some(910));

        // Heavy parcel: the simulated scale settles, the capture feeds the station.
        app.demo_scale(ScaleAction::PlaceHeavy, at(1_000)).unwrap();
        run(app, 1_000, 2_500);
        let v = app.view(at(3_600)).unwrap();
        assert_eq!(v.pack.state, "blocked");
        assert_eq!(v.alarm.as_ref().unwrap().class, AlarmClass::Stop);
        assert_eq!(v.alarm.as_ref().unwrap().outcome, "weight_out_of_tolerance");
        let captured = v.pack.captured_g.unwrap();
        assert!(captured > 910 + 27, "captured {captured}");
        let live: Vec<WeightReading> = std::iter::from_fn(|| b.events.try_recv().ok())
            .filter_map(|e| match e {
                AppEvent::Weight(w) => Some(w),
                _ => None,
            })
            .collect();
        assert!(live.iter().any(|w| !w.stable), "settling readings");
        assert_eq!(
            live.last().map(|w| (w.grams, w.stable)),
            Some((captured, true))
        );

        // Wrong PIN, then the supervisor's.
        let v = app
            .supervisor_override(
                OverrideRequest {
                    pin: "0000".into(),
                    reason: "packaging_heavier".into(),
                },
                at(4_000),
            )
            .unwrap();
        assert_eq!(v.verdict.unwrap().outcome, "override_rejected");
        let v = app
            .supervisor_override(
                OverrideRequest {
                    pin: crate::station::DEMO_SUPERVISOR_PIN.into(),
                    reason: "packaging_heavier".into(),
                },
                at(5_000),
            )
            .unwrap();
        assert_eq!(v.verdict.as_ref().unwrap().outcome, "pack_recorded");
        assert_eq!(v.pack.state, "recorded");
        assert!(v.alarm.is_none());
        // The recorded order stays on screen: heading, complete lines and the weights.
        assert_eq!(v.pack.order.as_ref().unwrap().status, "packed");
        assert!(!v.pack.order.as_ref().unwrap().carrier.is_empty());
        assert!(!v.pack.lines.is_empty());
        assert!(v.pack.lines.iter().all(|l| l.scanned >= l.ordered));
        assert!(v.pack.expected_g.is_some() && v.pack.captured_g.is_some());
        let result = v.pack.result.unwrap();
        assert_eq!(result.status, "queued");
        assert_eq!(v.queue.pending, 1);
        let quote = v.pack.quote.unwrap();
        assert_eq!(quote.carrier, "SF");
        assert!(quote.total_fen.unwrap() > 0);
        let preview = v.pack.label.preview.clone().expect("label preview");
        let dir = app.preview_dir().expect("preview folder");
        let png = std::fs::read(preview_file(&dir, &preview).unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "the preview is a PNG");
        assert!(preview_file(&dir, "../demo.db").is_err());
        assert!(preview_file(&dir, "x.pdf").is_err());
        assert!(v.pack.actions.reprint);

        let report = app.shift_report(at(6_000)).unwrap();
        assert_eq!((report.parcels, report.items), (1, 3));
        assert_eq!(report.per_packer[0].overrides, 1);
        assert!(report.per_packer[0].alarms >= 2);
        // 09:00 UTC is 17:00 at the demo station (+08:00); the shift started at local 00:00.
        let busy: Vec<&str> = report
            .per_hour
            .iter()
            .filter(|h| h.parcels > 0)
            .map(|h| h.hour.as_str())
            .collect();
        assert_eq!(busy, ["17"]);
        assert_eq!(report.per_hour.len(), 18);
    }

    #[test]
    fn simulated_packs_are_recorded() {
        let mut b = demo();
        for i in 0..3 {
            b.app.simulate_pack(i, at(i as i64 * 1_000)).unwrap();
        }
        assert_eq!(b.app.queue_status(at(5_000)).unwrap().pending, 3);
        assert_eq!(b.app.shift_report(at(5_000)).unwrap().parcels, 3);
    }

    #[test]
    fn outcome_details_are_language_neutral() {
        let o = Outcome::new(
            OutcomeKind::WeightOutOfTolerance {
                weight_g: domain::Grams(1014),
                expected_g: domain::Grams(910),
                tolerance_g: domain::Grams(27),
                deviation_g: domain::Grams(104),
            },
            Some("O1".into()),
            t0(),
        );
        assert_eq!(outcome_detail(&o), "1014 g / 910 ± 27 g (+104 g)");
    }

    #[test]
    fn scanner_sources_and_wedge_share_one_pipeline() {
        let mut b = demo();
        sign_in(&mut b.app);
        // A configured source (the scripted simulator): its scan reaches the station from tick.
        b.app
            .start_scanners(&ScannerConfig {
                sources: vec!["sim:SF1000000007907@0".into()],
                ..ScannerConfig::default()
            })
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let v = loop {
            b.app.tick(Utc::now()).unwrap();
            let v = b.app.view(Utc::now()).unwrap();
            if v.pack.order.is_some() || std::time::Instant::now() > deadline {
                break v;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(v.pack.order.unwrap().order_no, "DEMO0001");
        // The same item read twice by the wedge within the de-duplication window: one count.
        for start in [10_000, 10_100] {
            b.app
                .wedge_keys(&keys("6901230010002\n", start, 2), t0())
                .unwrap();
        }
        let v = b.app.view(t0()).unwrap();
        assert_eq!(v.pack.lines[0].scanned, 1, "{:?}", v.pack.lines);
        assert_eq!(b.app.hw.hub.as_ref().unwrap().double_reads(), 1);
        b.app.shutdown();
        assert!(b.app.hw.hub.is_none());
    }

    #[test]
    fn handle_runs_jobs_on_the_app_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (h, _rx) = AppHandle::start(AppConfig::demo(dir.path()), Utc::now).unwrap();
        let v = h.call(|app, now| app.scan("SF1000000007907", now)).unwrap();
        assert_eq!(v.pack.order.unwrap().order_no, "DEMO0001");
        h.shutdown();
    }
}
