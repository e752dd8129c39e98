//! SMA (Scale Manufacturers Association, SCP-0499) level 1, as quoted by the Sartorius PR 5210/5220,
//! Fairbanks and Cardinal manuals. Commands are `LF <cmd> CR`; the standard reply is
//! `LF <s> <r> <n> <m> <f> <10-char weight> <3-char unit> CR`:
//!
//! * `s` status: `Z` centre of zero, `O` over capacity, `U` under capacity, `E`/`I`/`T` zero,
//!   initial-zero and tare errors (weight field dashes), blank = none;
//! * `r` range digit; `n` `G` gross, `N` net, `T` tare (reply to `M`), `g`/`n` high resolution;
//! * `m` `M` in motion, blank stable; `f` reserved.
//!
//! An unknown command gets `LF ? CR`.

use super::frame::{ByteBuf, DecodeStats, Frame, FrameKind};
use super::weight::trim;
use super::weight::{Decimal, Unit};
use super::FrameDecoder;

/// SMA level-1 commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Displayed weight.
    W,
    /// Weight at 10× resolution.
    H,
    /// Weight after stability (device timeout).
    P,
    /// Zero.
    Z,
    /// Tare.
    T,
    /// Report the tare.
    M,
    /// Clear the tare.
    C,
    /// Repeat `W` until the next command.
    R,
    /// About (level and revision).
    A,
}

/// Encodes `LF <cmd> CR`.
pub fn encode(cmd: Command) -> Vec<u8> {
    let c = match cmd {
        Command::W => b'W',
        Command::H => b'H',
        Command::P => b'P',
        Command::Z => b'Z',
        Command::T => b'T',
        Command::M => b'M',
        Command::C => b'C',
        Command::R => b'R',
        Command::A => b'A',
    };
    vec![b'\n', c, b'\r']
}

/// SMA reply decoder.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    buf: ByteBuf,
    stats: DecodeStats,
}

impl Decoder {
    /// A new decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    fn parse(body: &[u8], raw: &[u8]) -> Option<Frame> {
        if trim(body) == b"?" {
            return Some(Frame::error("? unknown command", raw));
        }
        if body.len() < 15 {
            return None;
        }
        let s = *body.first()?;
        let r = *body.get(1)?;
        let n = *body.get(2)?;
        let m = *body.get(3)?;
        if !matches!(s, b' ' | b'Z' | b'O' | b'U' | b'E' | b'I' | b'T')
            || !r.is_ascii_digit()
            || !matches!(n, b'G' | b'N' | b'T' | b'g' | b'n')
            || !matches!(m, b' ' | b'M')
        {
            return None;
        }
        match s {
            b'E' => return Some(Frame::error("E zero error", raw)),
            b'I' => return Some(Frame::error("I initial zero error", raw)),
            b'T' => return Some(Frame::error("T tare error", raw)),
            b'O' => return Some(Frame::new(FrameKind::Overload, raw)),
            b'U' => return Some(Frame::new(FrameKind::Underload, raw)),
            _ => {}
        }
        let value = Decimal::parse_bytes(body.get(5..15)?).ok()?;
        let unit = Unit::from_text(body.get(15..).unwrap_or(&[]));
        let stable = Some(m == b' ');
        if n == b'T' {
            return Some(Frame {
                tare: Some(value),
                unit,
                stable,
                ..Frame::new(FrameKind::Ack, raw)
            });
        }
        let mut f = Frame::weight(value, unit, stable, raw);
        f.net = Some(matches!(n, b'N' | b'n'));
        Some(f)
    }
}

impl FrameDecoder for Decoder {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes, true, &mut self.stats);
    }

    fn poll(&mut self) -> Option<Frame> {
        loop {
            let Some(lf) = self.buf.find(b'\n') else {
                self.stats.skipped += self.buf.data.len() as u64;
                self.buf.clear();
                return None;
            };
            self.buf.consume(lf);
            self.stats.skipped += lf as u64;
            let Some(cr) = self.buf.find(b'\r') else {
                // A second LF before any CR restarts the frame.
                if let Some(next) = self.buf.data.iter().skip(1).position(|&b| b == b'\n') {
                    self.buf.consume(next + 1);
                    self.stats.skipped += (next + 1) as u64;
                    continue;
                }
                return None;
            };
            let (masked, raw) = self.buf.take(cr + 1);
            let body = masked.get(1..cr).unwrap_or(&[]);
            // A LF inside the body means the previous frame was cut: parse from the last LF.
            let body = match body.iter().rposition(|&b| b == b'\n') {
                Some(p) => body.get(p + 1..).unwrap_or(&[]),
                None => body,
            };
            match Self::parse(body, &raw) {
                Some(f) => {
                    self.stats.frames += 1;
                    return Some(f);
                }
                None => self.stats.skipped += raw.len() as u64,
            }
        }
    }

    fn stats(&self) -> DecodeStats {
        self.stats
    }

    fn reset(&mut self) {
        self.buf.clear();
    }
}

/// Status fields for [`encode_reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A weight (stable or in motion).
    Weight,
    /// Centre of zero.
    Zero,
    /// Over capacity.
    Over,
    /// Under capacity.
    Under,
}

/// Encodes a standard reply, as a scale sends it.
pub fn encode_reply(
    status: Status,
    value: Decimal,
    unit: Unit,
    net: bool,
    motion: bool,
) -> Vec<u8> {
    let s = match status {
        Status::Weight => ' ',
        Status::Zero => 'Z',
        Status::Over => 'O',
        Status::Under => 'U',
    };
    format!(
        "\n{s}1{}{} {:>10}{:<3}\r",
        if net { 'N' } else { 'G' },
        if motion { 'M' } else { ' ' },
        value.to_string(),
        unit.symbol()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::test_util::check_whole_and_bytewise;

    fn check(input: &[u8], expected: &[&str]) {
        check_whole_and_bytewise(Decoder::new, input, expected);
    }

    #[test]
    fn manual_example() {
        // PR 5210/5220: <LF><_><1><G><_><_><_ _ _ _ 5.025><lb_><CR>.
        check(
            b"\n 1G       5.025lb \r",
            &["weight 5.025 lb stable=true net=false"],
        );
        check(
            b"\n 1NM     -0.250kg \r",
            &["weight -0.250 kg stable=false net=true"],
        );
        check(
            b"\nZ1G       0.000kg \r",
            &["weight 0.000 kg stable=true net=false"],
        );
        check(b"\nO1G  ---------kg \r", &["overload"]);
        check(b"\nU1G  ---------kg \r", &["underload"]);
        check(b"\nE1G ----------kg \r", &["error E zero error"]);
        check(b"\n?\r", &["error ? unknown command"]);
        check(b"\n 1T       1.200kg \r", &["ack tare=1.200 kg"]);
    }

    #[test]
    fn garbage_cut_frames_and_parity() {
        check(
            b"xx\n 1G    \n 1G       5.025lb \r\r\n",
            &["weight 5.025 lb stable=true net=false"],
        );
        let p: Vec<u8> = b"\n 1G       1.000kg \r".iter().map(|b| b | 0x80).collect();
        check(&p, &["weight 1.000 kg stable=true net=false"]);
    }

    #[test]
    fn encoders() {
        assert_eq!(encode(Command::W), b"\nW\r");
        assert_eq!(encode(Command::Z), b"\nZ\r");
        let r = encode_reply(
            Status::Weight,
            Decimal::parse("5.025").unwrap(),
            Unit::Lb,
            false,
            false,
        );
        assert_eq!(r, b"\n 1G       5.025lb \r");
    }
}
