//! The tower light (stack light) in the station: the `[tower_light]` configuration section,
//! the bench states it shows ([`BenchLight`] and their lamp programs), and the device thread
//! that owns the relay board's serial port ([`LightDevice`]).
//!
//! The mapping (documented in `docs/tower-light.md`):
//!
//! | bench state | lamps |
//! |---|---|
//! | signed out (a station with operators and nobody signed in) | all off (a stop alarm still shows) |
//! | idle: signed in, no order open | green blinking (`idle = "green_blink"`, or `green`, `off`) |
//! | ready: an order open, last scan accepted | green steady |
//! | warning (amber alarm) | yellow steady until the next good scan or `warning_seconds`, then back |
//! | stop (red alarm: wrong item, weight out of tolerance, cancelled, intercepted…) | red steady + buzzer until acknowledged (buzzer quiet after `buzzer_seconds` when set) |
//! | diagnostics test | green, yellow, red, buzzer one after the other, then back |
//!
//! What this module must never do: decide an alarm. The verification engine classifies
//! outcomes; the app tells this module which [`BenchLight`] to show.
//!
//! ```toml
//! [tower_light]
//! port = "COM5"                 # or "/dev/ttyUSB1", or usb_vid/usb_pid (hot-plug safe)
//! protocol = "lcus"             # lcus | modbus | ascii
//! baud = 9600
//! channels = { green = 1, yellow = 2, red = 3, buzzer = 4 }
//! modbus_address = 1
//! buzzer_seconds = 0            # 0: the buzzer sounds until the alarm is acknowledged
//! warning_seconds = 5
//! ```

use crate::error::{Error, Result};
use drivers::light::{
    self, Channels, Lamp, Light, LightConfig, LightEvent, Mode, Program, RelayProtocol, Signal,
    Step,
};
use drivers::scale::transport::{open_serial, resolve_port, Backoff, PortSelector, SerialSettings};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long each lamp is lit in the diagnostics test cycle.
pub const TEST_STEP_MS: u64 = 800;
/// How long the thread tries to switch everything off when it stops.
const SHUTDOWN_FLUSH_MS: u64 = 500;
/// How long the last frames get to leave before the port closes at shutdown.
const SHUTDOWN_LINGER_MS: u64 = 50;
/// Read timeout of the relay port (bounds the reaction time to commands).
const READ_TIMEOUT_MS: u64 = 10;

/// What the light shows while no order is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdleLight {
    /// Green blinking.
    #[default]
    GreenBlink,
    /// Green steady.
    Green,
    /// Dark.
    Off,
}

/// The relay protocols `[tower_light] protocol` accepts.
pub const RELAY_PROTOCOLS: &[&str] = &["lcus", "modbus", "ascii"];

/// Reads `protocol`, refusing unknown names as it is parsed (so the error has the line).
fn relay_protocol<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if RELAY_PROTOCOLS.contains(&s.trim()) {
        Ok(s)
    } else {
        Err(serde::de::Error::custom(format!(
            "{s:?} is not a relay protocol ({})",
            RELAY_PROTOCOLS.join(", ")
        )))
    }
}

/// The `[tower_light]` section of the station configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TowerLightConfig {
    /// Serial port of the relay board (`COM5`, `/dev/ttyUSB1`). Empty: use the USB ids; neither:
    /// no tower light.
    pub port: Option<String>,
    /// USB vendor id of the board's USB-serial chip (CH340: 0x1a86).
    pub usb_vid: Option<u16>,
    /// USB product id (CH340: 0x7523).
    pub usb_pid: Option<u16>,
    /// USB serial number, to tell two identical adapters apart.
    pub usb_serial: Option<String>,
    /// `lcus`, `modbus` or `ascii`.
    #[serde(deserialize_with = "relay_protocol")]
    pub protocol: String,
    /// Baud rate (8N1).
    pub baud: u32,
    /// Relay channel (1-based) of each output; leave one out when it is not wired.
    pub channels: Channels,
    /// Modbus slave address (1–247).
    pub modbus_address: u8,
    /// Modbus: wait for the board's answer (reports an absent board); false for boards that
    /// never answer.
    pub modbus_check_answers: bool,
    /// Modbus: one 0F request for all lamps when their channels are contiguous.
    pub modbus_multiple_coils: bool,
    /// ASCII: text that switches a channel on, `{ch}` = channel (e.g. `"AT+CH{ch}=1\r\n"`).
    pub ascii_on: String,
    /// ASCII: text that switches a channel off.
    pub ascii_off: String,
    /// What the light shows while no order is open.
    pub idle: IdleLight,
    /// Blink half-period in milliseconds.
    pub blink_ms: u64,
    /// The buzzer goes quiet after this many seconds (0: until acknowledged).
    pub buzzer_seconds: u64,
    /// A warning's yellow lamp goes back to green after this many seconds (0: until the next
    /// good scan or acknowledgement).
    pub warning_seconds: u64,
    /// Resend every output this often (0: only on change and after a reconnect).
    pub refresh_seconds: u64,
    /// Modbus: answer timeout in milliseconds.
    pub answer_timeout_ms: u64,
    /// Wait before resending after a silent or refusing board, milliseconds.
    pub retry_ms: u64,
    /// Silence between frames, milliseconds.
    pub frame_gap_ms: u64,
    /// Reconnect backoff: first wait.
    pub reconnect_initial_ms: u64,
    /// Reconnect backoff: longest wait.
    pub reconnect_max_ms: u64,
}

impl Default for TowerLightConfig {
    fn default() -> Self {
        let b = Backoff::default();
        TowerLightConfig {
            port: None,
            usb_vid: None,
            usb_pid: None,
            usb_serial: None,
            protocol: "lcus".into(),
            baud: 9600,
            channels: Channels::default(),
            modbus_address: 1,
            modbus_check_answers: true,
            modbus_multiple_coils: true,
            ascii_on: String::new(),
            ascii_off: String::new(),
            idle: IdleLight::default(),
            blink_ms: light::DEFAULT_BLINK_MS,
            buzzer_seconds: 0,
            warning_seconds: 5,
            refresh_seconds: 0,
            answer_timeout_ms: light::DEFAULT_ANSWER_TIMEOUT_MS,
            retry_ms: light::DEFAULT_RETRY_MS,
            frame_gap_ms: light::DEFAULT_FRAME_GAP_MS,
            reconnect_initial_ms: b.initial_ms,
            reconnect_max_ms: b.max_ms,
        }
    }
}

fn bad(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid {
        place: format!("tower_light.{field}"),
        message: message.into(),
    }
}

impl TowerLightConfig {
    /// True when a tower light is configured (a port or USB ids).
    pub fn is_configured(&self) -> bool {
        self.port.as_deref().is_some_and(|p| !p.trim().is_empty()) || self.usb_vid.is_some()
    }

    /// The port to open.
    pub fn port_selector(&self) -> Result<PortSelector> {
        match (
            self.port.as_deref().map(str::trim),
            self.usb_vid,
            self.usb_pid,
        ) {
            (Some(p), _, _) if !p.is_empty() => Ok(PortSelector::Name { port: p.to_owned() }),
            (_, Some(vid), Some(pid)) => Ok(PortSelector::Usb {
                vid,
                pid,
                serial_number: self.usb_serial.clone(),
            }),
            (_, Some(_), None) | (_, None, Some(_)) => {
                Err(bad("usb_pid", "usb_vid and usb_pid go together"))
            }
            _ => Err(bad("port", "set port, or usb_vid and usb_pid")),
        }
    }

    /// Line settings: the baud, 8N1.
    pub fn serial_settings(&self) -> Result<SerialSettings> {
        if !(300..=921_600).contains(&self.baud) {
            return Err(bad(
                "baud",
                format!("{} is not a serial baud rate", self.baud),
            ));
        }
        Ok(SerialSettings {
            baud: self.baud,
            read_timeout_ms: READ_TIMEOUT_MS,
            ..SerialSettings::default()
        })
    }

    /// The driver's light configuration. Errors name the field.
    pub fn light_config(&self) -> Result<LightConfig> {
        let protocol = match self.protocol.trim() {
            "lcus" | "" => RelayProtocol::Lcus,
            "modbus" => RelayProtocol::Modbus {
                address: self.modbus_address,
                check_answers: self.modbus_check_answers,
                multiple_coils: self.modbus_multiple_coils,
            },
            "ascii" => RelayProtocol::Ascii {
                on: self.ascii_on.clone(),
                off: self.ascii_off.clone(),
            },
            other => {
                return Err(bad(
                    "protocol",
                    format!(
                        "{other:?} is not a relay protocol ({})",
                        RELAY_PROTOCOLS.join(", ")
                    ),
                ))
            }
        };
        let cfg = LightConfig {
            protocol,
            channels: self.channels,
            blink_ms: self.blink_ms,
            buzzer_max_ms: (self.buzzer_seconds > 0)
                .then(|| self.buzzer_seconds.saturating_mul(1000)),
            answer_timeout_ms: self.answer_timeout_ms.max(1),
            retry_ms: self.retry_ms,
            frame_gap_ms: self.frame_gap_ms,
            refresh_ms: (self.refresh_seconds > 0)
                .then(|| self.refresh_seconds.saturating_mul(1000)),
        };
        cfg.validate().map_err(|e| match e {
            light::LightError::Config { field, message } => bad(field, message),
        })?;
        Ok(cfg)
    }

    /// Checks the whole section (called when the station configuration is loaded).
    pub fn validate(&self) -> Result<()> {
        if self.is_configured() {
            self.port_selector()?;
        }
        self.serial_settings()?;
        self.light_config()?;
        Ok(())
    }
}

/// What the bench shows on the tower light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchLight {
    /// Nobody signed in (or the app is closing): all off.
    Off,
    /// Signed in, no order open.
    Idle,
    /// An order open, nothing wrong.
    Ready,
    /// An amber (warning-class) alarm.
    Warning,
    /// A red (stop-class) alarm, until acknowledged.
    Stop,
}

impl BenchLight {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            BenchLight::Off => "off",
            BenchLight::Idle => "idle",
            BenchLight::Ready => "ready",
            BenchLight::Warning => "warning",
            BenchLight::Stop => "stop",
        }
    }

    /// The lamps of this state (held).
    pub fn signal(self, cfg: &TowerLightConfig) -> Signal {
        match self {
            BenchLight::Off => Signal::OFF,
            BenchLight::Idle => match cfg.idle {
                IdleLight::GreenBlink => Signal::only(Lamp::Green, Mode::Blink),
                IdleLight::Green => Signal::only(Lamp::Green, Mode::On),
                IdleLight::Off => Signal::OFF,
            },
            BenchLight::Ready => Signal::only(Lamp::Green, Mode::On),
            BenchLight::Warning => Signal::only(Lamp::Yellow, Mode::On),
            BenchLight::Stop => Signal {
                red: Mode::On,
                buzzer: Mode::On,
                ..Signal::OFF
            },
        }
    }

    /// The program that shows this state; a warning falls back to `fallback` after
    /// `warning_seconds`.
    pub fn program(self, fallback: BenchLight, cfg: &TowerLightConfig) -> Program {
        self.program_after(fallback, cfg, 0)
    }

    /// The program for this state shown since `elapsed_ms` ago (a warning whose fallback
    /// changed keeps its remaining time, and one whose time is up shows the fallback).
    pub fn program_after(
        self,
        fallback: BenchLight,
        cfg: &TowerLightConfig,
        elapsed_ms: u64,
    ) -> Program {
        match self {
            BenchLight::Warning if cfg.warning_seconds > 0 => {
                let left = cfg
                    .warning_seconds
                    .saturating_mul(1000)
                    .saturating_sub(elapsed_ms);
                if left == 0 {
                    Program::steady(fallback.signal(cfg))
                } else {
                    Program::timed(self.signal(cfg), left, fallback.signal(cfg))
                }
            }
            _ => Program::steady(self.signal(cfg)),
        }
    }
}

/// The diagnostics test: green, yellow, red, buzzer in turn ([`TEST_STEP_MS`] each), then
/// `then`.
pub fn test_program(then: Signal) -> Program {
    Program {
        steps: [Lamp::Green, Lamp::Yellow, Lamp::Red, Lamp::Buzzer]
            .into_iter()
            .map(|l| Step {
                signal: Signal::only(l, Mode::On),
                hold_ms: TEST_STEP_MS,
            })
            .chain(std::iter::once(Step {
                signal: Signal::OFF,
                hold_ms: TEST_STEP_MS,
            }))
            .collect(),
        then,
    }
}

/// The light's state for the devices page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LightStatus {
    /// Port in use or being retried.
    pub port: String,
    /// Port open now.
    pub connected: bool,
    /// `lcus`, `modbus`, `ascii`.
    pub protocol: String,
    /// The signal asked for (e.g. `red + buzzer`).
    pub showing: String,
    /// What the board was last told (e.g. `red + buzzer`).
    pub board: String,
    /// Modbus: whether the board answers (`None`: not known or not checked).
    pub answering: Option<bool>,
    /// Frames written since start.
    pub frames: u64,
    /// The last frame written, hex.
    pub last_frame: String,
    /// Why the port is closed, or the board's last complaint.
    pub detail: String,
}

/// Raw bytes on the relay port (diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LightWire {
    /// Written to the board.
    Tx(Vec<u8>),
    /// Received from the board.
    Rx(Vec<u8>),
}

enum Control {
    Set(Program),
    Stop,
}

/// A running tower light: its device thread. Dropping it switches the lamps off and stops the
/// thread.
#[derive(Debug)]
pub struct LightDevice {
    tx: mpsc::Sender<Control>,
    status: Arc<Mutex<LightStatus>>,
    thread: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<LightStatus>) -> std::sync::MutexGuard<'_, LightStatus> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LightDevice {
    /// Validates the section and starts the thread; raw bytes go to `wire` (called on the
    /// device thread: keep it short).
    pub fn spawn(
        cfg: &TowerLightConfig,
        wire: impl FnMut(LightWire) + Send + 'static,
    ) -> Result<LightDevice> {
        let selector = cfg.port_selector()?;
        let settings = cfg.serial_settings()?;
        let light_cfg = cfg.light_config()?;
        let backoff = Backoff {
            initial_ms: cfg.reconnect_initial_ms.max(10),
            max_ms: cfg.reconnect_max_ms.max(cfg.reconnect_initial_ms),
        };
        let status = Arc::new(Mutex::new(LightStatus {
            port: selector.to_string(),
            protocol: light_cfg.protocol.name().into(),
            showing: Signal::OFF.to_string(),
            board: "unknown".into(),
            detail: "connecting".into(),
            ..LightStatus::default()
        }));
        let (tx, rx) = mpsc::channel();
        let thread_status = status.clone();
        let thread = std::thread::Builder::new()
            .name("tower-light".into())
            .spawn(move || {
                Runner {
                    light: Light::new(light_cfg),
                    selector,
                    settings,
                    backoff,
                    rx,
                    status: thread_status,
                    wire,
                    epoch: Instant::now(),
                }
                .run();
            })
            .map_err(|e| bad("port", format!("start the tower-light thread: {e}")))?;
        Ok(LightDevice {
            tx,
            status,
            thread: Some(thread),
        })
    }

    /// Plays a program (takes effect within milliseconds; kept across reconnects).
    pub fn set(&self, program: Program) -> Result<()> {
        self.tx
            .send(Control::Set(program))
            .map_err(|_| bad("port", "the tower-light thread has stopped"))
    }

    /// The light's state.
    pub fn status(&self) -> LightStatus {
        lock(&self.status).clone()
    }

    /// Switches the lamps off (best effort) and stops the thread.
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

impl Drop for LightDevice {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Runner<W: FnMut(LightWire)> {
    light: Light,
    selector: PortSelector,
    settings: SerialSettings,
    backoff: Backoff,
    rx: mpsc::Receiver<Control>,
    status: Arc<Mutex<LightStatus>>,
    wire: W,
    epoch: Instant,
}

enum Ending {
    Stop,
    Lost(String),
}

impl<W: FnMut(LightWire)> Runner<W> {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn run(mut self) {
        let mut failures: u32 = 0;
        loop {
            let opened = resolve_port(&self.selector)
                .and_then(|name| open_serial(&name, &self.settings).map(|c| (name, c)));
            let reason = match opened {
                Ok((name, port)) => {
                    failures = 0;
                    let now = self.now_ms();
                    self.light.connected(now);
                    {
                        let mut s = lock(&self.status);
                        s.port = name;
                        s.connected = true;
                        s.detail = format!("{} 8N1", self.settings.baud);
                    }
                    match self.session(port) {
                        Ending::Stop => return,
                        Ending::Lost(reason) => {
                            self.light.disconnected();
                            reason
                        }
                    }
                }
                Err(e) => e.to_string(),
            };
            failures = failures.saturating_add(1);
            let wait = self.backoff.delay_ms(failures);
            {
                let mut s = lock(&self.status);
                s.connected = false;
                s.answering = None;
                s.board = "unknown".into();
                s.detail = format!("{reason}; retrying in {wait} ms");
            }
            if self.wait(Duration::from_millis(wait)) {
                return;
            }
        }
    }

    /// Waits while taking programs (shown after the reconnect); true when asked to stop.
    fn wait(&mut self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.rx.recv_timeout(left) {
                Ok(Control::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return true,
                Ok(Control::Set(p)) => {
                    let now = self.now_ms();
                    self.light.set(p, now);
                    lock(&self.status).showing = self.light.signal().to_string();
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
    }

    fn session<P: Read + Write>(&mut self, mut port: P) -> Ending {
        let mut buf = [0u8; 256];
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(Control::Set(p)) => {
                        let now = self.now_ms();
                        self.light.set(p, now);
                        lock(&self.status).showing = self.light.signal().to_string();
                    }
                    Ok(Control::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                        self.switch_off(&mut port);
                        return Ending::Stop;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            if let Err(e) = self.transmit(&mut port) {
                return Ending::Lost(e);
            }
            match port.read(&mut buf) {
                // serialport reports "nothing within the timeout" as TimedOut…
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // …so zero bytes from a readable port is end of file: the device is gone.
                Ok(0) => return Ending::Lost("end of file (device removed)".into()),
                Ok(n) => {
                    let data = buf.get(..n).unwrap_or(&[]);
                    (self.wire)(LightWire::Rx(data.to_vec()));
                    let now = self.now_ms();
                    self.light.feed(data, now);
                }
                Err(e) => return Ending::Lost(format!("read: {e}")),
            }
            let now = self.now_ms();
            if self.light.poll_timeout().is_some_and(|t| now >= t) {
                self.light.handle_timeout(now);
            }
            self.events();
        }
    }

    /// Writes every frame that is due.
    fn transmit<P: Write>(&mut self, port: &mut P) -> std::result::Result<(), String> {
        let now = self.now_ms();
        self.light.handle_timeout(now);
        while let Some(frame) = self.light.poll_transmit(now) {
            port.write_all(&frame)
                .and_then(|()| port.flush())
                .map_err(|e| format!("write: {e}"))?;
            let mut s = lock(&self.status);
            s.frames += 1;
            s.last_frame = light::hex_string(&frame);
            s.board = self.light.board().to_string();
            drop(s);
            (self.wire)(LightWire::Tx(frame));
        }
        Ok(())
    }

    fn events(&mut self) {
        let board = self.light.board().to_string();
        let answering = self.light.answering();
        {
            let mut s = lock(&self.status);
            if s.board != board || s.answering != answering {
                s.board = board;
                s.answering = answering;
            }
        }
        while let Some(ev) = self.light.poll_event() {
            let mut s = lock(&self.status);
            match ev {
                LightEvent::BoardAnswers { address } => {
                    s.detail = format!("{} 8N1 · board {address} answers", self.settings.baud);
                }
                LightEvent::NoAnswer { request, waited_ms } => {
                    s.detail = format!(
                        "no answer from the relay board within {waited_ms} ms to {request}: check modbus_address, baud and wiring"
                    );
                }
                LightEvent::Refused { code, reason } => {
                    s.detail = format!("the relay board refused a request: exception {code} ({reason}); check channels");
                }
            }
        }
    }

    /// Best effort: all lamps off before the port closes.
    fn switch_off<P: Read + Write>(&mut self, port: &mut P) {
        let start = self.now_ms();
        self.light.set(Program::steady(Signal::OFF), start);
        let mut buf = [0u8; 64];
        while self.now_ms() < start + SHUTDOWN_FLUSH_MS {
            if self.transmit(port).is_err() {
                return;
            }
            if self.light.outputs(self.now_ms()) == self.light.board() {
                // Closing a port can drop bytes still in the driver's buffer (USB-serial
                // adapters, ptys): give the last frames time to leave.
                std::thread::sleep(Duration::from_millis(SHUTDOWN_LINGER_MS));
                return;
            }
            match port.read(&mut buf) {
                Ok(n) if n > 0 => {
                    let now = self.now_ms();
                    self.light.feed(buf.get(..n).unwrap_or(&[]), now);
                }
                Ok(_) => return,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_errors_name_the_field() {
        let c = TowerLightConfig::default();
        assert!(!c.is_configured());
        assert!(c.validate().is_ok());
        assert_eq!(c.light_config().unwrap().protocol, RelayProtocol::Lcus);
        fn check(c: TowerLightConfig, field: &str) {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.starts_with(field), "{e}");
        }
        let port = || TowerLightConfig {
            port: Some("COM5".into()),
            ..TowerLightConfig::default()
        };
        check(
            TowerLightConfig {
                protocol: "x10".into(),
                ..port()
            },
            "tower_light.protocol",
        );
        check(TowerLightConfig { baud: 12, ..port() }, "tower_light.baud");
        check(
            TowerLightConfig {
                protocol: "modbus".into(),
                modbus_address: 0,
                ..port()
            },
            "tower_light.modbus_address",
        );
        check(
            TowerLightConfig {
                protocol: "ascii".into(),
                ..port()
            },
            "tower_light.ascii_on",
        );
        check(
            TowerLightConfig {
                channels: Channels {
                    green: Some(1),
                    yellow: Some(2),
                    red: Some(2),
                    buzzer: None,
                },
                ..port()
            },
            "tower_light.channels",
        );
        check(
            TowerLightConfig {
                port: None,
                usb_vid: Some(0x1a86),
                ..TowerLightConfig::default()
            },
            "tower_light.usb_pid",
        );
    }

    #[test]
    fn station_config_carries_the_section_and_names_file_and_line() {
        let c = crate::config::StationConfig::from_toml(
            "[tower_light]\nport = \"/dev/ttyUSB1\"\nprotocol = \"modbus\"\nchannels = { green = 1, red = 2, buzzer = 3 }\nmodbus_address = 3\nbuzzer_seconds = 10\n",
            "station.toml",
        )
        .unwrap();
        let t = &c.tower_light;
        assert!(t.is_configured());
        assert_eq!(t.channels.yellow, None);
        let l = t.light_config().unwrap();
        assert_eq!(l.buzzer_max_ms, Some(10_000));
        assert_eq!(
            l.protocol,
            RelayProtocol::Modbus {
                address: 3,
                check_answers: true,
                multiple_coils: true
            }
        );
        let e = crate::config::StationConfig::from_toml(
            "station_id = \"b\"\n[tower_light]\nbaud = \"fast\"\n",
            "station.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("station.toml:3:"), "{e}");
        let e = crate::config::StationConfig::from_toml(
            "[tower_light]\nport = \"COM5\"\nprotocol = \"morse\"\n",
            "station.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("station.toml:3:"), "{e}");
        assert!(e.contains("morse"), "{e}");
        // Channels are checked as they are read: the error points at the table.
        let e = crate::config::StationConfig::from_toml(
            "[tower_light]\nport = \"COM5\"\nchannels = { green = 1, red = 1 }\n",
            "station.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("station.toml:3:"), "{e}");
        assert!(e.contains("green and red are both on channel 1"), "{e}");
    }

    #[test]
    fn bench_states_map_to_lamps() {
        let cfg = TowerLightConfig::default();
        fn check(state: BenchLight, cfg: &TowerLightConfig, expected: &str) {
            assert_eq!(state.signal(cfg).to_string(), expected, "{state:?}");
        }
        check(BenchLight::Off, &cfg, "off");
        check(BenchLight::Idle, &cfg, "green blinking");
        check(BenchLight::Ready, &cfg, "green");
        check(BenchLight::Warning, &cfg, "yellow");
        check(BenchLight::Stop, &cfg, "red + buzzer");
        let steady_idle = TowerLightConfig {
            idle: IdleLight::Green,
            ..TowerLightConfig::default()
        };
        check(BenchLight::Idle, &steady_idle, "green");
        // A warning falls back after warning_seconds; with 0 it holds.
        let p = BenchLight::Warning.program(BenchLight::Ready, &cfg);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].hold_ms, 5_000);
        assert_eq!(p.then.to_string(), "green");
        let hold = TowerLightConfig {
            warning_seconds: 0,
            ..TowerLightConfig::default()
        };
        let p = BenchLight::Warning.program(BenchLight::Ready, &hold);
        assert!(p.steps.is_empty());
        assert_eq!(p.then.to_string(), "yellow");
        // The same warning, its fallback changed 4 s in: 1 s of yellow left; 6 s in: over.
        let p = BenchLight::Warning.program_after(BenchLight::Idle, &cfg, 4_000);
        assert_eq!(p.steps[0].hold_ms, 1_000);
        assert_eq!(p.then.to_string(), "green blinking");
        let p = BenchLight::Warning.program_after(BenchLight::Idle, &cfg, 6_000);
        assert!(p.steps.is_empty());
        assert_eq!(p.then.to_string(), "green blinking");
        let t = test_program(Signal::OFF);
        let names: Vec<String> = t.steps.iter().map(|s| s.signal.to_string()).collect();
        assert_eq!(names, ["green", "yellow", "red", "buzzer", "off"]);
    }

    #[test]
    fn missing_port_is_reported_not_fatal() {
        let cfg = TowerLightConfig {
            port: Some("/nonexistent/ttyRELAY".into()),
            reconnect_initial_ms: 10,
            ..TowerLightConfig::default()
        };
        let dev = LightDevice::spawn(&cfg, |_| {}).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let s = dev.status();
            if s.detail.contains("/nonexistent/ttyRELAY") {
                assert!(!s.connected);
                break;
            }
            assert!(Instant::now() < deadline, "{s:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        dev.set(Program::steady(BenchLight::Stop.signal(&cfg)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while dev.status().showing != "red + buzzer" {
            assert!(Instant::now() < deadline, "{:?}", dev.status());
            std::thread::sleep(Duration::from_millis(5));
        }
        dev.stop();
    }
}
