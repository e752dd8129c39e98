//! Scanner sources in the station: own the source threads and forward scans as scan intents.
//!
//! [`ScannerHub`] starts one thread per configured source ([`drivers::scanner::source`]),
//! runs every raw read through one [`ScanPipeline`] (double reads dropped, a sequence number
//! per scan) and hands out [`HubEvent`]s. [`deliver`] turns an accepted scan into exactly
//! one `Intent::Scan { code }` on the [`Station`]; [`Forwarder`] does that on its own thread
//! for headless use. Keyboard-wedge scans decoded elsewhere (the app's window keys) can join
//! the same pipeline with [`ScannerHub::push`], so numbering and de-duplication are shared.
//!
//! What this module must never do: interpret codes. The station's lookup and the domain
//! decide what a code means.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::verify::Outcome;
use drivers::scanner::hidpos::HidPosLayout;
use drivers::scanner::serial::SerialScannerConfig;
use drivers::scanner::source::{self, SourceHandle, SourceMessage, SourceOptions, SourceSpec};
use drivers::scanner::wedge::WedgeConfig;
use drivers::scanner::{
    PipelineOutcome, RawScan, ScanEvent, ScanPipeline, DEFAULT_DEDUP_WINDOW_MS,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::station::{Intent, Station};

/// The `[scanner]` section of the station configuration.
///
/// ```toml
/// [scanner]
/// sources = ["evdev:usb:0c2e:0b61", "serial:/dev/ttyACM0@9600"]
/// dedup_window_ms = 300
///
/// [scanner.wedge]
/// avg_ms_per_char = 30
/// min_len = 6
///
/// [scanner.serial]
/// terminator = "crlf"
/// prefix = [2]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScannerConfig {
    /// Source specs (`evdev:…`, `serial:…`, `hidpos:VID:PID`, `sim:…`). Empty: the keyboard
    /// wedge in the window is the only scanner.
    pub sources: Vec<String>,
    /// Identical reads closer than this are double reads (0 disables).
    pub dedup_window_ms: u64,
    /// Keyboard-wedge timing rules.
    pub wedge: WedgeConfig,
    /// Serial framing.
    pub serial: SerialScannerConfig,
    /// HID-POS report layout.
    pub hidpos: HidPosLayout,
    /// Tab ends a scan from an evdev scanner (Enter always does).
    pub evdev_tab_terminates: bool,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            dedup_window_ms: DEFAULT_DEDUP_WINDOW_MS,
            wedge: WedgeConfig::default(),
            serial: SerialScannerConfig::default(),
            hidpos: HidPosLayout::default(),
            evdev_tab_terminates: true,
        }
    }
}

impl ScannerConfig {
    /// Parses every source spec; errors name the entry.
    pub fn specs(&self) -> Result<Vec<SourceSpec>> {
        self.sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parse::<SourceSpec>().map_err(|e| Error::Invalid {
                    place: format!("scanner.sources[{i}]"),
                    message: e.to_string(),
                })
            })
            .collect()
    }

    /// Checks values serde cannot.
    pub fn validate(&self) -> Result<()> {
        self.specs()?;
        let bad = |field: &str, message: &str| Error::Invalid {
            place: format!("scanner.{field}"),
            message: message.to_string(),
        };
        if self.wedge.min_len == 0 {
            return Err(bad("wedge.min_len", "must be at least 1"));
        }
        if self.wedge.avg_ms_per_char == 0 || self.wedge.max_gap_ms == 0 {
            return Err(bad("wedge", "timings must be above 0 ms"));
        }
        if self.serial.max_len == 0 {
            return Err(bad("serial.max_len", "must be at least 1"));
        }
        if self.dedup_window_ms > 10_000 {
            return Err(bad("dedup_window_ms", "must be at most 10000"));
        }
        Ok(())
    }

    fn options(&self) -> SourceOptions {
        SourceOptions {
            serial: self.serial.clone(),
            hidpos: self.hidpos.clone(),
            evdev_tab_terminates: self.evdev_tab_terminates,
        }
    }
}

/// A scanner's state as the devices page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannerStatus {
    /// The source spec.
    pub source: String,
    /// `connecting`, `ok`, `error` or `ended`.
    pub status: String,
    /// Device name or the last error.
    pub detail: String,
    /// Scans accepted from this source.
    pub scans: u64,
}

/// What the hub reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HubEvent {
    /// An accepted, numbered scan: deliver it exactly once.
    Scan(ScanEvent),
    /// A double read that was dropped.
    DoubleRead {
        /// The code.
        code: String,
        /// Milliseconds since the accepted read.
        since_ms: u64,
    },
    /// A source opened its device.
    Connected {
        /// Source index in the configuration.
        source: usize,
        /// The device.
        device: String,
    },
    /// A source failed (it retries).
    Error {
        /// Source index in the configuration.
        source: usize,
        /// The error.
        message: String,
    },
    /// A source thread ended.
    Ended {
        /// Source index.
        source: usize,
    },
}

/// The running scanner sources and their shared pipeline.
#[derive(Debug)]
pub struct ScannerHub {
    rx: Receiver<(usize, SourceMessage)>,
    handles: Vec<SourceHandle>,
    pipeline: ScanPipeline,
    status: Vec<ScannerStatus>,
    epoch: Instant,
}

impl ScannerHub {
    /// Starts every configured source. `epoch` is the origin of scan timestamps (ms).
    pub fn start(config: &ScannerConfig, epoch: Instant) -> Result<ScannerHub> {
        config.validate()?;
        let specs = config.specs()?;
        let (tx, rx) = channel();
        let mut handles = Vec::new();
        let mut status = Vec::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let (stx, srx) = channel::<SourceMessage>();
            let h =
                source::spawn(spec, config.options(), epoch, stx).map_err(|e| Error::Invalid {
                    place: format!("scanner.sources[{i}]"),
                    message: e.to_string(),
                })?;
            // Tag each source's messages with its index on one shared channel.
            let tx = tx.clone();
            std::thread::Builder::new()
                .name(format!("scanner-tag-{i}"))
                .spawn(move || {
                    for m in srx {
                        if tx.send((i, m)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|source| Error::Io {
                    path: "scanner thread".into(),
                    source,
                })?;
            handles.push(h);
            status.push(ScannerStatus {
                source: config.sources[i].clone(),
                status: "connecting".into(),
                detail: String::new(),
                scans: 0,
            });
        }
        Ok(ScannerHub {
            rx,
            handles,
            pipeline: ScanPipeline::new(config.dedup_window_ms),
            status,
            epoch,
        })
    }

    /// Milliseconds since the hub's epoch (for wedge scans pushed by the app).
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs a scan from outside the threads (the window's keyboard wedge) through the pipeline.
    pub fn push(&mut self, raw: RawScan) -> HubEvent {
        match self.pipeline.push(raw) {
            PipelineOutcome::Accepted(e) => HubEvent::Scan(e),
            PipelineOutcome::DoubleRead { code, since_ms } => {
                HubEvent::DoubleRead { code, since_ms }
            }
        }
    }

    fn on_message(&mut self, i: usize, m: SourceMessage) -> HubEvent {
        let st = self.status.get_mut(i);
        match m {
            SourceMessage::Connected { device } => {
                if let Some(st) = st {
                    st.status = "ok".into();
                    st.detail.clone_from(&device);
                }
                HubEvent::Connected { source: i, device }
            }
            SourceMessage::Error(e) => {
                let message = e.to_string();
                if let Some(st) = st {
                    st.status = "error".into();
                    st.detail.clone_from(&message);
                }
                HubEvent::Error { source: i, message }
            }
            SourceMessage::Ended => {
                if let Some(st) = st {
                    st.status = "ended".into();
                }
                HubEvent::Ended { source: i }
            }
            SourceMessage::Scan(raw) => {
                let ev = self.push(raw);
                if let (HubEvent::Scan(_), Some(st)) = (&ev, self.status.get_mut(i)) {
                    st.scans += 1;
                }
                ev
            }
        }
    }

    /// Everything the sources reported since the last call, without blocking.
    pub fn drain(&mut self) -> Vec<HubEvent> {
        let mut out = Vec::new();
        while let Ok((i, m)) = self.rx.try_recv() {
            out.push(self.on_message(i, m));
        }
        out
    }

    /// Waits up to `timeout` for the next report.
    pub fn next(&mut self, timeout: Duration) -> Option<HubEvent> {
        match self.rx.recv_timeout(timeout) {
            Ok((i, m)) => Some(self.on_message(i, m)),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Status of each source.
    pub fn status(&self) -> &[ScannerStatus] {
        &self.status
    }

    /// Double reads dropped so far.
    pub fn double_reads(&self) -> u64 {
        self.pipeline.dropped()
    }

    /// Whether every source thread has ended.
    pub fn all_ended(&self) -> bool {
        self.handles.iter().all(SourceHandle::is_finished)
    }

    /// Stops every source and waits for the threads.
    pub fn stop(self) {
        for h in self.handles {
            h.stop();
        }
    }
}

/// Delivers one accepted scan to the station as exactly one `Intent::Scan`.
pub fn deliver(station: &Station, scan: &ScanEvent, now: DateTime<Utc>) -> Result<Vec<Outcome>> {
    station.handle(
        Intent::Scan {
            code: scan.code.clone(),
        },
        now,
    )
}

/// A thread that forwards the hub's scans to the station (headless mode, the CLI, tests).
#[derive(Debug)]
pub struct Forwarder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<ScannerHub>>,
}

/// How often the forwarder checks its stop flag.
pub const FORWARD_POLL: Duration = Duration::from_millis(50);

impl Forwarder {
    /// Starts forwarding. `on_event` sees every hub event (for logging) after delivery;
    /// the wall clock gives the intents' time.
    pub fn start(
        mut hub: ScannerHub,
        station: Station,
        mut on_event: impl FnMut(&HubEvent, Option<&[Outcome]>) + Send + 'static,
    ) -> Result<Forwarder> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("scanner-forward".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let Some(ev) = hub.next(FORWARD_POLL) else {
                        continue;
                    };
                    match &ev {
                        HubEvent::Scan(scan) => match deliver(&station, scan, Utc::now()) {
                            Ok(outcomes) => on_event(&ev, Some(&outcomes)),
                            Err(e) => on_event(
                                &HubEvent::Error {
                                    source: usize::MAX,
                                    message: format!("scan #{} not delivered: {e}", scan.seq),
                                },
                                None,
                            ),
                        },
                        _ => on_event(&ev, None),
                    }
                }
                hub
            })
            .map_err(|source| Error::Io {
                path: "scanner forwarder thread".into(),
                source,
            })?;
        Ok(Forwarder {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops forwarding and returns the hub (still running its sources).
    pub fn stop(mut self) -> Option<ScannerHub> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_validation() {
        let c = ScannerConfig::default();
        assert!(c.validate().is_ok());
        let bad = ScannerConfig {
            sources: vec!["sim:A".into(), "usb:1".into()],
            ..ScannerConfig::default()
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("scanner.sources[1]"), "{e}");
        let c: ScannerConfig = toml::from_str(
            "sources = [\"serial:COM3@115200\"]\ndedup_window_ms = 500\n[wedge]\nmin_len = 8\n[serial]\nterminator = \"crlf\"\n",
        )
        .unwrap();
        assert_eq!(c.wedge.min_len, 8);
        assert_eq!(c.dedup_window_ms, 500);
        assert!(toml::from_str::<ScannerConfig>("bogus = 1").is_err());
    }

    #[test]
    fn hub_numbers_and_deduplicates_simulated_scans() {
        let cfg = ScannerConfig {
            sources: vec!["sim:A@0,A@0,B@0".into()],
            dedup_window_ms: 10_000,
            ..ScannerConfig::default()
        };
        let mut hub = ScannerHub::start(&cfg, Instant::now()).unwrap();
        let mut events = Vec::new();
        while !matches!(events.last(), Some(HubEvent::Ended { .. })) {
            if let Some(e) = hub.next(Duration::from_secs(5)) {
                events.push(e);
            } else {
                panic!("no event; got {events:?}");
            }
        }
        let scans: Vec<(u64, String)> = events
            .iter()
            .filter_map(|e| match e {
                HubEvent::Scan(s) => Some((s.seq, s.code.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(scans, [(1, "A".to_string()), (2, "B".to_string())]);
        assert_eq!(hub.double_reads(), 1);
        assert_eq!(hub.status()[0].scans, 2);
        assert_eq!(hub.status()[0].status, "ended");
        hub.stop();
    }
}
