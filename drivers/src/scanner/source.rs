//! Threaded scanner sources: one thread owns each device and reports scans (and errors)
//! through a channel. A source that fails is reported and reopened after a pause, until
//! it is stopped: a dead reader is never silently lost.
//!
//! Specs (CLI `--source`, configuration):
//! * `evdev:/dev/input/event5`, `evdev:usb:0c2e:0b61`, `evdev:name:Honeywell` (Linux only)
//! * `serial:/dev/ttyACM0`, `serial:COM3@115200`, with the terminator/prefix from config
//! * `hidpos:0c2e:0b61` (USB VID:PID in hex)
//! * `sim:CODE@DELAY_MS,CODE…` (scripted scans, for demo mode)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::hidpos::HidPosLayout;
use super::serial::{SerialFramer, SerialScannerConfig};
use super::sim::{parse_script, ScriptedScan};
use super::{RawScan, ScannerError, SourceKind};

/// Pause before reopening a failed source.
pub const REOPEN_DELAY: Duration = Duration::from_secs(2);
/// Serial read timeout: also how often the stop flag is checked.
pub const SERIAL_READ_TIMEOUT: Duration = Duration::from_millis(100);
/// Poll interval of the evdev reader (bounds scan-end latency after the last key).
pub const EVDEV_POLL: Duration = Duration::from_millis(5);

/// Where scans come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// Linux evdev device.
    Evdev(EvdevSpec),
    /// Serial port, with an optional baud rate override.
    Serial {
        /// Port name (`/dev/ttyACM0`, `COM3`).
        port: String,
        /// Baud rate, when given as `@BAUD`.
        baud: Option<u32>,
    },
    /// USB HID-POS scanner.
    HidPos {
        /// Vendor id.
        vid: u16,
        /// Product id.
        pid: u16,
    },
    /// Scripted simulator.
    Simulator(Vec<ScriptedScan>),
}

/// How an evdev device is chosen (platform-neutral mirror of the Linux selector).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvdevSpec {
    /// Device node path.
    Path(String),
    /// USB VID/PID.
    UsbId(u16, u16),
    /// Name substring.
    Name(String),
}

fn bad(spec: &str, reason: impl Into<String>) -> ScannerError {
    ScannerError::BadSpec {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

fn parse_vid_pid(spec: &str, s: &str) -> Result<(u16, u16), ScannerError> {
    let (v, p) = s
        .split_once(':')
        .ok_or_else(|| bad(spec, "expected VID:PID in hex, e.g. 0c2e:0b61"))?;
    let hex16 = |x: &str| {
        u16::from_str_radix(x.trim_start_matches("0x"), 16)
            .map_err(|_| bad(spec, format!("{x:?} is not a 16-bit hex id")))
    };
    Ok((hex16(v)?, hex16(p)?))
}

impl std::str::FromStr for SourceSpec {
    type Err = ScannerError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
        match kind {
            "evdev" => {
                if let Some(ids) = rest.strip_prefix("usb:") {
                    let (vid, pid) = parse_vid_pid(spec, ids)?;
                    Ok(Self::Evdev(EvdevSpec::UsbId(vid, pid)))
                } else if let Some(name) = rest.strip_prefix("name:") {
                    Ok(Self::Evdev(EvdevSpec::Name(name.to_string())))
                } else if rest.is_empty() {
                    Err(bad(spec, "missing device path, usb:VID:PID or name:TEXT"))
                } else {
                    Ok(Self::Evdev(EvdevSpec::Path(rest.to_string())))
                }
            }
            "serial" => {
                if rest.is_empty() {
                    return Err(bad(spec, "missing serial port name"));
                }
                match rest.rsplit_once('@') {
                    Some((port, baud)) => Ok(Self::Serial {
                        port: port.to_string(),
                        baud: Some(
                            baud.parse()
                                .map_err(|_| bad(spec, format!("bad baud rate {baud:?}")))?,
                        ),
                    }),
                    None => Ok(Self::Serial {
                        port: rest.to_string(),
                        baud: None,
                    }),
                }
            }
            "hidpos" => {
                let (vid, pid) = parse_vid_pid(spec, rest)?;
                Ok(Self::HidPos { vid, pid })
            }
            "sim" => Ok(Self::Simulator(parse_script(rest))),
            _ => Err(bad(spec, "expected evdev:, serial:, hidpos: or sim:")),
        }
    }
}

/// What a source thread reports.
#[derive(Debug)]
pub enum SourceMessage {
    /// The device is open and being read.
    Connected {
        /// Which device.
        device: String,
    },
    /// A scan.
    Scan(RawScan),
    /// The device failed; the thread retries after [`REOPEN_DELAY`].
    Error(ScannerError),
    /// The thread ended (stopped, or a simulator script finished).
    Ended,
}

/// Options shared by all sources.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Serial framing.
    pub serial: SerialScannerConfig,
    /// HID-POS report layout.
    pub hidpos: HidPosLayout,
    /// Tab ends an evdev scan.
    pub evdev_tab_terminates: bool,
}

/// A running source thread.
#[derive(Debug)]
pub struct SourceHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SourceHandle {
    /// Ask the thread to stop and wait for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for SourceHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Milliseconds since `start` (the source's monotonic clock).
fn ms_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Sleep up to `d`, waking early when `stop` is set.
fn sleep_unless_stopped(stop: &AtomicBool, d: Duration) {
    let step = Duration::from_millis(20);
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(step.min(until.saturating_duration_since(Instant::now())));
    }
}

/// Start the thread that owns the device. Scans carry `at_ms` relative to `epoch`.
pub fn spawn(
    spec: SourceSpec,
    options: SourceOptions,
    epoch: Instant,
    tx: Sender<SourceMessage>,
) -> Result<SourceHandle, ScannerError> {
    #[cfg(not(target_os = "linux"))]
    if matches!(spec, SourceSpec::Evdev(_)) {
        return Err(ScannerError::Unsupported {
            what: "evdev scanner input (use serial, hidpos, or the wedge decoder)",
            os: std::env::consts::OS,
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name(format!("scanner-{}", kind_name(&spec)))
        .spawn(move || run(spec, options, epoch, &flag, &tx))
        .map_err(|source| ScannerError::Io {
            device: "scanner thread".into(),
            source,
        })?;
    Ok(SourceHandle {
        stop,
        thread: Some(thread),
    })
}

fn kind_name(spec: &SourceSpec) -> &'static str {
    match spec {
        SourceSpec::Evdev(_) => "evdev",
        SourceSpec::Serial { .. } => "serial",
        SourceSpec::HidPos { .. } => "hidpos",
        SourceSpec::Simulator(_) => "sim",
    }
}

fn run(
    spec: SourceSpec,
    options: SourceOptions,
    epoch: Instant,
    stop: &AtomicBool,
    tx: &Sender<SourceMessage>,
) {
    while !stop.load(Ordering::Relaxed) {
        let result = match &spec {
            SourceSpec::Simulator(script) => {
                run_sim(script, epoch, stop, tx);
                break;
            }
            SourceSpec::Serial { port, baud } => run_serial(port, *baud, &options, epoch, stop, tx),
            SourceSpec::HidPos { vid, pid } => run_hidpos(*vid, *pid, &options, epoch, stop, tx),
            SourceSpec::Evdev(sel) => run_evdev(sel, &options, epoch, stop, tx),
        };
        match result {
            Ok(()) => break,
            Err(e) => {
                if tx.send(SourceMessage::Error(e)).is_err() {
                    return;
                }
                sleep_unless_stopped(stop, REOPEN_DELAY);
            }
        }
    }
    let _ = tx.send(SourceMessage::Ended);
}

fn send_scan(tx: &Sender<SourceMessage>, code: String, source: SourceKind, at_ms: u64) -> bool {
    tx.send(SourceMessage::Scan(RawScan {
        code,
        source,
        at_ms,
    }))
    .is_ok()
}

fn run_sim(script: &[ScriptedScan], epoch: Instant, stop: &AtomicBool, tx: &Sender<SourceMessage>) {
    let _ = tx.send(SourceMessage::Connected {
        device: "simulator".into(),
    });
    for s in script {
        sleep_unless_stopped(stop, Duration::from_millis(s.after_ms));
        if stop.load(Ordering::Relaxed)
            || !send_scan(tx, s.code.clone(), SourceKind::Simulator, ms_since(epoch))
        {
            return;
        }
    }
}

fn run_serial(
    port: &str,
    baud: Option<u32>,
    options: &SourceOptions,
    epoch: Instant,
    stop: &AtomicBool,
    tx: &Sender<SourceMessage>,
) -> Result<(), ScannerError> {
    let cfg = &options.serial;
    let mut p = serialport::new(port, baud.unwrap_or(cfg.baud))
        .timeout(SERIAL_READ_TIMEOUT)
        .open()
        .map_err(|source| ScannerError::Serial {
            port: port.to_string(),
            source,
        })?;
    let _ = tx.send(SourceMessage::Connected {
        device: port.to_string(),
    });
    read_serial_loop(&mut *p, port, cfg.clone(), epoch, stop, tx)
}

/// The serial read loop over any reader (a port, or a pseudo-terminal in tests).
pub fn read_serial_loop(
    reader: &mut dyn std::io::Read,
    port: &str,
    cfg: SerialScannerConfig,
    epoch: Instant,
    stop: &AtomicBool,
    tx: &Sender<SourceMessage>,
) -> Result<(), ScannerError> {
    let mut framer = SerialFramer::new(cfg);
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        match reader.read(&mut buf) {
            Ok(0) => {
                return Err(ScannerError::Io {
                    device: port.to_string(),
                    source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "port closed"),
                })
            }
            Ok(n) => {
                framer.feed(&buf[..n]);
                while let Some(code) = framer.poll() {
                    if !send_scan(tx, code, SourceKind::Serial, ms_since(epoch)) {
                        return Ok(());
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(source) => {
                return Err(ScannerError::Io {
                    device: port.to_string(),
                    source,
                })
            }
        }
    }
    Ok(())
}

fn run_hidpos(
    vid: u16,
    pid: u16,
    options: &SourceOptions,
    epoch: Instant,
    stop: &AtomicBool,
    tx: &Sender<SourceMessage>,
) -> Result<(), ScannerError> {
    let mut reader = super::hidpos::usb::HidPosReader::open(vid, pid, options.hidpos.clone())?;
    let _ = tx.send(SourceMessage::Connected {
        device: format!("usb {vid:04x}:{pid:04x}"),
    });
    while let Some(scan) = reader.next_scan(stop)? {
        if !send_scan(tx, scan.code, SourceKind::HidPos, ms_since(epoch)) {
            break;
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn run_evdev(
    sel: &EvdevSpec,
    options: &SourceOptions,
    epoch: Instant,
    stop: &AtomicBool,
    tx: &Sender<SourceMessage>,
) -> Result<(), ScannerError> {
    use super::evdev_source::{find_device, EvdevScanner, EvdevSelector};
    use super::keymap::KeyDecoderConfig;
    let selector = match sel {
        EvdevSpec::Path(p) => EvdevSelector::Path(p.into()),
        EvdevSpec::UsbId(vid, pid) => EvdevSelector::UsbId {
            vid: *vid,
            pid: *pid,
        },
        EvdevSpec::Name(n) => EvdevSelector::Name(n.clone()),
    };
    let path = find_device(&selector)?;
    let mut dev = EvdevScanner::open(
        &path,
        KeyDecoderConfig {
            tab_terminates: options.evdev_tab_terminates,
            ..KeyDecoderConfig::default()
        },
    )?;
    let _ = tx.send(SourceMessage::Connected {
        device: dev.path().to_string(),
    });
    while !stop.load(Ordering::Relaxed) {
        for (code, at_ms) in dev.pump(ms_since(epoch))? {
            if !send_scan(tx, code, SourceKind::Evdev, at_ms) {
                return Ok(());
            }
        }
        std::thread::sleep(EVDEV_POLL);
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn run_evdev(
    _sel: &EvdevSpec,
    _options: &SourceOptions,
    _epoch: Instant,
    _stop: &AtomicBool,
    _tx: &Sender<SourceMessage>,
) -> Result<(), ScannerError> {
    Err(ScannerError::Unsupported {
        what: "evdev scanner input",
        os: std::env::consts::OS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: &str, expected: Result<SourceSpec, &str>) {
        let got = spec.parse::<SourceSpec>().map_err(|e| e.to_string());
        match expected {
            Ok(want) => assert_eq!(got.unwrap(), want, "{spec}"),
            Err(fragment) => {
                let err = got.unwrap_err();
                assert!(err.contains(fragment), "{spec}: {err}");
            }
        }
    }

    #[test]
    fn specs() {
        check(
            "evdev:/dev/input/event5",
            Ok(SourceSpec::Evdev(EvdevSpec::Path(
                "/dev/input/event5".into(),
            ))),
        );
        check(
            "evdev:usb:0c2e:0B61",
            Ok(SourceSpec::Evdev(EvdevSpec::UsbId(0x0c2e, 0x0b61))),
        );
        check(
            "evdev:name:Honeywell",
            Ok(SourceSpec::Evdev(EvdevSpec::Name("Honeywell".into()))),
        );
        check(
            "serial:/dev/ttyACM0",
            Ok(SourceSpec::Serial {
                port: "/dev/ttyACM0".into(),
                baud: None,
            }),
        );
        check(
            "serial:COM3@115200",
            Ok(SourceSpec::Serial {
                port: "COM3".into(),
                baud: Some(115_200),
            }),
        );
        check(
            "hidpos:0x0c2e:0b61",
            Ok(SourceSpec::HidPos {
                vid: 0x0c2e,
                pid: 0x0b61,
            }),
        );
        check(
            "sim:A@0,B@5",
            Ok(SourceSpec::Simulator(parse_script("A@0,B@5"))),
        );
        check("hidpos:zz:1", Err("not a 16-bit hex id"));
        check("hidpos:0c2e", Err("expected VID:PID"));
        check("serial:", Err("missing serial port"));
        check("serial:COM3@fast", Err("bad baud rate"));
        check("evdev:", Err("missing device path"));
        check("usb:1:2", Err("expected evdev:, serial:, hidpos: or sim:"));
    }

    #[test]
    fn simulator_thread_reports_scans_then_ends() {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = spawn(
            "sim:A@0,B@1".parse().unwrap(),
            SourceOptions::default(),
            Instant::now(),
            tx,
        )
        .unwrap();
        let msgs: Vec<SourceMessage> = rx
            .iter()
            .take_while(|m| !matches!(m, SourceMessage::Ended))
            .collect();
        h.stop();
        let codes: Vec<&str> = msgs
            .iter()
            .filter_map(|m| match m {
                SourceMessage::Scan(s) => Some(s.code.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(codes, ["A", "B"]);
        assert!(matches!(msgs[0], SourceMessage::Connected { .. }));
    }

    #[test]
    fn serial_loop_over_a_reader() {
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = AtomicBool::new(false);
        let mut data: &[u8] = b"]E06901234567892\r\nSKU-1\r\n";
        let r = read_serial_loop(
            &mut data,
            "mem",
            SerialScannerConfig::default(),
            Instant::now(),
            &stop,
            &tx,
        );
        // The in-memory reader ends: reported as a closed port.
        assert!(r.unwrap_err().to_string().contains("port closed"));
        let codes: Vec<String> = rx
            .try_iter()
            .filter_map(|m| match m {
                SourceMessage::Scan(s) => Some(s.code),
                _ => None,
            })
            .collect();
        assert_eq!(codes, ["]E06901234567892", "SKU-1"]);
    }
}
