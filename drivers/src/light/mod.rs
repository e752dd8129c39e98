//! Stack lights (tower lights: green / yellow / red lamps and a buzzer) driven through a relay
//! board on a serial port, sans-IO.
//!
//! [`Light`] is a state machine in the style of quinn-proto: tell it the wanted [`Program`]
//! (a [`Signal`] per lamp — off, on or blinking — optionally in timed steps), the time, and
//! what the port received; poll it for the frames to write ([`Light::poll_transmit`]), for
//! the next deadline ([`Light::poll_timeout`]) and for events ([`Light::poll_event`]). It
//! blinks, switches the buzzer off after a configured time, sends only what changed, resends
//! everything after a reconnect (the board's state is then unknown), and — for Modbus boards
//! that answer — sends one request at a time, notices a board that stays silent and retries.
//!
//! The wire formats (LCUS `A0 ch state sum`, Modbus RTU 05/0F, configurable ASCII) are in
//! [`codec`]; a virtual relay board and a pseudo-terminal runner for tests and demos are in
//! [`sim`]. This module knows lamps and relays, never orders or alarms: the mapping from bench
//! states to lamps lives in the station.

pub mod codec;
pub mod sim;

use codec::{ModbusAnswer, ModbusDecoder};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Default blink half-period (on time = off time), milliseconds.
pub const DEFAULT_BLINK_MS: u64 = 500;
/// Default wait for a Modbus answer, milliseconds.
pub const DEFAULT_ANSWER_TIMEOUT_MS: u64 = 300;
/// Default wait before resending after a silent or refusing board, milliseconds.
pub const DEFAULT_RETRY_MS: u64 = 2_000;
/// Default silence between two frames, milliseconds (some LCUS boards miss back-to-back
/// frames; Modbus RTU needs 3.5 characters, 4 ms at 9600 baud).
pub const DEFAULT_FRAME_GAP_MS: u64 = 10;

/// One output of the stack light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lamp {
    /// Green lamp.
    Green,
    /// Yellow (amber) lamp.
    Yellow,
    /// Red lamp.
    Red,
    /// Buzzer.
    Buzzer,
}

impl Lamp {
    /// All outputs, in index order.
    pub const ALL: [Lamp; 4] = [Lamp::Green, Lamp::Yellow, Lamp::Red, Lamp::Buzzer];

    fn index(self) -> usize {
        match self {
            Lamp::Green => 0,
            Lamp::Yellow => 1,
            Lamp::Red => 2,
            Lamp::Buzzer => 3,
        }
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Lamp::Green => "green",
            Lamp::Yellow => "yellow",
            Lamp::Red => "red",
            Lamp::Buzzer => "buzzer",
        }
    }
}

/// What one lamp does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Dark (buzzer silent).
    #[default]
    Off,
    /// Steady on.
    On,
    /// On and off every blink half-period, starting on.
    Blink,
}

/// What every lamp does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Signal {
    /// Green lamp.
    pub green: Mode,
    /// Yellow lamp.
    pub yellow: Mode,
    /// Red lamp.
    pub red: Mode,
    /// Buzzer.
    pub buzzer: Mode,
}

impl Signal {
    /// Everything off.
    pub const OFF: Signal = Signal {
        green: Mode::Off,
        yellow: Mode::Off,
        red: Mode::Off,
        buzzer: Mode::Off,
    };

    /// Only `lamp`, in `mode`.
    pub fn only(lamp: Lamp, mode: Mode) -> Signal {
        let mut s = Signal::OFF;
        s.set(lamp, mode);
        s
    }

    /// The mode of one lamp.
    pub fn mode(&self, lamp: Lamp) -> Mode {
        match lamp {
            Lamp::Green => self.green,
            Lamp::Yellow => self.yellow,
            Lamp::Red => self.red,
            Lamp::Buzzer => self.buzzer,
        }
    }

    /// Sets the mode of one lamp.
    pub fn set(&mut self, lamp: Lamp, mode: Mode) {
        match lamp {
            Lamp::Green => self.green = mode,
            Lamp::Yellow => self.yellow = mode,
            Lamp::Red => self.red = mode,
            Lamp::Buzzer => self.buzzer = mode,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = Lamp::ALL
            .iter()
            .filter_map(|&l| match self.mode(l) {
                Mode::Off => None,
                Mode::On => Some(l.name().to_string()),
                Mode::Blink => Some(format!("{} blinking", l.name())),
            })
            .collect();
        if parts.is_empty() {
            f.write_str("off")
        } else {
            f.write_str(&parts.join(" + "))
        }
    }
}

/// A timed step of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What the lamps do.
    pub signal: Signal,
    /// For how long, milliseconds.
    pub hold_ms: u64,
}

/// Timed steps, then a signal held until the next program.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Program {
    /// Steps played in order.
    pub steps: Vec<Step>,
    /// Held after the last step.
    pub then: Signal,
}

impl Program {
    /// A signal held until changed.
    pub fn steady(signal: Signal) -> Program {
        Program {
            steps: Vec::new(),
            then: signal,
        }
    }

    /// `signal` for `hold_ms`, then `then` until changed.
    pub fn timed(signal: Signal, hold_ms: u64, then: Signal) -> Program {
        Program {
            steps: vec![Step { signal, hold_ms }],
            then,
        }
    }
}

/// The relay board's protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum RelayProtocol {
    /// LCUS (CH340 "LC USB switch"): `A0 ch state sum`, no answers.
    Lcus,
    /// Modbus RTU coils (relay N = coil N−1).
    Modbus {
        /// Slave address (1–247).
        address: u8,
        /// Wait for the board's answer to each request (detects an absent board). Off for
        /// boards that never answer or for transmit-only wiring.
        check_answers: bool,
        /// Write all lamps with one 0F request when their channels are contiguous (an alarm's
        /// red lamp and buzzer then switch together); otherwise one 05 request per lamp.
        multiple_coils: bool,
    },
    /// ASCII text per switch, `{ch}` replaced by the channel.
    Ascii {
        /// Template to switch a channel on.
        on: String,
        /// Template to switch a channel off.
        off: String,
    },
}

impl RelayProtocol {
    /// The protocol's name.
    pub fn name(&self) -> &'static str {
        match self {
            RelayProtocol::Lcus => "lcus",
            RelayProtocol::Modbus { .. } => "modbus",
            RelayProtocol::Ascii { .. } => "ascii",
        }
    }
}

/// Relay channels (1-based) of each output; `None` = not wired. In a configuration table an
/// output left out is not wired (`{ green = 1, red = 2 }` has no yellow lamp and no buzzer);
/// the whole table left out is the usual wiring ([`Channels::default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawChannels")]
pub struct Channels {
    /// Green lamp.
    #[serde(default)]
    pub green: Option<u8>,
    /// Yellow lamp.
    #[serde(default)]
    pub yellow: Option<u8>,
    /// Red lamp.
    #[serde(default)]
    pub red: Option<u8>,
    /// Buzzer.
    #[serde(default)]
    pub buzzer: Option<u8>,
}

impl Default for Channels {
    /// The usual wiring of a 4-channel board: green 1, yellow 2, red 3, buzzer 4.
    fn default() -> Self {
        Channels {
            green: Some(1),
            yellow: Some(2),
            red: Some(3),
            buzzer: Some(4),
        }
    }
}

/// Channels as written in a configuration file, checked by [`Channels::check`] on the way in
/// (so a parse error points at the table's line).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannels {
    #[serde(default)]
    green: Option<u8>,
    #[serde(default)]
    yellow: Option<u8>,
    #[serde(default)]
    red: Option<u8>,
    #[serde(default)]
    buzzer: Option<u8>,
}

impl TryFrom<RawChannels> for Channels {
    type Error = String;
    fn try_from(r: RawChannels) -> Result<Channels, String> {
        let c = Channels {
            green: r.green,
            yellow: r.yellow,
            red: r.red,
            buzzer: r.buzzer,
        };
        c.check()?;
        Ok(c)
    }
}

impl Channels {
    /// Checks that at least one output is wired, channels count from 1 and no two outputs
    /// share a relay.
    pub fn check(&self) -> Result<(), String> {
        let wired: Vec<(Lamp, u8)> = self.wired().collect();
        if wired.is_empty() {
            return Err("wire at least one of green, yellow, red, buzzer".into());
        }
        for (i, (lamp, ch)) in wired.iter().enumerate() {
            if *ch == 0 {
                return Err(format!("{} = 0: relay channels count from 1", lamp.name()));
            }
            if let Some((other, _)) = wired.get(..i).and_then(|w| w.iter().find(|(_, c)| c == ch)) {
                return Err(format!(
                    "{} and {} are both on channel {ch}",
                    other.name(),
                    lamp.name()
                ));
            }
        }
        Ok(())
    }

    /// The channel of one output.
    pub fn get(&self, lamp: Lamp) -> Option<u8> {
        match lamp {
            Lamp::Green => self.green,
            Lamp::Yellow => self.yellow,
            Lamp::Red => self.red,
            Lamp::Buzzer => self.buzzer,
        }
    }

    /// The wired outputs with their channels.
    pub fn wired(&self) -> impl Iterator<Item = (Lamp, u8)> + '_ {
        Lamp::ALL
            .into_iter()
            .filter_map(|l| self.get(l).map(|c| (l, c)))
    }

    /// The lowest channel and the wired outputs ordered by channel, when their channels are
    /// contiguous (one Modbus 0F request can write them all).
    fn contiguous(&self) -> Option<(u8, Vec<Lamp>)> {
        let mut wired: Vec<(u8, Lamp)> = self.wired().map(|(l, c)| (c, l)).collect();
        wired.sort();
        let first = wired.first()?.0;
        let contiguous = wired
            .iter()
            .enumerate()
            .all(|(i, (c, _))| usize::from(*c) == usize::from(first) + i);
        contiguous.then(|| (first, wired.into_iter().map(|(_, l)| l).collect()))
    }
}

/// Everything the light needs besides time and bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightConfig {
    /// The board's protocol.
    pub protocol: RelayProtocol,
    /// Which relay drives which output.
    pub channels: Channels,
    /// Blink half-period, milliseconds.
    pub blink_ms: u64,
    /// The buzzer goes quiet after this long even if the signal still asks for it
    /// (`None`: until the signal changes).
    pub buzzer_max_ms: Option<u64>,
    /// Modbus: wait this long for an answer.
    pub answer_timeout_ms: u64,
    /// Resend this long after a silent or refusing board.
    pub retry_ms: u64,
    /// Silence between frames, milliseconds.
    pub frame_gap_ms: u64,
    /// Resend every output this often even when nothing changed (boards that lose their
    /// state on a power dip); `None`: only on change and after a reconnect.
    pub refresh_ms: Option<u64>,
}

impl LightConfig {
    /// Defaults for a protocol.
    pub fn new(protocol: RelayProtocol) -> LightConfig {
        LightConfig {
            protocol,
            channels: Channels::default(),
            blink_ms: DEFAULT_BLINK_MS,
            buzzer_max_ms: None,
            answer_timeout_ms: DEFAULT_ANSWER_TIMEOUT_MS,
            retry_ms: DEFAULT_RETRY_MS,
            frame_gap_ms: DEFAULT_FRAME_GAP_MS,
            refresh_ms: None,
        }
    }

    /// Checks what serde cannot. Errors name the field.
    pub fn validate(&self) -> Result<(), LightError> {
        let bad = |field: &'static str, message: String| LightError::Config { field, message };
        self.channels.check().map_err(|m| bad("channels", m))?;
        match &self.protocol {
            RelayProtocol::Modbus { address, .. } if !(1..=247).contains(address) => {
                return Err(bad(
                    "modbus_address",
                    format!("{address} is not a Modbus slave address (1–247)"),
                ))
            }
            RelayProtocol::Ascii { on, off } if on.is_empty() || off.is_empty() => {
                return Err(bad(
                    "ascii_on",
                    "the ascii protocol needs both ascii_on and ascii_off templates".into(),
                ))
            }
            _ => {}
        }
        if self.blink_ms == 0 {
            return Err(bad("blink_ms", "must be at least 1".into()));
        }
        Ok(())
    }
}

/// Light errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LightError {
    /// A configuration value is wrong.
    #[error("tower_light.{field}: {message}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// What the four outputs are (or should be) at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Outputs {
    /// Green lamp lit.
    pub green: bool,
    /// Yellow lamp lit.
    pub yellow: bool,
    /// Red lamp lit.
    pub red: bool,
    /// Buzzer sounding.
    pub buzzer: bool,
}

impl Outputs {
    fn from_array(a: [bool; 4]) -> Outputs {
        Outputs {
            green: a[0],
            yellow: a[1],
            red: a[2],
            buzzer: a[3],
        }
    }

    /// One output.
    pub fn get(&self, lamp: Lamp) -> bool {
        match lamp {
            Lamp::Green => self.green,
            Lamp::Yellow => self.yellow,
            Lamp::Red => self.red,
            Lamp::Buzzer => self.buzzer,
        }
    }
}

impl std::fmt::Display for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on: Vec<&str> = Lamp::ALL
            .iter()
            .filter(|l| self.get(**l))
            .map(|l| l.name())
            .collect();
        if on.is_empty() {
            f.write_str("all off")
        } else {
            f.write_str(&on.join(" + "))
        }
    }
}

/// What the light reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LightEvent {
    /// The Modbus board answered (first answer after connecting or after silence).
    BoardAnswers {
        /// Slave address.
        address: u8,
    },
    /// The Modbus board did not answer in time: absent, wrong address, wrong baud or wiring.
    NoAnswer {
        /// The request, hex.
        request: String,
        /// How long we waited.
        waited_ms: u64,
    },
    /// The board refused a request (Modbus exception).
    Refused {
        /// Exception code.
        code: u8,
        /// Its meaning.
        reason: &'static str,
    },
}

struct Pending {
    frame: Vec<u8>,
    /// Outputs this request sets, applied to the board state when answered.
    sets: Vec<(Lamp, bool)>,
    expect: ModbusAnswer,
    deadline_ms: u64,
}

/// The sans-IO stack-light state machine.
pub struct Light {
    cfg: LightConfig,
    program: Program,
    step: usize,
    step_started_ms: u64,
    now_ms: u64,
    /// What the board has, as far as we know (`None`: unknown, send it).
    board: [Option<bool>; 4],
    connected: bool,
    pending: Option<Pending>,
    retry_at_ms: Option<u64>,
    last_tx_ms: Option<u64>,
    next_refresh_ms: Option<u64>,
    answering: Option<bool>,
    decoder: ModbusDecoder,
    events: VecDeque<LightEvent>,
}

impl std::fmt::Debug for Light {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Light")
            .field("protocol", &self.cfg.protocol.name())
            .field("signal", &self.signal())
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl Light {
    /// A light showing nothing, not connected. Validate `cfg` first
    /// ([`LightConfig::validate`]); a bad channel simply never gets a frame.
    pub fn new(cfg: LightConfig) -> Light {
        Light {
            cfg,
            program: Program::default(),
            step: 0,
            step_started_ms: 0,
            now_ms: 0,
            board: [None; 4],
            connected: false,
            pending: None,
            retry_at_ms: None,
            last_tx_ms: None,
            next_refresh_ms: None,
            answering: None,
            decoder: ModbusDecoder::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LightConfig {
        &self.cfg
    }

    /// Plays `program` from `now_ms` (blink phase and buzzer time start again).
    pub fn set(&mut self, program: Program, now_ms: u64) {
        self.now_ms = now_ms;
        self.program = program;
        self.step = 0;
        self.step_started_ms = now_ms;
        self.advance(now_ms);
    }

    /// The signal in force.
    pub fn signal(&self) -> Signal {
        self.program
            .steps
            .get(self.step)
            .map_or(self.program.then, |s| s.signal)
    }

    /// The port is open: the board's state is unknown, so every output is sent again.
    pub fn connected(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.connected = true;
        self.board = [None; 4];
        self.pending = None;
        self.retry_at_ms = None;
        self.last_tx_ms = None;
        self.answering = None;
        self.decoder.clear();
        self.next_refresh_ms = self.cfg.refresh_ms.map(|r| now_ms.saturating_add(r));
    }

    /// The port is gone: nothing is sent until [`Light::connected`].
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.pending = None;
        self.board = [None; 4];
    }

    /// Whether the Modbus board has answered (`None`: not known yet or not a Modbus board
    /// that answers).
    pub fn answering(&self) -> Option<bool> {
        self.answering
    }

    /// What the outputs should be at `now_ms`.
    pub fn outputs(&self, now_ms: u64) -> Outputs {
        Outputs::from_array(self.target(now_ms))
    }

    /// What the board was last told (unknown outputs read as off).
    pub fn board(&self) -> Outputs {
        Outputs::from_array(self.board.map(|b| b.unwrap_or(false)))
    }

    fn step_end_ms(&self) -> Option<u64> {
        self.program
            .steps
            .get(self.step)
            .map(|s| self.step_started_ms.saturating_add(s.hold_ms))
    }

    /// Moves through finished program steps.
    fn advance(&mut self, now_ms: u64) {
        while let Some(end) = self.step_end_ms() {
            if now_ms < end {
                break;
            }
            self.step += 1;
            self.step_started_ms = end;
        }
    }

    fn target(&self, now_ms: u64) -> [bool; 4] {
        let signal = self.signal();
        let since = now_ms.saturating_sub(self.step_started_ms);
        Lamp::ALL.map(|l| {
            let on = match signal.mode(l) {
                Mode::Off => false,
                Mode::On => true,
                Mode::Blink => (since / self.cfg.blink_ms.max(1)) % 2 == 0,
            };
            let quiet = l == Lamp::Buzzer && self.cfg.buzzer_max_ms.is_some_and(|m| since >= m);
            on && !quiet
        })
    }

    fn expects_answers(&self) -> bool {
        matches!(
            self.cfg.protocol,
            RelayProtocol::Modbus {
                check_answers: true,
                ..
            }
        )
    }

    /// Outputs whose board state differs from the target.
    fn changed(&self, target: &[bool; 4]) -> Vec<(Lamp, u8, bool)> {
        self.cfg
            .channels
            .wired()
            .filter(|(l, _)| self.board[l.index()] != Some(target[l.index()]))
            .map(|(l, c)| (l, c, target[l.index()]))
            .collect()
    }

    /// The next frame to write, if one is due now. Call until `None` after every input.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<Vec<u8>> {
        self.now_ms = now_ms;
        self.advance(now_ms);
        if !self.connected
            || self.pending.is_some()
            || self.retry_at_ms.is_some_and(|t| now_ms < t)
            || self
                .last_tx_ms
                .is_some_and(|t| now_ms < t.saturating_add(self.cfg.frame_gap_ms))
        {
            return None;
        }
        self.retry_at_ms = None;
        let target = self.target(now_ms);
        let changed = self.changed(&target);
        let &(lamp, channel, on) = changed.first()?;
        let (frame, sets, expect) = match &self.cfg.protocol {
            RelayProtocol::Lcus => (codec::lcus(channel, on).to_vec(), vec![(lamp, on)], None),
            RelayProtocol::Ascii {
                on: t_on,
                off: t_off,
            } => (
                codec::ascii(if on { t_on } else { t_off }, channel),
                vec![(lamp, on)],
                None,
            ),
            RelayProtocol::Modbus {
                address,
                multiple_coils,
                ..
            } => {
                let coil = |c: u8| u16::from(c.saturating_sub(1));
                match self.cfg.channels.contiguous().filter(|_| *multiple_coils) {
                    Some((first, lamps)) if lamps.len() > 1 => {
                        let states: Vec<bool> = lamps.iter().map(|l| target[l.index()]).collect();
                        let frame = codec::modbus_write_coils(*address, coil(first), &states)?;
                        let quantity = u16::try_from(lamps.len()).unwrap_or(u16::MAX);
                        (
                            frame,
                            lamps.iter().map(|l| (*l, target[l.index()])).collect(),
                            Some(ModbusAnswer::CoilsWritten {
                                address: *address,
                                start: coil(first),
                                quantity,
                            }),
                        )
                    }
                    _ => (
                        codec::modbus_write_coil(*address, coil(channel), on),
                        vec![(lamp, on)],
                        Some(ModbusAnswer::CoilWritten {
                            address: *address,
                            coil: coil(channel),
                            on,
                        }),
                    ),
                }
            }
        };
        self.last_tx_ms = Some(now_ms);
        match expect.filter(|_| self.expects_answers()) {
            Some(expect) => {
                self.pending = Some(Pending {
                    frame: frame.clone(),
                    sets,
                    expect,
                    deadline_ms: now_ms.saturating_add(self.cfg.answer_timeout_ms),
                });
            }
            None => {
                for (l, v) in sets {
                    self.board[l.index()] = Some(v);
                }
            }
        }
        Some(frame)
    }

    /// Bytes received from the board (Modbus answers; anything else is ignored).
    pub fn feed(&mut self, bytes: &[u8], now_ms: u64) {
        self.now_ms = now_ms;
        if !self.expects_answers() {
            return;
        }
        self.decoder.feed(bytes);
        while let Some(answer) = self.decoder.poll() {
            let Some(p) = self.pending.take() else {
                continue;
            };
            if answer == p.expect {
                for (l, v) in &p.sets {
                    self.board[l.index()] = Some(*v);
                }
                if self.answering != Some(true) {
                    self.answering = Some(true);
                    self.events.push_back(LightEvent::BoardAnswers {
                        address: answer.address(),
                    });
                }
            } else if let ModbusAnswer::Exception { code, .. } = answer {
                if answer.address() == p.expect.address() {
                    self.events.push_back(LightEvent::Refused {
                        code,
                        reason: codec::exception_name(code),
                    });
                    self.retry_at_ms = Some(now_ms.saturating_add(self.cfg.retry_ms));
                } else {
                    self.pending = Some(p);
                }
            } else {
                // Another slave's answer or a stale one: keep waiting for ours.
                self.pending = Some(p);
            }
        }
    }

    /// Handles deadlines: program steps, answer timeouts, periodic refresh.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.advance(now_ms);
        if let Some(p) = self.pending.take_if(|p| now_ms >= p.deadline_ms) {
            if self.answering != Some(false) {
                self.events.push_back(LightEvent::NoAnswer {
                    request: hex_string(&p.frame),
                    waited_ms: self.cfg.answer_timeout_ms,
                });
            }
            self.answering = Some(false);
            for (l, _) in &p.sets {
                self.board[l.index()] = None;
            }
            self.retry_at_ms = Some(now_ms.saturating_add(self.cfg.retry_ms));
        }
        if let (Some(t), Some(every)) = (self.next_refresh_ms, self.cfg.refresh_ms) {
            if now_ms >= t && self.connected {
                self.board = [None; 4];
                self.next_refresh_ms = Some(now_ms.saturating_add(every.max(1)));
            }
        }
    }

    /// The next moment something is due (a blink edge, the buzzer going quiet, a step end, an
    /// answer deadline, a retry, the frame gap, a refresh), in the caller's milliseconds.
    pub fn poll_timeout(&self) -> Option<u64> {
        let now = self.now_ms;
        let mut t: Option<u64> = None;
        let mut at = |x: Option<u64>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        at(self.step_end_ms());
        let signal = self.signal();
        let since = now.saturating_sub(self.step_started_ms);
        if Lamp::ALL.iter().any(|l| signal.mode(*l) == Mode::Blink) {
            let half = self.cfg.blink_ms.max(1);
            at(Some(self.step_started_ms + (since / half + 1) * half));
        }
        if let Some(max) = self.cfg.buzzer_max_ms {
            if signal.buzzer != Mode::Off && since < max {
                at(Some(self.step_started_ms + max));
            }
        }
        at(self.pending.as_ref().map(|p| p.deadline_ms));
        at(self.retry_at_ms);
        if self.connected && self.pending.is_none() && !self.changed(&self.target(now)).is_empty() {
            at(Some(
                self.last_tx_ms
                    .map_or(now, |l| l.saturating_add(self.cfg.frame_gap_ms))
                    .max(self.retry_at_ms.unwrap_or(0)),
            ));
        }
        if self.connected {
            at(self.next_refresh_ms);
        }
        t
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<LightEvent> {
        self.events.pop_front()
    }
}

/// Bytes as spaced uppercase hex (`A0 01 01 A2`).
pub fn hex_string(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
