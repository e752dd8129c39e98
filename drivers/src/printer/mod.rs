//! Label printers: where a job goes and how to ask a printer how it is.
//!
//! Transports: raw TCP port 9100 (AppSocket/JetDirect) with connect/write/read timeouts, the
//! Linux USB printer class device (`/dev/usb/lp*`), libusb bulk OUT to a printer-class
//! interface (rusb), the CUPS spooler (`lp`, for PDF or raw jobs) and a folder (demo mode).
//! Status queries (TSPL `<ESC>!?`, ZPL `~HS`) are decoded sans-IO in [`status`].
//!
//! This module knows bytes and printers, never orders or labels. Every call blocks and has a
//! deadline: run it on the printing thread, never on an async runtime.

pub mod status;
pub mod transport;

pub use status::{Condition, Language, PrinterStatus, StatusDecoder};
pub use transport::{
    lp_args, parse_lp_request_id, parse_lpstat, query_status, send, JobKind, SendReport, Timeouts,
};

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The default raw printing port.
pub const RAW_PORT: u16 = 9100;

/// Where a printer is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum PrinterAddr {
    /// `tcp://HOST[:PORT]` (port 9100 by default).
    Tcp {
        /// Host name or IP.
        host: String,
        /// Port.
        port: u16,
    },
    /// `usb:/dev/usb/lp0`: the Linux USB printer class device.
    UsbDevice(PathBuf),
    /// `usb:VID:PID` (hex): libusb bulk OUT to the printer-class interface.
    UsbId {
        /// Vendor id.
        vid: u16,
        /// Product id.
        pid: u16,
    },
    /// `cups:QUEUE`: the system spooler (`lp -d QUEUE`).
    Cups(String),
    /// `dir:PATH`: write each job as a file into a folder (demo mode, PDF printers).
    Dir(PathBuf),
}

impl std::fmt::Display for PrinterAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrinterAddr::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            PrinterAddr::UsbDevice(p) => write!(f, "usb:{}", p.display()),
            PrinterAddr::UsbId { vid, pid } => write!(f, "usb:{vid:04x}:{pid:04x}"),
            PrinterAddr::Cups(q) => write!(f, "cups:{q}"),
            PrinterAddr::Dir(p) => write!(f, "dir:{}", p.display()),
        }
    }
}

impl From<PrinterAddr> for String {
    fn from(a: PrinterAddr) -> String {
        a.to_string()
    }
}

impl TryFrom<String> for PrinterAddr {
    type Error = PrinterError;
    fn try_from(s: String) -> Result<Self, PrinterError> {
        s.parse()
    }
}

impl FromStr for PrinterAddr {
    type Err = PrinterError;
    fn from_str(s: &str) -> Result<Self, PrinterError> {
        let bad = |m: &str| PrinterError::Address {
            addr: s.to_string(),
            message: m.to_string(),
        };
        if let Some(rest) = s.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                    h.trim_start_matches('[').trim_end_matches(']'),
                    p.parse::<u16>()
                        .map_err(|_| bad("the port is not a number 1–65535"))?,
                ),
                _ => (rest, RAW_PORT),
            };
            if host.is_empty() || port == 0 {
                return Err(bad("expected tcp://HOST[:PORT]"));
            }
            return Ok(PrinterAddr::Tcp {
                host: host.to_string(),
                port,
            });
        }
        if let Some(rest) = s.strip_prefix("usb:") {
            if rest.starts_with('/') || rest.starts_with('.') {
                return Ok(PrinterAddr::UsbDevice(PathBuf::from(rest)));
            }
            let (v, p) = rest
                .split_once(':')
                .ok_or_else(|| bad("expected usb:/dev/usb/lpN or usb:VID:PID (hex)"))?;
            let hex = |x: &str| u16::from_str_radix(x.trim_start_matches("0x"), 16);
            return Ok(PrinterAddr::UsbId {
                vid: hex(v).map_err(|_| bad("VID is not hex"))?,
                pid: hex(p).map_err(|_| bad("PID is not hex"))?,
            });
        }
        if let Some(q) = s.strip_prefix("cups:") {
            if q.is_empty() || q.contains(char::is_whitespace) {
                return Err(bad("expected cups:QUEUE_NAME"));
            }
            return Ok(PrinterAddr::Cups(q.to_string()));
        }
        if let Some(p) = s.strip_prefix("dir:") {
            if p.is_empty() {
                return Err(bad("expected dir:PATH"));
            }
            return Ok(PrinterAddr::Dir(PathBuf::from(p)));
        }
        Err(bad(
            "unknown printer address; use tcp://HOST:9100, usb:/dev/usb/lp0, usb:VID:PID, cups:QUEUE or dir:PATH",
        ))
    }
}

/// Printer errors: each says which printer and what to do.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    /// The address does not parse.
    #[error("printer address {addr:?}: {message}")]
    Address {
        /// The address as given.
        addr: String,
        /// What is wrong.
        message: String,
    },
    /// Could not reach the printer (refused, unreachable, no such device).
    #[error("printer {addr} is offline: {message}")]
    Offline {
        /// The printer.
        addr: String,
        /// Details.
        message: String,
    },
    /// The printer did not complete an operation in time.
    #[error("printer {addr}: {op} timed out after {after:?}")]
    Timeout {
        /// The printer.
        addr: String,
        /// `connect`, `write` or `status`.
        op: &'static str,
        /// The deadline that passed.
        after: Duration,
    },
    /// An IO error after connecting.
    #[error("printer {addr}: {op}: {source}")]
    Io {
        /// The printer.
        addr: String,
        /// What was being done.
        op: &'static str,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The printer reports a condition that stops printing.
    #[error("printer {addr}: {}", status.message())]
    NotReady {
        /// The printer.
        addr: String,
        /// Its status.
        status: PrinterStatus,
    },
    /// The status reply is not understood.
    #[error("printer {addr}: bad status reply: {message}")]
    BadReply {
        /// The printer.
        addr: String,
        /// Details.
        message: String,
    },
    /// The spooler refused the job or its status.
    #[error("printer cups:{queue}: {message}")]
    Spooler {
        /// The queue.
        queue: String,
        /// What `lp` said.
        message: String,
    },
    /// USB (libusb) failure.
    #[error("USB printer {addr}: {message}")]
    Usb {
        /// The printer.
        addr: String,
        /// Details.
        message: String,
    },
    /// The operation is not available for this transport or OS.
    #[error("printer {addr}: {message}")]
    Unsupported {
        /// The printer.
        addr: String,
        /// What is not supported and what to use instead.
        message: String,
    },
}

impl PrinterError {
    /// True if retrying later may succeed (offline, timeout, not ready, IO).
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            PrinterError::Address { .. } | PrinterError::Unsupported { .. }
        )
    }

    /// What went wrong, in a few words for the packer (Chinese / English): the cause
    /// without the technical detail.
    pub fn cause(&self) -> String {
        match self {
            PrinterError::Address { .. } => "打印机地址有误 / bad printer address".into(),
            PrinterError::Offline { .. } => "打印机离线 / printer offline".into(),
            PrinterError::Timeout { .. } => "打印机无响应（超时） / printer timed out".into(),
            PrinterError::Io { .. } => "打印机通信出错 / printer connection error".into(),
            PrinterError::NotReady { status, .. } => status.message(),
            PrinterError::BadReply { .. } => {
                "打印机状态无法识别 / printer status not understood".into()
            }
            PrinterError::Spooler { .. } => "打印任务被拒绝 / print job refused".into(),
            PrinterError::Usb { .. } => "USB 打印机出错 / USB printer error".into(),
            PrinterError::Unsupported { .. } => {
                "该打印机不支持此操作 / not supported by this printer".into()
            }
        }
    }

    /// The message to show at the bench: the cause, then the printer and the detail, e.g.
    /// `打印机离线 / printer offline — printer tcp://192.0.2.5:9100 is offline: connect: …`.
    /// For a printer that is not ready the detail already is the cause, so it is said once.
    pub fn bench_message(&self) -> String {
        match self {
            PrinterError::NotReady { addr, status } => {
                format!("{} — printer {addr}", status.message())
            }
            other => format!("{} — {other}", other.cause()),
        }
    }

    /// A stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            PrinterError::Address { .. } => "printer_address",
            PrinterError::Offline { .. } => "printer_offline",
            PrinterError::Timeout { .. } => "printer_timeout",
            PrinterError::Io { .. } => "printer_io",
            PrinterError::NotReady { .. } => "printer_not_ready",
            PrinterError::BadReply { .. } => "printer_bad_reply",
            PrinterError::Spooler { .. } => "printer_spooler",
            PrinterError::Usb { .. } => "printer_usb",
            PrinterError::Unsupported { .. } => "printer_unsupported",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str, want: Result<PrinterAddr, &str>) {
        match (s.parse::<PrinterAddr>(), want) {
            (Ok(a), Ok(w)) => {
                assert_eq!(a, w, "{s}");
                // Display round-trips.
                assert_eq!(a.to_string().parse::<PrinterAddr>().unwrap(), a);
            }
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{s}: {e}"),
            (got, w) => panic!("{s}: got {got:?}, want {w:?}"),
        }
    }

    /// Every failure names the printer and says the cause in words a packer knows.
    #[test]
    fn bench_messages_name_the_printer_and_the_cause() {
        let tcp = "tcp://192.0.2.5:9100".to_string();
        let check = |e: PrinterError, want: &[&str]| {
            let m = e.bench_message();
            for w in want {
                assert!(m.contains(w), "{m:?} lacks {w:?}");
            }
        };
        check(
            PrinterError::Offline {
                addr: tcp.clone(),
                message: "connect: Connection refused".into(),
            },
            &["printer offline", "打印机离线", &tcp, "Connection refused"],
        );
        check(
            PrinterError::Timeout {
                addr: "usb:/dev/usb/lp0".into(),
                op: "write",
                after: std::time::Duration::from_secs(10),
            },
            &["timed out", "usb:/dev/usb/lp0", "write timed out after 10s"],
        );
        check(
            PrinterError::NotReady {
                addr: tcp.clone(),
                status: PrinterStatus {
                    conditions: vec![Condition::PaperOut, Condition::HeadOpen],
                    formats_in_buffer: None,
                    labels_remaining: None,
                    raw_hex: String::new(),
                },
            },
            &["缺纸", "paper out", "head open", &tcp],
        );
        check(
            PrinterError::Spooler {
                queue: "Zebra".into(),
                message: "the spooler refused the job (exit status: 1): lp: The printer or class does not exist.".into(),
            },
            &["job refused", "cups:Zebra", "does not exist"],
        );
    }

    #[test]
    fn addresses() {
        let tcp = |h: &str, p| PrinterAddr::Tcp {
            host: h.into(),
            port: p,
        };
        check("tcp://192.0.2.5:9100", Ok(tcp("192.0.2.5", 9100)));
        check("tcp://printer.local", Ok(tcp("printer.local", 9100)));
        check("tcp://[::1]:9101", Ok(tcp("::1", 9101)));
        check("tcp://h:port", Err("port"));
        check(
            "usb:/dev/usb/lp0",
            Ok(PrinterAddr::UsbDevice("/dev/usb/lp0".into())),
        );
        check(
            "usb:0x0fe6:811e",
            Ok(PrinterAddr::UsbId {
                vid: 0x0fe6,
                pid: 0x811e,
            }),
        );
        check("usb:zz:1", Err("VID"));
        check(
            "cups:Zebra_ZD420",
            Ok(PrinterAddr::Cups("Zebra_ZD420".into())),
        );
        check("cups:", Err("cups:QUEUE"));
        check(
            "dir:/tmp/labels",
            Ok(PrinterAddr::Dir("/tmp/labels".into())),
        );
        check("lpt1", Err("unknown printer address"));
    }
}
