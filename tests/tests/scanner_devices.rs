#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Scanner transports end to end: a serial scanner over a pseudo-terminal, an evdev scanner
//! through uinput (skipped with a message where the kernel offers no uinput), HID-POS from
//! report bytes, and the opt-in hardware test for a real HID-POS scanner.

use drivers::scanner::hidpos::{encode_scan, HidPosDecoder};
use std::time::Duration;

/// Reports as a Honeywell scanner in HID-POS mode sends them for a GS1 DataMatrix with
/// 70 data bytes: two reports, the first with the continuation bit.
#[test]
fn hidpos_multi_report_scan_decodes_to_gs1() {
    let data = b"0106901234567892\x1d17271231\x1d10LOT-A1\x1d21SN0000000001\x1d91INTERNAL-0001-XYZ";
    let reports = encode_scan("]d2", data);
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0][63] & 1, 1);
    let mut dec = HidPosDecoder::default();
    assert!(dec.feed(&reports[0]).unwrap().is_none());
    let scan = dec.feed(&reports[1]).unwrap().unwrap();
    let info = domain::barcode::analyze(&scan.code);
    assert!(info.valid, "{info:?}");
    assert_eq!(info.symbology, Some("GS1 DataMatrix"));
    assert_eq!(info.gtin.as_deref(), Some("06901234567892"));
    let ais = info.ais.unwrap();
    assert_eq!(ais["17"], "271231");
    assert_eq!(ais["21"], "SN0000000001");
    assert_eq!(ais["91"], "INTERNAL-0001-XYZ");
}

/// Reports captured from a Honeywell Voyager 1602g in HID-POS mode answering `REVINF.`
/// (published in HenkVanAsselt/python_hon_usbhid): six `]X0` reports concatenated through
/// the continuation bit, then a separate `]Z6` report (the command echo with ACK).
const VOYAGER_REVINF: [[u8; 64]; 7] = [
    [
        2, 56, 93, 88, 48, 80, 114, 111, 100, 117, 99, 116, 32, 78, 97, 109, 101, 58, 32, 86, 111,
        121, 97, 103, 101, 114, 32, 49, 54, 48, 50, 103, 13, 10, 66, 111, 111, 116, 32, 82, 101,
        118, 105, 115, 105, 111, 110, 58, 32, 58, 32, 56, 57, 57, 50, 13, 10, 83, 111, 102, 116,
        63, 0, 1,
    ],
    [
        2, 56, 93, 88, 48, 119, 97, 114, 101, 32, 80, 97, 114, 116, 32, 78, 117, 109, 98, 101, 114,
        58, 32, 67, 87, 48, 48, 48, 48, 56, 50, 66, 66, 65, 13, 10, 83, 111, 102, 116, 119, 97,
        114, 101, 32, 82, 101, 118, 105, 115, 105, 111, 110, 58, 32, 36, 80, 114, 111, 106, 101,
        63, 0, 1,
    ],
    [
        2, 56, 93, 88, 48, 99, 116, 82, 101, 118, 105, 115, 105, 111, 110, 58, 32, 49, 54, 51, 52,
        53, 32, 13, 10, 83, 101, 114, 105, 97, 108, 32, 78, 117, 109, 98, 101, 114, 58, 32, 49, 53,
        50, 51, 50, 66, 49, 70, 48, 67, 13, 10, 83, 117, 112, 112, 111, 114, 116, 101, 100, 63, 0,
        1,
    ],
    [
        2, 56, 93, 88, 48, 32, 73, 70, 58, 32, 66, 108, 117, 101, 116, 111, 111, 116, 104, 13, 10,
        80, 67, 66, 32, 65, 115, 115, 101, 109, 98, 108, 121, 32, 73, 68, 58, 32, 48, 48, 48, 48,
        48, 48, 13, 10, 69, 110, 103, 105, 110, 101, 32, 70, 105, 114, 109, 119, 97, 114, 101, 63,
        0, 1,
    ],
    [
        2, 56, 93, 88, 48, 32, 84, 121, 112, 101, 58, 32, 78, 47, 65, 32, 32, 32, 82, 101, 118,
        105, 115, 105, 111, 110, 58, 32, 78, 47, 65, 32, 32, 32, 83, 101, 114, 105, 97, 108, 32,
        78, 117, 109, 98, 101, 114, 58, 32, 78, 47, 65, 32, 32, 32, 67, 104, 101, 99, 107, 115, 63,
        0, 1,
    ],
    [
        2, 9, 93, 88, 48, 117, 109, 58, 32, 78, 47, 65, 13, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 63, 0, 0,
    ],
    [
        2, 8, 93, 90, 54, 82, 69, 86, 73, 78, 70, 6, 46, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 54, 0, 0,
    ],
];

#[test]
fn hidpos_captured_honeywell_reports() {
    let mut dec = HidPosDecoder::default();
    let mut scans = Vec::new();
    for r in &VOYAGER_REVINF {
        if let Some(s) = dec.feed(r).unwrap() {
            scans.push(s);
        }
    }
    assert_eq!(scans.len(), 2);
    assert_eq!(scans[0].aim.as_deref(), Some("]X0"));
    assert_eq!(scans[0].reports, 6);
    assert_eq!(scans[0].data.len(), 5 * 56 + 9);
    assert!(scans[0]
        .data
        .starts_with("Product Name: Voyager 1602g\r\nBoot Revision: : 8992\r\n"));
    assert!(scans[0].data.contains("Serial Number: 15232B1F0C\r\n"));
    assert!(scans[0].data.ends_with("Checksum: N/A\r\n"));
    assert_eq!(scans[1].aim.as_deref(), Some("]Z6"));
    assert_eq!(scans[1].data, "REVINF\u{6}.");
    assert_eq!(scans[1].reports, 1);
}

/// A real HID-POS scanner: set `PACKBENCH_HW_HIDPOS=VID:PID` (hex) and scan a code within
/// 20 seconds. Ignored by default.
#[test]
#[ignore = "needs a HID-POS scanner: PACKBENCH_HW_HIDPOS=VID:PID"]
fn hardware_hidpos_scanner() {
    let Ok(ids) = std::env::var("PACKBENCH_HW_HIDPOS") else {
        println!("PACKBENCH_HW_HIDPOS not set: skipping");
        return;
    };
    let (v, p) = ids.split_once(':').unwrap();
    let vid = u16::from_str_radix(v, 16).unwrap();
    let pid = u16::from_str_radix(p, 16).unwrap();
    let mut r =
        drivers::scanner::hidpos::usb::HidPosReader::open(vid, pid, Default::default()).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_secs(20));
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let scan = r.next_scan(&stop).unwrap().expect("no scan within 20 s");
        println!("scanned {:?} ({} reports)", scan.code, scan.reports);
        assert!(!scan.data.is_empty());
    });
}

/// A serial scanner that cannot be opened is reported with its port, retried, and stops
/// promptly when asked.
#[test]
fn failing_serial_source_is_reported_and_stops() {
    use drivers::scanner::source::{spawn, SourceMessage, SourceOptions};
    let (tx, rx) = std::sync::mpsc::channel();
    let h = spawn(
        "serial:/nonexistent/ttyPACKBENCH".parse().unwrap(),
        SourceOptions::default(),
        std::time::Instant::now(),
        tx,
    )
    .unwrap();
    match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
        SourceMessage::Error(e) => {
            assert!(e.to_string().contains("/nonexistent/ttyPACKBENCH"), "{e}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let t = std::time::Instant::now();
    h.stop();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        t.elapsed()
    );
    assert!(matches!(
        rx.recv_timeout(Duration::from_secs(1)),
        Ok(SourceMessage::Ended)
    ));
}

#[cfg(unix)]
mod pty {
    use drivers::scanner::source::{spawn, SourceMessage, SourceOptions, SourceSpec};
    use serialport::{SerialPort, TTYPort};
    use std::io::Write;
    use std::time::{Duration, Instant};

    #[test]
    fn serial_scanner_over_a_pty_with_prefix_and_crlf() {
        let (mut master, slave) = TTYPort::pair().unwrap();
        let path = slave.name().unwrap();
        let mut options = SourceOptions::default();
        options.serial.terminator = "crlf".parse().unwrap();
        options.serial.prefix = vec![0x02];
        let (tx, rx) = std::sync::mpsc::channel();
        let spec: SourceSpec = format!("serial:{path}@9600").parse().unwrap();
        let handle = spawn(spec, options, Instant::now(), tx).unwrap();
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            SourceMessage::Connected { device } => assert_eq!(device, path),
            other => panic!("expected connected, got {other:?}"),
        }
        // Two scans, the second split across writes, with the AIM id kept.
        master
            .write_all(b"\x02]E06901230010002\r\n\x02]C10106901")
            .unwrap();
        master.flush().unwrap();
        std::thread::sleep(Duration::from_millis(30));
        master.write_all(b"234567892\x1d10LOT7\r\n").unwrap();
        master.flush().unwrap();
        let mut codes = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while codes.len() < 2 && Instant::now() < deadline {
            if let Ok(SourceMessage::Scan(s)) = rx.recv_timeout(Duration::from_millis(100)) {
                codes.push(s.code);
            }
        }
        handle.stop();
        drop(slave);
        assert_eq!(
            codes,
            ["]E06901230010002", "]C10106901234567892\u{1d}10LOT7"]
        );
        assert_eq!(
            domain::barcode::normalize_for_match(&codes[1]).unwrap(),
            "06901234567892"
        );
    }
}

#[cfg(target_os = "linux")]
mod uinput {
    use drivers::scanner::keymap::{code, us_keystrokes};
    use drivers::scanner::source::{spawn, SourceMessage, SourceOptions, SourceSpec};
    use evdev::uinput::VirtualDevice;
    use evdev::{AttributeSet, EventType, InputEvent, KeyCode};
    use std::time::{Duration, Instant};

    fn virtual_scanner(name: &str) -> Option<VirtualDevice> {
        if !std::path::Path::new("/dev/uinput").exists() {
            println!("SKIPPED: /dev/uinput does not exist here (no uinput in this kernel/container); evdev test not run");
            return None;
        }
        let mut keys = AttributeSet::<KeyCode>::new();
        for k in 1..=120u16 {
            keys.insert(KeyCode::new(k));
        }
        let built = VirtualDevice::builder()
            .and_then(|b| b.name(name).with_keys(&keys))
            .and_then(|b| b.build());
        match built {
            Ok(d) => Some(d),
            Err(e) => {
                println!("SKIPPED: cannot create a uinput device ({e}); evdev test not run");
                None
            }
        }
    }

    fn key(dev: &mut VirtualDevice, k: u16, value: i32) {
        dev.emit(&[InputEvent::new(EventType::KEY.0, k, value)])
            .unwrap();
    }

    #[test]
    fn evdev_scanner_through_uinput() {
        let Some(mut dev) = virtual_scanner("PackBench Test Scanner") else {
            return;
        };
        // Give udev a moment to create the node, then find it by name and grab it.
        std::thread::sleep(Duration::from_millis(300));
        let (tx, rx) = std::sync::mpsc::channel();
        let spec: SourceSpec = "evdev:name:PackBench Test Scanner".parse().unwrap();
        let h = spawn(spec, SourceOptions::default(), Instant::now(), tx).unwrap();
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            SourceMessage::Connected { .. } => {}
            SourceMessage::Error(e) => {
                println!("SKIPPED: uinput device not readable here ({e})");
                h.stop();
                return;
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = "]C10106901234567892";
        for (k, shift) in us_keystrokes(text) {
            if shift {
                key(&mut dev, code::LEFT_SHIFT, 1);
            }
            key(&mut dev, k, 1);
            key(&mut dev, k, 0);
            if shift {
                key(&mut dev, code::LEFT_SHIFT, 0);
            }
        }
        // GS as Ctrl+], then "10AB", then Enter.
        key(&mut dev, code::LEFT_CTRL, 1);
        key(&mut dev, code::RIGHT_BRACE, 1);
        key(&mut dev, code::RIGHT_BRACE, 0);
        key(&mut dev, code::LEFT_CTRL, 0);
        for (k, shift) in us_keystrokes("10AB") {
            if shift {
                key(&mut dev, code::LEFT_SHIFT, 1);
            }
            key(&mut dev, k, 1);
            key(&mut dev, k, 0);
            if shift {
                key(&mut dev, code::LEFT_SHIFT, 0);
            }
        }
        key(&mut dev, code::ENTER, 1);
        key(&mut dev, code::ENTER, 0);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = None;
        while got.is_none() && Instant::now() < deadline {
            if let Ok(SourceMessage::Scan(s)) = rx.recv_timeout(Duration::from_millis(100)) {
                got = Some(s.code);
            }
        }
        h.stop();
        assert_eq!(got.as_deref(), Some("]C10106901234567892\u{1d}10AB"));
    }
}
