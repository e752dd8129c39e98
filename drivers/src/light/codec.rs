//! Relay-board wire formats, sans-IO: one type per command that encodes bytes, and a decoder
//! for the Modbus RTU answers.
//!
//! * **LCUS** (the CH340 "LC USB switch" boards: LCUS-1/2/4/8, 9600 8N1): four bytes
//!   `A0 <channel> <state> <sum>`, channel 1-based, state `00` off / `01` on, `sum` the low byte
//!   of `A0 + channel + state` (channel 1 on: `A0 01 01 A2`, off: `A0 01 00 A1`). The board
//!   never answers.
//! * **Modbus RTU** (RS-485 and USB relay boards, function 05 / 0F): `05` write single coil
//!   `addr 05 coil_hi coil_lo FF|00 00 crc_lo crc_hi` (the board echoes the request), `0F` write
//!   multiple coils `addr 0F start_hi start_lo qty_hi qty_lo n bytes… crc` (the board answers
//!   `addr 0F start qty crc`), an exception is `addr fn|80 code crc`. CRC-16/MODBUS
//!   (polynomial 0xA001 reflected, initial 0xFFFF), low byte first. Relay N is coil N−1.
//! * **ASCII** (configurable boards): a text template per state with `{ch}` for the channel,
//!   e.g. `on = "AT+CH{ch}=1\r\n"`.
//!
//! Nothing here does IO or reads the clock; [`ModbusDecoder`] resynchronises on garbage and
//! never assumes one read is one answer.

use serde::Serialize;

/// LCUS start byte.
pub const LCUS_START: u8 = 0xA0;
/// Modbus function: write single coil.
pub const FN_WRITE_COIL: u8 = 0x05;
/// Modbus function: write multiple coils.
pub const FN_WRITE_COILS: u8 = 0x0F;
/// The value that switches a coil on with function 05.
pub const COIL_ON: u16 = 0xFF00;
/// The most bytes the Modbus decoder keeps while looking for an answer.
const MAX_BUFFERED: usize = 256;

/// CRC-16/MODBUS of `data`.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Appends the Modbus CRC (low byte first).
fn with_crc(mut frame: Vec<u8>) -> Vec<u8> {
    let crc = crc16(&frame);
    frame.extend_from_slice(&crc.to_le_bytes());
    frame
}

/// True when the last two bytes of `frame` are the CRC of the rest.
fn crc_ok(frame: &[u8]) -> bool {
    match frame.len().checked_sub(2) {
        Some(n) if n > 0 => {
            let (body, crc) = frame.split_at(n);
            crc == crc16(body).to_le_bytes()
        }
        _ => false,
    }
}

/// LCUS: switch one channel (1-based).
pub fn lcus(channel: u8, on: bool) -> [u8; 4] {
    let state = u8::from(on);
    [
        LCUS_START,
        channel,
        state,
        LCUS_START.wrapping_add(channel).wrapping_add(state),
    ]
}

/// Modbus RTU function 05: write one coil (0-based coil address).
pub fn modbus_write_coil(address: u8, coil: u16, on: bool) -> Vec<u8> {
    let [chi, clo] = coil.to_be_bytes();
    let [vhi, vlo] = if on { COIL_ON } else { 0 }.to_be_bytes();
    with_crc(vec![address, FN_WRITE_COIL, chi, clo, vhi, vlo])
}

/// Modbus RTU function 0F: write `states.len()` coils from `start` (bit 0 of the first data
/// byte is the coil at `start`). An empty slice writes nothing and gives `None`; so does more
/// than 1968 coils (the Modbus limit).
pub fn modbus_write_coils(address: u8, start: u16, states: &[bool]) -> Option<Vec<u8>> {
    if states.is_empty() || states.len() > 1968 {
        return None;
    }
    let qty = u16::try_from(states.len()).ok()?;
    let mut data = vec![0u8; states.len().div_ceil(8)];
    for (i, &on) in states.iter().enumerate() {
        if on {
            if let Some(byte) = data.get_mut(i / 8) {
                *byte |= 1 << (i % 8);
            }
        }
    }
    let mut frame = vec![address, FN_WRITE_COILS];
    frame.extend_from_slice(&start.to_be_bytes());
    frame.extend_from_slice(&qty.to_be_bytes());
    frame.push(u8::try_from(data.len()).ok()?);
    frame.extend_from_slice(&data);
    Some(with_crc(frame))
}

/// ASCII: the template with `{ch}` replaced by the channel number.
pub fn ascii(template: &str, channel: u8) -> Vec<u8> {
    template.replace("{ch}", &channel.to_string()).into_bytes()
}

/// A decoded Modbus answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModbusAnswer {
    /// Function 05 echo: the coil now has this state.
    CoilWritten {
        /// Slave address.
        address: u8,
        /// Coil (0-based).
        coil: u16,
        /// New state.
        on: bool,
    },
    /// Function 0F answer: `quantity` coils from `start` written.
    CoilsWritten {
        /// Slave address.
        address: u8,
        /// First coil.
        start: u16,
        /// How many.
        quantity: u16,
    },
    /// The board refused the request.
    Exception {
        /// Slave address.
        address: u8,
        /// The function refused (without the 0x80 bit).
        function: u8,
        /// Exception code (1 illegal function, 2 illegal address, 3 illegal value, 4 failure).
        code: u8,
    },
}

impl ModbusAnswer {
    /// The slave address that answered.
    pub fn address(&self) -> u8 {
        match self {
            ModbusAnswer::CoilWritten { address, .. }
            | ModbusAnswer::CoilsWritten { address, .. }
            | ModbusAnswer::Exception { address, .. } => *address,
        }
    }

    /// The function answered (exceptions: the function refused).
    pub fn function(&self) -> u8 {
        match self {
            ModbusAnswer::CoilWritten { .. } => FN_WRITE_COIL,
            ModbusAnswer::CoilsWritten { .. } => FN_WRITE_COILS,
            ModbusAnswer::Exception { function, .. } => *function,
        }
    }
}

/// The name of a Modbus exception code.
pub fn exception_name(code: u8) -> &'static str {
    match code {
        1 => "illegal function",
        2 => "illegal data address (no such relay)",
        3 => "illegal data value",
        4 => "slave device failure",
        5 => "acknowledge",
        6 => "slave device busy",
        _ => "unknown exception",
    }
}

/// Decodes Modbus RTU answers to 05/0F (and exceptions) from a byte stream. Bytes that do not
/// start a frame with a valid CRC are skipped one at a time (resynchronisation); the count of
/// skipped bytes is kept for diagnostics.
#[derive(Debug, Default)]
pub struct ModbusDecoder {
    buf: Vec<u8>,
    skipped: u64,
}

impl ModbusDecoder {
    /// An empty decoder.
    pub fn new() -> ModbusDecoder {
        ModbusDecoder::default()
    }

    /// Adds received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > MAX_BUFFERED {
            let drop = self.buf.len() - MAX_BUFFERED;
            self.buf.drain(..drop);
            self.skipped += drop as u64;
        }
    }

    /// Bytes skipped as garbage so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Forgets buffered bytes (after a reconnect).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The next complete answer, if any.
    pub fn poll(&mut self) -> Option<ModbusAnswer> {
        loop {
            let function = *self.buf.get(1)?;
            let len = if function & 0x80 != 0 {
                5
            } else if matches!(function, FN_WRITE_COIL | FN_WRITE_COILS) {
                8
            } else {
                self.skip();
                continue;
            };
            let frame = self.buf.get(..len)?;
            if !crc_ok(frame) {
                self.skip();
                continue;
            }
            let b = |i: usize| frame.get(i).copied().unwrap_or(0);
            let word = |i: usize| u16::from_be_bytes([b(i), b(i + 1)]);
            let answer = match function {
                FN_WRITE_COIL => match word(4) {
                    COIL_ON => Some(ModbusAnswer::CoilWritten {
                        address: b(0),
                        coil: word(2),
                        on: true,
                    }),
                    0 => Some(ModbusAnswer::CoilWritten {
                        address: b(0),
                        coil: word(2),
                        on: false,
                    }),
                    _ => None,
                },
                FN_WRITE_COILS => Some(ModbusAnswer::CoilsWritten {
                    address: b(0),
                    start: word(2),
                    quantity: word(4),
                }),
                f => Some(ModbusAnswer::Exception {
                    address: b(0),
                    function: f & 0x7F,
                    code: b(2),
                }),
            };
            match answer {
                Some(a) => {
                    self.buf.drain(..len);
                    return Some(a);
                }
                None => self.skip(),
            }
        }
    }

    fn skip(&mut self) {
        if !self.buf.is_empty() {
            self.buf.remove(0);
            self.skipped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect()
    }

    #[test]
    fn crc_matches_published_frames() {
        // Read holding register 0 of slave 1: "01 03 00 00 00 01 84 0A" (a relay board's
        // manual); write single coil 0 on/off of slave 1: the classic "8C 3A" / "CD CA".
        fn check(body: &str, expected: &str) {
            let frame = with_crc(hex(body));
            assert_eq!(frame, hex(&format!("{body} {expected}")), "{body}");
            assert!(crc_ok(&frame));
        }
        check("01 03 00 00 00 01", "84 0A");
        check("01 06 00 02 0f 0f", "6D FE");
        check("01 05 00 00 FF 00", "8C 3A");
        check("01 05 00 00 00 00", "CD CA");
    }

    #[test]
    fn lcus_frames() {
        fn check(ch: u8, on: bool, expected: &str) {
            assert_eq!(lcus(ch, on).to_vec(), hex(expected), "{ch} {on}");
        }
        check(1, true, "A0 01 01 A2");
        check(1, false, "A0 01 00 A1");
        check(2, true, "A0 02 01 A3");
        check(4, false, "A0 04 00 A4");
        check(0x60, true, "A0 60 01 01");
    }

    #[test]
    fn modbus_frames() {
        assert_eq!(
            modbus_write_coil(1, 0, true),
            hex("01 05 00 00 FF 00 8C 3A")
        );
        assert_eq!(
            modbus_write_coil(1, 0, false),
            hex("01 05 00 00 00 00 CD CA")
        );
        let f = modbus_write_coils(1, 0, &[true, false, true, true]).unwrap();
        assert_eq!(
            f.get(..8).unwrap(),
            hex("01 0F 00 00 00 04 01 0D").as_slice()
        );
        assert!(crc_ok(&f));
        let f = modbus_write_coils(2, 3, &[true; 9]).unwrap();
        assert_eq!(
            f.get(..9).unwrap(),
            hex("02 0F 00 03 00 09 02 FF 01").as_slice()
        );
        assert!(modbus_write_coils(1, 0, &[]).is_none());
    }

    #[test]
    fn ascii_template() {
        assert_eq!(ascii("AT+CH{ch}=1\r\n", 3), b"AT+CH3=1\r\n".to_vec());
        assert_eq!(ascii("on{ch}off{ch}", 12), b"on12off12".to_vec());
    }

    #[test]
    fn decoder_answers_resync_and_split_reads() {
        fn check(chunks: &[Vec<u8>], expected: &[ModbusAnswer]) {
            let mut d = ModbusDecoder::new();
            let mut got = Vec::new();
            for c in chunks {
                d.feed(c);
                got.extend(std::iter::from_fn(|| d.poll()));
            }
            assert_eq!(got, expected, "{chunks:02x?}");
            // Byte at a time gives the same answers.
            let mut d = ModbusDecoder::new();
            let mut got = Vec::new();
            for b in chunks.concat() {
                d.feed(&[b]);
                got.extend(std::iter::from_fn(|| d.poll()));
            }
            assert_eq!(got, expected, "bytewise {chunks:02x?}");
        }
        let echo_on = modbus_write_coil(1, 2, true);
        let ack = with_crc(hex("01 0F 00 00 00 04"));
        let exc = with_crc(hex("01 85 02"));
        let written = |coil, on| ModbusAnswer::CoilWritten {
            address: 1,
            coil,
            on,
        };
        check(std::slice::from_ref(&echo_on), &[written(2, true)]);
        check(
            &[
                hex("00 ff 13"),
                echo_on.clone(),
                hex("07"),
                ack.clone(),
                exc.clone(),
            ],
            &[
                written(2, true),
                ModbusAnswer::CoilsWritten {
                    address: 1,
                    start: 0,
                    quantity: 4,
                },
                ModbusAnswer::Exception {
                    address: 1,
                    function: 5,
                    code: 2,
                },
            ],
        );
        // A corrupted CRC is skipped; the next good frame still decodes.
        let mut bad = echo_on.clone();
        if let Some(last) = bad.last_mut() {
            *last ^= 0xFF;
        }
        check(&[bad, modbus_write_coil(1, 1, false)], &[written(1, false)]);
        // An incomplete answer waits.
        check(&[echo_on.get(..5).unwrap().to_vec()], &[]);
    }

    #[test]
    fn decoder_never_panics_and_bounds_its_buffer() {
        let mut d = ModbusDecoder::new();
        let mut x: u32 = 0x1234_5678;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            d.feed(&x.to_le_bytes());
            while d.poll().is_some() {}
        }
        assert!(d.buf.len() <= MAX_BUFFERED);
        assert!(d.skipped() > 0);
    }
}
