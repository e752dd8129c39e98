//! A virtual scale for every protocol: a sans-IO model ([`VirtualScale`]: script + time → frames,
//! commands → replies) and, on unix, a runner on a pseudo-terminal ([`PtySimulator`]) that demo
//! mode and the end-to-end tests use like a real serial scale, including unplug and replug.
//!
//! Scripts are text, one step per line or `;`-separated:
//! `place 1250 [settle=800]` (grams), `remove [settle=500]`, `wait 2000`, `overload 1000`,
//! `underload 1000`, `garbage 0d0aff` (hex), `jitter 3` (grams, while settling), `repeat`.
//! The jitter comes from a seeded generator: runs are reproducible.

use super::weight::{div_round, Decimal, Unit};
use super::{and_cas, hid_pos, mt_sics, nci, ohaus, sma, toledo, xk3190, Protocol};
use std::collections::VecDeque;

/// One script step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Put a parcel of `grams` on the scale; the reading settles over `settle_ms`.
    Place {
        /// Parcel weight in grams.
        grams: i64,
        /// Settling time.
        settle_ms: u64,
    },
    /// Take everything off; settles over `settle_ms`.
    Remove {
        /// Settling time.
        settle_ms: u64,
    },
    /// Keep the current state.
    Wait {
        /// Duration.
        ms: u64,
    },
    /// Report over capacity for `ms`.
    Overload {
        /// Duration.
        ms: u64,
    },
    /// Report under zero for `ms`.
    Underload {
        /// Duration.
        ms: u64,
    },
    /// Send these bytes once (line noise).
    Garbage {
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Jitter amplitude while settling, grams.
    Jitter {
        /// Amplitude.
        grams: i64,
    },
    /// Start the script over.
    Repeat,
}

/// Script parse errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("script step {index} {step:?}: {reason}")]
pub struct ScriptError {
    /// 1-based step number.
    pub index: usize,
    /// The step text.
    pub step: String,
    /// What is wrong.
    pub reason: String,
}

/// Default settling time of `place`/`remove`.
pub const DEFAULT_SETTLE_MS: u64 = 800;

/// Parses a script.
pub fn parse_script(text: &str) -> Result<Vec<Step>, ScriptError> {
    let mut steps = Vec::new();
    let parts = text
        .split(['\n', ';'])
        .map(|s| s.split('#').next().unwrap_or("").trim())
        .filter(|s| !s.is_empty());
    for (i, part) in parts.enumerate() {
        let err = |reason: &str| ScriptError {
            index: i + 1,
            step: part.to_owned(),
            reason: reason.to_owned(),
        };
        let mut words = part.split_whitespace();
        let verb = words.next().unwrap_or("").to_ascii_lowercase();
        let args: Vec<&str> = words.collect();
        let mut positional = Vec::new();
        let mut settle = DEFAULT_SETTLE_MS;
        for a in &args {
            if let Some(v) = a.strip_prefix("settle=") {
                settle = v.parse().map_err(|_| err("settle= wants milliseconds"))?;
            } else {
                positional.push(*a);
            }
        }
        let num = |what: &str| -> Result<i64, ScriptError> {
            positional
                .first()
                .ok_or_else(|| err(&format!("missing {what}")))?
                .parse::<i64>()
                .map_err(|_| err(&format!("{what} must be an integer")))
        };
        let ms = |what: &str| -> Result<u64, ScriptError> {
            u64::try_from(num(what)?).map_err(|_| err(&format!("{what} must not be negative")))
        };
        steps.push(match verb.as_str() {
            "place" => Step::Place {
                grams: num("grams")?,
                settle_ms: settle,
            },
            "remove" => Step::Remove { settle_ms: settle },
            "wait" => Step::Wait {
                ms: ms("milliseconds")?,
            },
            "overload" => Step::Overload {
                ms: ms("milliseconds")?,
            },
            "underload" => Step::Underload {
                ms: ms("milliseconds")?,
            },
            "garbage" => Step::Garbage {
                bytes: hex::decode(positional.concat()).map_err(|e| err(&format!("hex: {e}")))?,
            },
            "jitter" => Step::Jitter {
                grams: num("grams")?,
            },
            "repeat" => Step::Repeat,
            _ => return Err(err(
                "unknown step (place, remove, wait, overload, underload, garbage, jitter, repeat)",
            )),
        });
    }
    Ok(steps)
}

/// The demo script: a parcel every few seconds, with noise and an overload.
pub const DEMO_SCRIPT: &str = "jitter 4; wait 1000; place 1250 settle=900; wait 3000; remove settle=400; wait 1500; \
garbage 00ff13; place 3480 settle=1200; wait 3000; remove settle=400; wait 1500; overload 800; wait 1000; repeat";

/// What the scale shows at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimReading {
    /// Gross milligrams on the platform minus the tare.
    pub mg: i64,
    /// In motion.
    pub motion: bool,
    /// Over capacity.
    pub over: bool,
    /// Under zero.
    pub under: bool,
    /// Current tare, milligrams.
    pub tare_mg: i64,
}

/// The sans-IO virtual scale.
#[derive(Debug, Clone)]
pub struct VirtualScale {
    protocol: Protocol,
    unit: Unit,
    decimals: u8,
    steps: Vec<Step>,
    next_step: usize,
    step_end_ms: u64,
    from_mg: i64,
    target_mg: i64,
    settle_start_ms: u64,
    settle_ms: u64,
    jitter_mg: i64,
    over_until: u64,
    under_until: u64,
    tare_mg: i64,
    zero_mg: i64,
    rng: u64,
    out: VecDeque<u8>,
    streaming: bool,
    started: bool,
    inbuf: Vec<u8>,
}

impl VirtualScale {
    /// A scale speaking `protocol` in `unit` (kg shows 3 decimals, g 1, lb 3, oz 1) running `steps`.
    pub fn new(protocol: Protocol, unit: Unit, steps: Vec<Step>) -> VirtualScale {
        let decimals = match unit {
            Unit::Kg | Unit::Lb => 3,
            Unit::G | Unit::Oz => 1,
            Unit::T => 4,
            Unit::Mg | Unit::Ct => 0,
        };
        VirtualScale {
            protocol,
            unit,
            decimals,
            steps,
            next_step: 0,
            step_end_ms: 0,
            from_mg: 0,
            target_mg: 0,
            settle_start_ms: 0,
            settle_ms: 0,
            jitter_mg: 0,
            over_until: 0,
            under_until: 0,
            tare_mg: 0,
            zero_mg: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            out: VecDeque::new(),
            streaming: !matches!(
                protocol,
                Protocol::MtSics | Protocol::Sma | Protocol::Nci | Protocol::Xk3190Cmd
            ),
            started: false,
            inbuf: Vec::new(),
        }
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Appends steps (tests drive the scale this way).
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Frame interval of continuous protocols.
    pub fn interval_ms(&self) -> u64 {
        match self.protocol {
            Protocol::HidPos => 200,
            _ => 100,
        }
    }

    /// True when the scale sends frames by itself (continuous protocols, or MT-SICS after `SIR`).
    pub fn streaming(&self) -> bool {
        self.streaming
    }

    fn next_rand(&mut self) -> i64 {
        // xorshift64*: deterministic noise.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let v = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        i64::try_from(v >> 33).unwrap_or(0)
    }

    fn current_mg(&self, now: u64) -> i64 {
        if self.settle_ms == 0 || now >= self.settle_start_ms + self.settle_ms {
            return self.target_mg;
        }
        let t = i128::from(now.saturating_sub(self.settle_start_ms));
        let span = i128::from(self.settle_ms);
        let delta = i128::from(self.target_mg - self.from_mg);
        let m = i128::from(self.from_mg) + delta * t / span;
        i64::try_from(m).unwrap_or(self.target_mg)
    }

    /// Advances the script to `now` (ms since start); may queue garbage bytes.
    pub fn advance(&mut self, now: u64) {
        if !self.started {
            self.started = true;
            self.step_end_ms = now;
        }
        let mut guard = 0;
        while now >= self.step_end_ms && guard < 64 {
            guard += 1;
            let Some(step) = self.steps.get(self.next_step).cloned() else {
                // Script exhausted: idle from now on, so steps pushed later start when pushed.
                self.step_end_ms = now;
                return;
            };
            self.next_step += 1;
            let at = self.step_end_ms;
            match step {
                Step::Place { grams, settle_ms } => {
                    self.from_mg = self.current_mg(at);
                    self.target_mg = grams.saturating_mul(1000);
                    self.settle_start_ms = at;
                    self.settle_ms = settle_ms;
                    self.step_end_ms = at + settle_ms;
                }
                Step::Remove { settle_ms } => {
                    self.from_mg = self.current_mg(at);
                    self.target_mg = 0;
                    self.settle_start_ms = at;
                    self.settle_ms = settle_ms;
                    self.step_end_ms = at + settle_ms;
                }
                Step::Wait { ms } => self.step_end_ms = at + ms,
                Step::Overload { ms } => {
                    self.over_until = at + ms;
                    self.step_end_ms = at + ms;
                }
                Step::Underload { ms } => {
                    self.under_until = at + ms;
                    self.step_end_ms = at + ms;
                }
                Step::Garbage { bytes } => self.out.extend(bytes),
                Step::Jitter { grams } => self.jitter_mg = grams.saturating_mul(1000),
                Step::Repeat => self.next_step = 0,
            }
        }
    }

    /// The reading at `now`.
    pub fn reading(&mut self, now: u64) -> SimReading {
        self.advance(now);
        let settling = self.settle_ms > 0 && now < self.settle_start_ms + self.settle_ms;
        let mut mg = self.current_mg(now);
        if settling && self.jitter_mg > 0 {
            mg += self.next_rand() % (self.jitter_mg + 1) - self.jitter_mg / 2;
        }
        SimReading {
            mg: mg - self.zero_mg - self.tare_mg,
            motion: settling,
            over: now < self.over_until,
            under: now < self.under_until,
            tare_mg: self.tare_mg,
        }
    }

    fn shown(&self, mg: i64) -> Decimal {
        // mg → unit with `decimals` places, rounded half away from zero.
        let ng = i128::from(mg) * 1_000_000;
        let scaled = ng * 10i128.pow(u32::from(self.decimals));
        let m = div_round(scaled, self.unit.nanograms());
        Decimal {
            mantissa: i64::try_from(m).unwrap_or(0),
            scale: self.decimals,
        }
    }

    /// The frame a continuous scale sends at `now` (also used as the reply to weight polls).
    pub fn frame(&mut self, now: u64) -> Vec<u8> {
        let r = self.reading(now);
        let v = self.shown(r.mg);
        let tare = self.shown(r.tare_mg);
        let net = r.tare_mg != 0;
        let u = self.unit;
        match self.protocol {
            Protocol::MtSics => {
                if r.over {
                    b"S +\r\n".to_vec()
                } else if r.under {
                    b"S -\r\n".to_vec()
                } else {
                    mt_sics::encode_weight(v, u, !r.motion)
                }
            }
            Protocol::Toledo => toledo::encode(&toledo::EncodeSpec {
                value: v,
                tare,
                unit: u,
                motion: r.motion,
                net,
                out_of_range: r.over || r.under,
                zero_pad: false,
                checksum: true,
            }),
            Protocol::Xk3190 => xk3190::encode_stx(v),
            Protocol::Xk3190Cmd => xk3190::encode_reply(b'A', b'B', self.shown(r.mg + r.tare_mg)),
            Protocol::Xk3190A12 => {
                if r.over {
                    xk3190::encode_a12(None, net, u)
                } else {
                    xk3190::encode_a12(Some(v), net, u)
                }
            }
            Protocol::Xk3190Eq => xk3190::encode_eq(v, true),
            Protocol::Xk3190EqFwd => xk3190::encode_eq(v, false),
            Protocol::Sma => {
                let status = if r.over {
                    sma::Status::Over
                } else if r.under {
                    sma::Status::Under
                } else if r.mg == 0 {
                    sma::Status::Zero
                } else {
                    sma::Status::Weight
                };
                sma::encode_reply(status, v, u, net, r.motion)
            }
            Protocol::And => and_cas::encode((!r.over).then_some(v), u, !r.motion, net),
            Protocol::Ohaus => {
                if r.over {
                    b"  OL\r\n".to_vec()
                } else {
                    ohaus::encode(v, u, !r.motion, net)
                }
            }
            Protocol::Nci => nci::encode_reply(
                Some(v),
                u,
                nci::Status {
                    motion: r.motion,
                    zero: r.mg == 0,
                    under: r.under,
                    over: r.over,
                },
            ),
            Protocol::HidPos => {
                let status = if r.over {
                    6
                } else if r.under {
                    5
                } else if r.motion {
                    3
                } else if r.mg == 0 {
                    2
                } else {
                    4
                };
                hid_pos::encode_report(status, u, v).to_vec()
            }
        }
    }

    /// Handles bytes from the host (polls, tare, zero) at `now`; replies are queued for [`Self::take_output`].
    pub fn handle_input(&mut self, bytes: &[u8], now: u64) {
        self.inbuf.extend_from_slice(bytes);
        if self.inbuf.len() > 256 {
            self.inbuf.clear();
        }
        if self.protocol == Protocol::Xk3190Cmd {
            self.xk3190_commands(now);
            return;
        }
        loop {
            let Some(end) = self.inbuf.iter().position(|&b| b == b'\r' || b == b'\n') else {
                return;
            };
            let cmd: Vec<u8> = self.inbuf.drain(..=end).collect();
            let cmd: Vec<u8> = cmd
                .into_iter()
                .filter(|b| !matches!(b, b'\r' | b'\n'))
                .collect();
            if cmd.is_empty() {
                continue;
            }
            let reply = self.command(&cmd, now);
            self.out.extend(reply);
        }
    }

    /// tF=1 command frames `STX addr cmd XORhi XORlo ETX`: B gross, C tare, D net, A handshake.
    fn xk3190_commands(&mut self, now: u64) {
        while let Some(etx) = self.inbuf.iter().position(|&b| b == 0x03) {
            let frame: Vec<u8> = self.inbuf.drain(..=etx).collect();
            let Some(stx) = frame.iter().rposition(|&b| b == 0x02) else {
                continue;
            };
            let (Some(&addr), Some(&cmd)) = (frame.get(stx + 1), frame.get(stx + 2)) else {
                continue;
            };
            let r = self.reading(now);
            let reply = match cmd {
                b'A' => xk3190::encode_command(addr, b'A'),
                b'B' => xk3190::encode_reply(addr, b'B', self.shown(r.mg + r.tare_mg)),
                b'C' => xk3190::encode_reply(addr, b'C', self.shown(r.tare_mg)),
                b'D' => xk3190::encode_reply(addr, b'D', self.shown(r.mg)),
                _ => continue,
            };
            self.out.extend(reply);
        }
    }

    fn command(&mut self, cmd: &[u8], now: u64) -> Vec<u8> {
        let r = self.reading(now);
        let gross = r.mg + r.tare_mg;
        match (self.protocol, cmd) {
            (Protocol::MtSics, b"@") => {
                self.streaming = false;
                b"I4 A \"SIM0000001\"\r\n".to_vec()
            }
            (Protocol::MtSics, b"SIR") => {
                self.streaming = true;
                Vec::new()
            }
            (Protocol::MtSics, b"SI") => {
                self.streaming = false;
                self.frame(now)
            }
            (Protocol::MtSics, b"S") => {
                self.streaming = false;
                if r.motion {
                    b"S I\r\n".to_vec()
                } else {
                    self.frame(now)
                }
            }
            (Protocol::MtSics, b"T") => {
                self.streaming = false;
                if r.motion {
                    return b"T I\r\n".to_vec();
                }
                self.tare_mg = gross;
                let t = self.shown(self.tare_mg);
                format!("T S {:>10} {}\r\n", t.to_string(), self.unit.symbol()).into_bytes()
            }
            (Protocol::MtSics, b"TAC") => {
                self.streaming = false;
                self.tare_mg = 0;
                b"TAC A\r\n".to_vec()
            }
            (Protocol::MtSics, b"Z") => {
                self.streaming = false;
                self.zero_mg += r.mg;
                b"Z A\r\n".to_vec()
            }
            (Protocol::MtSics, _) => b"ES\r\n".to_vec(),
            (Protocol::Sma, b"W" | b"P" | b"H") => self.frame(now),
            (Protocol::Sma, b"Z") => {
                self.zero_mg += r.mg;
                self.frame(now)
            }
            (Protocol::Sma, b"T") => {
                self.tare_mg = gross;
                self.frame(now)
            }
            (Protocol::Sma, b"C") => {
                self.tare_mg = 0;
                self.frame(now)
            }
            (Protocol::Sma, _) => b"\n?\r".to_vec(),
            (Protocol::Nci, b"W") => self.frame(now),
            (Protocol::Nci, b"Z" | b"T" | b"S") => {
                match cmd {
                    b"Z" => self.zero_mg += r.mg,
                    b"T" => self.tare_mg = gross,
                    _ => {}
                }
                nci::encode_reply(
                    None,
                    self.unit,
                    nci::Status {
                        motion: r.motion,
                        ..nci::Status::default()
                    },
                )
            }
            (Protocol::Nci, _) => b"\n?\r\x03".to_vec(),
            (_, b"T") => {
                self.tare_mg = gross;
                Vec::new()
            }
            (_, b"Z") => {
                self.zero_mg += r.mg;
                Vec::new()
            }
            (_, b"C") => {
                self.tare_mg = 0;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Takes queued output (replies and garbage).
    pub fn take_output(&mut self) -> Vec<u8> {
        self.out.drain(..).collect()
    }
}

#[cfg(unix)]
pub use pty::PtySimulator;

#[cfg(unix)]
mod pty {
    //! The pseudo-terminal runner.
    use super::{Step, VirtualScale};

    use std::io::{Read, Write};
    use std::path::{Path, PathBuf};
    use std::sync::mpsc;
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    enum Ctl {
        Push(Step),
        Unplug,
        Replug(mpsc::Sender<std::io::Result<PathBuf>>),
        Stop,
    }

    /// A virtual scale on a pty. Open [`PtySimulator::path`] like a serial port.
    #[derive(Debug)]
    pub struct PtySimulator {
        path: PathBuf,
        tx: mpsc::Sender<Ctl>,
        thread: Option<JoinHandle<()>>,
    }

    use crate::pty::open_pair;

    impl PtySimulator {
        /// Creates the pty (and the symlink `link`, if given: a stable name across replugs)
        /// and starts the scale.
        pub fn start(
            mut scale: VirtualScale,
            link: Option<PathBuf>,
        ) -> std::io::Result<PtySimulator> {
            let (master, path) = open_pair(link.as_deref())?;
            let (tx, rx) = mpsc::channel();
            let thread = std::thread::Builder::new()
                .name("scale-sim".into())
                .spawn(move || {
                    let epoch = Instant::now();
                    let mut master = Some(master);
                    let mut next_frame = 0u64;
                    let mut buf = [0u8; 256];
                    loop {
                        match rx.recv_timeout(Duration::from_millis(5)) {
                            Ok(Ctl::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                            Ok(Ctl::Push(s)) => scale.push(s),
                            Ok(Ctl::Unplug) => {
                                master = None;
                                if let Some(l) = &link {
                                    let _ = std::fs::remove_file(l);
                                }
                            }
                            Ok(Ctl::Replug(reply)) => match open_pair(link.as_deref()) {
                                Ok((m, p)) => {
                                    master = Some(m);
                                    let _ = reply.send(Ok(p));
                                }
                                Err(e) => {
                                    let _ = reply.send(Err(e));
                                }
                            },
                            Err(mpsc::RecvTimeoutError::Timeout) => {}
                        }
                        let now = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
                        let Some(m) = master.as_mut() else {
                            scale.advance(now);
                            continue;
                        };
                        // EIO while nobody has the slave open: nothing to read.
                        if let Ok(n) = m.read(&mut buf) {
                            if let Some(input) = buf.get(..n) {
                                scale.handle_input(input, now);
                            }
                        }
                        if scale.streaming() && now >= next_frame {
                            let f = scale.frame(now);
                            let mut out = scale.take_output();
                            out.extend(f);
                            let _ = m.write_all(&out);
                            next_frame = now + scale.interval_ms();
                        } else {
                            scale.advance(now);
                            let out = scale.take_output();
                            if !out.is_empty() {
                                let _ = m.write_all(&out);
                            }
                        }
                    }
                })?;
            Ok(PtySimulator {
                path,
                tx,
                thread: Some(thread),
            })
        }

        /// The path to open (the symlink when one was given).
        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Appends a script step.
        pub fn push(&self, step: Step) {
            let _ = self.tx.send(Ctl::Push(step));
        }

        /// Closes the pty, as if the USB-serial cable were pulled.
        pub fn unplug(&self) {
            let _ = self.tx.send(Ctl::Unplug);
        }

        /// Creates a new pty (new device node; the symlink follows). Returns the path to open.
        pub fn replug(&mut self) -> std::io::Result<PathBuf> {
            let (tx, rx) = mpsc::channel();
            self.tx
                .send(Ctl::Replug(tx))
                .map_err(|_| std::io::Error::other("simulator stopped"))?;
            let p = rx
                .recv_timeout(Duration::from_secs(5))
                .map_err(|_| std::io::Error::other("simulator did not answer"))??;
            self.path = p.clone();
            Ok(p)
        }
    }

    impl Drop for PtySimulator {
        fn drop(&mut self) {
            let _ = self.tx.send(Ctl::Stop);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::capture::{Capture, CaptureConfig, CaptureEvent};
    use crate::scale::{DecoderOptions, FrameDecoder};

    #[test]
    fn parses_scripts() {
        let s = parse_script("place 1250 settle=500; wait 100\nremove # off\ngarbage 0d0a; repeat")
            .unwrap();
        assert_eq!(
            s,
            vec![
                Step::Place {
                    grams: 1250,
                    settle_ms: 500
                },
                Step::Wait { ms: 100 },
                Step::Remove {
                    settle_ms: DEFAULT_SETTLE_MS
                },
                Step::Garbage {
                    bytes: vec![0x0d, 0x0a]
                },
                Step::Repeat,
            ]
        );
        let e = parse_script("wait 1; place x").unwrap_err();
        assert_eq!(e.index, 2);
        assert!(parse_script("fly 3").is_err());
        assert!(parse_script(DEMO_SCRIPT).is_ok());
    }

    /// Every protocol's virtual scale, decoded by that protocol's decoder and fed to capture,
    /// yields exactly one capture of the placed parcel (polled protocols answer their poll).
    #[test]
    fn every_protocol_round_trips_through_capture() {
        for p in Protocol::ALL {
            let unit = if p == Protocol::HidPos {
                Unit::G
            } else {
                Unit::Kg
            };
            let steps = parse_script(
                "jitter 5; wait 300; place 1250 settle=600; wait 1500; remove settle=200; wait 500",
            )
            .unwrap();
            let mut scale = VirtualScale::new(p, unit, steps);
            let mut dec = p.decoder(&DecoderOptions {
                unit,
                ..DecoderOptions::default()
            });
            let mut cap = Capture::new(CaptureConfig::default());
            let mut got = Vec::new();
            let poll = p.polling();
            for t in (0..3500).step_by(100) {
                let bytes = match &poll {
                    crate::scale::Polling::Poll { request, .. } => {
                        scale.handle_input(request, t);
                        scale.take_output()
                    }
                    crate::scale::Polling::Stream { start, .. } => {
                        if t == 0 {
                            scale.handle_input(start, t);
                        }
                        let mut v = scale.take_output();
                        v.extend(scale.frame(t));
                        v
                    }
                    crate::scale::Polling::Continuous => scale.frame(t),
                };
                dec.feed(&bytes);
                while let Some(f) = dec.poll() {
                    cap.handle_frame(&f, t);
                }
                while let Some(e) = cap.poll() {
                    if let CaptureEvent::Captured(c) = e {
                        got.push(c.grams);
                    }
                }
            }
            assert_eq!(got, vec![1250], "protocol {p}");
        }
    }

    #[test]
    fn tare_and_zero_commands() {
        let mut s = VirtualScale::new(
            Protocol::MtSics,
            Unit::Kg,
            parse_script("place 500 settle=0; wait 99999").unwrap(),
        );
        s.handle_input(b"T\r\n", 10);
        assert_eq!(
            String::from_utf8(s.take_output()).unwrap(),
            "T S      0.500 kg\r\n"
        );
        s.handle_input(b"SI\r\n", 20);
        assert_eq!(
            String::from_utf8(s.take_output()).unwrap(),
            "S S      0.000 kg\r\n"
        );
        s.handle_input(b"TAC\r\nSI\r\n", 30);
        assert_eq!(
            String::from_utf8(s.take_output()).unwrap(),
            "TAC A\r\nS S      0.500 kg\r\n"
        );
        s.handle_input(b"XYZ\r\n", 40);
        assert_eq!(s.take_output(), b"ES\r\n");
    }

    #[test]
    fn jitter_is_deterministic() {
        let run = || {
            let mut s = VirtualScale::new(
                Protocol::And,
                Unit::Kg,
                parse_script("jitter 20; place 2000 settle=1000").unwrap(),
            );
            (0..1000)
                .step_by(100)
                .map(|t| s.reading(t).mg)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
