//! Scanners: keyboard-wedge decoder, evdev, serial, USB HID-POS sources, de-duplication,
//! sequence numbers, simulator.
//!
//! Every source produces [`RawScan`]s (the code exactly as the scanner sent it, AIM id
//! included when the scanner sends one). A [`ScanPipeline`] drops double reads within a
//! window and numbers the rest, so the consumer can prove that no scan was dropped or
//! doubled between source and engine. Meaning (GTIN, GS1, waybill) is the domain's job:
//! this module knows nothing about orders.
//!
//! Sources run on their own thread ([`source::spawn`]) and report through a channel; the
//! decoders ([`wedge`], [`serial`], [`hidpos`], [`keymap`]) are sans-IO and unit-tested.

pub mod hidpos;
pub mod keymap;
pub mod serial;
pub mod sim;
pub mod source;
pub mod wedge;

#[cfg(target_os = "linux")]
pub mod evdev_source;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Which kind of source produced a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Keyboard wedge, keys forwarded by the UI.
    Wedge,
    /// Linux evdev device grabbed exclusively.
    Evdev,
    /// Serial (RS-232 or USB CDC) scanner.
    Serial,
    /// USB HID-POS scanner (usage page 0x8C).
    HidPos,
    /// The simulator.
    Simulator,
}

/// A scan as a source produced it, before de-duplication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawScan {
    /// The code as sent (AIM id included when present).
    pub code: String,
    /// Source kind.
    pub source: SourceKind,
    /// When the scan completed, in ms of the caller's monotonic clock.
    pub at_ms: u64,
}

/// A scan accepted by the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanEvent {
    /// Sequence number, 1-based, without gaps for accepted scans.
    pub seq: u64,
    /// The code as sent (AIM id included when present).
    pub code: String,
    /// Source kind.
    pub source: SourceKind,
    /// When the scan completed (ms).
    pub at_ms: u64,
}

/// Default window in which an identical second read is a double read.
pub const DEFAULT_DEDUP_WINDOW_MS: u64 = 300;

/// De-duplication and numbering of scans.
#[derive(Debug, Clone)]
pub struct ScanPipeline {
    window_ms: u64,
    last: Option<(String, u64)>,
    next_seq: u64,
    dropped: u64,
}

/// What the pipeline did with a raw scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineOutcome {
    /// Accepted and numbered.
    Accepted(ScanEvent),
    /// The same code again within the window: a double read, dropped.
    DoubleRead {
        /// The code.
        code: String,
        /// Milliseconds since the accepted read.
        since_ms: u64,
    },
}

impl ScanPipeline {
    /// A pipeline dropping identical reads within `window_ms` (0 disables de-duplication).
    pub fn new(window_ms: u64) -> Self {
        Self {
            window_ms,
            last: None,
            next_seq: 1,
            dropped: 0,
        }
    }

    /// Continue numbering after `last_seq` (e.g. restored from storage).
    pub fn with_start_seq(mut self, last_seq: u64) -> Self {
        self.next_seq = last_seq.saturating_add(1);
        self
    }

    /// Number of double reads dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The sequence number the next accepted scan will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Run one raw scan through de-duplication and numbering.
    ///
    /// The window runs from the last *accepted* read, so a code held under a scanner in
    /// continuous mode is accepted again once per window, never in a tight loop.
    pub fn push(&mut self, raw: RawScan) -> PipelineOutcome {
        if let Some((code, at)) = &self.last {
            let since_ms = raw.at_ms.saturating_sub(*at);
            if *code == raw.code && since_ms < self.window_ms {
                self.dropped += 1;
                return PipelineOutcome::DoubleRead {
                    code: raw.code,
                    since_ms,
                };
            }
        }
        self.last = Some((raw.code.clone(), raw.at_ms));
        let seq = self.next_seq;
        self.next_seq += 1;
        PipelineOutcome::Accepted(ScanEvent {
            seq,
            code: raw.code,
            source: raw.source,
            at_ms: raw.at_ms,
        })
    }
}

impl Default for ScanPipeline {
    fn default() -> Self {
        Self::new(DEFAULT_DEDUP_WINDOW_MS)
    }
}

/// Errors of scanner sources and decoders.
#[derive(Debug, Error)]
pub enum ScannerError {
    /// A source specification could not be understood.
    #[error("bad scanner source {spec:?}: {reason}")]
    BadSpec {
        /// The specification given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// Serial port failure.
    #[error("serial scanner {port}: {source}")]
    Serial {
        /// The port.
        port: String,
        /// The error.
        source: serialport::Error,
    },
    /// IO failure on a device node or port.
    #[error("scanner {device}: {source}")]
    Io {
        /// The device.
        device: String,
        /// The error.
        source: std::io::Error,
    },
    /// USB failure.
    #[error("USB scanner {vid:04x}:{pid:04x}: {source}")]
    Usb {
        /// Vendor id.
        vid: u16,
        /// Product id.
        pid: u16,
        /// The error.
        source: rusb::Error,
    },
    /// No device matched.
    #[error("no scanner found matching {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// A malformed HID-POS report.
    #[error("HID-POS report: {0}")]
    HidReport(#[from] hidpos::HidPosError),
    /// The source is not available on this operating system.
    #[error("{what} is not supported on this operating system ({os})")]
    Unsupported {
        /// The feature.
        what: &'static str,
        /// `std::env::consts::OS`.
        os: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(code: &str, at_ms: u64) -> RawScan {
        RawScan {
            code: code.into(),
            source: SourceKind::Serial,
            at_ms,
        }
    }

    fn check(window: u64, input: &[(&str, u64)], expected: &[Option<u64>]) {
        let mut p = ScanPipeline::new(window);
        let got: Vec<Option<u64>> = input
            .iter()
            .map(|(c, t)| match p.push(raw(c, *t)) {
                PipelineOutcome::Accepted(e) => Some(e.seq),
                PipelineOutcome::DoubleRead { .. } => None,
            })
            .collect();
        assert_eq!(got, expected, "window {window} input {input:?}");
    }

    #[test]
    fn dedup_and_sequence() {
        check(
            300,
            &[("A", 0), ("A", 100), ("A", 299), ("A", 300)],
            &[Some(1), None, None, Some(2)],
        );
        check(
            300,
            &[("A", 0), ("B", 10), ("A", 20)],
            &[Some(1), Some(2), Some(3)],
        );
        check(0, &[("A", 0), ("A", 0)], &[Some(1), Some(2)]);
        check(300, &[], &[]);
    }

    #[test]
    fn start_seq_and_counters() {
        let mut p = ScanPipeline::new(300).with_start_seq(41);
        assert_eq!(p.next_seq(), 42);
        assert!(matches!(
            p.push(raw("X", 0)),
            PipelineOutcome::Accepted(ScanEvent { seq: 42, .. })
        ));
        assert_eq!(
            p.push(raw("X", 5)),
            PipelineOutcome::DoubleRead {
                code: "X".into(),
                since_ms: 5
            }
        );
        assert_eq!(p.dropped(), 1);
    }
}
