//! Avery Weigh-Tronix / Brecknell NCI protocol (7821 §6.3, NCI 7800, Brecknell 3700LP):
//! `W CR` → `LF xxxx.xxuu CR LF hh CR ETX`; `S CR` → `LF hh CR ETX`; unknown → `LF ? CR ETX`.
//!
//! Status byte 1: bit 0 motion, bit 1 at zero, bit 2 RAM error, bit 3 EEPROM error, bits 4–5 = 1.
//! Status byte 2: bit 0 under capacity, bit 1 over capacity, bit 2 ROM error, bit 3 faulty
//! calibration, bits 4–5 = 1, bit 6 = 1 when another byte follows. Bit 7 is parity (masked).

use super::frame::{ByteBuf, DecodeStats, Frame, FrameKind};
use super::weight::trim;
use super::weight::{Decimal, Unit};
use super::FrameDecoder;

const ETX: u8 = 0x03;

/// NCI commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Weight and status.
    W,
    /// Status only.
    S,
    /// Zero, then status.
    Z,
    /// Tare.
    T,
    /// Weight at 10× resolution.
    H,
    /// Change unit.
    U,
}

/// Encodes `<cmd> CR`.
pub fn encode(cmd: Command) -> Vec<u8> {
    let c = match cmd {
        Command::W => b'W',
        Command::S => b'S',
        Command::Z => b'Z',
        Command::T => b'T',
        Command::H => b'H',
        Command::U => b'U',
    };
    vec![c, b'\r']
}

/// NCI reply decoder.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    buf: ByteBuf,
    stats: DecodeStats,
}

fn is_status(line: &[u8]) -> bool {
    (2..=3).contains(&line.len()) && line.iter().all(|b| b & 0x30 == 0x30)
}

impl Decoder {
    /// A new decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    fn parse(chunk: &[u8], raw: &[u8]) -> Option<Frame> {
        let first_lf = chunk.iter().position(|&b| b == b'\n')?;
        let body = chunk.strip_suffix(&[ETX]).unwrap_or(chunk);
        let lines: Vec<&[u8]> = body
            .get(first_lf..)?
            .split(|&b| b == b'\n')
            .map(|l| trim(l.strip_suffix(b"\r").unwrap_or(l)))
            .filter(|l| !l.is_empty())
            .collect();
        match lines.as_slice() {
            [q] if *q == b"?" => Some(Frame::error("? unknown command", raw)),
            [status] if is_status(status) => Self::with_status(None, status, raw),
            [weight, status] if is_status(status) => Self::with_status(Some(weight), status, raw),
            _ => None,
        }
    }

    fn with_status(weight: Option<&[u8]>, status: &[u8], raw: &[u8]) -> Option<Frame> {
        let s1 = *status.first()?;
        let s2 = *status.get(1)?;
        let motion = s1 & 0x01 != 0;
        let mut errors = Vec::new();
        if s1 & 0x04 != 0 {
            errors.push("RAM error");
        }
        if s1 & 0x08 != 0 {
            errors.push("EEPROM error");
        }
        if s2 & 0x04 != 0 {
            errors.push("ROM error");
        }
        if s2 & 0x08 != 0 {
            errors.push("faulty calibration");
        }
        if !errors.is_empty() {
            return Some(Frame::error(errors.join(", "), raw));
        }
        if s2 & 0x02 != 0 {
            return Some(Frame::new(FrameKind::Overload, raw));
        }
        if s2 & 0x01 != 0 {
            return Some(Frame::new(FrameKind::Underload, raw));
        }
        let Some(w) = weight else {
            return Some(Frame {
                stable: Some(!motion),
                ..Frame::new(FrameKind::Ack, raw)
            });
        };
        let end = w
            .iter()
            .position(|b| !(b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b' ')))
            .unwrap_or(w.len());
        let value = Decimal::parse_bytes(w.get(..end)?).ok()?;
        let unit = Unit::from_text(w.get(end..)?)?;
        Some(Frame::weight(value, Some(unit), Some(!motion), raw))
    }
}

impl FrameDecoder for Decoder {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes, true, &mut self.stats);
    }

    fn poll(&mut self) -> Option<Frame> {
        while let Some(etx) = self.buf.find(ETX) {
            let (masked, raw) = self.buf.take(etx + 1);
            // Start at the LF that opens the reply: the first LF after any garbage, but a reply
            // holds at most two LFs, so begin at the second-to-last one.
            let lfs: Vec<usize> = masked
                .iter()
                .enumerate()
                .filter_map(|(i, &b)| (b == b'\n').then_some(i))
                .collect();
            let from = match lfs.len() {
                0 => masked.len(),
                1 => lfs.first().copied().unwrap_or(0),
                n => lfs.get(n - 2).copied().unwrap_or(0),
            };
            let candidate = masked.get(from..).unwrap_or(&[]);
            let parsed = Self::parse(candidate, raw.get(from..).unwrap_or(&[])).or_else(|| {
                // A status-only reply after a cut weight line.
                let last = lfs.last().copied()?;
                Self::parse(masked.get(last..)?, raw.get(last..)?)
            });
            match parsed {
                Some(f) => {
                    self.stats.frames += 1;
                    self.stats.skipped += from as u64;
                    return Some(f);
                }
                None => self.stats.skipped += raw.len() as u64,
            }
        }
        if self.buf.data.len() > 64 {
            // Replies are short; a long run without ETX is garbage. Keep from the last LF.
            let keep_from = self
                .buf
                .data
                .iter()
                .rposition(|&b| b == b'\n')
                .unwrap_or(self.buf.data.len());
            self.buf.consume(keep_from);
            self.stats.skipped += keep_from as u64;
        }
        None
    }

    fn stats(&self) -> DecodeStats {
        self.stats
    }

    fn reset(&mut self) {
        self.buf.clear();
    }
}

/// What the simulator and tests put in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// In motion.
    pub motion: bool,
    /// At centre of zero.
    pub zero: bool,
    /// Under capacity.
    pub under: bool,
    /// Over capacity.
    pub over: bool,
}

/// Encodes a reply to `W` (or to `S` when `value` is `None`).
pub fn encode_reply(value: Option<Decimal>, unit: Unit, status: Status) -> Vec<u8> {
    let mut v = Vec::new();
    if let Some(w) = value {
        v.extend_from_slice(format!("\n{:0>7}{}\r", w.to_string(), unit.symbol()).as_bytes());
    }
    let s1 = 0x30 | u8::from(status.motion) | (u8::from(status.zero) << 1);
    let s2 = 0x30 | u8::from(status.under) | (u8::from(status.over) << 1);
    v.extend_from_slice(&[b'\n', s1, s2, b'\r', ETX]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::test_util::check_whole_and_bytewise;

    fn check(input: &[u8], expected: &[&str]) {
        check_whole_and_bytewise(Decoder::new, input, expected);
    }

    #[test]
    fn manual_shapes() {
        check(
            b"\n0012.34lb\r\n00\r\x03",
            &["weight 12.34 lb stable=true net=null"],
        );
        check(
            b"\n0012.34lb\r\n10\r\x03",
            &["weight 12.34 lb stable=false net=null"],
        );
        check(
            b"\n0000.00kg\r\n20\r\x03",
            &["weight 0.00 kg stable=true net=null"],
        );
        check(b"\n----.--lb\r\n02\r\x03", &["overload"]);
        check(b"\n0000.00lb\r\n01\r\x03", &["underload"]);
        check(b"\n40\r\x03", &["error RAM error"]);
        check(b"\n00\r\x03", &["ack"]);
        check(b"\n?\r\x03", &["error ? unknown command"]);
        // Three status bytes (bit 6 of byte 2 says another follows).
        check(
            b"\n0012.34kg\r\n0p0\r\x03",
            &["weight 12.34 kg stable=true net=null"],
        );
    }

    #[test]
    fn garbage_parity_and_encoder() {
        let mut input = b"junk\x03\n00".to_vec();
        input.extend(encode_reply(
            Some(Decimal::parse("1.25").unwrap()),
            Unit::Kg,
            Status {
                motion: true,
                ..Status::default()
            },
        ));
        // Parity on the status bytes.
        let mut p = encode_reply(
            Some(Decimal::parse("2.50").unwrap()),
            Unit::Lb,
            Status::default(),
        );
        for b in p.iter_mut() {
            if *b == b'0' {
                *b |= 0x80;
            }
        }
        input.extend(p);
        check(
            &input,
            &[
                "weight 1.25 kg stable=false net=null",
                "weight 2.50 lb stable=true net=null",
            ],
        );
        assert_eq!(encode(Command::W), b"W\r");
    }
}
