//! A&D and CAS style comma-separated streams, one frame per CR LF line:
//!
//! * A&D indicators (AD-4404): `ST,NT,+0012.34kg` — header `ST` stable, `US` unstable, `OL`
//!   over, `LO` under; `GS` gross, `NT` net, `TR` tare; 8-character value; 2-character unit.
//! * A&D balances (EK-L, GX/GF, FX): `ST,+001234.5 g` (no gross/net field, 3-character unit);
//!   AD-4212D CSV form `ST,+0000.1278,  g`; `QT` = counting mode (no mass: skipped).
//! * CAS 22-byte: `ST,GS,` + device id byte + lamp byte + `,` + 8 data + ` kg` (lamp bit 6 =
//!   stable) and the "18 bytes AND" form (7 data bits with parity: masked).
//! * Generic Chinese `ST,GS,+…kg` clones with other field widths.

use super::frame::{ByteBuf, DecodeStats, Frame, FrameKind};
use super::weight::trim;
use super::weight::{Decimal, Unit};
use super::FrameDecoder;

/// A&D / CAS decoder.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    buf: ByteBuf,
    stats: DecodeStats,
}

/// Splits `+0012.34kg` / `  12.34 kg` into the number and the unit text.
fn split_value_unit(field: &[u8]) -> (&[u8], &[u8]) {
    let t = trim(field);
    let end = t
        .iter()
        .position(|b| !(b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b' ')))
        .unwrap_or(t.len());
    (t.get(..end).unwrap_or(&[]), t.get(end..).unwrap_or(&[]))
}

impl Decoder {
    /// A new decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    fn parse(line: &[u8], raw: &[u8]) -> Option<Frame> {
        // CAS 22-byte layout is positional: its lamp byte may read as ',' once parity is masked.
        let cas;
        let fields: Vec<&[u8]> = if line.len() == 20
            && line.get(2) == Some(&b',')
            && line.get(5) == Some(&b',')
            && line.get(8) == Some(&b',')
        {
            cas = [line.get(..2)?, line.get(3..5)?, line.get(9..)?];
            cas.to_vec()
        } else {
            line.split(|&b| b == b',').collect()
        };
        let header = trim(fields.first()?);
        let stable = match header {
            b"ST" => Some(true),
            b"US" => Some(false),
            b"OL" | b"LO" => None,
            _ => return None,
        };
        let mut rest = fields.get(1..)?;
        let mut net = None;
        let mut tare_frame = false;
        if let Some(f) = rest.first() {
            match trim(f) {
                b"GS" => net = Some(false),
                b"NT" => net = Some(true),
                b"TR" => tare_frame = true,
                _ => {}
            }
            if net.is_some() || tare_frame {
                rest = rest.get(1..)?;
            }
        }
        let (num, mut unit_text) = split_value_unit(rest.first()?);
        if unit_text.is_empty() {
            if let Some(u) = rest.get(1) {
                unit_text = trim(u);
            }
        }
        let unit = Unit::from_text(unit_text);
        let value = Decimal::parse_bytes(num).ok();
        match header {
            b"OL" => {
                // A&D prints OL with the sign of the excursion; `-` means under.
                let under =
                    value.is_some_and(Decimal::is_negative) || trim(num).first() == Some(&b'-');
                return Some(Frame {
                    unit,
                    net,
                    ..Frame::new(
                        if under {
                            FrameKind::Underload
                        } else {
                            FrameKind::Overload
                        },
                        raw,
                    )
                });
            }
            b"LO" => {
                return Some(Frame {
                    unit,
                    net,
                    ..Frame::new(FrameKind::Underload, raw)
                })
            }
            _ => {}
        }
        let value = value?;
        if unit.is_none() && !unit_text.is_empty() {
            // Counting or percent mode: not a mass.
            return None;
        }
        if tare_frame {
            return Some(Frame {
                tare: Some(value),
                unit,
                stable,
                ..Frame::new(FrameKind::Ack, raw)
            });
        }
        let mut f = Frame::weight(value, unit, stable, raw);
        f.net = net;
        Some(f)
    }
}

impl FrameDecoder for Decoder {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes, true, &mut self.stats);
    }

    fn poll(&mut self) -> Option<Frame> {
        while let Some((line, raw)) = self.buf.next_line() {
            // Garbage before the header on the same line: start at the last header.
            let start = [b"ST,".as_slice(), b"US,", b"OL,", b"LO,"]
                .iter()
                .filter_map(|h| line.windows(3).rposition(|w| w == *h))
                .max()
                .unwrap_or(0);
            match Self::parse(line.get(start..).unwrap_or(&[]), &raw) {
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

/// Encodes an A&D indicator frame `ST,GS,+0012.34kg` CR LF (the simulator's A&D scale).
pub fn encode(value: Option<Decimal>, unit: Unit, stable: bool, net: bool) -> Vec<u8> {
    let header = match value {
        None => "OL",
        Some(_) if stable => "ST",
        Some(_) => "US",
    };
    let data = match value {
        Some(v) => {
            let s = v.to_string();
            let sign = if v.is_negative() { '-' } else { '+' };
            format!("{sign}{:0>7}", s.trim_start_matches('-'))
        }
        None => "        ".to_owned(),
    };
    let u = match unit {
        Unit::G => "g ".to_owned(),
        Unit::T => " t".to_owned(),
        other => format!("{:<2}", other.symbol()),
    };
    format!("{header},{},{data}{u}\r\n", if net { "NT" } else { "GS" }).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::test_util::check_whole_and_bytewise;

    fn check(input: &[u8], expected: &[&str]) {
        check_whole_and_bytewise(Decoder::new, input, expected);
    }

    #[test]
    fn and_indicator_and_balance() {
        check(
            b"ST,NT,+0012.34kg\r\n",
            &["weight 12.34 kg stable=true net=true"],
        );
        check(
            b"US,GS,-0000.50kg\r\n",
            &["weight -0.50 kg stable=false net=false"],
        );
        check(b"OL,GS,        kg\r\n", &["overload"]);
        check(
            b"ST,+001234.5 g\r\n",
            &["weight 1234.5 g stable=true net=null"],
        );
        check(
            b"ST,+0000.1278,  g\r\n",
            &["weight 0.1278 g stable=true net=null"],
        );
        check(b"OL,-9999999 g\r\n", &["underload"]);
        check(b"QT,+0000123PC\r\n", &[]);
        check(b"ST,TR,+0001.20kg\r\n", &["ack tare=1.20 kg"]);
        check(
            b"ST,GS,+0012.34 t\r\n",
            &["weight 12.34 t stable=true net=false"],
        );
    }

    #[test]
    fn cas_22_byte() {
        // Device id '1' (0x31), lamp byte 0xC4 (bit 7, stable bit 6, gross bit 2), 13.5 kg.
        let mut f = b"ST,GS,1".to_vec();
        f.push(0xC4);
        f.extend_from_slice(b",000013.5 kg\r\n");
        check(&f, &["weight 13.5 kg stable=true net=false"]);
        let mut f = b"US,NT,1".to_vec();
        f.push(0x84);
        f.extend_from_slice(b",-00013.5 kg\r\n");
        check(&f, &["weight -13.5 kg stable=false net=true"]);
    }

    #[test]
    fn garbage_and_parity() {
        check(
            b"@#$\r\nzzST,GS,+0001.00kg\r\nST,GS\r\n",
            &["weight 1.00 kg stable=true net=false"],
        );
        // 18-byte AND format with 7 data bits and odd parity.
        let odd: Vec<u8> = b"ST,GS,+0002.00kg\r\n"
            .iter()
            .map(|&b| if b.count_ones() % 2 == 0 { b | 0x80 } else { b })
            .collect();
        check(&odd, &["weight 2.00 kg stable=true net=false"]);
    }

    #[test]
    fn encoder_round_trip() {
        let e = encode(Some(Decimal::parse("12.34").unwrap()), Unit::Kg, true, true);
        assert_eq!(e, b"ST,NT,+0012.34kg\r\n");
        check(&e, &["weight 12.34 kg stable=true net=true"]);
        check(&encode(None, Unit::Kg, false, false), &["overload"]);
    }
}
