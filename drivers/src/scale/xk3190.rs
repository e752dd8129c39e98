//! Yaohua (耀华) XK3190 indicators and their many clones.
//!
//! * [`StxDecoder`]: the tF=0 continuous frame of the A9/A9+ (A26 "format 0", A23P "format 1"):
//!   `STX sign d6 dec XORhi XORlo ETX`, XOR over sign..dec sent as two ASCII hex digits; and
//!   the tF=1 command-mode replies `STX addr cmd [sign d6 dec] XORhi XORlo ETX`.
//! * [`A12Decoder`]: the A12/A12E frame `WG004.139kg3D` CR LF (XOR over the first 11 bytes),
//!   the `OL`/`LO` frames, and the lower-case `ww000.000lb` form without XOR.
//! * [`EqDecoder`]: the `=` formats, 8 display characters after `=` with no terminator, either
//!   least significant first (A26 format 1) or in forward order (format 2).
//!
//! None of these frames carries a stability flag (and the `=`/tF=0 ones no unit): capture
//! counts consecutive readings, and the unit comes from the device settings.

use super::frame::{hex_digits, hex_pair, xor, ByteBuf, DecodeStats, Frame, FrameKind};
use super::weight::{Decimal, Unit};
use super::FrameDecoder;

const STX: u8 = 0x02;
const ETX: u8 = 0x03;

/// tF=0 / tF=1 STX frame decoder.
#[derive(Debug, Clone)]
pub struct StxDecoder {
    unit: Unit,
    buf: ByteBuf,
    stats: DecodeStats,
}

fn sign_digits_dec(f: &[u8]) -> Option<Decimal> {
    // f = sign, 6 digits, decimals.
    let sign = *f.first()?;
    let digits = f.get(1..7)?;
    let dec = *f.get(7)?;
    if !matches!(sign, b'+' | b'-' | b' ') || !(b'0'..=b'5').contains(&dec) {
        return None;
    }
    let mut m: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        m = m * 10 + i64::from(b - b'0');
    }
    Some(Decimal {
        mantissa: if sign == b'-' { -m } else { m },
        scale: dec - b'0',
    })
}

impl StxDecoder {
    /// A decoder reporting weights in `unit` (the frame carries none).
    pub fn new(unit: Unit) -> StxDecoder {
        StxDecoder {
            unit,
            buf: ByteBuf::default(),
            stats: DecodeStats::default(),
        }
    }

    fn parse(&self, d: &[u8], raw: &[u8]) -> Option<Frame> {
        match d.get(1)? {
            b'+' | b'-' => {
                let v = sign_digits_dec(d.get(1..9)?)?;
                Some(Frame::weight(v, Some(self.unit), None, raw))
            }
            _ => {
                let cmd = *d.get(2)?;
                if cmd == b'A' {
                    return Some(Frame::new(FrameKind::Ack, raw));
                }
                let v = sign_digits_dec(d.get(3..11)?)?;
                match cmd {
                    b'B' | b'D' => {
                        let mut f = Frame::weight(v, Some(self.unit), None, raw);
                        f.net = Some(cmd == b'D');
                        Some(f)
                    }
                    b'C' => Some(Frame {
                        tare: Some(v),
                        unit: Some(self.unit),
                        ..Frame::new(FrameKind::Ack, raw)
                    }),
                    _ => None,
                }
            }
        }
    }
}

impl FrameDecoder for StxDecoder {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes, true, &mut self.stats);
    }

    fn poll(&mut self) -> Option<Frame> {
        loop {
            let Some(start) = self.buf.find(STX) else {
                self.stats.skipped += self.buf.data.len() as u64;
                self.buf.clear();
                return None;
            };
            self.buf.consume(start);
            self.stats.skipped += start as u64;
            let d = &self.buf.data;
            let len = match (d.get(1), d.get(2)) {
                (None, _) => return None,
                (Some(b'+' | b'-'), _) => 12,
                (Some(b'A'..=b'Z'), None) => return None,
                (Some(b'A'..=b'Z'), Some(b'A')) => 6,
                (Some(b'A'..=b'Z'), Some(b'B'..=b'F')) => 14,
                _ => {
                    self.buf.consume(1);
                    self.stats.skipped += 1;
                    continue;
                }
            };
            if d.len() < len {
                return None;
            }
            if d.get(len - 1) != Some(&ETX) {
                self.buf.consume(1);
                self.stats.skipped += 1;
                continue;
            }
            let body = d.get(1..len - 3).unwrap_or(&[]);
            let sent = hex_pair(
                d.get(len - 3).copied().unwrap_or(0),
                d.get(len - 2).copied().unwrap_or(0),
            );
            if sent != Some(xor(body)) {
                self.stats.bad_checksum += 1;
                self.buf.consume(1);
                continue;
            }
            let (masked, raw) = self.buf.take(len);
            if let Some(f) = self.parse(&masked, &raw) {
                self.stats.frames += 1;
                self.stats.checksummed += 1;
                return Some(f);
            }
            self.stats.skipped += len as u64;
        }
    }

    fn stats(&self) -> DecodeStats {
        self.stats
    }

    fn reset(&mut self) {
        self.buf.clear();
    }
}

/// Encodes a tF=0 frame. The value must fit 6 digits with 0..=4 decimals (clamped otherwise).
pub fn encode_stx(value: Decimal) -> Vec<u8> {
    let mut v = vec![STX, if value.is_negative() { b'-' } else { b'+' }];
    let m = value.mantissa.unsigned_abs().min(999_999);
    v.extend_from_slice(format!("{m:06}").as_bytes());
    v.push(b'0' + value.scale.min(4));
    let x = xor(v.get(1..).unwrap_or(&[]));
    v.extend_from_slice(&hex_digits(x));
    v.push(ETX);
    v
}

/// Encodes a tF=1 command frame: `STX addr cmd XORhi XORlo ETX` (`cmd` 'A'..'F', XOR over addr and cmd).
pub fn encode_command(addr: u8, cmd: u8) -> Vec<u8> {
    let mut v = vec![STX, addr, cmd];
    v.extend_from_slice(&hex_digits(addr ^ cmd));
    v.push(ETX);
    v
}

/// Encodes a tF=1 reply to a B (gross), C (tare) or D (net) command:
/// `STX addr cmd sign d6 dec XORhi XORlo ETX` (XOR over addr..dec).
pub fn encode_reply(addr: u8, cmd: u8, value: Decimal) -> Vec<u8> {
    let mut v = vec![
        STX,
        addr,
        cmd,
        if value.is_negative() { b'-' } else { b'+' },
    ];
    let m = value.mantissa.unsigned_abs().min(999_999);
    v.extend_from_slice(format!("{m:06}").as_bytes());
    v.push(b'0' + value.scale.min(4));
    let x = xor(v.get(1..).unwrap_or(&[]));
    v.extend_from_slice(&hex_digits(x));
    v.push(ETX);
    v
}

/// XK3190-A12(E) decoder.
#[derive(Debug, Clone, Default)]
pub struct A12Decoder {
    buf: ByteBuf,
    stats: DecodeStats,
}

impl A12Decoder {
    /// A new decoder.
    pub fn new() -> A12Decoder {
        A12Decoder::default()
    }

    /// Parses the 11-byte body (`WG004.139kg`, blanks + `OL`).
    fn body(body: &[u8], raw: &[u8]) -> Option<Frame> {
        let tag = body.get(9..11)?;
        let lead = *body.first()?;
        if lead == b' ' {
            return match tag {
                b"OL" => Some(Frame::new(FrameKind::Overload, raw)),
                b"LO" => Some(Frame::new(FrameKind::Underload, raw)),
                _ => None,
            };
        }
        if !matches!(lead, b'W' | b'w') {
            return None;
        }
        let value = Decimal::parse_bytes(body.get(2..9)?).ok()?;
        let unit = Unit::from_text(tag)?;
        match body.get(1)?.to_ascii_lowercase() {
            b'g' | b'w' => {
                let mut f = Frame::weight(value, Some(unit), None, raw);
                f.net = Some(false);
                Some(f)
            }
            b'n' => {
                let mut f = Frame::weight(value, Some(unit), None, raw);
                f.net = Some(true);
                Some(f)
            }
            b't' => Some(Frame {
                tare: Some(value),
                unit: Some(unit),
                ..Frame::new(FrameKind::Ack, raw)
            }),
            _ => None,
        }
    }
}

impl FrameDecoder for A12Decoder {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes, true, &mut self.stats);
    }

    fn poll(&mut self) -> Option<Frame> {
        while let Some((line, raw)) = self.buf.next_line() {
            let n = line.len();
            let mut frame = None;
            if n >= 13 {
                let c = line.get(n - 13..).unwrap_or(&[]);
                let body = c.get(..11).unwrap_or(&[]);
                let sent = hex_pair(
                    c.get(11).copied().unwrap_or(0),
                    c.get(12).copied().unwrap_or(0),
                );
                if sent == Some(xor(body)) {
                    frame = Self::body(body, &raw);
                    if frame.is_some() {
                        self.stats.checksummed += 1;
                    }
                } else if matches!(c.first(), Some(b'W' | b' ')) {
                    self.stats.bad_checksum += 1;
                    continue;
                }
            }
            if frame.is_none() && n >= 11 {
                // Lower-case form without XOR (`ww000.000lb`).
                let body = line.get(n - 11..).unwrap_or(&[]);
                if body.first() == Some(&b'w') {
                    frame = Self::body(body, &raw);
                }
            }
            match frame {
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

/// Encodes an A12 frame: `W` + `G`/`N` + 7 characters + `kg` + XOR + CR LF.
/// `None` for the value gives the overload frame.
pub fn encode_a12(value: Option<Decimal>, net: bool, unit: Unit) -> Vec<u8> {
    let mut body = match value {
        Some(v) => {
            let mut b = vec![b'W', if net { b'N' } else { b'G' }];
            let s = v.to_string();
            let digits = if v.is_negative() {
                format!("-{:0>6}", s.trim_start_matches('-'))
            } else {
                format!("{s:0>7}")
            };
            b.extend_from_slice(digits.as_bytes().get(..7).unwrap_or(b"0000000"));
            let u = unit.symbol().as_bytes();
            b.push(*u.first().unwrap_or(&b'k'));
            b.push(*u.get(1).unwrap_or(&b' '));
            b
        }
        None => {
            let mut b = vec![b' '; 9];
            b.extend_from_slice(b"OL");
            b
        }
    };
    let x = xor(&body);
    body.extend_from_slice(&hex_digits(x));
    body.extend_from_slice(b"\r\n");
    body
}

/// `=` format decoder.
#[derive(Debug, Clone)]
pub struct EqDecoder {
    reversed: bool,
    unit: Unit,
    buf: ByteBuf,
    stats: DecodeStats,
}

impl EqDecoder {
    /// `reversed`: least significant character first (A26 format 1).
    pub fn new(reversed: bool, unit: Unit) -> EqDecoder {
        EqDecoder {
            reversed,
            unit,
            buf: ByteBuf::default(),
            stats: DecodeStats::default(),
        }
    }
}

impl FrameDecoder for EqDecoder {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes, true, &mut self.stats);
    }

    fn poll(&mut self) -> Option<Frame> {
        loop {
            let Some(start) = self.buf.find(b'=') else {
                self.stats.skipped += self.buf.data.len() as u64;
                self.buf.clear();
                return None;
            };
            self.buf.consume(start);
            self.stats.skipped += start as u64;
            if self.buf.data.len() < 9 {
                return None;
            }
            let body = self.buf.data.get(1..9).unwrap_or(&[]);
            if !body
                .iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b' '))
            {
                self.buf.consume(1);
                self.stats.skipped += 1;
                continue;
            }
            let mut text = body.to_vec();
            if self.reversed {
                text.reverse();
            }
            let parsed = Decimal::parse_bytes(&text).ok();
            let (_, raw) = self.buf.take(9);
            match parsed {
                Some(v) => {
                    self.stats.frames += 1;
                    return Some(Frame::weight(v, Some(self.unit), None, &raw));
                }
                None => self.stats.skipped += 9,
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

/// Encodes an `=` frame (8 display characters, reversed or forward).
pub fn encode_eq(value: Decimal, reversed: bool) -> Vec<u8> {
    let s = value.to_string();
    let text = if value.is_negative() {
        format!("-{:0>7}", s.trim_start_matches('-'))
    } else {
        format!("{s:0>8}")
    };
    let mut body: Vec<u8> = text.into_bytes();
    body.truncate(8);
    if reversed {
        body.reverse();
    }
    let mut v = vec![b'='];
    v.extend(body);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::test_util::{decode_all, decode_bytewise, summary};

    fn check(mk: &dyn Fn() -> Box<dyn FrameDecoder>, input: &[u8], expected: &[&str]) {
        let got: Vec<String> = decode_all(&mut Boxed(mk()), input)
            .iter()
            .map(summary)
            .collect();
        assert_eq!(got, expected, "input {input:?}");
        let got: Vec<String> = decode_bytewise(&mut Boxed(mk()), input)
            .iter()
            .map(summary)
            .collect();
        assert_eq!(got, expected, "bytewise {input:?}");
    }

    struct Boxed(Box<dyn FrameDecoder>);
    impl FrameDecoder for Boxed {
        fn feed(&mut self, b: &[u8]) {
            self.0.feed(b)
        }
        fn poll(&mut self) -> Option<Frame> {
            self.0.poll()
        }
        fn stats(&self) -> DecodeStats {
            self.0.stats()
        }
        fn reset(&mut self) {
            self.0.reset()
        }
    }

    fn stx() -> Box<dyn FrameDecoder> {
        Box::new(StxDecoder::new(Unit::Kg))
    }
    fn a12() -> Box<dyn FrameDecoder> {
        Box::new(A12Decoder::new())
    }
    fn eq_rev() -> Box<dyn FrameDecoder> {
        Box::new(EqDecoder::new(true, Unit::Kg))
    }
    fn eq_fwd() -> Box<dyn FrameDecoder> {
        Box::new(EqDecoder::new(false, Unit::Kg))
    }

    #[test]
    fn tf0_captures() {
        // Real capture: +1560 kg.
        check(
            &stx,
            &hex::decode("022b30303135363030313903").unwrap(),
            &["weight 1560 kg stable=null net=null"],
        );
        // Documented example: +20.00, XOR 1B.
        check(
            &stx,
            &hex::decode("022B30303230303032314203").unwrap(),
            &["weight 20.00 kg stable=null net=null"],
        );
        // Bad XOR is rejected.
        check(&stx, &hex::decode("022B30303230303032314303").unwrap(), &[]);
        // Garbage and merged frames.
        let mut input = b"\x02\x02+0\x03junk".to_vec();
        input.extend(encode_stx(Decimal::parse("-1.25").unwrap()));
        input.extend(encode_stx(Decimal::parse("3.000").unwrap()));
        check(
            &stx,
            &input,
            &[
                "weight -1.25 kg stable=null net=null",
                "weight 3.000 kg stable=null net=null",
            ],
        );
    }

    #[test]
    fn tf1_command_mode() {
        assert_eq!(
            encode_command(b'A', b'B'),
            hex::decode("024142303303").unwrap()
        );
        let mut reply = vec![STX, b'A', b'D'];
        reply.extend_from_slice(b"+0012342");
        let x = xor(&reply[1..]);
        reply.extend_from_slice(&hex_digits(x));
        reply.push(ETX);
        check(&stx, &reply, &["weight 12.34 kg stable=null net=true"]);
        check(&stx, &encode_command(b'A', b'A'), &["ack"]);
        assert_eq!(
            encode_reply(b'A', b'D', Decimal::parse("12.34").unwrap()),
            reply
        );
        check(
            &stx,
            &encode_reply(b'A', b'C', Decimal::parse("0.50").unwrap()),
            &["ack tare=0.50 kg"],
        );
    }

    #[test]
    fn a12_manual_example() {
        check(
            &a12,
            &hex::decode("57473030342E3133396B6733440D0A").unwrap(),
            &["weight 4.139 kg stable=null net=false"],
        );
        check(
            &a12,
            b"         OL23\r\n         LO23\r\n",
            &["overload", "underload"],
        );
        // The bad-checksum variant is dropped; garbage before a frame is skipped.
        check(
            &a12,
            b"zzWG004.139kg3D\r\nWG004.139kg3E\r\n",
            &["weight 4.139 kg stable=null net=false"],
        );
        check(
            &a12,
            b"ww000.000lb\r\nwn-0000.1kg\r\n",
            &[
                "weight 0.000 lb stable=null net=false",
                "weight -0.1 kg stable=null net=true",
            ],
        );
        let f = encode_a12(Some(Decimal::parse("-12.50").unwrap()), true, Unit::Kg);
        check(&a12, &f, &["weight -12.50 kg stable=null net=true"]);
        check(&a12, &encode_a12(None, false, Unit::Kg), &["overload"]);
    }

    #[test]
    fn eq_formats() {
        check(
            &eq_rev,
            b"=000.3000=00.1000-",
            &[
                "weight 3.000 kg stable=null net=null",
                "weight -1.00 kg stable=null net=null",
            ],
        );
        check(
            &eq_fwd,
            b"=0003.000=-0001.00",
            &[
                "weight 3.000 kg stable=null net=null",
                "weight -1.00 kg stable=null net=null",
            ],
        );
        check(
            &eq_rev,
            b"x=0=000.3000",
            &["weight 3.000 kg stable=null net=null"],
        );
        for v in ["3.000", "-1.00", "0.5", "12345.6"] {
            let d = Decimal::parse(v).unwrap();
            let frames = decode_all(&mut EqDecoder::new(true, Unit::Kg), &encode_eq(d, true));
            assert_eq!(
                frames[0].value.unwrap().cmp_value(d),
                std::cmp::Ordering::Equal,
                "{v}"
            );
        }
    }
}
