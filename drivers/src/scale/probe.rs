//! Protocol and baud auto-probe. [`Prober`] is sans-IO: feed it what a port received at one
//! setting and it runs every serial decoder in parallel and scores them (frames that parse,
//! frames whose checksum verified). [`probe_port`] does the IO: for each common baud it opens
//! the port, sends the poll requests of the polled protocols in turn, listens, and stops at the
//! first setting that gives a confident answer.
//!
//! 7-bit lines: 7E1/7O1 have the same 10-bit character as 8N1, so listening at 8N1 sees the
//! parity in bit 7 (decoders mask it); the probe reports which parity the bytes carry.

use super::transport::{open_serial, DataBits, Parity, SerialSettings, TransportError};
use super::{Decoder, DecoderOptions, Frame, FrameDecoder, FrameKind, Polling, Protocol};
use serde::Serialize;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// How sure the probe is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// One frame, or a tie with another protocol.
    Low,
    /// A few frames, no checksum.
    Medium,
    /// Several frames with verified checksums, or many frames and a clear lead.
    High,
}

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    /// The protocol.
    pub protocol: Protocol,
    /// The line settings to use.
    pub settings: SerialSettings,
    /// Frames decoded in the listening window.
    pub frames: u64,
    /// Of which with a verified checksum.
    pub checksummed: u64,
    /// Frames dropped for a bad checksum.
    pub bad_checksum: u64,
    /// How sure.
    pub confidence: Confidence,
    /// The first decoded frame.
    pub sample: Option<Frame>,
    /// Runner-up protocols and their scores.
    pub others: Vec<(Protocol, u64)>,
}

/// Probe settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeOptions {
    /// Line settings other than baud/data bits/parity (flow control, timeouts).
    pub base: SerialSettings,
    /// Bauds to try, in order.
    pub bauds: Vec<u32>,
    /// Listening time per setting.
    pub listen_ms: u64,
    /// Interval between poll requests.
    pub request_interval_ms: u64,
    /// Protocols to consider.
    pub protocols: Vec<Protocol>,
    /// Decoder options (unit of unit-less protocols…).
    pub decoder: DecoderOptions,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            base: SerialSettings::default(),
            bauds: vec![9600, 4800, 2400, 1200, 19200, 38400],
            listen_ms: 1_200,
            request_interval_ms: 150,
            protocols: Protocol::serial().collect(),
            decoder: DecoderOptions::default(),
        }
    }
}

struct Candidate {
    protocol: Protocol,
    decoder: Decoder,
    score: u64,
    sample: Option<Frame>,
    frames: u64,
    checksummed: u64,
}

/// Protocols that share a decoder are told apart by the frame: XK3190 tF=0 frames carry the
/// sign right after STX, tF=1 replies the address letter.
fn belongs_to(p: Protocol, f: &Frame) -> bool {
    let second = f.raw.get(1).map(|b| b & 0x7F);
    match p {
        Protocol::Xk3190 => matches!(second, Some(b'+' | b'-')),
        Protocol::Xk3190Cmd => second.is_some_and(|b| b.is_ascii_uppercase()),
        _ => true,
    }
}

/// The sans-IO scorer.
pub struct Prober {
    candidates: Vec<Candidate>,
    bytes: u64,
    even_parity_bytes: u64,
    odd_parity_bytes: u64,
    high_bit_bytes: u64,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober")
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Prober {
    /// A scorer over the given protocols.
    pub fn new(protocols: &[Protocol], decoder: &DecoderOptions) -> Prober {
        Prober {
            candidates: protocols
                .iter()
                .map(|&p| Candidate {
                    protocol: p,
                    decoder: p.decoder(decoder),
                    score: 0,
                    sample: None,
                    frames: 0,
                    checksummed: 0,
                })
                .collect(),
            bytes: 0,
            even_parity_bytes: 0,
            odd_parity_bytes: 0,
            high_bit_bytes: 0,
        }
    }

    /// The poll requests to send in rotation (one per polled protocol).
    pub fn requests(protocols: &[Protocol]) -> Vec<Vec<u8>> {
        protocols
            .iter()
            .filter_map(|p| match p.polling() {
                Polling::Poll { request, .. } => Some(request),
                // One SI rather than starting a stream.
                Polling::Stream { .. } => {
                    Some(super::mt_sics::encode(&super::mt_sics::Command::Si))
                }
                Polling::Continuous => None,
            })
            .collect()
    }

    /// Feeds received bytes to every decoder.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.bytes += 1;
            if b & 0x80 != 0 {
                self.high_bit_bytes += 1;
            }
            if b.count_ones() % 2 == 0 {
                self.even_parity_bytes += 1;
            } else {
                self.odd_parity_bytes += 1;
            }
        }
        for c in &mut self.candidates {
            c.decoder.feed(bytes);
            loop {
                let before = c.decoder.stats().checksummed;
                let Some(f) = c.decoder.poll() else {
                    break;
                };
                if !belongs_to(c.protocol, &f) {
                    continue;
                }
                let checked = c.decoder.stats().checksummed > before;
                c.frames += 1;
                c.checksummed += u64::from(checked);
                c.score += match f.kind {
                    FrameKind::Weight | FrameKind::Overload | FrameKind::Underload => 4,
                    FrameKind::Ack => 2,
                    FrameKind::Error => 1,
                } + if checked { 4 } else { 0 };
                if c.sample.is_none() && f.kind == FrameKind::Weight {
                    c.sample = Some(f);
                }
            }
        }
    }

    /// The parity the bytes carry in bit 7, if they carry one.
    pub fn parity_hint(&self) -> Option<Parity> {
        if self.high_bit_bytes == 0 || self.bytes == 0 {
            return None;
        }
        if self.even_parity_bytes == self.bytes {
            Some(Parity::Even)
        } else if self.odd_parity_bytes == self.bytes {
            Some(Parity::Odd)
        } else {
            None
        }
    }

    /// The best protocol so far for bytes received at `settings`.
    pub fn best(&self, settings: SerialSettings) -> Option<ProbeResult> {
        let mut ranked: Vec<(u64, &Candidate)> = self
            .candidates
            .iter()
            .map(|c| (c.score, c))
            .filter(|(score, _)| *score >= 4)
            .collect();
        ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
        let (top, best) = *ranked.first()?;
        let runner_up = ranked.get(1).map_or(0, |r| r.0);
        let stats = best.decoder.stats();
        let confidence = if runner_up == top || best.frames < 2 {
            Confidence::Low
        } else if (best.checksummed >= 3 && stats.bad_checksum == 0)
            || (best.frames >= 5 && top >= 2 * runner_up)
        {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let mut settings = settings;
        if let Some(p) = self.parity_hint() {
            settings.data_bits = DataBits::Seven;
            settings.parity = p;
        }
        Some(ProbeResult {
            protocol: best.protocol,
            settings,
            frames: best.frames,
            checksummed: best.checksummed,
            bad_checksum: stats.bad_checksum,
            confidence,
            sample: best.sample.clone(),
            others: ranked
                .iter()
                .skip(1)
                .map(|(s, c)| (c.protocol, *s))
                .collect(),
        })
    }
}

/// The 8N1 setting at `baud` (8N1 also reads 7E1/7O1 lines: the prober reports the parity
/// bit 7 carries), the rest from `opts.base`.
pub fn probe_settings(opts: &ProbeOptions, baud: u32) -> SerialSettings {
    SerialSettings {
        baud,
        data_bits: DataBits::Eight,
        parity: Parity::None,
        ..opts.base
    }
}

/// Listens on `port` at `settings` for `opts.listen_ms`, sending the poll requests of
/// `opts.protocols` every `opts.request_interval_ms`; every chunk read is also handed to `tap`
/// (for a diagnostics page). Returns what the prober found there.
pub fn probe_at(
    port: &str,
    settings: SerialSettings,
    opts: &ProbeOptions,
    tap: &mut dyn FnMut(&[u8]),
) -> Result<Option<ProbeResult>, TransportError> {
    let requests = Prober::requests(&opts.protocols);
    let io = |op: &'static str, source: std::io::Error| TransportError::Io {
        port: port.to_owned(),
        op,
        source,
    };
    let mut link = open_serial(port, &settings)?;
    link.clear_input();
    let mut prober = Prober::new(&opts.protocols, &opts.decoder);
    let start = Instant::now();
    let mut next_request = Duration::ZERO;
    let mut turn = 0usize;
    let mut buf = [0u8; 256];
    while start.elapsed() < Duration::from_millis(opts.listen_ms) {
        if !requests.is_empty() && start.elapsed() >= next_request {
            if let Some(r) = requests.get(turn % requests.len()) {
                link.write_all(r)
                    .map_err(|e| io("write probe request", e))?;
            }
            turn += 1;
            next_request += Duration::from_millis(opts.request_interval_ms);
        }
        match link.read(&mut buf) {
            Ok(0) => {
                return Err(io(
                    "read while probing",
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "end of file (device removed)",
                    ),
                ))
            }
            Ok(n) => {
                let data = buf.get(..n).unwrap_or(&[]);
                tap(data);
                prober.feed(data);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => return Err(io("read while probing", e)),
        }
    }
    Ok(prober.best(settings))
}

/// Probes a port: tries each baud at 8N1 (which also reads 7E1/7O1), sending poll requests,
/// and returns the most confident finding (stopping early at a high-confidence one).
pub fn probe_port(port: &str, opts: &ProbeOptions) -> Result<Option<ProbeResult>, TransportError> {
    let mut best: Option<ProbeResult> = None;
    for &baud in &opts.bauds {
        if let Some(found) = probe_at(port, probe_settings(opts, baud), opts, &mut |_| {})? {
            let done = found.confidence == Confidence::High;
            if best
                .as_ref()
                .is_none_or(|b| (found.confidence, found.frames) > (b.confidence, b.frames))
            {
                best = Some(found);
            }
            if done {
                break;
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::weight::{Decimal, Unit};
    use crate::scale::{and_cas, mt_sics, toledo, xk3190};

    fn probe(bytes: &[u8]) -> Option<ProbeResult> {
        let protocols: Vec<Protocol> = Protocol::serial().collect();
        let mut p = Prober::new(&protocols, &DecoderOptions::default());
        p.feed(bytes);
        p.best(SerialSettings::default())
    }

    fn repeat(frame: &[u8], n: usize) -> Vec<u8> {
        let mut v = b"\x00\xffnoise".to_vec();
        for _ in 0..n {
            v.extend_from_slice(frame);
        }
        v
    }

    fn check(bytes: &[u8], protocol: Protocol, confidence: Confidence) {
        let r = probe(bytes).unwrap();
        assert_eq!((r.protocol, r.confidence), (protocol, confidence), "{r:?}");
    }

    #[test]
    fn recognises_each_stream() {
        let d = |s: &str| Decimal::parse(s).unwrap();
        check(
            &repeat(&xk3190::encode_stx(d("1.250")), 6),
            Protocol::Xk3190,
            Confidence::High,
        );
        check(
            &repeat(&xk3190::encode_reply(b'A', b'B', d("1.250")), 6),
            Protocol::Xk3190Cmd,
            Confidence::High,
        );
        check(
            &repeat(&xk3190::encode_a12(Some(d("1.250")), false, Unit::Kg), 6),
            Protocol::Xk3190A12,
            Confidence::High,
        );
        check(
            &repeat(&mt_sics::encode_weight(d("1.250"), Unit::Kg, true), 6),
            Protocol::MtSics,
            Confidence::High,
        );
        check(
            &repeat(&and_cas::encode(Some(d("1.25")), Unit::Kg, true, false), 6),
            Protocol::And,
            Confidence::High,
        );
        let spec = toledo::EncodeSpec {
            value: d("1.250"),
            tare: d("0.000"),
            unit: Unit::Kg,
            motion: false,
            net: false,
            out_of_range: false,
            zero_pad: false,
            checksum: true,
        };
        check(
            &repeat(&toledo::encode(&spec), 6),
            Protocol::Toledo,
            Confidence::High,
        );
        assert!(probe(b"\x00\x01random bytes with no frames at all\r\n").is_none());
    }

    #[test]
    fn one_frame_is_low_confidence() {
        check(
            &and_cas::encode(Some(Decimal::parse("1.25").unwrap()), Unit::Kg, true, false),
            Protocol::And,
            Confidence::Low,
        );
    }

    #[test]
    fn detects_parity() {
        let frame = and_cas::encode(Some(Decimal::parse("2.00").unwrap()), Unit::Kg, true, false);
        let even: Vec<u8> = repeat(&frame, 5)
            .iter()
            .skip(7)
            .map(|&b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b })
            .collect();
        let r = probe(&even).unwrap();
        assert_eq!(r.protocol, Protocol::And);
        assert_eq!(r.settings.to_string(), "9600 7E1");
    }

    #[test]
    fn requests_cover_polled_protocols() {
        let all: Vec<Protocol> = Protocol::serial().collect();
        let r = Prober::requests(&all);
        assert!(r.contains(&b"SI\r\n".to_vec()));
        assert!(r.contains(&b"\nW\r".to_vec()));
        assert!(r.contains(&b"W\r".to_vec()));
    }
}
