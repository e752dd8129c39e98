//! A virtual relay board (sans-IO: feed it the bytes the host wrote, read its relays and its
//! answers) and, on unix, a runner on a pseudo-terminal ([`PtyRelay`]) that the light's device
//! thread opens like a real serial port — for tests that check the bytes on the wire, and for
//! demos without hardware.

use super::codec::{self, FN_WRITE_COIL, FN_WRITE_COILS, LCUS_START};
use super::RelayProtocol;
use serde::Serialize;
use std::collections::BTreeMap;

/// The most bytes the board keeps while looking for a command.
const MAX_BUFFERED: usize = 512;

/// One command the board understood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Switched {
    /// Relay channel (1-based).
    pub channel: u16,
    /// New state.
    pub on: bool,
}

/// A relay board that understands one protocol.
#[derive(Debug)]
pub struct VirtualBoard {
    protocol: RelayProtocol,
    relays: BTreeMap<u16, bool>,
    buf: Vec<u8>,
    out: Vec<u8>,
    log: Vec<Switched>,
    silent: bool,
}

impl VirtualBoard {
    /// A board with every relay off.
    pub fn new(protocol: RelayProtocol) -> VirtualBoard {
        VirtualBoard {
            protocol,
            relays: BTreeMap::new(),
            buf: Vec::new(),
            out: Vec::new(),
            log: Vec::new(),
            silent: false,
        }
    }

    /// A Modbus board that never answers (wrong address, broken RX line).
    pub fn set_silent(&mut self, silent: bool) {
        self.silent = silent;
    }

    /// The relays switched on so far (channel → state; never-switched relays are absent).
    pub fn relays(&self) -> &BTreeMap<u16, bool> {
        &self.relays
    }

    /// Whether a channel is on.
    pub fn is_on(&self, channel: u16) -> bool {
        self.relays.get(&channel).copied().unwrap_or(false)
    }

    /// Every command understood, in order.
    pub fn log(&self) -> &[Switched] {
        &self.log
    }

    /// Takes the answers to write back to the host.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn switch(&mut self, channel: u16, on: bool) {
        self.relays.insert(channel, on);
        self.log.push(Switched { channel, on });
    }

    /// Bytes from the host.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > MAX_BUFFERED {
            let drop = self.buf.len() - MAX_BUFFERED;
            self.buf.drain(..drop);
        }
        while !self.buf.is_empty() {
            let consumed = match self.protocol.clone() {
                RelayProtocol::Lcus => self.lcus(),
                RelayProtocol::Modbus { address, .. } => self.modbus(address),
                RelayProtocol::Ascii { on, off } => self.ascii(&on, &off),
            };
            match consumed {
                Step::Need => break,
                Step::Skip => {
                    self.buf.remove(0);
                }
                Step::Took(n) => {
                    self.buf.drain(..n.min(self.buf.len()));
                }
            }
        }
    }

    fn lcus(&mut self) -> Step {
        if self.buf.first() != Some(&LCUS_START) {
            return Step::Skip;
        }
        let Some(&[start, ch, state, sum]) = self.buf.get(..4) else {
            return Step::Need;
        };
        if state > 1 || sum != start.wrapping_add(ch).wrapping_add(state) {
            return Step::Skip;
        }
        self.switch(u16::from(ch), state == 1);
        Step::Took(4)
    }

    fn modbus(&mut self, address: u8) -> Step {
        let (Some(&addr), Some(&function)) = (self.buf.first(), self.buf.get(1)) else {
            return Step::Need;
        };
        let len = match function {
            FN_WRITE_COIL => 8,
            FN_WRITE_COILS => match self.buf.get(6) {
                Some(&n) => 9 + usize::from(n),
                None => return Step::Need,
            },
            _ => return Step::Skip,
        };
        let Some(frame) = self.buf.get(..len).map(<[u8]>::to_vec) else {
            return Step::Need;
        };
        let (body, crc) = frame.split_at(len - 2);
        if crc != codec::crc16(body).to_le_bytes() {
            return Step::Skip;
        }
        if addr != address {
            // Another slave's request: not ours, no answer.
            return Step::Took(len);
        }
        let b = |i: usize| body.get(i).copied().unwrap_or(0);
        let word = |i: usize| u16::from_be_bytes([b(i), b(i + 1)]);
        let answer = if function == FN_WRITE_COIL {
            let on = match word(4) {
                codec::COIL_ON => true,
                0 => false,
                _ => {
                    self.exception(addr, function, 3);
                    return Step::Took(len);
                }
            };
            self.switch(word(2) + 1, on);
            frame.clone()
        } else {
            let (start, qty) = (word(2), word(4));
            for i in 0..qty {
                let bit = body
                    .get(7 + usize::from(i / 8))
                    .is_some_and(|b| b & (1 << (i % 8)) != 0);
                self.switch(start + i + 1, bit);
            }
            let mut a = body.get(..6).map(<[u8]>::to_vec).unwrap_or_default();
            let crc = codec::crc16(&a);
            a.extend_from_slice(&crc.to_le_bytes());
            a
        };
        if !self.silent {
            self.out.extend_from_slice(&answer);
        }
        Step::Took(len)
    }

    fn exception(&mut self, addr: u8, function: u8, code: u8) {
        if self.silent {
            return;
        }
        let mut a = vec![addr, function | 0x80, code];
        let crc = codec::crc16(&a);
        a.extend_from_slice(&crc.to_le_bytes());
        self.out.extend_from_slice(&a);
    }

    fn ascii(&mut self, on: &str, off: &str) -> Step {
        let mut need = false;
        for (template, state) in [(on, true), (off, false)] {
            match match_template(&self.buf, template) {
                Match::Yes { channel, len } => {
                    self.switch(channel, state);
                    return Step::Took(len);
                }
                Match::Partial => need = true,
                Match::No => {}
            }
        }
        if need {
            Step::Need
        } else {
            Step::Skip
        }
    }
}

enum Step {
    Need,
    Skip,
    Took(usize),
}

enum Match {
    Yes { channel: u16, len: usize },
    Partial,
    No,
}

/// Matches `buf` against `prefix{ch}suffix`.
fn match_template(buf: &[u8], template: &str) -> Match {
    let (prefix, suffix) = template.split_once("{ch}").unwrap_or((template, ""));
    let (prefix, suffix) = (prefix.as_bytes(), suffix.as_bytes());
    let n = buf.len().min(prefix.len());
    if buf.get(..n) != prefix.get(..n) {
        return Match::No;
    }
    if buf.len() < prefix.len() {
        return Match::Partial;
    }
    let rest = buf.get(prefix.len()..).unwrap_or(&[]);
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == rest.len() {
        return Match::Partial;
    }
    if digits == 0 {
        return Match::No;
    }
    let after = rest.get(digits..).unwrap_or(&[]);
    let m = after.len().min(suffix.len());
    if after.get(..m) != suffix.get(..m) {
        return Match::No;
    }
    if after.len() < suffix.len() {
        return Match::Partial;
    }
    let channel = std::str::from_utf8(rest.get(..digits).unwrap_or(&[]))
        .ok()
        .and_then(|s| s.parse().ok());
    match channel {
        Some(channel) => Match::Yes {
            channel,
            len: prefix.len() + digits + suffix.len(),
        },
        None => Match::No,
    }
}

#[cfg(unix)]
pub use pty::PtyRelay;

#[cfg(unix)]
mod pty {
    //! The pseudo-terminal runner.
    use super::{Switched, VirtualBoard};
    use crate::light::RelayProtocol;

    use std::collections::BTreeMap;
    use std::io::{Read, Write};
    use std::path::{Path, PathBuf};
    use std::sync::{mpsc, Arc, Mutex, PoisonError};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    #[derive(Debug, Default)]
    struct Seen {
        wire: Vec<u8>,
        relays: BTreeMap<u16, bool>,
        log: Vec<Switched>,
    }

    enum Ctl {
        Silent(bool, mpsc::Sender<()>),
        Unplug,
        Replug(mpsc::Sender<std::io::Result<PathBuf>>),
        Stop,
    }

    /// A virtual relay board on a pty. Open [`PtyRelay::path`] like a serial port.
    #[derive(Debug)]
    pub struct PtyRelay {
        path: PathBuf,
        seen: Arc<Mutex<Seen>>,
        tx: mpsc::Sender<Ctl>,
        thread: Option<JoinHandle<()>>,
    }

    use crate::pty::open_pair;

    fn lock(m: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    impl PtyRelay {
        /// Creates the pty (and the symlink `link`, if given: a stable name across replugs)
        /// and starts the board.
        pub fn start(protocol: RelayProtocol, link: Option<PathBuf>) -> std::io::Result<PtyRelay> {
            let (master, path) = open_pair(link.as_deref())?;
            let (tx, rx) = mpsc::channel();
            let seen = Arc::new(Mutex::new(Seen::default()));
            let shared = seen.clone();
            let thread = std::thread::Builder::new()
                .name("relay-sim".into())
                .spawn(move || {
                    let mut board = VirtualBoard::new(protocol.clone());
                    let mut master = Some(master);
                    let mut buf = [0u8; 256];
                    loop {
                        match rx.try_recv() {
                            Ok(Ctl::Stop) | Err(mpsc::TryRecvError::Disconnected) => break,
                            Ok(Ctl::Silent(s, done)) => {
                                board.set_silent(s);
                                let _ = done.send(());
                            }
                            Ok(Ctl::Unplug) => {
                                master = None;
                                if let Some(l) = &link {
                                    let _ = std::fs::remove_file(l);
                                }
                            }
                            Ok(Ctl::Replug(reply)) => match open_pair(link.as_deref()) {
                                Ok((m, p)) => {
                                    // A replugged USB board has been without power: every
                                    // relay is off again.
                                    board = VirtualBoard::new(protocol.clone());
                                    lock(&shared).relays.clear();
                                    master = Some(m);
                                    let _ = reply.send(Ok(p));
                                }
                                Err(e) => {
                                    let _ = reply.send(Err(e));
                                }
                            },
                            Err(mpsc::TryRecvError::Empty) => {}
                        }
                        let Some(m) = master.as_mut() else {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        };
                        // The master read times out after 5 ms; EIO while nobody has the
                        // slave open.
                        match m.read(&mut buf) {
                            Ok(n) if n > 0 => {
                                let input = buf.get(..n).unwrap_or(&[]);
                                board.feed(input);
                                let out = board.take_output();
                                if !out.is_empty() {
                                    let _ = m.write_all(&out);
                                }
                                let mut s = lock(&shared);
                                s.wire.extend_from_slice(input);
                                s.relays = board.relays().clone();
                                s.log = board.log().to_vec();
                            }
                            Ok(_) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                            Err(_) => std::thread::sleep(Duration::from_millis(5)),
                        }
                    }
                })?;
            Ok(PtyRelay {
                path,
                seen,
                tx,
                thread: Some(thread),
            })
        }

        /// The path to open (the symlink when one was given).
        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Every byte the host wrote so far.
        pub fn wire(&self) -> Vec<u8> {
            lock(&self.seen).wire.clone()
        }

        /// Takes the bytes the host wrote so far (the next call sees only newer bytes).
        pub fn take_wire(&self) -> Vec<u8> {
            std::mem::take(&mut lock(&self.seen).wire)
        }

        /// The relays' states (channel → on).
        pub fn relays(&self) -> BTreeMap<u16, bool> {
            lock(&self.seen).relays.clone()
        }

        /// Whether a channel is on.
        pub fn is_on(&self, channel: u16) -> bool {
            lock(&self.seen)
                .relays
                .get(&channel)
                .copied()
                .unwrap_or(false)
        }

        /// Every command understood, in order.
        pub fn log(&self) -> Vec<Switched> {
            lock(&self.seen).log.clone()
        }

        /// Waits until `pred` holds on the relays, at most `timeout`. True if it held.
        pub fn wait_for(
            &self,
            timeout: Duration,
            mut pred: impl FnMut(&BTreeMap<u16, bool>) -> bool,
        ) -> bool {
            let deadline = Instant::now() + timeout;
            loop {
                if pred(&self.relays()) {
                    return true;
                }
                if Instant::now() >= deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }

        /// A Modbus board that stops (or starts again) answering; in force for every byte
        /// written after this returns.
        pub fn set_silent(&self, silent: bool) {
            let (done, wait) = mpsc::channel();
            if self.tx.send(Ctl::Silent(silent, done)).is_ok() {
                let _ = wait.recv_timeout(Duration::from_secs(5));
            }
        }

        /// Closes the pty, as if the USB cable were pulled.
        pub fn unplug(&self) {
            let _ = self.tx.send(Ctl::Unplug);
        }

        /// Creates a new pty (the board was without power: every relay is off; the symlink
        /// follows). Returns the path to open.
        pub fn replug(&mut self) -> std::io::Result<PathBuf> {
            let (tx, rx) = mpsc::channel();
            self.tx
                .send(Ctl::Replug(tx))
                .map_err(|_| std::io::Error::other("relay simulator stopped"))?;
            let p = rx
                .recv_timeout(Duration::from_secs(5))
                .map_err(|_| std::io::Error::other("relay simulator did not answer"))??;
            self.path = p.clone();
            Ok(p)
        }
    }

    impl Drop for PtyRelay {
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
    use crate::light::codec::{lcus, modbus_write_coil, modbus_write_coils};

    fn check(protocol: RelayProtocol, input: &[u8], relays: &[(u16, bool)], answer: &[u8]) {
        let mut b = VirtualBoard::new(protocol.clone());
        b.feed(input);
        let want: BTreeMap<u16, bool> = relays.iter().copied().collect();
        assert_eq!(b.relays(), &want, "{protocol:?} {input:02x?}");
        assert_eq!(b.take_output(), answer, "{protocol:?} {input:02x?}");
        // Byte at a time gives the same.
        let mut b = VirtualBoard::new(protocol);
        for x in input {
            b.feed(&[*x]);
        }
        assert_eq!(b.relays(), &want);
    }

    #[test]
    fn boards_understand_their_protocol() {
        let mut input = vec![0x55, 0xA0];
        input.extend(lcus(1, true));
        input.extend([0xA0, 0x02, 0x01, 0x00]); // bad sum: ignored
        input.extend(lcus(3, true));
        input.extend(lcus(1, false));
        check(RelayProtocol::Lcus, &input, &[(1, false), (3, true)], &[]);

        let modbus = RelayProtocol::Modbus {
            address: 1,
            check_answers: true,
            multiple_coils: false,
        };
        let on = modbus_write_coil(1, 2, true);
        check(modbus.clone(), &on, &[(3, true)], &on);
        // Another slave's request: no switch, no answer.
        check(modbus.clone(), &modbus_write_coil(2, 0, true), &[], &[]);
        let many = modbus_write_coils(1, 0, &[true, false, true, false]).unwrap();
        let mut ack = vec![1, 0x0F, 0, 0, 0, 4];
        let crc = codec::crc16(&ack);
        ack.extend_from_slice(&crc.to_le_bytes());
        check(
            modbus,
            &many,
            &[(1, true), (2, false), (3, true), (4, false)],
            &ack,
        );

        let ascii = RelayProtocol::Ascii {
            on: "AT+CH{ch}=1\r\n".into(),
            off: "AT+CH{ch}=0\r\n".into(),
        };
        check(
            ascii,
            b"xxAT+CH2=1\r\nAT+CH12=1\r\nAT+CH2=0\r\n",
            &[(2, false), (12, true)],
            &[],
        );
    }
}
