//! The decoded frame every scale decoder produces, and the buffer helpers decoders share.

use super::weight::{Decimal, Unit, Weight};
use serde::Serialize;

/// What a frame says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameKind {
    /// A weight reading (stable or not).
    Weight,
    /// Over capacity.
    Overload,
    /// Under zero / below the range (e.g. the pan is missing).
    Underload,
    /// The device reports an error (syntax, not executable, hardware…); see [`Frame::error`].
    Error,
    /// A command was executed (tare, zero, reset…); may carry a tare value.
    Ack,
}

/// One frame decoded from a scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// What the frame says.
    pub kind: FrameKind,
    /// The value as the device shows it (sign included), when the frame carries one.
    pub value: Option<Decimal>,
    /// The unit, when the frame carries one (or the decoder is configured with one).
    pub unit: Option<Unit>,
    /// `Some(true)` stable, `Some(false)` in motion, `None` when the protocol does not say.
    pub stable: Option<bool>,
    /// `Some(true)` net, `Some(false)` gross, `None` when the protocol does not say.
    pub net: Option<bool>,
    /// The tare value, when the frame carries one.
    pub tare: Option<Decimal>,
    /// Error or status detail (e.g. `ES`, `Error 10b`, `not executable`).
    pub error: Option<String>,
    /// The frame's bytes as received (parity bits included), for the audit.
    #[serde(serialize_with = "ser_hex")]
    pub raw: Vec<u8>,
}

/// Serialises bytes as a hex string.
pub(crate) fn ser_hex<S: serde::Serializer>(raw: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(raw))
}

impl Frame {
    /// An empty frame of the given kind.
    pub fn new(kind: FrameKind, raw: &[u8]) -> Frame {
        Frame {
            kind,
            value: None,
            unit: None,
            stable: None,
            net: None,
            tare: None,
            error: None,
            raw: raw.to_vec(),
        }
    }

    /// A weight frame.
    pub fn weight(value: Decimal, unit: Option<Unit>, stable: Option<bool>, raw: &[u8]) -> Frame {
        Frame {
            value: Some(value),
            unit,
            stable,
            ..Frame::new(FrameKind::Weight, raw)
        }
    }

    /// An error frame with a detail text.
    pub fn error(detail: impl Into<String>, raw: &[u8]) -> Frame {
        Frame {
            error: Some(detail.into()),
            ..Frame::new(FrameKind::Error, raw)
        }
    }

    /// The value with its unit, when both are known.
    pub fn weight_value(&self) -> Option<Weight> {
        Some(Weight::new(self.value?, self.unit?))
    }

    /// The JSON object `packbench scale decode` prints: `kind`, `value`, `unit`, `stable`, `net`,
    /// `tare` (only when the frame carries one), `error` (only for errors) and `raw` (hex).
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert(
            "kind".into(),
            serde_json::to_value(self.kind).unwrap_or_default(),
        );
        m.insert(
            "value".into(),
            self.value
                .map_or(serde_json::Value::Null, |v| v.to_string().into()),
        );
        m.insert(
            "unit".into(),
            self.unit
                .map_or(serde_json::Value::Null, |u| u.symbol().into()),
        );
        m.insert("stable".into(), self.stable.into());
        m.insert("net".into(), self.net.into());
        if let Some(t) = self.tare {
            m.insert("tare".into(), t.to_string().into());
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), e.clone().into());
        }
        m.insert("raw".into(), hex::encode(&self.raw).into());
        serde_json::Value::Object(m)
    }
}

/// Counters a decoder keeps, used by the probe and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DecodeStats {
    /// Frames emitted.
    pub frames: u64,
    /// Frames whose checksum verified (subset of `frames`).
    pub checksummed: u64,
    /// Frames dropped for a bad checksum.
    pub bad_checksum: u64,
    /// Bytes skipped while resynchronising.
    pub skipped: u64,
    /// Bytes that had bit 7 set (parity on a 7-bit line read as 8 bits).
    pub high_bit: u64,
}

/// Upper bound of any decoder's buffer. A frame longer than this is garbage.
pub const MAX_BUFFER: usize = 512;

/// A bounded byte buffer with the scanning helpers the line- and STX-framed decoders share.
/// Bit 7 is masked on entry (parity on 7-bit lines); the raw bytes are kept alongside.
#[derive(Debug, Clone, Default)]
pub(crate) struct ByteBuf {
    /// Masked bytes.
    pub data: Vec<u8>,
    /// Bytes as received.
    pub raw: Vec<u8>,
}

impl ByteBuf {
    /// Appends bytes, masking bit 7; counts high bits. If the buffer would exceed `MAX_BUFFER`,
    /// the oldest bytes are dropped (counted as skipped).
    pub fn extend(&mut self, bytes: &[u8], mask: bool, stats: &mut DecodeStats) {
        for &b in bytes {
            if b & 0x80 != 0 {
                stats.high_bit += 1;
            }
            self.data.push(if mask { b & 0x7F } else { b });
            self.raw.push(b);
        }
        if self.data.len() > MAX_BUFFER {
            let drop = self.data.len() - MAX_BUFFER;
            self.consume(drop);
            stats.skipped += drop as u64;
        }
    }

    /// Drops the first `n` bytes.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.data.len());
        self.data.drain(..n);
        self.raw.drain(..n);
    }

    /// Removes and returns the first `n` bytes as (masked, raw).
    pub fn take(&mut self, n: usize) -> (Vec<u8>, Vec<u8>) {
        let n = n.min(self.data.len());
        let masked = self.data.drain(..n).collect();
        let raw = self.raw.drain(..n).collect();
        (masked, raw)
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.data.clear();
        self.raw.clear();
    }

    /// Position of the first `b`, if any.
    pub fn find(&self, b: u8) -> Option<usize> {
        self.data.iter().position(|&x| x == b)
    }

    /// Takes the next line terminated by LF (CR before it stripped from the masked copy).
    /// Returns (masked line without CR/LF, raw bytes including the terminator).
    pub fn next_line(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        let lf = self.find(b'\n')?;
        let (mut line, raw) = self.take(lf + 1);
        line.pop();
        while line.last() == Some(&b'\r') {
            line.pop();
        }
        Some((line, raw))
    }
}

/// Parses two ASCII hex digits (either case) into a byte.
pub(crate) fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    fn nib(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'A'..=b'F' => Some(c - b'A' + 10),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    Some(nib(hi)? << 4 | nib(lo)?)
}

/// The two ASCII hex digits (upper case) of a byte.
pub(crate) fn hex_digits(b: u8) -> [u8; 2] {
    const D: &[u8; 16] = b"0123456789ABCDEF";
    [D[usize::from(b >> 4)], D[usize::from(b & 0x0F)]]
}

/// XOR of all bytes.
pub(crate) fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, &b| a ^ b)
}

/// Splits on runs of blanks.
pub(crate) fn tokens(line: &[u8]) -> Vec<&[u8]> {
    line.split(|&b| b == b' ' || b == b'\t')
        .filter(|t| !t.is_empty())
        .collect()
}
