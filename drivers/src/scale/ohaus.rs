//! OHAUS print format (RS232 manual p.EN-3; Defender 3000 indicators), one line per CR LF:
//! `[weight right-justified] [unit] [stability] [legend]`, e.g. `       12.73 g    ?`.
//! Stability is `?` when unstable and blank when stable; the legend is `G`, `N`/`NET` or `T`.
//! Defender 3000 prints the polarity separately: `- 12.73 kg  NET`.

use super::frame::{tokens, ByteBuf, DecodeStats, Frame, FrameKind};
use super::weight::{Decimal, Unit};
use super::FrameDecoder;

/// OHAUS print decoder.
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

    fn parse(line: &[u8], raw: &[u8]) -> Option<Frame> {
        let toks = tokens(line);
        let mut i = 0;
        let mut sign: &[u8] = b"";
        if let Some(&t) = toks.first() {
            if t == b"-" || t == b"+" {
                sign = t;
                i = 1;
            }
        }
        let first = *toks.get(i)?;
        match first {
            b"OL" | b"-OL-" | b"OVER" => return Some(Frame::new(FrameKind::Overload, raw)),
            b"UL" | b"-UL-" | b"UNDER" => return Some(Frame::new(FrameKind::Underload, raw)),
            _ => {}
        }
        let mut text = sign.to_vec();
        text.extend_from_slice(first);
        let value = Decimal::parse_bytes(&text).ok()?;
        let unit = Unit::from_text(toks.get(i + 1)?)?;
        let mut stable = Some(true);
        let mut net = None;
        let mut tare = false;
        for &t in toks.get(i + 2..).unwrap_or(&[]) {
            match t {
                b"?" => stable = Some(false),
                b"G" | b"GROSS" | b"G?" => net = Some(false),
                b"N" | b"NET" | b"NT" => net = Some(true),
                b"T" | b"TARE" | b"PT" => tare = true,
                _ => return None,
            }
        }
        if tare {
            return Some(Frame {
                tare: Some(value),
                unit: Some(unit),
                stable,
                ..Frame::new(FrameKind::Ack, raw)
            });
        }
        let mut f = Frame::weight(value, Some(unit), stable, raw);
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
            match Self::parse(&line, &raw) {
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

/// Encodes a print line as an OHAUS balance sends it.
pub fn encode(value: Decimal, unit: Unit, stable: bool, net: bool) -> Vec<u8> {
    format!(
        "{:>12} {:<4} {} {}\r\n",
        value.to_string(),
        unit.symbol(),
        if stable { ' ' } else { '?' },
        if net { "N" } else { "G" }
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
    fn manual_examples() {
        check(
            b"       12.73 g    ?\r\n",
            &["weight 12.73 g stable=false net=null"],
        );
        check(
            b"       12.73 g     \r\n",
            &["weight 12.73 g stable=true net=null"],
        );
        check(
            b"-   12.730 kg    NET\r\n",
            &["weight -12.730 kg stable=true net=true"],
        );
        check(
            b"     1.250 lb ? G\r\n",
            &["weight 1.250 lb stable=false net=false"],
        );
        check(b"     0.500 kg   T\r\n", &["ack tare=0.500 kg"]);
        check(b"  OL\r\n", &["overload"]);
    }

    #[test]
    fn headers_and_garbage_skipped() {
        check(
            b"OHAUS\r\nDate 2024\r\n\xff\xfe\r\n    5.00 kg\r\n",
            &["weight 5.00 kg stable=true net=null"],
        );
        let e = encode(Decimal::parse("3.25").unwrap(), Unit::Kg, false, true);
        check(&e, &["weight 3.25 kg stable=false net=true"]);
    }
}
