//! Serial scanner framing (sans-IO): ASCII data followed by a configurable terminator
//! (CR, LF, CR LF, or any of them), an optional configured prefix (e.g. STX), an optional
//! AIM symbology id that stays part of the code.
//!
//! Bytes are fed as they arrive; a read may hold half a frame or several frames. A frame
//! longer than `max_len` is discarded (garbage on the line) and framing resumes at the next
//! terminator. Frames that are not valid UTF-8 are decoded lossily (the domain then rejects
//! the replacement characters with a position).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// How frames end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Terminator {
    /// Carriage return (0x0D).
    Cr,
    /// Line feed (0x0A).
    Lf,
    /// CR followed by LF.
    CrLf,
    /// CR, LF or CR LF (an empty frame between CR and LF is ignored).
    #[default]
    Any,
}

impl std::str::FromStr for Terminator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cr" => Ok(Self::Cr),
            "lf" => Ok(Self::Lf),
            "crlf" | "cr+lf" | "cr lf" => Ok(Self::CrLf),
            "any" => Ok(Self::Any),
            other => Err(format!(
                "unknown terminator {other:?} (cr, lf, crlf or any)"
            )),
        }
    }
}

/// Serial scanner settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SerialScannerConfig {
    /// Baud rate.
    pub baud: u32,
    /// Frame terminator.
    pub terminator: Terminator,
    /// Bytes the scanner sends before the data (removed when present), e.g. `[0x02]`.
    pub prefix: Vec<u8>,
    /// Longest acceptable frame in bytes.
    pub max_len: usize,
}

/// Default longest frame (a GS1 DataMatrix can carry a few hundred characters).
pub const DEFAULT_MAX_FRAME: usize = 4096;

impl Default for SerialScannerConfig {
    fn default() -> Self {
        Self {
            baud: 9600,
            terminator: Terminator::Any,
            prefix: Vec::new(),
            max_len: DEFAULT_MAX_FRAME,
        }
    }
}

/// The framing state machine.
#[derive(Debug, Clone)]
pub struct SerialFramer {
    config: SerialScannerConfig,
    buf: Vec<u8>,
    pending_cr: bool,
    overflow: bool,
    frames: VecDeque<String>,
    discarded: u64,
}

impl SerialFramer {
    /// A framer with the given settings.
    pub fn new(config: SerialScannerConfig) -> Self {
        Self {
            config,
            buf: Vec::new(),
            pending_cr: false,
            overflow: false,
            frames: VecDeque::new(),
            discarded: 0,
        }
    }

    /// Number of over-long frames discarded.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    fn end_frame(&mut self) {
        let raw = std::mem::take(&mut self.buf);
        if std::mem::take(&mut self.overflow) {
            self.discarded += 1;
            return;
        }
        let data = raw
            .strip_prefix(self.config.prefix.as_slice())
            .filter(|_| !self.config.prefix.is_empty())
            .unwrap_or(&raw);
        if !data.is_empty() {
            self.frames
                .push_back(String::from_utf8_lossy(data).into_owned());
        }
    }

    fn push_byte(&mut self, b: u8) {
        if self.buf.len() >= self.config.max_len {
            self.overflow = true;
        } else {
            self.buf.push(b);
        }
    }

    /// Feed bytes as read from the port.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match (self.config.terminator, b) {
                (Terminator::Cr, b'\r') | (Terminator::Lf, b'\n') => self.end_frame(),
                (Terminator::Any, b'\r') => {
                    self.end_frame();
                    self.pending_cr = true;
                    continue;
                }
                (Terminator::Any, b'\n') => {
                    if !self.pending_cr {
                        self.end_frame();
                    }
                }
                (Terminator::CrLf, b'\n') if self.pending_cr => self.end_frame(),
                (Terminator::CrLf, b'\r') => {
                    if self.pending_cr {
                        self.push_byte(b'\r');
                    }
                    self.pending_cr = true;
                    continue;
                }
                (Terminator::CrLf, _) => {
                    if self.pending_cr {
                        self.push_byte(b'\r');
                    }
                    self.push_byte(b);
                }
                _ => self.push_byte(b),
            }
            self.pending_cr = false;
        }
    }

    /// The next complete frame.
    pub fn poll(&mut self) -> Option<String> {
        self.frames.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(term: Terminator, prefix: &[u8], chunks: &[&[u8]], expected: &[&str]) {
        let mut f = SerialFramer::new(SerialScannerConfig {
            terminator: term,
            prefix: prefix.to_vec(),
            max_len: 32,
            ..SerialScannerConfig::default()
        });
        let mut got = Vec::new();
        for c in chunks {
            f.feed(c);
            while let Some(s) = f.poll() {
                got.push(s);
            }
        }
        assert_eq!(got, expected, "{term:?} {chunks:?}");
    }

    #[test]
    fn framing() {
        check(
            Terminator::Cr,
            b"",
            &[b"]E06901234567892\r"],
            &["]E06901234567892"],
        );
        check(Terminator::Cr, b"", &[b"ABC\rDEF", b"\r"], &["ABC", "DEF"]);
        check(Terminator::Lf, b"", &[b"AB", b"C\nD\n"], &["ABC", "D"]);
        check(
            Terminator::CrLf,
            b"",
            &[b"ABC\r", b"\nDEF\r\n"],
            &["ABC", "DEF"],
        );
        check(Terminator::CrLf, b"", &[b"A\rB\r\n"], &["A\rB"]);
        check(
            Terminator::Any,
            b"",
            &[b"A\r\nB\nC\r", b"\nD\r"],
            &["A", "B", "C", "D"],
        );
        check(Terminator::Any, b"", &[b"\r\n\r\n"], &[]);
        check(
            Terminator::Cr,
            b"\x02",
            &[b"\x02]C1010690123456789\x1d10X\r"],
            &["]C1010690123456789\u{1d}10X"],
        );
        check(Terminator::Cr, b"\x02", &[b"NOPREFIX\r"], &["NOPREFIX"]);
        // An over-long frame is dropped; framing resumes after its terminator.
        check(Terminator::Cr, b"", &[&[b'X'; 40], b"\rOK\r"], &["OK"]);
        check(
            Terminator::Cr,
            b"",
            &[b"\xff\xfeA\r"],
            &["\u{fffd}\u{fffd}A"],
        );
    }

    #[test]
    fn terminator_from_str() {
        assert_eq!("CRLF".parse::<Terminator>(), Ok(Terminator::CrLf));
        assert_eq!("cr".parse::<Terminator>(), Ok(Terminator::Cr));
        assert!("nul".parse::<Terminator>().is_err());
    }
}
