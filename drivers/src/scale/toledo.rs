//! Mettler Toledo "standard continuous output" (8142/8530 style), as in the WILDCAT technical
//! manual App. 2 and the IND245 firmware: `STX SWA SWB SWC W1..W6 T1..T6 CR [CHK]`.
//!
//! * Weight and tare: 6 digits each, no point, no sign; blank-padded (standard) or zero-padded
//!   ("8142"). Both are accepted.
//! * SWA bits 2..0: decimal code (0 = ×100, 1 = ×10, 2 = none, 3..7 = 1..5 decimals).
//! * SWB: bit 0 net, bit 1 negative, bit 2 out of range, bit 3 motion, bit 4 kg (else lb).
//! * SWC bits 2..0: unit when neither lb nor kg (1 g, 2 t, 3 oz); the LIDEN clone uses SWC bit 0
//!   for kg/lb instead ([`UnitMap::Liden`]).
//! * CHK: two's complement of the 7-bit sum of every preceding byte; `sum(all 18) & 0x7F == 0`.
//! * Bit 7 of every byte may carry parity on 7-bit lines: masked before decoding.

use super::frame::{ByteBuf, DecodeStats, Frame, FrameKind};
use super::weight::{Decimal, Unit};
use super::FrameDecoder;
use serde::{Deserialize, Serialize};

const STX: u8 = 0x02;
const CR: u8 = 0x0D;
const LEN: usize = 17;

/// Whether frames carry the checksum byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumMode {
    /// Learn it from the stream: a byte after CR that verifies is a checksum; an STX is not.
    #[default]
    Auto,
    /// Every frame has a checksum; frames without a valid one are dropped.
    Required,
    /// No checksum byte.
    Absent,
}

/// How the unit is coded in the status words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitMap {
    /// Mettler: SWB bit 4 kg/lb, SWC bits 2..0 for g/t/oz.
    #[default]
    Mettler,
    /// LIDEN LUW2001 "MT format": SWC bit 0, kg = 0, lb = 1.
    Liden,
}

/// Toledo continuous decoder options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Checksum byte handling.
    pub checksum: ChecksumMode,
    /// Unit coding.
    pub unit_map: UnitMap,
}

/// Toledo continuous decoder.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    opts: Options,
    buf: ByteBuf,
    stats: DecodeStats,
    /// Learned in [`ChecksumMode::Auto`]: `Some(true)` checksums seen, `Some(false)` none.
    learned: Option<bool>,
}

fn checksum_ok(frame18: &[u8]) -> bool {
    frame18.iter().fold(0u32, |a, &b| a + u32::from(b)) & 0x7F == 0
}

/// The checksum byte for the 17 bytes before it.
pub fn checksum(frame17: &[u8]) -> u8 {
    let sum = frame17.iter().fold(0u32, |a, &b| a + u32::from(b & 0x7F));
    (0u32.wrapping_sub(sum) & 0x7F) as u8
}

fn digits(field: &[u8]) -> Option<i64> {
    let mut n: i64 = 0;
    for &b in field {
        match b {
            b'0'..=b'9' => n = n * 10 + i64::from(b - b'0'),
            b' ' => n *= 10,
            _ => return None,
        }
    }
    Some(n)
}

fn scaled(n: i64, code: u8) -> Decimal {
    match code {
        0 => Decimal {
            mantissa: n * 100,
            scale: 0,
        },
        1 => Decimal {
            mantissa: n * 10,
            scale: 0,
        },
        c => Decimal {
            mantissa: n,
            scale: c - 2,
        },
    }
}

impl Decoder {
    /// A decoder with the given options.
    pub fn new(opts: Options) -> Decoder {
        Decoder {
            opts,
            ..Decoder::default()
        }
    }

    fn parse(&self, d: &[u8], raw: &[u8]) -> Option<Frame> {
        let swa = *d.get(1)?;
        let swb = *d.get(2)?;
        let swc = *d.get(3)?;
        let w = digits(d.get(4..10)?)?;
        let t = digits(d.get(10..16)?)?;
        let code = swa & 0x07;
        let negative = swb & 0x02 != 0;
        let mut value = scaled(w, code);
        if negative {
            value.mantissa = -value.mantissa;
        }
        let unit = match self.opts.unit_map {
            UnitMap::Mettler => match swc & 0x07 {
                0 if swb & 0x10 != 0 => Some(Unit::Kg),
                0 => Some(Unit::Lb),
                1 => Some(Unit::G),
                2 => Some(Unit::T),
                3 => Some(Unit::Oz),
                _ => None,
            },
            UnitMap::Liden => Some(if swc & 0x01 != 0 { Unit::Lb } else { Unit::Kg }),
        };
        let kind = if swb & 0x04 != 0 {
            if negative {
                FrameKind::Underload
            } else {
                FrameKind::Overload
            }
        } else {
            FrameKind::Weight
        };
        Some(Frame {
            kind,
            value: Some(value),
            unit,
            stable: Some(swb & 0x08 == 0),
            net: Some(swb & 0x01 != 0),
            tare: Some(scaled(t, code)),
            error: None,
            raw: raw.to_vec(),
        })
    }
}

impl FrameDecoder for Decoder {
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
            if start > 0 {
                self.buf.consume(start);
                self.stats.skipped += start as u64;
            }
            if self.buf.data.len() < LEN {
                return None;
            }
            let plausible = self.buf.data.get(LEN - 1) == Some(&CR)
                && self
                    .buf
                    .data
                    .get(4..16)
                    .is_some_and(|f| f.iter().all(|&b| b == b' ' || b.is_ascii_digit()));
            if !plausible {
                self.buf.consume(1);
                self.stats.skipped += 1;
                continue;
            }
            let next = self.buf.data.get(LEN).copied();
            let verifies = self.buf.data.get(..LEN + 1).is_some_and(checksum_ok);
            let with_checksum = match (self.opts.checksum, self.learned, next) {
                (ChecksumMode::Absent, _, _) | (ChecksumMode::Auto, Some(false), _) => false,
                (_, _, None) => return None,
                (_, _, Some(_)) if verifies => true,
                (ChecksumMode::Auto, None, Some(STX)) => false,
                _ => {
                    self.stats.bad_checksum += 1;
                    self.buf.consume(LEN);
                    continue;
                }
            };
            if self.opts.checksum == ChecksumMode::Auto {
                self.learned = Some(with_checksum);
            }
            let n = if with_checksum { LEN + 1 } else { LEN };
            let (masked, raw) = self.buf.take(n);
            if let Some(f) = self.parse(&masked, &raw) {
                self.stats.frames += 1;
                if with_checksum {
                    self.stats.checksummed += 1;
                }
                return Some(f);
            }
            self.stats.skipped += n as u64;
        }
    }

    fn stats(&self) -> DecodeStats {
        self.stats
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.learned = None;
    }
}

/// What the simulator and tests put in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeSpec {
    /// Displayed weight (sign used for SWB bit 1); scale 0..=5.
    pub value: Decimal,
    /// Tare (same decimals as the weight).
    pub tare: Decimal,
    /// Unit (kg, lb, g, t, oz).
    pub unit: Unit,
    /// In motion.
    pub motion: bool,
    /// Net weight.
    pub net: bool,
    /// Out of range.
    pub out_of_range: bool,
    /// Zero-padded ("8142") instead of blank-padded.
    pub zero_pad: bool,
    /// Append the checksum byte.
    pub checksum: bool,
}

/// Encodes a frame (Mettler unit coding). Values that do not fit 6 digits are clamped.
pub fn encode(spec: &EncodeSpec) -> Vec<u8> {
    let scale = spec.value.scale.min(5);
    let swa = 0x20 | 0x08 | (scale + 2);
    let mut swb = 0x20u8;
    if spec.net {
        swb |= 0x01;
    }
    if spec.value.is_negative() {
        swb |= 0x02;
    }
    if spec.out_of_range {
        swb |= 0x04;
    }
    if spec.motion {
        swb |= 0x08;
    }
    let mut swc = 0x20u8;
    match spec.unit {
        Unit::Kg => swb |= 0x10,
        Unit::G => swc |= 0x01,
        Unit::T => swc |= 0x02,
        Unit::Oz => swc |= 0x03,
        _ => {}
    }
    let field = |d: Decimal| {
        let m = d
            .shifted(i32::from(scale) - i32::from(d.scale))
            .map_or(0, |x| x.mantissa);
        let n = m.unsigned_abs().min(999_999);
        if spec.zero_pad {
            format!("{n:06}")
        } else {
            format!("{n:>6}")
        }
    };
    let mut v = vec![STX, swa, swb, swc];
    v.extend_from_slice(field(spec.value).as_bytes());
    v.extend_from_slice(field(spec.tare).as_bytes());
    v.push(CR);
    if spec.checksum {
        v.push(checksum(&v));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::test_util::{decode_all, decode_bytewise, summary};

    fn check(opts: Options, input: &[u8], expected: &[&str]) {
        let frames = decode_all(&mut Decoder::new(opts), input);
        let got: Vec<String> = frames.iter().map(summary).collect();
        assert_eq!(got, expected, "input {input:?}");
        let frames = decode_bytewise(&mut Decoder::new(opts), input);
        let got2: Vec<String> = frames.iter().map(summary).collect();
        assert_eq!(got2, expected, "bytewise {input:?}");
    }

    fn auto() -> Options {
        Options::default()
    }

    #[test]
    fn reference_frame_with_checksum() {
        // SWA ',' = XXXX.XX ×1, SWB '1' = net, kg; weight 123456, tare 010000; CHK 0x1E.
        check(
            auto(),
            b"\x02,1 123456010000\r\x1e",
            &["weight 1234.56 kg stable=true net=true tare=100.00"],
        );
        check(auto(), b"\x02,1 123456010000\r\x1f", &[]);
    }

    #[test]
    fn blank_and_zero_padding_no_checksum() {
        // Standard (blanks) followed by 8142 (zeros); no checksum: the next STX tells.
        let input = b"\x02,0    250     0\r\x02,0 000250000000\r\x02";
        check(
            auto(),
            input,
            &[
                "weight 2.50 kg stable=true net=false tare=0.00",
                "weight 2.50 kg stable=true net=false tare=0.00",
            ],
        );
        check(
            Options {
                checksum: ChecksumMode::Absent,
                ..auto()
            },
            b"\x02,0    250     0\r",
            &["weight 2.50 kg stable=true net=false tare=0.00"],
        );
    }

    #[test]
    fn status_bits() {
        let spec = |value: &str, unit, motion, net, oor| EncodeSpec {
            value: Decimal::parse(value).unwrap(),
            tare: Decimal::parse("0.000").unwrap(),
            unit,
            motion,
            net,
            out_of_range: oor,
            zero_pad: false,
            checksum: true,
        };
        let cases = [
            (
                spec("1.234", Unit::Kg, false, false, false),
                "weight 1.234 kg stable=true net=false tare=0.000",
            ),
            (
                spec("-0.500", Unit::Kg, true, true, false),
                "weight -0.500 kg stable=false net=true tare=0.000",
            ),
            (spec("999.999", Unit::Kg, false, false, true), "overload"),
            (spec("-1.000", Unit::Kg, false, false, true), "underload"),
            (
                spec("350.5", Unit::G, false, false, false),
                "weight 350.5 g stable=true net=false tare=0.0",
            ),
            (
                spec("12.25", Unit::Oz, false, false, false),
                "weight 12.25 oz stable=true net=false tare=0.00",
            ),
            (
                spec("7", Unit::Lb, false, false, false),
                "weight 7 lb stable=true net=false tare=0",
            ),
        ];
        for (s, expected) in cases {
            check(
                Options {
                    checksum: ChecksumMode::Required,
                    ..auto()
                },
                &encode(&s),
                &[expected],
            );
        }
    }

    #[test]
    fn decimal_codes_and_parity() {
        // Code 0 multiplies by 100, code 1 by 10.
        let mut f = b"\x02\x28\x20\x20   123     0\r".to_vec();
        f.push(checksum(&f));
        check(
            auto(),
            &f,
            &["weight 12300 lb stable=true net=false tare=0"],
        );
        let mut f = b"\x02\x29\x20\x20   123     0\r".to_vec();
        f.push(checksum(&f));
        check(auto(), &f, &["weight 1230 lb stable=true net=false tare=0"]);
        // Parity bits on the status bytes (7E1 read as 8N1) are masked.
        let mut f = b"\x02,1 123456010000\r\x1e".to_vec();
        f[1] |= 0x80;
        f[2] |= 0x80;
        check(
            auto(),
            &f,
            &["weight 1234.56 kg stable=true net=true tare=100.00"],
        );
    }

    #[test]
    fn liden_unit_map() {
        let mut f = b"\x02\x53\x30\x21   123     0\r".to_vec();
        f.push(checksum(&f));
        check(
            Options {
                unit_map: UnitMap::Liden,
                ..auto()
            },
            &f,
            &["weight 12.3 lb stable=true net=false tare=0.0"],
        );
    }

    #[test]
    fn garbage_and_merged() {
        let mut input = b"\x02\x02zz\x0d\x02garbage".to_vec();
        let s = EncodeSpec {
            value: Decimal::parse("5.00").unwrap(),
            tare: Decimal::parse("0.00").unwrap(),
            unit: Unit::Kg,
            motion: false,
            net: false,
            out_of_range: false,
            zero_pad: true,
            checksum: true,
        };
        input.extend(encode(&s));
        input.extend(b"\x02,1 12");
        input.extend(encode(&s));
        check(
            auto(),
            &input,
            &[
                "weight 5.00 kg stable=true net=false tare=0.00",
                "weight 5.00 kg stable=true net=false tare=0.00",
            ],
        );
    }
}
