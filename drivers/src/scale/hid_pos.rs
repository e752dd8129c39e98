//! USB HID Point-of-Sale scales (usage page 0x8D: Dymo M5/M10/M25, Stamps.com, Fairbanks…).
//!
//! Data report as real devices send it (usbscale, QZ Tray, nio dymo_scale): 6 bytes
//! `[0x03 report id, status, unit, exponent (i8), weight LSB, weight MSB]`, weight =
//! `u16 × 10^exponent`. Status: 1 fault, 2 stable at zero, 3 in motion, 4 stable, 5 under zero,
//! 6 over the limit, 7 needs calibration, 8 needs re-zeroing. Units: 1 mg, 2 g, 3 kg, 4 ct,
//! 11 oz, 12 lb (others are reported without a unit).
//!
//! Choice for status 5 (the 16-bit value is a magnitude): the frame is `underload` and its value
//! is the magnitude negated, so `decode` shows the reading the display shows.
//!
//! Zero: output report `02 02` (Scale Control Report, bit 1 = Zero Scale).
//!
//! The decoder is pure; [`UsbScale`] is the rusb reader (hardware tests are opt-in).

use super::frame::{DecodeStats, Frame, FrameKind};
use super::weight::{Decimal, Unit};
use super::FrameDecoder;
use std::time::Duration;

/// Report id of the data report.
pub const DATA_REPORT_ID: u8 = 0x03;
/// Length of the data report, report id included.
pub const REPORT_LEN: usize = 6;
/// Output report that zeroes the scale.
pub const ZERO_REPORT: [u8; 2] = [0x02, 0x02];

/// Default USB ids (vendor, product, name), from erjiang/usbscale `scales.h`.
pub const KNOWN_SCALES: &[(u16, u16, &str)] = &[
    (0x0922, 0x8003, "DYMO M10 / 1772057 Digital Postal Scale"),
    (0x0922, 0x8004, "DYMO M25 Digital Postal Scale"),
    (0x0922, 0x8009, "DYMO S180 Portable Shipping Scale"),
    (0x1446, 0x6a73, "Stamps.com Model 510 5 lb Scale"),
    (0x2474, 0x0550, "Stamps.com Stainless Steel 5 lb Scale"),
    (0x2474, 0x3550, "Stamps.com Stainless Steel 35 lb Scale"),
    (0x7b7c, 0x0100, "USPS (Elane) PS311 UParcel 30 lb"),
    (0x0eb8, 0xf000, "Mettler Toledo PS60"),
    (0x6096, 0x0158, "SANFORD Dymo 10 lb USB Postal Scale"),
    (0x0b67, 0x555e, "Fairbanks Scales SCB-R9000"),
    (0x0d8f, 0x0200, "Pitney Bowes 10 lb 397-B"),
];

/// The unit of a HID-POS unit code.
pub fn unit_of(code: u8) -> Option<Unit> {
    match code {
        1 => Some(Unit::Mg),
        2 => Some(Unit::G),
        3 => Some(Unit::Kg),
        4 => Some(Unit::Ct),
        8 => Some(Unit::T),
        11 => Some(Unit::Oz),
        12 => Some(Unit::Lb),
        _ => None,
    }
}

/// The HID-POS unit code of a unit.
pub fn code_of(unit: Unit) -> u8 {
    match unit {
        Unit::Mg => 1,
        Unit::G => 2,
        Unit::Kg => 3,
        Unit::Ct => 4,
        Unit::T => 8,
        Unit::Oz => 11,
        Unit::Lb => 12,
    }
}

/// Decodes one 6-byte data report. `None` if it is not a data report.
pub fn decode_report(r: &[u8]) -> Option<Frame> {
    let [id, status, unit, exp, lo, hi] = *r else {
        return None;
    };
    if id != DATA_REPORT_ID || !(1..=8).contains(&status) || !(1..=12).contains(&unit) {
        return None;
    }
    let magnitude = i64::from(u16::from_le_bytes([lo, hi]));
    let exp = i32::from(i8::from_le_bytes([exp]));
    let value = Decimal {
        mantissa: magnitude,
        scale: 0,
    }
    .shifted(exp)?;
    let unit = unit_of(unit);
    let raw = r;
    Some(match status {
        1 => Frame::error("scale fault", raw),
        2 => Frame::weight(
            Decimal {
                mantissa: 0,
                scale: value.scale,
            },
            unit,
            Some(true),
            raw,
        ),
        3 => Frame::weight(value, unit, Some(false), raw),
        4 => Frame::weight(value, unit, Some(true), raw),
        5 => Frame {
            value: Some(Decimal {
                mantissa: -value.mantissa,
                ..value
            }),
            unit,
            ..Frame::new(FrameKind::Underload, raw)
        },
        6 => Frame {
            unit,
            ..Frame::new(FrameKind::Overload, raw)
        },
        7 => Frame::error("scale needs calibration", raw),
        _ => Frame::error("scale needs re-zeroing", raw),
    })
}

/// Encodes a data report (for the simulator and tests).
pub fn encode_report(status: u8, unit: Unit, value: Decimal) -> [u8; REPORT_LEN] {
    let exp = -i8::try_from(value.scale).unwrap_or(0);
    let m = u16::try_from(value.mantissa.unsigned_abs()).unwrap_or(u16::MAX);
    let [lo, hi] = m.to_le_bytes();
    [
        DATA_REPORT_ID,
        status,
        code_of(unit),
        exp.to_le_bytes()[0],
        lo,
        hi,
    ]
}

/// Decoder over a byte stream of concatenated 6-byte reports (as `decode --hex` gives them).
/// Resynchronises on a plausible report header.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    stats: DecodeStats,
}

impl Decoder {
    /// A new decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }
}

impl FrameDecoder for Decoder {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > super::frame::MAX_BUFFER {
            let drop = self.buf.len() - super::frame::MAX_BUFFER;
            self.buf.drain(..drop);
            self.stats.skipped += drop as u64;
        }
    }

    fn poll(&mut self) -> Option<Frame> {
        while self.buf.len() >= REPORT_LEN {
            if let Some(f) = self.buf.get(..REPORT_LEN).and_then(decode_report) {
                self.buf.drain(..REPORT_LEN);
                self.stats.frames += 1;
                return Some(f);
            }
            self.buf.drain(..1);
            self.stats.skipped += 1;
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

/// Errors of the USB reader.
#[derive(Debug, thiserror::Error)]
pub enum UsbError {
    /// libusb failed.
    #[error("USB scale {vid:04x}:{pid:04x}: {op}: {source}")]
    Usb {
        /// Vendor id.
        vid: u16,
        /// Product id.
        pid: u16,
        /// What was being done.
        op: &'static str,
        /// The libusb error.
        source: rusb::Error,
    },
    /// No matching device is plugged in.
    #[error("no USB HID scale found (looked for {0})")]
    NotFound(String),
    /// The device has no interrupt IN endpoint.
    #[error("USB scale {vid:04x}:{pid:04x}: no interrupt IN endpoint on interface 0")]
    NoEndpoint {
        /// Vendor id.
        vid: u16,
        /// Product id.
        pid: u16,
    },
}

/// An opened USB HID-POS scale (interface 0 claimed, kernel driver detached where supported).
pub struct UsbScale {
    handle: rusb::DeviceHandle<rusb::GlobalContext>,
    endpoint: u8,
    vid: u16,
    pid: u16,
}

impl std::fmt::Debug for UsbScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UsbScale({:04x}:{:04x} ep {:#04x})",
            self.vid, self.pid, self.endpoint
        )
    }
}

impl UsbScale {
    /// Opens the first plugged-in scale among `ids` (vendor, product); all [`KNOWN_SCALES`] when empty.
    pub fn open(ids: &[(u16, u16)]) -> Result<UsbScale, UsbError> {
        let wanted: Vec<(u16, u16)> = if ids.is_empty() {
            KNOWN_SCALES.iter().map(|(v, p, _)| (*v, *p)).collect()
        } else {
            ids.to_vec()
        };
        let list = rusb::devices().map_err(|source| UsbError::Usb {
            vid: 0,
            pid: 0,
            op: "list devices",
            source,
        })?;
        for device in list.iter() {
            let Ok(desc) = device.device_descriptor() else {
                continue;
            };
            let (vid, pid) = (desc.vendor_id(), desc.product_id());
            if !wanted.contains(&(vid, pid)) {
                continue;
            }
            let usb = |op: &'static str| {
                move |source| UsbError::Usb {
                    vid,
                    pid,
                    op,
                    source,
                }
            };
            let config = device
                .active_config_descriptor()
                .map_err(usb("read config"))?;
            let endpoint = config
                .interfaces()
                .next()
                .and_then(|i| i.descriptors().next())
                .and_then(|d| {
                    d.endpoint_descriptors().find(|e| {
                        e.direction() == rusb::Direction::In
                            && e.transfer_type() == rusb::TransferType::Interrupt
                    })
                })
                .map(|e| e.address())
                .ok_or(UsbError::NoEndpoint { vid, pid })?;
            let handle = device.open().map_err(usb("open"))?;
            // Not supported on every OS (e.g. Windows); then the WinUSB driver must be bound.
            let _ = handle.set_auto_detach_kernel_driver(true);
            handle
                .claim_interface(0)
                .map_err(usb("claim interface 0"))?;
            return Ok(UsbScale {
                handle,
                endpoint,
                vid,
                pid,
            });
        }
        let names: Vec<String> = wanted
            .iter()
            .map(|(v, p)| format!("{v:04x}:{p:04x}"))
            .collect();
        Err(UsbError::NotFound(names.join(", ")))
    }

    /// The device's (vendor, product) ids.
    pub fn ids(&self) -> (u16, u16) {
        (self.vid, self.pid)
    }

    /// Reads one report, normalised to 6 bytes with the report id. `Ok(None)` on timeout.
    pub fn read_report(&self, timeout: Duration) -> Result<Option<[u8; REPORT_LEN]>, UsbError> {
        let mut buf = [0u8; 64];
        match self.handle.read_interrupt(self.endpoint, &mut buf, timeout) {
            Ok(n) => Ok(normalise(buf.get(..n).unwrap_or(&[]))),
            Err(rusb::Error::Timeout) => Ok(None),
            Err(source) => Err(UsbError::Usb {
                vid: self.vid,
                pid: self.pid,
                op: "read report",
                source,
            }),
        }
    }

    /// Sends an output report with SET_REPORT on the control pipe (e.g. [`ZERO_REPORT`]).
    pub fn send_report(&self, report: &[u8]) -> Result<(), UsbError> {
        let id = u16::from(report.first().copied().unwrap_or(0));
        // bmRequestType: host-to-device, class, interface; bRequest 0x09 SET_REPORT;
        // wValue: report type 2 (output) << 8 | report id.
        self.handle
            .write_control(
                0x21,
                0x09,
                (2 << 8) | id,
                0,
                report,
                Duration::from_millis(500),
            )
            .map(|_| ())
            .map_err(|source| UsbError::Usb {
                vid: self.vid,
                pid: self.pid,
                op: "send output report",
                source,
            })
    }
}

/// Normalises a report read from a HID API: with the id (6 bytes) or without it (5 bytes).
pub fn normalise(r: &[u8]) -> Option<[u8; REPORT_LEN]> {
    match r.len() {
        n if n >= REPORT_LEN && r.first() == Some(&DATA_REPORT_ID) => {
            let mut out = [0u8; REPORT_LEN];
            out.copy_from_slice(r.get(..REPORT_LEN)?);
            Some(out)
        }
        5 => {
            let mut out = [DATA_REPORT_ID; REPORT_LEN];
            out.get_mut(1..)?.copy_from_slice(r);
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::test_util::{decode_all, summary};

    fn check(hex_text: &str, expected: &[&str]) {
        let bytes = hex::decode(hex_text.replace(' ', "")).unwrap();
        let got: Vec<String> = decode_all(&mut Decoder::new(), &bytes)
            .iter()
            .map(summary)
            .collect();
        assert_eq!(got, expected, "{hex_text}");
    }

    #[test]
    fn reports() {
        // The reference example: 35.6 oz stable.
        check(
            "03 04 0b ff 64 01",
            &["weight 35.6 oz stable=true net=null"],
        );
        check("03 02 0b ff 00 00", &["weight 0.0 oz stable=true net=null"]);
        check(
            "03 03 02 00 e8 03",
            &["weight 1000 g stable=false net=null"],
        );
        check(
            "03 04 02 00 39 30",
            &["weight 12345 g stable=true net=null"],
        );
        check(
            "03 04 0c fe 2c 01",
            &["weight 3.00 lb stable=true net=null"],
        );
        check("03 05 02 00 0a 00", &["underload"]);
        check("03 06 0b ff 00 00", &["overload"]);
        check("03 01 02 00 00 00", &["error scale fault"]);
        check("03 07 02 00 00 00", &["error scale needs calibration"]);
        check("03 08 02 00 00 00", &["error scale needs re-zeroing"]);
        // Garbage and a non-data report before a data report.
        check(
            "ff 02 02 03 09 00 03 04 02 00 64 00",
            &["weight 100 g stable=true net=null"],
        );
    }

    #[test]
    fn underload_value_is_negated() {
        let f = decode_report(&[3, 5, 2, 0, 10, 0]).unwrap();
        assert_eq!(f.value.unwrap().to_string(), "-10");
    }

    #[test]
    fn normalises_and_encodes() {
        assert_eq!(
            normalise(&[4, 11, 0xff, 0x64, 1]),
            Some([3, 4, 11, 0xff, 0x64, 1])
        );
        assert_eq!(
            normalise(&[3, 4, 11, 0xff, 0x64, 1, 0, 0]),
            Some([3, 4, 11, 0xff, 0x64, 1])
        );
        assert_eq!(normalise(&[1, 2]), None);
        assert_eq!(
            encode_report(4, Unit::Oz, Decimal::parse("35.6").unwrap()),
            [3, 4, 11, 0xff, 0x64, 1]
        );
    }

    /// Opt-in hardware test: `PACKBENCH_HW_HID_SCALE=1 cargo test -p packbench-drivers -- --ignored`.
    #[test]
    #[ignore = "needs a USB HID scale; set PACKBENCH_HW_HID_SCALE=1"]
    fn reads_a_real_scale() {
        if std::env::var_os("PACKBENCH_HW_HID_SCALE").is_none() {
            return;
        }
        let scale = UsbScale::open(&[]).unwrap();
        let mut got = None;
        for _ in 0..20 {
            if let Some(r) = scale.read_report(Duration::from_millis(500)).unwrap() {
                got = decode_report(&r);
                break;
            }
        }
        assert!(got.is_some(), "no report from {scale:?}");
    }
}
