//! Mettler Toledo MT-SICS (Reference Manual 11781363L): replies `<ID> <Status> <Weight> <Unit>` CR LF,
//! the command-specific errors (`S I`, `S L`, `S +`, `S -`), the general errors (`ES`, `ET`, `EL`),
//! errors in the weight field (`S S  Error 10b`) and the optional SIC1/SIC2 CRC-16-CCITT suffix;
//! and the command encoder (`S`, `SI`, `SIR`, `T`, `TAC`, `Z`, `@`, …).
//!
//! Programming rule from the manual (§2.2): send `@` when a session starts, and never send a
//! second command before the first one's reply. The device thread follows it.

use super::frame::{tokens, ByteBuf, DecodeStats, Frame, FrameKind};
use super::weight::{Decimal, Unit};
use super::FrameDecoder;

/// An MT-SICS command the bench sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `S`: stable weight (waits for stability until the device's timeout).
    S,
    /// `SI`: weight now, stable or not.
    Si,
    /// `SIR`: `SI` repeated until another command.
    Sir,
    /// `SU`: stable weight in the displayed unit.
    Su,
    /// `T`: tare with the next stable weight.
    T,
    /// `TI`: tare immediately.
    Ti,
    /// `TA`: query the tare.
    Ta,
    /// `TAC`: clear the tare.
    Tac,
    /// `Z`: zero with the next stable weight.
    Z,
    /// `ZI`: zero immediately.
    Zi,
    /// `@`: reset, cancel pending commands (replies with the serial number).
    Reset,
    /// `I4`: serial number.
    I4,
}

/// Encodes a command: upper-case ASCII terminated by CR LF.
pub fn encode(cmd: &Command) -> Vec<u8> {
    let s: &[u8] = match cmd {
        Command::S => b"S",
        Command::Si => b"SI",
        Command::Sir => b"SIR",
        Command::Su => b"SU",
        Command::T => b"T",
        Command::Ti => b"TI",
        Command::Ta => b"TA",
        Command::Tac => b"TAC",
        Command::Z => b"Z",
        Command::Zi => b"ZI",
        Command::Reset => b"@",
        Command::I4 => b"I4",
    };
    let mut v = s.to_vec();
    v.extend_from_slice(b"\r\n");
    v
}

/// CRC-16-CCITT (polynomial 0x1021, initial value 0xFFFF, no reflection), as used by SIC1/SIC2.
pub fn crc16_ccitt(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// MT-SICS reply decoder.
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

    fn parse_line(&mut self, line: &[u8], raw: &[u8]) -> Option<Frame> {
        let mut toks = tokens(line);
        // Optional CRC suffix (SIC1/SIC2): 4 hex digits after the unit, over everything before.
        let mut checksummed = false;
        if toks.len() >= 5 {
            if let Some(last) = toks.last() {
                if last.len() == 4 && last.iter().all(u8::is_ascii_hexdigit) {
                    let crc_pos = line.len() - 4;
                    let expected = u16::from_str_radix(std::str::from_utf8(last).ok()?, 16).ok()?;
                    if crc16_ccitt(line.get(..crc_pos)?) != expected {
                        self.stats.bad_checksum += 1;
                        return None;
                    }
                    checksummed = true;
                    toks.pop();
                }
            }
        }
        let id = *toks.first()?;
        let frame = match id {
            b"ES" => Some(Frame::error("ES syntax error", raw)),
            b"ET" => Some(Frame::error("ET transmission error", raw)),
            b"EL" => Some(Frame::error("EL logical error", raw)),
            _ if is_id(id) => self.parse_reply(id, &toks, raw),
            _ => None,
        };
        if frame.is_some() && checksummed {
            self.stats.checksummed += 1;
        }
        frame
    }

    fn parse_reply(&self, id: &[u8], toks: &[&[u8]], raw: &[u8]) -> Option<Frame> {
        let status = *toks.get(1)?;
        let name = String::from_utf8_lossy(id).into_owned();
        let simple = |kind: FrameKind, detail: &str| {
            let mut f = Frame::new(kind, raw);
            if kind == FrameKind::Error {
                f.error = Some(format!("{name} {detail}"));
            }
            f
        };
        match status {
            b"+" => return Some(simple(FrameKind::Overload, "")),
            b"-" => return Some(simple(FrameKind::Underload, "")),
            b"I" => return Some(simple(FrameKind::Error, "I not executable")),
            b"L" => return Some(simple(FrameKind::Error, "L logical error")),
            b"A" | b"B" => {
                // Executed; TA A <tare> <unit> carries the tare.
                let mut f = Frame::new(FrameKind::Ack, raw);
                if id == b"TA" {
                    if let (Some(v), Some(u)) = (toks.get(2), toks.get(3)) {
                        f.tare = Decimal::parse_bytes(v).ok();
                        f.unit = Unit::from_text(u);
                    }
                }
                return Some(f);
            }
            b"S" | b"D" | b"M" | b"N" => {}
            _ => return None,
        }
        let stable = matches!(status, b"S" | b"M");
        // Error in the weight field: `S S  Error 10b`.
        if toks.get(2).copied() == Some(b"Error".as_slice()) {
            let code = toks.get(3).map(|c| String::from_utf8_lossy(c).into_owned());
            return Some(Frame::error(
                format!("Error {}", code.unwrap_or_default()),
                raw,
            ));
        }
        let value_tok = *toks.get(2)?;
        let value = Decimal::parse_bytes(value_tok).ok()?;
        let unit = toks.get(3).and_then(|u| Unit::from_text(u));
        if toks.len() > 4 {
            return None;
        }
        match id {
            b"T" | b"TI" => {
                // Tare replies carry the tare value.
                let mut f = Frame::new(FrameKind::Ack, raw);
                f.tare = Some(value);
                f.unit = unit;
                f.stable = Some(stable);
                Some(f)
            }
            b"Z" | b"ZI" => Some(Frame::new(FrameKind::Ack, raw)),
            _ => Some(Frame::weight(value, unit, Some(stable), raw)),
        }
    }
}

/// Reply identifiers: upper-case letters and digits, starting with a letter, at most 5 long.
fn is_id(t: &[u8]) -> bool {
    !t.is_empty()
        && t.len() <= 5
        && t.first().is_some_and(u8::is_ascii_uppercase)
        && t.iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl FrameDecoder for Decoder {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes, true, &mut self.stats);
    }

    fn poll(&mut self) -> Option<Frame> {
        while let Some((line, raw)) = self.buf.next_line() {
            match self.parse_line(&line, &raw) {
                Some(f) => {
                    self.stats.frames += 1;
                    return Some(f);
                }
                None => self.stats.skipped += raw.len() as u64,
            }
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

/// Formats a weight reply as a device would (10-character right-aligned value), for the simulator
/// and tests: `S S     100.00 g` CR LF.
pub fn encode_weight(value: Decimal, unit: Unit, stable: bool) -> Vec<u8> {
    format!(
        "S {} {:>10} {}\r\n",
        if stable { 'S' } else { 'D' },
        value.to_string(),
        unit.symbol()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::test_util::{decode_all, summary};

    fn check(input: &[u8], expected: &[&str]) {
        let frames = decode_all(&mut Decoder::new(), input);
        let got: Vec<String> = frames.iter().map(summary).collect();
        assert_eq!(got, expected, "input {:?}", String::from_utf8_lossy(input));
    }

    #[test]
    fn manual_examples() {
        // §2.1.2.1: `S S     14.256 g` (10-character field with four pad blanks).
        check(
            b"S S     14.256 g\r\n",
            &["weight 14.256 g stable=true net=null"],
        );
        check(
            b"S D     14.256 g\r\n",
            &["weight 14.256 g stable=false net=null"],
        );
        check(
            b"S S    -12.50 kg\r\n",
            &["weight -12.50 kg stable=true net=null"],
        );
        check(b"S +\r\nS -\r\n", &["overload", "underload"]);
        check(b"S I\r\n", &["error S I not executable"]);
        check(b"S L\r\n", &["error S L logical error"]);
        check(
            b"ES\r\nET\r\nEL\r\n",
            &[
                "error ES syntax error",
                "error ET transmission error",
                "error EL logical error",
            ],
        );
        check(b"S S  Error 10b\r\n", &["error Error 10b"]);
        check(b"T S     100.00 g\r\n", &["ack tare=100.00 g"]);
        check(b"TAC A\r\nZ A\r\n", &["ack", "ack"]);
        check(b"TA A     25.00 g\r\n", &["ack tare=25.00 g"]);
        check(b"I4 A \"0123456789\"\r\n", &["ack"]);
        // DeltaRange: the last decimal place is shown as a blank.
        check(
            b"S S   1234.5  g\r\n",
            &["weight 1234.5 g stable=true net=null"],
        );
        // Below MinWeigh (SIUM): M stable, N dynamic.
        check(
            b"S M      0.05 g\r\n",
            &["weight 0.05 g stable=true net=null"],
        );
    }

    #[test]
    fn sic1_crc() {
        // The manual's SIC1 example: the CRC covers everything up to the blank before it.
        check(
            b"SIC1 S   12325.00 g E603\r\n",
            &["weight 12325.00 g stable=true net=null"],
        );
        check(b"SIC1 S   12325.00 g E604\r\n", &[]);
        let mut d = Decoder::new();
        decode_all(
            &mut d,
            b"SIC1 S   12325.00 g E603\r\nSIC1 S   12325.00 g 0000\r\n",
        );
        assert_eq!(d.stats().checksummed, 1);
        assert_eq!(d.stats().bad_checksum, 1);
    }

    #[test]
    fn garbage_split_merged_parity() {
        check(
            b"\xff\x00garbage\r\nS S      1.00 kg\r\nS D      1.01 kg\r\n",
            &[
                "weight 1.00 kg stable=true net=null",
                "weight 1.01 kg stable=false net=null",
            ],
        );
        // Even parity on bit 7 (7E1 read as 8N1): 'S' = 0x53 has 4 ones -> no parity bit.
        let with_parity: Vec<u8> = b"S S      2.00 kg\r\n"
            .iter()
            .map(|&b| add_even_parity(b))
            .collect();
        check(&with_parity, &["weight 2.00 kg stable=true net=null"]);
        // Split at every position.
        let input = b"S S      3.50 kg\r\n";
        for cut in 0..input.len() {
            let mut d = Decoder::new();
            d.feed(&input[..cut]);
            let mut frames: Vec<Frame> = std::iter::from_fn(|| d.poll()).collect();
            d.feed(&input[cut..]);
            frames.extend(std::iter::from_fn(|| d.poll()));
            assert_eq!(frames.len(), 1, "cut at {cut}");
            assert_eq!(frames[0].raw, input.to_vec());
        }
    }

    fn add_even_parity(b: u8) -> u8 {
        if b.count_ones() % 2 == 1 {
            b | 0x80
        } else {
            b
        }
    }

    #[test]
    fn encodes_commands() {
        assert_eq!(encode(&Command::S), b"S\r\n");
        assert_eq!(encode(&Command::Si), b"SI\r\n");
        assert_eq!(encode(&Command::Sir), b"SIR\r\n");
        assert_eq!(encode(&Command::T), b"T\r\n");
        assert_eq!(encode(&Command::Tac), b"TAC\r\n");
        assert_eq!(encode(&Command::Z), b"Z\r\n");
        assert_eq!(encode(&Command::Reset), b"@\r\n");
        assert_eq!(
            encode_weight(Decimal::parse("14.256").unwrap(), Unit::G, true),
            b"S S     14.256 g\r\n"
        );
        assert_eq!(crc16_ccitt(b"SIC1 S   12325.00 g "), 0xE603);
    }
}
