//! USB HID-POS barcode scanner reports (usage page 0x8C), sans-IO, plus a rusb reader.
//!
//! Report layout of Honeywell and Access-IS devices (the default [`HidPosLayout`]):
//!
//! | byte | content |
//! |---|---|
//! | 0 | report id `0x02` |
//! | 1 | number of data bytes in this report (AIM id excluded) |
//! | 2..5 | AIM symbology id, e.g. `]C1` |
//! | 5..61 | data, up to 56 bytes, NUL-padded |
//! | 61 | vendor symbology code |
//! | 62 | reserved |
//! | 63 | bit 0 = 1: more reports follow |
//!
//! A scan longer than one report is concatenated until a report with the continuation
//! bit clear. Offsets vary by vendor, so the layout is configuration.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Byte offsets of a vendor's scanned-data report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HidPosLayout {
    /// Report id of the scanned-data input report.
    pub report_id: u8,
    /// Offset of the data-length byte.
    pub len_offset: usize,
    /// Offset of the 3-byte AIM id (`None` when the device does not send one).
    pub aim_offset: Option<usize>,
    /// Offset of the first data byte.
    pub data_offset: usize,
    /// Most data bytes in one report.
    pub data_max: usize,
    /// Offset of the byte whose bit 0 means "more reports follow".
    pub continuation_offset: usize,
    /// Report size in bytes.
    pub report_len: usize,
}

impl Default for HidPosLayout {
    fn default() -> Self {
        Self {
            report_id: 0x02,
            len_offset: 1,
            aim_offset: Some(2),
            data_offset: 5,
            data_max: 56,
            continuation_offset: 63,
            report_len: 64,
        }
    }
}

/// A malformed report.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HidPosError {
    /// Shorter than the layout needs.
    #[error("report of {len} bytes, expected {expected}")]
    Short {
        /// Bytes received.
        len: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// The length byte claims more data than the report holds.
    #[error("length byte {len} exceeds the {max} data bytes of a report")]
    Length {
        /// The length byte.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A scan exceeded the concatenation limit (a stuck continuation bit).
    #[error("scan longer than {max} bytes across reports")]
    TooLong {
        /// The limit.
        max: usize,
    },
}

/// A complete scan decoded from one or more reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HidScan {
    /// The AIM id (`]C1`) when the device sent one.
    pub aim: Option<String>,
    /// The data bytes (lossy UTF-8).
    pub data: String,
    /// AIM id followed by data: the code as a wedge or serial scanner would send it.
    pub code: String,
    /// Number of reports concatenated.
    pub reports: usize,
}

/// Most bytes concatenated into one scan.
pub const MAX_SCAN_BYTES: usize = 8192;

/// The report decoder.
#[derive(Debug, Clone, Default)]
pub struct HidPosDecoder {
    layout: HidPosLayout,
    aim: Option<String>,
    data: Vec<u8>,
    reports: usize,
}

impl HidPosDecoder {
    /// A decoder for the given layout.
    pub fn new(layout: HidPosLayout) -> Self {
        Self {
            layout,
            ..Self::default()
        }
    }

    /// Feed one input report. Reports with another report id are ignored (`Ok(None)`).
    /// Returns the scan when the report completes one.
    pub fn feed(&mut self, report: &[u8]) -> Result<Option<HidScan>, HidPosError> {
        let l = &self.layout;
        let needed = l.continuation_offset.max(l.data_offset).max(l.len_offset) + 1;
        if report.len() < needed {
            return Err(HidPosError::Short {
                len: report.len(),
                expected: needed,
            });
        }
        if report[0] != l.report_id {
            return Ok(None);
        }
        let len = usize::from(report[l.len_offset]);
        let avail = l.data_max.min(report.len() - l.data_offset);
        if len > avail {
            self.reset();
            return Err(HidPosError::Length { len, max: avail });
        }
        if self.reports == 0 {
            self.aim = l
                .aim_offset
                .and_then(|o| report.get(o..o + 3))
                .filter(|a| a[0] == b']')
                .map(|a| String::from_utf8_lossy(a).into_owned());
        }
        self.data
            .extend_from_slice(&report[l.data_offset..l.data_offset + len]);
        self.reports += 1;
        if self.data.len() > MAX_SCAN_BYTES {
            self.reset();
            return Err(HidPosError::TooLong {
                max: MAX_SCAN_BYTES,
            });
        }
        if report[l.continuation_offset] & 1 == 1 {
            return Ok(None);
        }
        let data = String::from_utf8_lossy(&self.data).into_owned();
        let aim = self.aim.take();
        let code = format!("{}{data}", aim.as_deref().unwrap_or(""));
        let scan = HidScan {
            aim,
            data,
            code,
            reports: self.reports,
        };
        self.reset();
        Ok(Some(scan))
    }

    /// Forget a partial scan (after a read error or a device reset).
    pub fn reset(&mut self) {
        self.aim = None;
        self.data.clear();
        self.reports = 0;
    }
}

/// Build a report in the default layout (for tests, the simulator and `decode-hid` examples).
pub fn encode_report(aim: &str, data: &[u8], more: bool) -> Vec<u8> {
    let l = HidPosLayout::default();
    let mut r = vec![0u8; l.report_len];
    r[0] = l.report_id;
    let n = data.len().min(l.data_max);
    r[1] = u8::try_from(n).unwrap_or(u8::MAX);
    for (i, b) in aim.bytes().take(3).enumerate() {
        r[2 + i] = b;
    }
    r[l.data_offset..l.data_offset + n].copy_from_slice(&data[..n]);
    r[l.continuation_offset] = u8::from(more);
    r
}

/// Split a scan into default-layout reports (56 data bytes each).
pub fn encode_scan(aim: &str, data: &[u8]) -> Vec<Vec<u8>> {
    let l = HidPosLayout::default();
    if data.is_empty() {
        return vec![encode_report(aim, data, false)];
    }
    let chunks: Vec<&[u8]> = data.chunks(l.data_max).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| encode_report(aim, c, i < last))
        .collect()
}

/// The rusb reader: opens the first device with the VID/PID, claims its HID interface and
/// reads interrupt IN reports on the calling thread.
pub mod usb {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::{HidPosDecoder, HidPosLayout, HidScan};
    use crate::scanner::ScannerError;

    /// Interrupt read timeout: also how often the stop flag is checked.
    pub const READ_TIMEOUT: Duration = Duration::from_millis(200);

    /// An opened HID-POS scanner.
    pub struct HidPosReader {
        handle: rusb::DeviceHandle<rusb::Context>,
        endpoint: u8,
        interface: u8,
        vid: u16,
        pid: u16,
        decoder: HidPosDecoder,
    }

    impl std::fmt::Debug for HidPosReader {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "HidPosReader({:04x}:{:04x} ep {:#04x})",
                self.vid, self.pid, self.endpoint
            )
        }
    }

    impl HidPosReader {
        /// Open the first device with this VID/PID and claim its HID interface.
        pub fn open(vid: u16, pid: u16, layout: HidPosLayout) -> Result<Self, ScannerError> {
            use rusb::UsbContext;
            let usb = |source| ScannerError::Usb { vid, pid, source };
            let ctx = rusb::Context::new().map_err(usb)?;
            let handle =
                ctx.open_device_with_vid_pid(vid, pid)
                    .ok_or_else(|| ScannerError::NotFound {
                        what: format!("USB {vid:04x}:{pid:04x}"),
                    })?;
            let device = handle.device();
            let config = device.active_config_descriptor().map_err(usb)?;
            let mut found = None;
            for iface in config.interfaces() {
                for desc in iface.descriptors() {
                    if desc.class_code() != 3 {
                        continue; // not HID
                    }
                    for ep in desc.endpoint_descriptors() {
                        if ep.direction() == rusb::Direction::In
                            && ep.transfer_type() == rusb::TransferType::Interrupt
                        {
                            found = Some((desc.interface_number(), ep.address()));
                        }
                    }
                }
            }
            let (interface, endpoint) = found.ok_or_else(|| ScannerError::NotFound {
                what: format!("HID interrupt IN endpoint on {vid:04x}:{pid:04x}"),
            })?;
            // Auto-detach is not supported everywhere (e.g. Windows): not an error there.
            let _ = handle.set_auto_detach_kernel_driver(true);
            handle.claim_interface(interface).map_err(usb)?;
            Ok(Self {
                handle,
                endpoint,
                interface,
                vid,
                pid,
                decoder: HidPosDecoder::new(layout),
            })
        }

        /// Read reports until a scan completes, `stop` is set (`Ok(None)`) or USB fails.
        pub fn next_scan(&mut self, stop: &AtomicBool) -> Result<Option<HidScan>, ScannerError> {
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                match self
                    .handle
                    .read_interrupt(self.endpoint, &mut buf, READ_TIMEOUT)
                {
                    Ok(n) => match self.decoder.feed(&buf[..n]) {
                        Ok(Some(scan)) => return Ok(Some(scan)),
                        Ok(None) => {}
                        Err(e) => return Err(ScannerError::HidReport(e)),
                    },
                    Err(rusb::Error::Timeout) => {}
                    Err(source) => {
                        self.decoder.reset();
                        return Err(ScannerError::Usb {
                            vid: self.vid,
                            pid: self.pid,
                            source,
                        });
                    }
                }
            }
            Ok(None)
        }
    }

    impl Drop for HidPosReader {
        fn drop(&mut self) {
            let _ = self.handle.release_interface(self.interface);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Honeywell-style report captured as hex (report id 02, 13 data bytes, `]E0`).
    const EAN_REPORT: &str = "020d5d453036393031323334353637383932000000000000000000000000000000000000000000000000000000000000000000000000000000000000003f0000";

    fn hexr(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn single_report() {
        let mut d = HidPosDecoder::default();
        let scan = d.feed(&hexr(EAN_REPORT)).unwrap().unwrap();
        assert_eq!(scan.aim.as_deref(), Some("]E0"));
        assert_eq!(scan.data, "6901234567892");
        assert_eq!(scan.code, "]E06901234567892");
        assert_eq!(scan.reports, 1);
    }

    #[test]
    fn multi_report_concatenation() {
        let data: Vec<u8> = (0..130u8).map(|i| b'A' + i % 26).collect();
        let reports = encode_scan("]Q1", &data);
        assert_eq!(reports.len(), 3);
        let mut d = HidPosDecoder::default();
        assert_eq!(d.feed(&reports[0]).unwrap(), None);
        assert_eq!(d.feed(&reports[1]).unwrap(), None);
        let scan = d.feed(&reports[2]).unwrap().unwrap();
        assert_eq!(scan.data.as_bytes(), data.as_slice());
        assert_eq!(scan.aim.as_deref(), Some("]Q1"));
        assert_eq!(scan.reports, 3);
        // The decoder is ready for the next scan.
        assert_eq!(d.feed(&hexr(EAN_REPORT)).unwrap().unwrap().reports, 1);
    }

    #[test]
    fn gs1_with_group_separator() {
        let reports = encode_scan("]C1", b"0106901234567892\x1d10ABC");
        let mut d = HidPosDecoder::default();
        let scan = d.feed(&reports[0]).unwrap().unwrap();
        assert_eq!(scan.code, "]C10106901234567892\u{1d}10ABC");
    }

    #[test]
    fn malformed_reports() {
        let mut d = HidPosDecoder::default();
        assert_eq!(
            d.feed(&[2, 1, 2]),
            Err(HidPosError::Short {
                len: 3,
                expected: 64
            })
        );
        let mut r = encode_report("]E0", b"1", false);
        r[1] = 60;
        assert_eq!(d.feed(&r), Err(HidPosError::Length { len: 60, max: 56 }));
        let mut other = encode_report("]E0", b"1", false);
        other[0] = 0x04;
        assert_eq!(d.feed(&other), Ok(None));
        let stuck = encode_report("]X0", &[b'Z'; 56], true);
        let mut err = None;
        for _ in 0..200 {
            if let Err(e) = d.feed(&stuck) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(
            err,
            Some(HidPosError::TooLong {
                max: MAX_SCAN_BYTES
            })
        );
    }

    #[test]
    fn no_aim_layout() {
        let layout = HidPosLayout {
            aim_offset: None,
            ..HidPosLayout::default()
        };
        let mut d = HidPosDecoder::new(layout);
        let scan = d
            .feed(&encode_report("]E0", b"12345", false))
            .unwrap()
            .unwrap();
        assert_eq!(scan.aim, None);
        assert_eq!(scan.code, "12345");
    }
}
