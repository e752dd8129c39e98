//! Sending jobs and querying status over each transport, with deadlines.

use super::status::{Language, Poll, PrinterStatus, StatusDecoder};
use super::{PrinterAddr, PrinterError};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

/// Deadlines for printer IO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Timeouts {
    /// Connecting (TCP) or opening (USB).
    pub connect: Duration,
    /// Writing the whole job.
    pub write: Duration,
    /// Waiting for a status reply.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            write: Duration::from_secs(10),
            read: Duration::from_secs(2),
        }
    }
}

/// What a job is, for transports that care (the spooler prints PDF itself, raw jobs pass
/// through).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Printer language bytes (TSPL, ZPL): sent unchanged.
    Raw,
    /// A PDF document (spooler or folder only).
    Pdf,
    /// A PNG image (folder only).
    Png,
}

impl JobKind {
    fn extension(self) -> &'static str {
        match self {
            JobKind::Raw => "prn",
            JobKind::Pdf => "pdf",
            JobKind::Png => "png",
        }
    }
}

/// What happened to a job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SendReport {
    /// Bytes handed to the printer.
    pub bytes: usize,
    /// Spooler job id or file written, when there is one.
    pub reference: Option<String>,
    /// How long it took.
    pub elapsed_ms: u64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn io_err(
    addr: &PrinterAddr,
    op: &'static str,
    e: std::io::Error,
    after: Duration,
) -> PrinterError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::TimedOut | K::WouldBlock => PrinterError::Timeout {
            addr: addr.to_string(),
            op,
            after,
        },
        K::ConnectionRefused
        | K::ConnectionReset
        | K::NotFound
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::BrokenPipe
        | K::ConnectionAborted => PrinterError::Offline {
            addr: addr.to_string(),
            message: format!("{op}: {e}"),
        },
        _ => PrinterError::Io {
            addr: addr.to_string(),
            op,
            source: e,
        },
    }
}

fn tcp_connect(
    addr: &PrinterAddr,
    host: &str,
    port: u16,
    t: &Timeouts,
) -> Result<TcpStream, PrinterError> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| PrinterError::Offline {
            addr: addr.to_string(),
            message: format!("cannot resolve {host}: {e}"),
        })?
        .collect();
    let mut last = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, t.connect) {
            Ok(s) => {
                let set = |r: std::io::Result<()>| {
                    r.map_err(|e| io_err(addr, "configure socket", e, t.connect))
                };
                set(s.set_write_timeout(Some(t.write)))?;
                set(s.set_read_timeout(Some(t.read)))?;
                set(s.set_nodelay(true))?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => io_err(addr, "connect", e, t.connect),
        None => PrinterError::Offline {
            addr: addr.to_string(),
            message: format!("{host} has no address"),
        },
    })
}

/// Sends one job. Blocks until the bytes are handed over (or the deadline passes).
pub fn send(
    addr: &PrinterAddr,
    job: &[u8],
    kind: JobKind,
    name: &str,
    t: &Timeouts,
) -> Result<SendReport, PrinterError> {
    let started = Instant::now();
    let reference = match addr {
        PrinterAddr::Tcp { host, port } => {
            raw_only(addr, kind)?;
            let mut s = tcp_connect(addr, host, *port, t)?;
            s.write_all(job)
                .map_err(|e| io_err(addr, "write", e, t.write))?;
            s.flush().map_err(|e| io_err(addr, "write", e, t.write))?;
            // Closing the connection ends the job on AppSocket printers.
            let _ = s.shutdown(std::net::Shutdown::Write);
            None
        }
        PrinterAddr::UsbDevice(path) => {
            raw_only(addr, kind)?;
            usb_device_write(addr, path, job, t)?;
            None
        }
        PrinterAddr::UsbId { vid, pid } => {
            raw_only(addr, kind)?;
            usb_bulk_write(addr, *vid, *pid, job, t)?;
            None
        }
        PrinterAddr::Cups(queue) => Some(cups_send(LP.as_ref(), queue, job, kind, name, t)?),
        PrinterAddr::Dir(dir) => Some(dir_write(addr, dir, job, kind, name)?),
    };
    Ok(SendReport {
        bytes: job.len(),
        reference,
        elapsed_ms: ms(started.elapsed()),
    })
}

fn raw_only(addr: &PrinterAddr, kind: JobKind) -> Result<(), PrinterError> {
    if kind == JobKind::Raw {
        Ok(())
    } else {
        Err(PrinterError::Unsupported {
            addr: addr.to_string(),
            message: format!(
                "a {kind:?} job cannot go raw to a label printer; render TSPL or ZPL, or print the PDF through cups:QUEUE"
            ),
        })
    }
}

/// Asks the printer for its status in `lang` and decodes the reply.
pub fn query_status(
    addr: &PrinterAddr,
    lang: Language,
    t: &Timeouts,
) -> Result<PrinterStatus, PrinterError> {
    let req = lang.status_request();
    let mut dec = StatusDecoder::new(lang);
    match addr {
        PrinterAddr::Tcp { host, port } => {
            let mut s = tcp_connect(addr, host, *port, t)?;
            s.write_all(req)
                .map_err(|e| io_err(addr, "status request", e, t.write))?;
            let deadline = Instant::now() + t.read;
            let mut buf = [0u8; 256];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(PrinterError::Timeout {
                        addr: addr.to_string(),
                        op: "status",
                        after: t.read,
                    });
                }
                s.set_read_timeout(Some(left))
                    .map_err(|e| io_err(addr, "status", e, t.read))?;
                match s.read(&mut buf) {
                    Ok(0) => {
                        return Err(PrinterError::BadReply {
                            addr: addr.to_string(),
                            message: "connection closed before a full status reply".into(),
                        })
                    }
                    Ok(n) => {
                        dec.feed(&buf[..n]);
                        match dec.poll() {
                            Poll::Pending => {}
                            Poll::Ready(st) => return Ok(st),
                            Poll::Invalid(m) => {
                                return Err(PrinterError::BadReply {
                                    addr: addr.to_string(),
                                    message: m,
                                })
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io_err(addr, "status", e, t.read)),
                }
            }
        }
        PrinterAddr::UsbDevice(path) => usb_device_status(addr, path, dec, t),
        PrinterAddr::UsbId { vid, pid } => usb_bulk_status(addr, *vid, *pid, dec, t),
        PrinterAddr::Cups(q) => cups_status(LPSTAT.as_ref(), q),
        PrinterAddr::Dir(d) => {
            if d.is_dir() {
                Ok(PrinterStatus {
                    conditions: Vec::new(),
                    formats_in_buffer: None,
                    labels_remaining: None,
                    raw_hex: String::new(),
                })
            } else {
                Err(PrinterError::Offline {
                    addr: addr.to_string(),
                    message: "the folder does not exist".into(),
                })
            }
        }
    }
}

// ── Folder ────────────────────────────────────────────────────────────────

fn dir_write(
    addr: &PrinterAddr,
    dir: &Path,
    job: &[u8],
    kind: JobKind,
    name: &str,
) -> Result<String, PrinterError> {
    let ioe = |op, e| io_err(addr, op, e, Duration::ZERO);
    std::fs::create_dir_all(dir).map_err(|e| ioe("create folder", e))?;
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let file = dir.join(format!("{safe}.{}", kind.extension()));
    let tmp = dir.join(format!(".{safe}.{}.tmp", kind.extension()));
    std::fs::write(&tmp, job).map_err(|e| ioe("write", e))?;
    std::fs::rename(&tmp, &file).map_err(|e| ioe("rename", e))?;
    Ok(file.display().to_string())
}

// ── CUPS spooler ──────────────────────────────────────────────────────────

/// The spooler's job submission command (CUPS `lp`, also on macOS; found on `PATH`).
pub const LP: &str = "lp";
/// The spooler's status command.
pub const LPSTAT: &str = "lpstat";

/// How often a spooler command is polled for exit.
const SPOOLER_POLL: Duration = Duration::from_millis(10);
/// Deadline of `lpstat`.
const LPSTAT_DEADLINE: Duration = Duration::from_secs(5);

/// Runs `cmd`, feeding `stdin` from a helper thread (a spooler that stops reading cannot
/// block us), and kills it if it has not exited within `deadline`. `Err` says what happened,
/// with the command's own error output when it has one.
fn run_with_deadline(
    mut cmd: std::process::Command,
    stdin: Option<&[u8]>,
    deadline: Duration,
    what: &str,
) -> Result<std::process::Output, String> {
    use std::process::Stdio;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("cannot run {what}: not found on PATH (install the CUPS client: apt-get install cups-client)")
        } else {
            format!("cannot run {what}: {e}")
        }
    })?;
    let feeder = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            Some(std::thread::spawn(move || pipe.write_all(&data)))
        }
        _ => None,
    };
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} did not finish within {deadline:?}"));
            }
            Ok(None) => std::thread::sleep(SPOOLER_POLL),
            Err(e) => return Err(format!("{what}: {e}")),
        }
    };
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{what}: {e}"))?;
    let fed = feeder.map(|f| f.join());
    if status.success() {
        // A spooler that exits 0 without taking the whole job has not queued it.
        match fed {
            Some(Ok(Err(e))) => return Err(format!("{what} stopped reading the job: {e}")),
            Some(Err(_)) => return Err(format!("{what}: the job feeder failed")),
            _ => {}
        }
    }
    Ok(out)
}

/// The arguments of `lp` for a job: destination, title, and `-o raw` for printer-language
/// bytes (a PDF is converted by the spooler's filters). The job comes on standard input.
pub fn lp_args(queue: &str, kind: JobKind, name: &str) -> Vec<String> {
    let mut args = vec!["-d".into(), queue.into(), "-t".into(), name.into()];
    if kind == JobKind::Raw {
        args.extend(["-o".into(), "raw".into()]);
    }
    args
}

/// The job id in `lp`'s answer `request id is QUEUE-123 (1 file(s))`.
pub fn parse_lp_request_id(stdout: &str) -> Option<String> {
    let mut words = stdout.split_whitespace();
    while let Some(w) = words.next() {
        if w == "is" {
            return words.next().map(str::to_string);
        }
    }
    None
}

fn cups_send(
    lp: &std::ffi::OsStr,
    queue: &str,
    job: &[u8],
    kind: JobKind,
    name: &str,
    t: &Timeouts,
) -> Result<String, PrinterError> {
    let mut cmd = std::process::Command::new(lp);
    cmd.args(lp_args(queue, kind, name));
    let spool = |m: String| PrinterError::Spooler {
        queue: queue.to_string(),
        message: m,
    };
    let out = run_with_deadline(cmd, Some(job), t.connect + t.write, "lp").map_err(spool)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said = stderr.trim();
        return Err(spool(format!(
            "the spooler refused the job ({}): {}",
            out.status,
            if said.is_empty() { stdout.trim() } else { said }
        )));
    }
    parse_lp_request_id(&stdout).ok_or_else(|| {
        spool(format!(
            "lp gave no request id (it said {:?}); the job may not be queued",
            stdout.trim()
        ))
    })
}

/// Decodes `lpstat -p QUEUE`: `disabled` = paused, `now printing` = printing, and the
/// printer-state message lines CUPS backends set for paper out, media jam, cover open.
pub fn parse_lpstat(text: &str) -> Vec<super::Condition> {
    use super::Condition as C;
    let lower = text.to_ascii_lowercase();
    let mut conditions = Vec::new();
    let mut add = |c| {
        if !conditions.contains(&c) {
            conditions.push(c);
        }
    };
    if lower.contains("disabled") {
        add(C::Paused);
    }
    if lower.contains("now printing") {
        add(C::Printing);
    }
    for (needle, c) in [
        ("media empty", C::PaperOut),
        ("out of paper", C::PaperOut),
        ("paper out", C::PaperOut),
        ("media jam", C::PaperJam),
        ("cover open", C::CoverOpen),
        ("door open", C::CoverOpen),
        ("head open", C::HeadOpen),
        ("ribbon", C::RibbonOut),
    ] {
        if lower.contains(needle) {
            add(c);
        }
    }
    conditions
}

fn cups_status(lpstat: &std::ffi::OsStr, queue: &str) -> Result<PrinterStatus, PrinterError> {
    let mut cmd = std::process::Command::new(lpstat);
    cmd.arg("-p").arg(queue);
    let spool = |m: String| PrinterError::Spooler {
        queue: queue.to_string(),
        message: m,
    };
    let out = run_with_deadline(cmd, None, LPSTAT_DEADLINE, "lpstat").map_err(spool)?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(spool(format!(
            "lpstat: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(PrinterStatus {
        conditions: parse_lpstat(&text),
        formats_in_buffer: None,
        labels_remaining: None,
        raw_hex: hex::encode(text.trim().as_bytes()),
    })
}

// ── USB printer class device (Linux usblp) ────────────────────────────────

/// Runs blocking device IO (open, write, read) on a helper thread and waits at most
/// `deadline`: a device that never takes or gives the bytes (printer off, buffer full, cable
/// pulled, a FIFO nobody reads) is a timeout, not a hang. The helper ends when the kernel
/// gives up or the device goes away.
#[cfg(target_os = "linux")]
fn with_deadline<T: Send + 'static>(
    addr: &PrinterAddr,
    op: &'static str,
    deadline: Duration,
    f: impl FnOnce() -> Result<T, PrinterError> + Send + 'static,
) -> Result<T, PrinterError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("printer-usb-{op}"))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| io_err(addr, op, e, deadline))?;
    match rx.recv_timeout(deadline) {
        Ok(r) => r,
        Err(_) => Err(PrinterError::Timeout {
            addr: addr.to_string(),
            op,
            after: deadline,
        }),
    }
}

/// `errno` ENOSPC: what the Linux usblp driver answers a write with when the printer says it
/// is out of paper.
#[cfg(target_os = "linux")]
const ENOSPC: i32 = 28;

/// Opens the device for writing (and reading, for status); a missing device or a
/// permission problem gets a message that says what to do.
#[cfg(target_os = "linux")]
fn usb_device_open(
    addr: &PrinterAddr,
    path: &Path,
    read: bool,
) -> Result<std::fs::File, PrinterError> {
    use std::io::ErrorKind as K;
    std::fs::OpenOptions::new()
        .read(read)
        .write(true)
        .open(path)
        .map_err(|e| match e.kind() {
            K::NotFound => PrinterError::Offline {
                addr: addr.to_string(),
                message: format!(
                    "no printer device at {} (printer unplugged or switched off?)",
                    path.display()
                ),
            },
            K::PermissionDenied => PrinterError::Io {
                addr: addr.to_string(),
                op: "open (permission denied: add the user to the lp group)",
                source: e,
            },
            _ => io_err(addr, "open", e, Duration::ZERO),
        })
}

#[cfg(target_os = "linux")]
fn usb_device_write(
    addr: &PrinterAddr,
    path: &Path,
    job: &[u8],
    t: &Timeouts,
) -> Result<(), PrinterError> {
    let (a, p, job) = (addr.clone(), path.to_path_buf(), job.to_vec());
    with_deadline(addr, "write", t.connect + t.write, move || {
        let mut f = usb_device_open(&a, &p, false)?;
        f.write_all(&job)
            .and_then(|()| f.flush())
            .map_err(|e| match e.raw_os_error() {
                Some(ENOSPC) => PrinterError::NotReady {
                    addr: a.to_string(),
                    status: PrinterStatus {
                        conditions: vec![super::Condition::PaperOut],
                        formats_in_buffer: None,
                        labels_remaining: None,
                        raw_hex: String::new(),
                    },
                },
                _ => io_err(&a, "write", e, Duration::ZERO),
            })
    })
}

#[cfg(target_os = "linux")]
fn usb_device_status(
    addr: &PrinterAddr,
    path: &Path,
    mut dec: StatusDecoder,
    t: &Timeouts,
) -> Result<PrinterStatus, PrinterError> {
    let (a, p) = (addr.clone(), path.to_path_buf());
    let req = dec_request(&dec);
    let read_deadline = t.read;
    let bytes = with_deadline(addr, "status", t.connect + t.read, move || {
        let mut f = usb_device_open(&a, &p, true)?;
        let ioe = |e| io_err(&a, "status", e, read_deadline);
        f.write_all(req).map_err(ioe)?;
        let start = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while start.elapsed() < read_deadline {
            let n = f.read(&mut buf).map_err(ioe)?;
            if n == 0 {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            got.extend_from_slice(&buf[..n]);
            if !got.is_empty() && req == super::status::TSPL_STATUS_REQUEST {
                break;
            }
            if got.iter().filter(|b| **b == 0x03).count() >= 3 {
                break;
            }
        }
        Ok(got)
    })?;
    dec.feed(&bytes);
    finish_status(addr, dec, t)
}

fn dec_request(dec: &StatusDecoder) -> &'static [u8] {
    dec.language().status_request()
}

fn finish_status(
    addr: &PrinterAddr,
    mut dec: StatusDecoder,
    t: &Timeouts,
) -> Result<PrinterStatus, PrinterError> {
    match dec.poll() {
        Poll::Ready(s) => Ok(s),
        Poll::Pending => Err(PrinterError::Timeout {
            addr: addr.to_string(),
            op: "status",
            after: t.read,
        }),
        Poll::Invalid(m) => Err(PrinterError::BadReply {
            addr: addr.to_string(),
            message: m,
        }),
    }
}

#[cfg(not(target_os = "linux"))]
fn usb_device_write(
    addr: &PrinterAddr,
    _path: &Path,
    _job: &[u8],
    _t: &Timeouts,
) -> Result<(), PrinterError> {
    Err(PrinterError::Unsupported {
        addr: addr.to_string(),
        message: "usb:PATH printer devices are Linux-only; use usb:VID:PID (libusb) or the spooler"
            .into(),
    })
}

#[cfg(not(target_os = "linux"))]
fn usb_device_status(
    addr: &PrinterAddr,
    _path: &Path,
    _dec: StatusDecoder,
    _t: &Timeouts,
) -> Result<PrinterStatus, PrinterError> {
    Err(PrinterError::Unsupported {
        addr: addr.to_string(),
        message: "usb:PATH printer devices are Linux-only; use usb:VID:PID (libusb)".into(),
    })
}

// ── libusb bulk OUT (rusb) ────────────────────────────────────────────────

/// USB class code of printers.
const USB_CLASS_PRINTER: u8 = 7;

struct BulkPrinter {
    handle: rusb::DeviceHandle<rusb::GlobalContext>,
    iface: u8,
    ep_out: u8,
    ep_in: Option<u8>,
}

fn usb_open(addr: &PrinterAddr, vid: u16, pid: u16) -> Result<BulkPrinter, PrinterError> {
    let uerr = |m: String| PrinterError::Usb {
        addr: addr.to_string(),
        message: m,
    };
    let devices = rusb::devices().map_err(|e| uerr(format!("cannot list USB devices: {e}")))?;
    for dev in devices.iter() {
        let Ok(desc) = dev.device_descriptor() else {
            continue;
        };
        if desc.vendor_id() != vid || desc.product_id() != pid {
            continue;
        }
        let cfg = dev
            .active_config_descriptor()
            .map_err(|e| uerr(format!("config descriptor: {e}")))?;
        for iface in cfg.interfaces() {
            for alt in iface.descriptors() {
                if alt.class_code() != USB_CLASS_PRINTER {
                    continue;
                }
                let mut ep_out = None;
                let mut ep_in = None;
                for ep in alt.endpoint_descriptors() {
                    if ep.transfer_type() == rusb::TransferType::Bulk {
                        match ep.direction() {
                            rusb::Direction::Out => ep_out = Some(ep.address()),
                            rusb::Direction::In => ep_in = Some(ep.address()),
                        }
                    }
                }
                let Some(ep_out) = ep_out else { continue };
                let handle = dev.open().map_err(|e| {
                    uerr(format!(
                        "cannot open (permissions? add a udev rule for {vid:04x}:{pid:04x}): {e}"
                    ))
                })?;
                let _ = handle.set_auto_detach_kernel_driver(true);
                handle
                    .claim_interface(alt.interface_number())
                    .map_err(|e| uerr(format!("cannot claim the printer interface: {e}")))?;
                return Ok(BulkPrinter {
                    handle,
                    iface: alt.interface_number(),
                    ep_out,
                    ep_in,
                });
            }
        }
        return Err(uerr(
            "the device has no printer-class interface with a bulk OUT endpoint".into(),
        ));
    }
    Err(PrinterError::Offline {
        addr: addr.to_string(),
        message: format!("no USB device {vid:04x}:{pid:04x} is connected"),
    })
}

fn usb_bulk_write(
    addr: &PrinterAddr,
    vid: u16,
    pid: u16,
    job: &[u8],
    t: &Timeouts,
) -> Result<(), PrinterError> {
    let p = usb_open(addr, vid, pid)?;
    let deadline = Instant::now() + t.write;
    let mut off = 0;
    while off < job.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(PrinterError::Timeout {
                addr: addr.to_string(),
                op: "write",
                after: t.write,
            });
        }
        let end = (off + 16 * 1024).min(job.len());
        match p.handle.write_bulk(p.ep_out, &job[off..end], left) {
            Ok(n) => off += n,
            Err(rusb::Error::Timeout) => {
                return Err(PrinterError::Timeout {
                    addr: addr.to_string(),
                    op: "write",
                    after: t.write,
                })
            }
            Err(rusb::Error::NoDevice) => {
                return Err(PrinterError::Offline {
                    addr: addr.to_string(),
                    message: "the printer was unplugged".into(),
                })
            }
            Err(e) => {
                return Err(PrinterError::Usb {
                    addr: addr.to_string(),
                    message: format!("bulk write: {e}"),
                })
            }
        }
    }
    let _ = p.handle.release_interface(p.iface);
    Ok(())
}

fn usb_bulk_status(
    addr: &PrinterAddr,
    vid: u16,
    pid: u16,
    mut dec: StatusDecoder,
    t: &Timeouts,
) -> Result<PrinterStatus, PrinterError> {
    let p = usb_open(addr, vid, pid)?;
    let Some(ep_in) = p.ep_in else {
        return Err(PrinterError::Unsupported {
            addr: addr.to_string(),
            message: "the printer has no bulk IN endpoint, so it cannot report status".into(),
        });
    };
    let uerr = |e: rusb::Error| PrinterError::Usb {
        addr: addr.to_string(),
        message: format!("status: {e}"),
    };
    p.handle
        .write_bulk(p.ep_out, dec_request(&dec), t.write)
        .map_err(uerr)?;
    let deadline = Instant::now() + t.read;
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match p.handle.read_bulk(ep_in, &mut buf, left) {
            Ok(n) => {
                dec.feed(&buf[..n]);
                if !matches!(dec.poll(), Poll::Pending) {
                    break;
                }
            }
            Err(rusb::Error::Timeout) => break,
            Err(e) => return Err(uerr(e)),
        }
    }
    let _ = p.handle.release_interface(p.iface);
    finish_status(addr, dec, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn quick() -> Timeouts {
        Timeouts {
            connect: Duration::from_millis(300),
            write: Duration::from_millis(700),
            read: Duration::from_millis(300),
        }
    }

    #[test]
    fn lp_request_ids() {
        for (out, want) in [
            (
                "request id is Zebra_ZD420-42 (0 file(s))\n",
                Some("Zebra_ZD420-42"),
            ),
            ("request id is X-12 (1 file(s))", Some("X-12")),
            ("", None),
            ("lp: warning\n", None),
        ] {
            assert_eq!(parse_lp_request_id(out).as_deref(), want, "{out:?}");
        }
    }

    #[test]
    fn lp_arguments() {
        assert_eq!(
            lp_args("Zebra", JobKind::Raw, "L1-abc"),
            ["-d", "Zebra", "-t", "L1-abc", "-o", "raw"]
        );
        assert_eq!(
            lp_args("Office", JobKind::Pdf, "L1"),
            ["-d", "Office", "-t", "L1"]
        );
    }

    #[test]
    fn lpstat_conditions() {
        use crate::printer::Condition as C;
        for (text, want) in [
            (
                "printer Zebra is idle.  enabled since Tue 25 Nov 2026\n",
                vec![],
            ),
            (
                "printer Zebra now printing Zebra-7.  enabled since …\n",
                vec![C::Printing],
            ),
            (
                "printer Zebra disabled since Tue …\n\tMedia Empty or Jam\n",
                vec![C::Paused, C::PaperOut],
            ),
            ("printer Z is idle.\n\tCover open.\n", vec![C::CoverOpen]),
        ] {
            assert_eq!(parse_lpstat(text), want, "{text:?}");
        }
    }

    /// A fake `lp` in a temp folder: records its arguments and standard input, answers like
    /// CUPS, refuses the queue `Missing`, hangs for the queue `Stuck`.
    #[cfg(unix)]
    fn fake_lp(dir: &Path) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = format!(
            "#!/bin/sh\n\
             printf '%s\\n' \"$@\" > '{d}/args'\n\
             case \"$2\" in\n\
               Missing) echo 'lp: The printer or class does not exist.' >&2; exit 1 ;;\n\
               Stuck) sleep 5; exit 0 ;;\n\
             esac\n\
             cat > '{d}/stdin'\n\
             echo \"request id is $2-42 (0 file(s))\"\n",
            d = dir.display()
        );
        let p = dir.join("lp");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[cfg(unix)]
    #[test]
    fn cups_job_goes_to_lp_with_our_options_and_its_id_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let lp = fake_lp(dir.path());
        let job: Vec<u8> = (0..200_000u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let id = cups_send(
            lp.as_os_str(),
            "Zebra",
            &job,
            JobKind::Raw,
            "L1-x",
            &quick(),
        )
        .unwrap();
        assert_eq!(id, "Zebra-42");
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(args, "-d\nZebra\n-t\nL1-x\n-o\nraw\n");
        assert_eq!(std::fs::read(dir.path().join("stdin")).unwrap(), job);

        // A PDF goes through the spooler's filters: no `-o raw`.
        let id = cups_send(
            lp.as_os_str(),
            "Office",
            b"%PDF-1.7",
            JobKind::Pdf,
            "L2",
            &quick(),
        )
        .unwrap();
        assert_eq!(id, "Office-42");
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(args, "-d\nOffice\n-t\nL2\n");
    }

    #[cfg(unix)]
    #[test]
    fn cups_refusal_hang_and_missing_lp_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let lp = fake_lp(dir.path());
        let e =
            cups_send(lp.as_os_str(), "Missing", b"x", JobKind::Raw, "L", &quick()).unwrap_err();
        assert!(matches!(e, PrinterError::Spooler { .. }), "{e}");
        let m = e.bench_message();
        for w in ["job refused", "cups:Missing", "does not exist"] {
            assert!(m.contains(w), "{m}");
        }
        let started = Instant::now();
        let e = cups_send(lp.as_os_str(), "Stuck", b"x", JobKind::Raw, "L", &quick()).unwrap_err();
        assert!(e.to_string().contains("did not finish within"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(3));
        let e = cups_send(
            dir.path().join("no-lp").as_os_str(),
            "Zebra",
            b"x",
            JobKind::Raw,
            "L",
            &quick(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("cups-client"), "{e}");
    }

    /// A FIFO stands in for `/dev/usb/lp0`: `mkfifo` from coreutils makes it.
    #[cfg(target_os = "linux")]
    fn fifo(dir: &Path) -> Option<std::path::PathBuf> {
        let p = dir.join("lp0");
        let ok = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: mkfifo not available");
        }
        ok.then_some(p)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn usb_device_bytes_arrive_intact() {
        let dir = tempfile::tempdir().unwrap();
        let Some(dev) = fifo(dir.path()) else { return };
        let reader = {
            let dev = dev.clone();
            std::thread::spawn(move || std::fs::read(dev).unwrap())
        };
        // Larger than a pipe's buffer, so the write really waits for the reader.
        let job: Vec<u8> = (0..300_000u32).map(|i| (i * 7).to_le_bytes()[0]).collect();
        let addr = PrinterAddr::UsbDevice(dev);
        let rep = send(&addr, &job, JobKind::Raw, "t", &quick()).unwrap();
        assert_eq!(rep.bytes, job.len());
        assert_eq!(reader.join().unwrap(), job);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn usb_device_that_stops_taking_bytes_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let Some(dev) = fifo(dir.path()) else { return };
        // Opened for reading but never read: the pipe fills and the write blocks.
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let dev = dev.clone();
            std::thread::spawn(move || {
                let f = std::fs::File::open(dev).unwrap();
                opened_tx.send(()).unwrap();
                let _ = release_rx.recv();
                drop(f);
            })
        };
        let addr = PrinterAddr::UsbDevice(dev.clone());
        let job = vec![0x55u8; 1 << 20];
        let t = quick();
        let started = Instant::now();
        let e = send(&addr, &job, JobKind::Raw, "t", &t).unwrap_err();
        opened_rx.recv().unwrap();
        let took = started.elapsed();
        assert!(
            matches!(e, PrinterError::Timeout { op: "write", .. }),
            "{e}"
        );
        assert!(
            took >= t.connect + t.write && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(e.bench_message().contains("usb:"), "{e}");
        // Closing the reader ends the stuck write (EPIPE) and its helper thread.
        release_tx.send(()).unwrap();
        holder.join().unwrap();

        // Nobody opens the device at all: the open itself waits, and times out the same way.
        let e = send(&addr, b"x", JobKind::Raw, "t", &t).unwrap_err();
        assert!(matches!(e, PrinterError::Timeout { .. }), "{e}");
        // Unblock that open so its helper ends too.
        drop(std::fs::File::open(&dev).unwrap());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn missing_usb_device_is_offline_with_a_hint() {
        let addr = PrinterAddr::UsbDevice("/nonexistent/usb/lp9".into());
        let e = send(&addr, b"x", JobKind::Raw, "t", &quick()).unwrap_err();
        assert!(matches!(e, PrinterError::Offline { .. }), "{e}");
        let m = e.bench_message();
        for w in ["printer offline", "usb:/nonexistent/usb/lp9", "unplugged"] {
            assert!(m.contains(w), "{m}");
        }
        assert!(e.is_transient());
    }

    /// usblp answers a write with ENOSPC when the printer reports paper out; `/dev/full`
    /// answers every write that way.
    #[cfg(target_os = "linux")]
    #[test]
    fn usb_device_enospc_is_paper_out() {
        if !Path::new("/dev/full").exists() {
            eprintln!("skipped: no /dev/full");
            return;
        }
        let addr = PrinterAddr::UsbDevice("/dev/full".into());
        let e = send(&addr, b"PRINT 1,1\r\n", JobKind::Raw, "t", &quick()).unwrap_err();
        match &e {
            PrinterError::NotReady { status, .. } => {
                assert_eq!(status.conditions, vec![crate::printer::Condition::PaperOut]);
            }
            other => panic!("{other}"),
        }
        assert!(e.bench_message().contains("缺纸"), "{e}");
    }

    /// libusb bulk OUT against a real printer: opt-in, because CI has no USB printer.
    /// `PACKBENCH_TEST_USB_PRINTER=VID:PID cargo test -p packbench-drivers usb_bulk -- --ignored`
    /// prints a one-line TSPL test label and asks the printer for its status.
    #[test]
    #[ignore = "needs a USB label printer: set PACKBENCH_TEST_USB_PRINTER=VID:PID (hex)"]
    fn usb_bulk_out_hardware() {
        let id = std::env::var("PACKBENCH_TEST_USB_PRINTER")
            .expect("PACKBENCH_TEST_USB_PRINTER=VID:PID");
        let addr: PrinterAddr = format!("usb:{id}").parse().unwrap();
        let job = b"SIZE 60 mm,40 mm\r\nGAP 2 mm,0 mm\r\nCLS\r\nTEXT 40,40,\"3\",0,1,1,\"PackBench USB\"\r\nPRINT 1,1\r\n";
        let t = Timeouts::default();
        let rep = send(&addr, job, JobKind::Raw, "usb-test", &t).unwrap();
        assert_eq!(rep.bytes, job.len());
        match query_status(&addr, Language::Tspl, &t) {
            Ok(st) => eprintln!("status: {}", st.message()),
            Err(e) => eprintln!("status: {e}"),
        }
    }
}
