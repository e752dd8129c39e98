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
        PrinterAddr::Cups(queue) => Some(cups_send(queue, job, kind, name, t)?),
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
        PrinterAddr::Cups(q) => cups_status(q),
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
        format!("cannot run {what}: {e} (is CUPS installed? apt-get install cups-client)")
    })?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(data)
            .map_err(|e| format!("{what}: writing the job: {e}"))?;
    }
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().map_err(|e| format!("{what}: {e}")),
            Ok(None) if start.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} did not finish within {deadline:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
}

fn cups_send(
    queue: &str,
    job: &[u8],
    kind: JobKind,
    name: &str,
    t: &Timeouts,
) -> Result<String, PrinterError> {
    let mut cmd = std::process::Command::new("lp");
    cmd.arg("-d").arg(queue).arg("-t").arg(name);
    if kind == JobKind::Raw {
        cmd.arg("-o").arg("raw");
    }
    let spool = |m: String| PrinterError::Spooler {
        queue: queue.to_string(),
        message: m,
    };
    let out = run_with_deadline(cmd, Some(job), t.connect + t.write, "lp").map_err(spool)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(spool(format!(
            "lp failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // "request id is QUEUE-123 (1 file(s))"
    Ok(stdout
        .split_whitespace()
        .skip_while(|w| *w != "is")
        .nth(1)
        .unwrap_or(stdout.trim())
        .to_string())
}

fn cups_status(queue: &str) -> Result<PrinterStatus, PrinterError> {
    let mut cmd = std::process::Command::new("lpstat");
    cmd.arg("-p").arg(queue);
    let spool = |m: String| PrinterError::Spooler {
        queue: queue.to_string(),
        message: m,
    };
    let out = run_with_deadline(cmd, None, Duration::from_secs(5), "lpstat").map_err(spool)?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(spool(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let mut conditions = Vec::new();
    if text.contains("disabled") {
        conditions.push(super::Condition::Paused);
    }
    if text.contains("now printing") {
        conditions.push(super::Condition::Printing);
    }
    Ok(PrinterStatus {
        conditions,
        formats_in_buffer: None,
        labels_remaining: None,
        raw_hex: hex::encode(text.trim().as_bytes()),
    })
}

// ── USB printer class device (Linux usblp) ────────────────────────────────

/// Runs blocking device IO on a helper thread and waits at most `deadline`. A write stuck in
/// the kernel (printer off, cable pulled) is then reported as a timeout; the helper finishes
/// when the kernel gives up.
#[cfg(target_os = "linux")]
fn with_deadline<T: Send + 'static>(
    addr: &PrinterAddr,
    op: &'static str,
    deadline: Duration,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, PrinterError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("printer-{op}"))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| io_err(addr, op, e, deadline))?;
    match rx.recv_timeout(deadline) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(io_err(addr, op, e, deadline)),
        Err(_) => Err(PrinterError::Timeout {
            addr: addr.to_string(),
            op,
            after: deadline,
        }),
    }
}

#[cfg(target_os = "linux")]
fn usb_device_write(
    addr: &PrinterAddr,
    path: &Path,
    job: &[u8],
    t: &Timeouts,
) -> Result<(), PrinterError> {
    let path = path.to_path_buf();
    let job = job.to_vec();
    with_deadline(addr, "write", t.connect + t.write, move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&path)?;
        f.write_all(&job)?;
        f.flush()
    })
}

#[cfg(target_os = "linux")]
fn usb_device_status(
    addr: &PrinterAddr,
    path: &Path,
    mut dec: StatusDecoder,
    t: &Timeouts,
) -> Result<PrinterStatus, PrinterError> {
    let path = path.to_path_buf();
    let req = dec_request(&dec);
    let read_deadline = t.read;
    let bytes = with_deadline(addr, "status", t.connect + t.read, move || {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)?;
        f.write_all(req)?;
        let start = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while start.elapsed() < read_deadline {
            let n = f.read(&mut buf)?;
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
