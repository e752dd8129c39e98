//! The scale device thread: owns the port (serial or USB HID), decodes, runs stability and
//! auto-capture, and reports events to a sink. Reconnects with exponential backoff after an
//! unplug; finds the port again by name or by USB VID/PID (hot-plug).
//!
//! Architecture invariant: the port is owned by exactly one thread, reached by messages
//! ([`ScaleHandle`]); a bad frame never stops it (decoders never panic, errors are events).
//! Blocking reads use a short timeout so commands and shutdown are handled promptly.

use super::capture::{Capture, CaptureConfig, CaptureEvent, Captured, LiveThrottle, Reading};
use super::hid_pos::{UsbError, UsbScale};
use super::probe::{self, ProbeOptions, ProbeResult};
use super::{DecoderOptions, Frame, FrameDecoder, FrameKind, Polling, Protocol, ScaleCommand};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long to wait for a command's reply before restarting a stream.
const STREAM_RESTART_TIMEOUT_MS: u64 = 1_000;

/// Data bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataBits {
    /// 7 data bits (usually with parity).
    #[serde(rename = "7")]
    Seven,
    /// 8 data bits.
    #[serde(rename = "8")]
    Eight,
}

/// Parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// None.
    None,
    /// Odd.
    Odd,
    /// Even.
    Even,
}

/// Stop bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopBits {
    /// One.
    #[serde(rename = "1")]
    One,
    /// Two.
    #[serde(rename = "2")]
    Two,
}

/// Flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    /// None.
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

/// Serial line settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SerialSettings {
    /// Baud rate.
    pub baud: u32,
    /// Data bits.
    pub data_bits: DataBits,
    /// Parity.
    pub parity: Parity,
    /// Stop bits.
    pub stop_bits: StopBits,
    /// Flow control.
    pub flow_control: FlowControl,
    /// Read timeout per read call, milliseconds.
    pub read_timeout_ms: u64,
}

impl Default for SerialSettings {
    fn default() -> Self {
        SerialSettings {
            baud: 9600,
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
            flow_control: FlowControl::None,
            read_timeout_ms: 20,
        }
    }
}

impl std::fmt::Display for SerialSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = match self.data_bits {
            DataBits::Seven => 7,
            DataBits::Eight => 8,
        };
        let p = match self.parity {
            Parity::None => 'N',
            Parity::Odd => 'O',
            Parity::Even => 'E',
        };
        let s = match self.stop_bits {
            StopBits::One => 1,
            StopBits::Two => 2,
        };
        write!(f, "{} {d}{p}{s}", self.baud)
    }
}

/// Which port: by name (`COM3`, `/dev/ttyUSB0`, a udev symlink) or by USB ids (hot-plug safe).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortSelector {
    /// A port name.
    Name {
        /// The name or path.
        port: String,
    },
    /// The first USB serial port with these ids (and serial number, when given).
    Usb {
        /// USB vendor id.
        vid: u16,
        /// USB product id.
        pid: u16,
        /// USB serial number.
        #[serde(default)]
        serial_number: Option<String>,
    },
}

impl std::fmt::Display for PortSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortSelector::Name { port } => f.write_str(port),
            PortSelector::Usb {
                vid,
                pid,
                serial_number,
            } => {
                write!(f, "usb {vid:04x}:{pid:04x}")?;
                if let Some(s) = serial_number {
                    write!(f, " serial {s}")?;
                }
                Ok(())
            }
        }
    }
}

/// Where the scale is connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A serial port.
    Serial {
        /// Which port.
        port: PortSelector,
        /// Line settings (the baud etc. found by the probe replace these with `Auto`).
        settings: SerialSettings,
    },
    /// A USB HID-POS scale; empty ids = the known defaults.
    HidUsb {
        /// (vendor, product) ids to accept.
        ids: Vec<(u16, u16)>,
    },
}

/// Fixed protocol, or probe the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolChoice {
    /// Probe protocol and baud on each (re)connect until found, then keep it.
    Auto,
    /// This protocol.
    Fixed(Protocol),
}

/// Reconnect backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Backoff {
    /// First wait, milliseconds.
    pub initial_ms: u64,
    /// Longest wait, milliseconds.
    pub max_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial_ms: 200,
            max_ms: 5_000,
        }
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failures (1 = first).
    pub fn delay_ms(&self, failures: u32) -> u64 {
        let shift = failures.saturating_sub(1).min(20);
        self.initial_ms
            .saturating_mul(1u64 << shift)
            .min(self.max_ms)
    }
}

/// Everything the device thread needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceConfig {
    /// Port or USB device.
    pub source: Source,
    /// Protocol.
    pub protocol: ProtocolChoice,
    /// Decoder settings (unit of unit-less protocols, Toledo options).
    pub decoder: DecoderOptions,
    /// Stability and capture.
    pub capture: CaptureConfig,
    /// Reconnect backoff.
    pub backoff: Backoff,
    /// Live readings at most this often (the UI stream), milliseconds.
    pub live_interval_ms: u64,
    /// Also report every decoded frame (diagnostics; `scale monitor --frames`).
    pub emit_frames: bool,
}

impl DeviceConfig {
    /// A config for a serial port with defaults.
    pub fn serial(port: impl Into<String>, protocol: ProtocolChoice) -> DeviceConfig {
        DeviceConfig {
            source: Source::Serial {
                port: PortSelector::Name { port: port.into() },
                settings: SerialSettings::default(),
            },
            protocol,
            decoder: DecoderOptions::default(),
            capture: CaptureConfig::default(),
            backoff: Backoff::default(),
            live_interval_ms: 100,
            emit_frames: false,
        }
    }
}

/// What the device thread reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DeviceEvent {
    /// The port is open and the protocol known.
    Connected {
        /// Port name or USB ids.
        port: String,
        /// Protocol in use.
        protocol: Protocol,
        /// Line settings (serial only).
        settings: Option<String>,
        /// The probe's finding, when the protocol was auto-detected.
        probe: Option<ProbeResult>,
    },
    /// The port was lost or could not be opened; retrying.
    Disconnected {
        /// Port name or selector.
        port: String,
        /// Why.
        reason: String,
        /// Next attempt in.
        retry_in_ms: u64,
    },
    /// A throttled live reading.
    Live(Reading),
    /// A captured parcel weight.
    Captured(Captured),
    /// No frames for a while.
    Stale {
        /// Device-thread time.
        at_ms: u64,
    },
    /// A decoded frame (only with `emit_frames`).
    Frame {
        /// The frame.
        frame: Frame,
        /// Device-thread time.
        at_ms: u64,
    },
    /// A command could not be sent.
    CommandFailed {
        /// The command.
        command: ScaleCommand,
        /// Why.
        reason: String,
    },
    /// The thread stopped (after `stop`).
    Stopped,
}

/// Transport errors.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Opening a serial port failed.
    #[error("open serial port {port} ({settings}): {source}")]
    Open {
        /// Port.
        port: String,
        /// Settings tried.
        settings: SerialSettings,
        /// Cause.
        source: serialport::Error,
    },
    /// No port matches the selector.
    #[error("no serial port matches {0}")]
    NotFound(String),
    /// Listing ports failed.
    #[error("list serial ports: {0}")]
    List(serialport::Error),
    /// IO on an open port failed.
    #[error("{port}: {op}: {source}")]
    Io {
        /// Port.
        port: String,
        /// What was being done.
        op: &'static str,
        /// Cause.
        source: io::Error,
    },
    /// USB HID.
    #[error(transparent)]
    Usb(#[from] UsbError),
    /// The probe found nothing.
    #[error("{port}: no scale protocol recognised at any tried setting")]
    ProbeFailed {
        /// Port.
        port: String,
    },
    /// The device thread could not be started.
    #[error("start scale thread: {0}")]
    Spawn(io::Error),
    /// The device thread is gone.
    #[error("the scale thread has stopped")]
    Stopped,
}

/// Finds the port name for a selector (enumerating USB serial ports for VID/PID).
pub fn resolve_port(sel: &PortSelector) -> Result<String, TransportError> {
    match sel {
        PortSelector::Name { port } => Ok(port.clone()),
        PortSelector::Usb {
            vid,
            pid,
            serial_number,
        } => {
            let ports = serialport::available_ports().map_err(TransportError::List)?;
            ports
                .into_iter()
                .find(|p| match &p.port_type {
                    serialport::SerialPortType::UsbPort(u) => {
                        u.vid == *vid
                            && u.pid == *pid
                            && serial_number
                                .as_ref()
                                .is_none_or(|s| u.serial_number.as_deref() == Some(s.as_str()))
                    }
                    _ => false,
                })
                .map(|p| p.port_name)
                .ok_or_else(|| TransportError::NotFound(sel.to_string()))
        }
    }
}

/// A serial port on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortInfo {
    /// The name to open.
    pub port: String,
    /// USB vendor id (USB serial adapters only).
    pub vid: Option<u16>,
    /// USB product id.
    pub pid: Option<u16>,
    /// USB serial number.
    pub serial_number: Option<String>,
    /// USB product string.
    pub product: Option<String>,
}

/// Lists the serial ports (with USB ids where the OS reports them).
pub fn list_ports() -> Result<Vec<PortInfo>, TransportError> {
    let ports = serialport::available_ports().map_err(TransportError::List)?;
    Ok(ports
        .into_iter()
        .map(|p| match p.port_type {
            serialport::SerialPortType::UsbPort(u) => PortInfo {
                port: p.port_name,
                vid: Some(u.vid),
                pid: Some(u.pid),
                serial_number: u.serial_number,
                product: u.product,
            },
            _ => PortInfo {
                port: p.port_name,
                vid: None,
                pid: None,
                serial_number: None,
                product: None,
            },
        })
        .collect())
}

/// An open serial port. On unix it is opened exclusively (TIOCEXCL, so no other program reads
/// the scale) and the exclusivity is released before closing, so a reconnect can open it again.
pub struct SerialConn {
    #[cfg(unix)]
    port: serialport::TTYPort,
    #[cfg(not(unix))]
    port: Box<dyn serialport::SerialPort>,
}

impl std::fmt::Debug for SerialConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // TTYPort's methods come from the trait; a boxed port has them inherently.
        #[cfg(unix)]
        use serialport::SerialPort;
        write!(f, "SerialConn({:?})", self.port.name())
    }
}

impl SerialConn {
    /// Drops whatever was received and not read yet.
    pub fn clear_input(&self) {
        #[cfg(unix)]
        use serialport::SerialPort;
        let _ = self.port.clear(serialport::ClearBuffer::Input);
    }
}

impl Read for SerialConn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.port.read(buf)
    }
}

impl Write for SerialConn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.port.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.port.flush()
    }
}

impl Drop for SerialConn {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            let _ = self.port.set_exclusive(false);
        }
    }
}

/// Opens a serial port with the given settings.
pub fn open_serial(port: &str, s: &SerialSettings) -> Result<SerialConn, TransportError> {
    let builder = serialport::new(port, s.baud)
        .data_bits(match s.data_bits {
            DataBits::Seven => serialport::DataBits::Seven,
            DataBits::Eight => serialport::DataBits::Eight,
        })
        .parity(match s.parity {
            Parity::None => serialport::Parity::None,
            Parity::Odd => serialport::Parity::Odd,
            Parity::Even => serialport::Parity::Even,
        })
        .stop_bits(match s.stop_bits {
            StopBits::One => serialport::StopBits::One,
            StopBits::Two => serialport::StopBits::Two,
        })
        .flow_control(match s.flow_control {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Software => serialport::FlowControl::Software,
            FlowControl::Hardware => serialport::FlowControl::Hardware,
        })
        .timeout(Duration::from_millis(s.read_timeout_ms.max(1)));
    let err = |source| TransportError::Open {
        port: port.to_owned(),
        settings: *s,
        source,
    };
    #[cfg(unix)]
    let conn = SerialConn {
        port: builder.open_native().map_err(err)?,
    };
    #[cfg(not(unix))]
    let conn = SerialConn {
        port: builder.open().map_err(err)?,
    };
    Ok(conn)
}

/// A byte link to a scale.
trait Link {
    /// Reads what is available (0 on timeout).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes a command.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;
}

struct SerialLink(SerialConn);

impl Link for SerialLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            // serialport reports "nothing within the timeout" as TimedOut on every OS…
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(0),
            // …so zero bytes from a readable port is end of file: the device is gone.
            Ok(0) if !buf.is_empty() => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "end of file (device removed)",
            )),
            other => other,
        }
    }
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)?;
        self.0.flush()
    }
}

struct HidLink(UsbScale);

impl Link for HidLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read_report(Duration::from_millis(50)) {
            Ok(Some(r)) => {
                let n = r.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), r.get(..n)) {
                    dst.copy_from_slice(src);
                }
                Ok(n)
            }
            Ok(None) => Ok(0),
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    }
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.0
            .send_report(data)
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

enum Control {
    Command(ScaleCommand),
    Rearm,
    Stop,
}

/// The handle to a running scale thread. Dropping it stops the thread.
#[derive(Debug)]
pub struct ScaleHandle {
    tx: mpsc::Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl ScaleHandle {
    /// Sends tare/zero to the scale (reported back as `CommandFailed` when impossible).
    pub fn command(&self, cmd: ScaleCommand) -> Result<(), TransportError> {
        self.tx
            .send(Control::Command(cmd))
            .map_err(|_| TransportError::Stopped)
    }

    /// Forgets the last capture so the parcel on the scale is captured again.
    pub fn rearm(&self) -> Result<(), TransportError> {
        self.tx
            .send(Control::Rearm)
            .map_err(|_| TransportError::Stopped)
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Control::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ScaleHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the device thread. Events go to `sink` (called on the device thread: keep it short,
/// e.g. send into a channel).
pub fn spawn(
    config: DeviceConfig,
    sink: impl FnMut(DeviceEvent) + Send + 'static,
) -> Result<ScaleHandle, TransportError> {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("scale".into())
        .spawn(move || Device::new(config, rx, sink).run())
        .map_err(TransportError::Spawn)?;
    Ok(ScaleHandle {
        tx,
        thread: Some(thread),
    })
}

struct Device<S: FnMut(DeviceEvent)> {
    cfg: DeviceConfig,
    rx: mpsc::Receiver<Control>,
    sink: S,
    epoch: Instant,
    capture: Capture,
    throttle: LiveThrottle,
    probed: Option<(Protocol, SerialSettings, ProbeResult)>,
}

enum Ending {
    Stop,
    Lost(String),
}

impl<S: FnMut(DeviceEvent)> Device<S> {
    fn new(cfg: DeviceConfig, rx: mpsc::Receiver<Control>, sink: S) -> Self {
        Device {
            capture: Capture::new(cfg.capture),
            throttle: LiveThrottle::new(cfg.live_interval_ms, 1_000),
            cfg,
            rx,
            sink,
            epoch: Instant::now(),
            probed: None,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn run(mut self) {
        let mut failures: u32 = 0;
        loop {
            let ending = match self.connect() {
                Ok((link, name, protocol, settings, probe)) => {
                    failures = 0;
                    (self.sink)(DeviceEvent::Connected {
                        port: name.clone(),
                        protocol,
                        settings: settings.map(|s| s.to_string()),
                        probe,
                    });
                    match self.session(link, protocol) {
                        Ending::Stop => break,
                        Ending::Lost(reason) => Some((name, reason)),
                    }
                }
                Err(e) => Some((self.port_label(), e.to_string())),
            };
            if let Some((port, reason)) = ending {
                failures = failures.saturating_add(1);
                let wait = self.cfg.backoff.delay_ms(failures);
                // Report the first failure of an outage, then every 10th attempt.
                if failures == 1 || failures % 10 == 0 {
                    (self.sink)(DeviceEvent::Disconnected {
                        port,
                        reason,
                        retry_in_ms: wait,
                    });
                }
                if self.wait(Duration::from_millis(wait)) {
                    break;
                }
            }
        }
        (self.sink)(DeviceEvent::Stopped);
    }

    fn port_label(&self) -> String {
        match &self.cfg.source {
            Source::Serial { port, .. } => port.to_string(),
            Source::HidUsb { .. } => "usb hid scale".into(),
        }
    }

    /// Waits while handling control messages; true when asked to stop.
    fn wait(&mut self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.rx.recv_timeout(left) {
                Ok(Control::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return true,
                Ok(Control::Rearm) => self.capture.rearm(),
                Ok(Control::Command(c)) => (self.sink)(DeviceEvent::CommandFailed {
                    command: c,
                    reason: "scale not connected".into(),
                }),
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn connect(
        &mut self,
    ) -> Result<
        (
            Box<dyn Link>,
            String,
            Protocol,
            Option<SerialSettings>,
            Option<ProbeResult>,
        ),
        TransportError,
    > {
        match self.cfg.source.clone() {
            Source::HidUsb { ids } => {
                let scale = UsbScale::open(&ids)?;
                let (v, p) = scale.ids();
                Ok((
                    Box::new(HidLink(scale)),
                    format!("usb {v:04x}:{p:04x}"),
                    Protocol::HidPos,
                    None,
                    None,
                ))
            }
            Source::Serial { port, settings } => {
                let name = resolve_port(&port)?;
                let (protocol, settings, probe) = match (self.cfg.protocol, &self.probed) {
                    (ProtocolChoice::Fixed(p), _) => (p, settings, None),
                    (ProtocolChoice::Auto, Some((p, s, r))) => (*p, *s, Some(r.clone())),
                    (ProtocolChoice::Auto, None) => {
                        let opts = ProbeOptions {
                            base: settings,
                            decoder: self.cfg.decoder,
                            ..ProbeOptions::default()
                        };
                        let found = probe::probe_port(&name, &opts)?
                            .ok_or_else(|| TransportError::ProbeFailed { port: name.clone() })?;
                        self.probed = Some((found.protocol, found.settings, found.clone()));
                        (found.protocol, found.settings, Some(found))
                    }
                };
                let port = open_serial(&name, &settings)?;
                Ok((
                    Box::new(SerialLink(port)),
                    name,
                    protocol,
                    Some(settings),
                    probe,
                ))
            }
        }
    }

    fn session(&mut self, mut link: Box<dyn Link>, protocol: Protocol) -> Ending {
        let mut decoder = protocol.decoder(&self.cfg.decoder);
        let polling = protocol.polling();
        let mut next_poll = 0u64;
        let mut restart_at: Option<u64> = None;
        let mut buf = [0u8; 512];
        if let Polling::Stream { init, .. } = &polling {
            // Reset first, then start the stream once the reset is answered.
            if let Err(e) = link.write(init) {
                return Ending::Lost(format!("write stream init: {e}"));
            }
            restart_at = Some(self.now_ms() + STREAM_RESTART_TIMEOUT_MS);
        }
        loop {
            while let Ok(ctl) = self.rx.try_recv() {
                match ctl {
                    Control::Stop => return Ending::Stop,
                    Control::Rearm => self.capture.rearm(),
                    Control::Command(c) => match protocol.encode(c) {
                        Some(bytes) => {
                            if let Err(e) = link.write(&bytes) {
                                return Ending::Lost(format!("write command: {e}"));
                            }
                            if matches!(polling, Polling::Stream { .. }) {
                                // Any command ends an MT-SICS SIR stream: restart it after the
                                // reply (one command at a time, MT-SICS §2.2), or after a timeout.
                                restart_at = Some(self.now_ms() + STREAM_RESTART_TIMEOUT_MS);
                            }
                        }
                        None => (self.sink)(DeviceEvent::CommandFailed {
                            command: c,
                            reason: format!("{protocol} has no {c:?} command"),
                        }),
                    },
                }
            }
            let now = self.now_ms();
            if let Polling::Poll {
                request,
                interval_ms,
            } = &polling
            {
                if now >= next_poll {
                    if let Err(e) = link.write(request) {
                        return Ending::Lost(format!("write poll request: {e}"));
                    }
                    next_poll = now + interval_ms;
                }
            }
            match link.read(&mut buf) {
                Ok(n) => {
                    if let Some(data) = buf.get(..n) {
                        decoder.feed(data);
                    }
                }
                Err(e) => return Ending::Lost(format!("read: {e}")),
            }
            let now = self.now_ms();
            while let Some(frame) = decoder.poll() {
                if self.cfg.emit_frames {
                    (self.sink)(DeviceEvent::Frame {
                        frame: frame.clone(),
                        at_ms: now,
                    });
                }
                if restart_at.is_some() && matches!(frame.kind, FrameKind::Ack | FrameKind::Error) {
                    restart_at = Some(now);
                }
                self.capture.handle_frame(&frame, now);
            }
            if let (Some(t), Polling::Stream { start, .. }) = (restart_at, &polling) {
                if now >= t {
                    restart_at = None;
                    if let Err(e) = link.write(start) {
                        return Ending::Lost(format!("write stream start: {e}"));
                    }
                }
            }
            if self.capture.poll_timeout().is_some_and(|t| now >= t) {
                self.capture.handle_timeout(now);
            }
            self.drain(now);
        }
    }

    fn drain(&mut self, now: u64) {
        while let Some(ev) = self.capture.poll() {
            match ev {
                CaptureEvent::Live(r) => {
                    if let Some(r) = self.throttle.offer(r, now) {
                        (self.sink)(DeviceEvent::Live(r));
                    }
                }
                CaptureEvent::Captured(c) => (self.sink)(DeviceEvent::Captured(c)),
                CaptureEvent::Stale { at_ms } => (self.sink)(DeviceEvent::Stale { at_ms }),
            }
        }
        if let Some(r) = self.throttle.handle_timeout(now) {
            (self.sink)(DeviceEvent::Live(r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let b = Backoff::default();
        let got: Vec<u64> = (1..=7).map(|n| b.delay_ms(n)).collect();
        assert_eq!(got, [200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(b.delay_ms(1000), 5000);
    }

    #[test]
    fn selectors_from_config() {
        let s: PortSelector = serde_json::from_str(r#"{"port":"COM3"}"#).unwrap();
        assert_eq!(s.to_string(), "COM3");
        let s: PortSelector = serde_json::from_str(r#"{"vid":1659,"pid":8963}"#).unwrap();
        assert_eq!(s.to_string(), "usb 067b:2303");
        let settings: SerialSettings =
            serde_json::from_str(r#"{"baud":4800,"data_bits":"7","parity":"even"}"#).unwrap();
        assert_eq!(settings.to_string(), "4800 7E1");
    }

    #[test]
    fn absent_usb_ids_are_not_found() {
        let sel = PortSelector::Usb {
            vid: 0xdead,
            pid: 0xbeef,
            serial_number: None,
        };
        match resolve_port(&sel) {
            Err(TransportError::NotFound(s)) => assert_eq!(s, "usb dead:beef"),
            // Containers without udev cannot list ports at all: also an error, not a port.
            Err(TransportError::List(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_port_is_a_clear_error() {
        let e = open_serial("/nonexistent/ttyX", &SerialSettings::default())
            .err()
            .unwrap();
        assert!(e.to_string().contains("/nonexistent/ttyX"), "{e}");
    }
}
