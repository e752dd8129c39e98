//! The devices page's diagnostics ([`App::diagnose`]), for the demo devices and for configured
//! hardware:
//!
//! | device id | action | what it does |
//! |---|---|---|
//! | `scale-demo` | `probe` | decodes a simulated MT-SICS frame |
//! | `scale` | `probe` | releases the scale's port (its thread stops), runs the protocol prober at the configured baud first and then the common ones, reports the candidates with confidence and the raw bytes seen, and starts the scale again |
//! | `printer`, `printer-pdf` | `test_print` | prints the configured template with sample data through the print queue and waits for the job |
//! | `printer`, `printer-pdf` | `status` | asks the printer (TSPL `ESC !?`, ZPL `~HS`; a folder must exist; CUPS `lpstat`) |
//! | `scanner-wedge`, `scanner-N` | `test` | the last scans with their AIM symbology identifier and the sources' state |
//! | `tower-light` | `test` | green → yellow → red → buzzer → off, then back to the bench state |
//!
//! These run on the app thread and block it for at most a few seconds (a probe listens about a
//! second per baud; a test print waits for the printer): they are started by hand from the
//! devices page, never while a parcel is being packed.

use super::{App, DiagRequest, DiagResult};
use crate::devices::scale::ScaleDevice;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use domain::barcode::split_aim;
use drivers::printer::{self, Language, PrinterAddr};
use drivers::scale::probe::{probe_at, probe_settings, ProbeOptions, ProbeResult};
use drivers::scale::transport::{resolve_port, SerialSettings, Source};
use drivers::scale::weight::{Decimal, Unit};
use drivers::scale::{mt_sics, Frame, FrameDecoder, FrameKind};
use labels::{Format, LabelData};
use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::Duration;

/// How many recent scans the scanner test lists.
pub const RECENT_SCANS: usize = 10;
/// Raw bytes kept per probed setting.
const PROBE_RAW_BYTES: usize = 48;
/// Longest wait for a test print.
const TEST_PRINT_WAIT: Duration = Duration::from_secs(8);
/// Listening time per baud when probing from the devices page.
const PROBE_LISTEN_MS: u64 = 1_000;

/// Recent scans, for the scanner test.
#[derive(Debug, Default)]
pub(super) struct Diag {
    scans: VecDeque<(DateTime<Utc>, String)>,
}

impl Diag {
    /// Notes a scan handed to the station.
    pub(super) fn note_scan(&mut self, code: &str, now: DateTime<Utc>) {
        self.scans.push_front((now, code.to_string()));
        self.scans.truncate(RECENT_SCANS);
    }
}

fn invalid(device: &str, message: impl Into<String>) -> Error {
    Error::Invalid {
        place: format!("diagnostics of {device}"),
        message: message.into(),
    }
}

/// Printable text of raw bytes: ASCII as is, the rest `\xNN`.
fn printable(raw: &[u8]) -> String {
    crate::devices::scale::raw_text(raw)
}

fn hex(raw: &[u8]) -> String {
    raw.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line for a decoded frame.
fn frame_line(f: &Frame) -> String {
    let unit = f.unit.map_or("", |u| u.symbol());
    let what = match f.kind {
        FrameKind::Weight => format!(
            "weight {} {unit}{}",
            f.value.map(|v| v.to_string()).unwrap_or_default(),
            match f.stable {
                Some(true) => " stable",
                Some(false) => " motion",
                None => "",
            }
        ),
        FrameKind::Overload => "overload".into(),
        FrameKind::Underload => "underload".into(),
        FrameKind::Error => format!("error {}", f.error.clone().unwrap_or_default()),
        FrameKind::Ack => "ack".into(),
    };
    format!("{what} · raw {}", printable(&f.raw))
}

/// `low`, `medium` or `high`.
fn confidence(f: &ProbeResult) -> String {
    format!("{:?}", f.confidence).to_lowercase()
}

/// What the prober heard at one setting.
struct Heard {
    settings: SerialSettings,
    bytes: usize,
    raw: Vec<u8>,
    found: Option<ProbeResult>,
}

/// Probes `port` like [`drivers::scale::probe::probe_port`], keeping the first bytes heard at
/// each setting for the diagnostics page. Stops at the first medium- or high-confidence
/// finding.
fn probe_with_raw(port: &str, opts: &ProbeOptions) -> Result<Vec<Heard>> {
    let mut heard = Vec::new();
    for &baud in &opts.bauds {
        let settings = probe_settings(opts, baud);
        let mut bytes = 0;
        let mut raw = Vec::new();
        let found = probe_at(port, settings, opts, &mut |data| {
            bytes += data.len();
            let room = PROBE_RAW_BYTES.saturating_sub(raw.len());
            raw.extend(data.iter().take(room));
        })
        .map_err(|e| invalid("scale", e.to_string()))?;
        // Frames that parse at a setting are rare on a wrong baud: a medium finding is
        // enough for the devices page (the full sweep is `packbench scale probe`).
        let done = found
            .as_ref()
            .is_some_and(|f| f.confidence >= drivers::scale::probe::Confidence::Medium);
        heard.push(Heard {
            settings,
            bytes,
            raw,
            found,
        });
        if done {
            break;
        }
    }
    Ok(heard)
}

impl App {
    /// Runs one diagnostics action (see the module docs for the table).
    pub(super) fn run_diagnostics(
        &mut self,
        req: DiagRequest,
        now: DateTime<Utc>,
    ) -> Result<DiagResult> {
        match (req.device.as_str(), req.action.as_str()) {
            ("scale-demo", "probe") => Ok(demo_probe()),
            ("scale", "probe") => self.probe_scale(),
            ("printer" | "printer-pdf", "test_print") => self.test_print(now),
            ("printer" | "printer-pdf", "status") => self.printer_status(),
            (dev, "test") if dev.starts_with("scanner") => Ok(self.scanner_test()),
            (super::light::LIGHT_DEVICE_ID, "test") => self.light_test(now),
            (dev, action) => Err(Error::Invalid {
                place: format!("diagnostics of {dev} at {}", super::hhmmss(now)),
                message: format!("{action} is not available for this device"),
            }),
        }
    }

    /// Releases the scale's port, probes it, and starts the scale again.
    fn probe_scale(&mut self) -> Result<DiagResult> {
        let cfg = self.station.config().scale.clone();
        if !cfg.is_configured() {
            return Err(invalid(
                "scale",
                "no scale configured: add a [scale] section",
            ));
        }
        let device = cfg.device_config()?;
        let Source::Serial { port, settings } = device.source else {
            return Err(invalid(
                "scale",
                "a USB HID-POS scale has one protocol (usage page 0x8D): nothing to probe",
            ));
        };
        let name = resolve_port(&port).map_err(|e| invalid("scale", e.to_string()))?;
        let mut bauds = vec![settings.baud];
        bauds.extend(
            ProbeOptions::default()
                .bauds
                .into_iter()
                .filter(|b| *b != settings.baud),
        );
        let opts = ProbeOptions {
            base: settings,
            bauds,
            listen_ms: PROBE_LISTEN_MS,
            decoder: device.decoder,
            ..ProbeOptions::default()
        };
        // The scale thread owns the port: stop it (the port is released when it ends), probe,
        // and start it again whatever the probe found.
        let was_running = self.hw.scale.take().is_some();
        self.hw.scale_rx = None;
        let heard = probe_with_raw(&name, &opts);
        if was_running {
            let (tx, rx) = mpsc::channel();
            match ScaleDevice::spawn(&cfg, move |ev| {
                let _ = tx.send(ev);
            }) {
                Ok(dev) => {
                    self.hw.scale = Some(dev);
                    self.hw.scale_rx = Some(rx);
                    self.hw.scale_status = None;
                }
                Err(e) => self.hw.scale_error = Some(e.to_string()),
            }
        }
        let heard = heard?;
        let mut lines = Vec::new();
        for h in &heard {
            lines.push(format!(
                "{}: {} bytes{}",
                h.settings,
                h.bytes,
                if h.raw.is_empty() {
                    String::new()
                } else {
                    format!(" · {} · {}", hex(&h.raw), printable(&h.raw))
                }
            ));
            if let Some(f) = &h.found {
                lines.push(format!(
                    "  {} ({} confidence): {} frames, {} checksummed, {} bad checksums",
                    f.protocol.name(),
                    confidence(f),
                    f.frames,
                    f.checksummed,
                    f.bad_checksum
                ));
                for (p, score) in &f.others {
                    lines.push(format!("  also {} (score {score})", p.name()));
                }
                if let Some(s) = &f.sample {
                    lines.push(format!("  sample: {}", frame_line(s)));
                }
            }
        }
        let best = heard
            .iter()
            .filter_map(|h| h.found.as_ref())
            .max_by_key(|f| (f.confidence, f.frames));
        let summary = match best {
            Some(f) => format!(
                "{} @ {name} {} ({} confidence, {} frames); configured: {}",
                f.protocol.name(),
                f.settings,
                confidence(f),
                f.frames,
                cfg.protocol
            ),
            None => format!(
                "{name}: no scale protocol recognised at {}",
                heard
                    .iter()
                    .map(|h| h.settings.baud.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Ok(DiagResult { summary, lines })
    }

    /// Prints the configured template with sample data through the print queue.
    fn test_print(&mut self, now: DateTime<Utc>) -> Result<DiagResult> {
        let Some(q) = self.printing.clone() else {
            return Err(invalid(
                "printer",
                self.hw
                    .printer_error
                    .clone()
                    .unwrap_or_else(|| "no printer configured".into()),
            ));
        };
        let mut data = LabelData::sample();
        data.label_id = format!("TEST-{}", now.format("%Y%m%d%H%M%S%3f"));
        data.station = self.station.config().station_id.clone();
        data.packed_at = now.format("%Y-%m-%d %H:%M").to_string();
        data.order.remark = "测试标签 TEST LABEL".into();
        let job_id = q.submit(&data, None, None)?;
        let job = q.wait(&job_id, TEST_PRINT_WAIT)?;
        let cfg = q.config();
        let mut lines = vec![
            format!("printer: {}", cfg.printer),
            format!("template: {}", cfg.template.display()),
            format!("format: {}", cfg.format.extension()),
            format!("job: {job_id} · label {}", data.label_id),
            format!("state: {:?} after {} attempt(s)", job.state, job.attempts),
        ];
        if let Some(b) = job.bytes {
            lines.push(format!("bytes sent: {b}"));
        }
        if let Some(e) = &job.last_error {
            lines.push(format!("last error: {e}"));
        }
        let summary = match job.state {
            crate::printing::JobState::Printed => format!("test label printed on {}", cfg.printer),
            crate::printing::JobState::Failed => format!(
                "test label failed on {}: {}",
                cfg.printer,
                job.last_error.as_deref().unwrap_or("unknown error")
            ),
            s => format!(
                "test label still {s:?} after {} s: see the print queue",
                TEST_PRINT_WAIT.as_secs()
            ),
        };
        Ok(DiagResult { summary, lines })
    }

    /// Asks the printer for its status.
    fn printer_status(&mut self) -> Result<DiagResult> {
        let Some(q) = self.printing.clone() else {
            return Err(invalid("printer", "no printer configured"));
        };
        let cfg = q.config().clone();
        let addr: PrinterAddr = cfg
            .printer
            .parse()
            .map_err(|e: printer::PrinterError| invalid("printer", e.to_string()))?;
        let lang = match cfg.format {
            Format::Tspl => Some(Language::Tspl),
            Format::Zpl => Some(Language::Zpl),
            Format::Pdf | Format::Png => None,
        };
        let queryable = matches!(addr, PrinterAddr::Dir(_) | PrinterAddr::Cups(_));
        let Some(lang) = lang.or(queryable.then_some(Language::Tspl)) else {
            return Ok(DiagResult {
                summary: format!(
                    "{}: a {} printer has no status query",
                    cfg.printer,
                    cfg.format.extension()
                ),
                lines: vec!["status queries exist for TSPL (ESC !?) and ZPL (~HS)".into()],
            });
        };
        let request = match addr {
            PrinterAddr::Dir(_) => "folder exists".to_string(),
            PrinterAddr::Cups(_) => "lpstat".to_string(),
            _ => printable(lang.status_request()),
        };
        match printer::query_status(&addr, lang, &cfg.timeouts.to_timeouts()) {
            Ok(st) => {
                let mut lines = vec![format!("request: {request}")];
                if !st.raw_hex.is_empty() {
                    lines.push(format!("reply: {}", st.raw_hex));
                }
                for c in &st.conditions {
                    lines.push(format!("condition: {}", c.message()));
                }
                if let Some(n) = st.formats_in_buffer {
                    lines.push(format!("formats in buffer: {n}"));
                }
                if let Some(n) = st.labels_remaining {
                    lines.push(format!("labels remaining: {n}"));
                }
                Ok(DiagResult {
                    summary: format!("{}: {}", cfg.printer, st.message()),
                    lines,
                })
            }
            Err(e) => Ok(DiagResult {
                summary: format!("{}: {}", cfg.printer, e),
                lines: vec![format!("request: {request}"), format!("code: {}", e.code())],
            }),
        }
    }

    /// The last scans with their symbology, and the scanner sources' state.
    fn scanner_test(&self) -> DiagResult {
        let mut lines: Vec<String> = self
            .diag
            .scans
            .iter()
            .map(|(at, code)| {
                let (aim, data) = split_aim(code);
                match aim {
                    Some(id) => format!(
                        "{} {id} {} · {data}",
                        at.format("%H:%M:%S%.3f"),
                        id.symbology_name()
                    ),
                    None => format!("{} (no AIM id) · {data}", at.format("%H:%M:%S%.3f")),
                }
            })
            .collect();
        if let Some(hub) = &self.hw.hub {
            for st in hub.status() {
                lines.push(format!(
                    "source {}: {} · {} · {} scans",
                    st.source, st.status, st.detail, st.scans
                ));
            }
            lines.push(format!("double reads dropped: {}", hub.double_reads()));
        }
        let with_aim = self
            .diag
            .scans
            .iter()
            .filter(|(_, c)| split_aim(c).0.is_some())
            .count();
        DiagResult {
            summary: format!(
                "{} recent scan(s), {with_aim} with an AIM symbology id{}",
                self.diag.scans.len(),
                if self.diag.scans.is_empty() {
                    ": scan a barcode and run the test again"
                } else {
                    ""
                }
            ),
            lines,
        }
    }
}

/// The demo scale's probe: one simulated MT-SICS frame through the real decoder.
fn demo_probe() -> DiagResult {
    let bytes = mt_sics::encode_weight(Decimal::ZERO, Unit::G, true);
    let mut d = mt_sics::Decoder::new();
    d.feed(&bytes);
    let frames: Vec<String> = std::iter::from_fn(|| d.poll())
        .map(|f| {
            format!(
                "{:?} {:?} stable={:?}",
                f.kind,
                f.value.map(|v| v.to_string()),
                f.stable
            )
        })
        .collect();
    DiagResult {
        summary: format!("mt-sics @ simulated port: {} frame(s) parsed", frames.len()),
        lines: frames,
    }
}
