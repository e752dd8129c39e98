//! Snapshot tests of the TSPL and ZPL a template produces, plus checks of the command shapes
//! printers need. The snapshots are rendered without a font file (text measured by estimate,
//! CJK through the printer's resident fonts), so they do not depend on the machine's fonts.
//! Regenerate after an intended change with `UPDATE_SNAPSHOTS=1 cargo test --test labels_snapshots`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use labels::{Format, LabelData, Template};
use std::path::{Path, PathBuf};

const TEMPLATE: &str = r#"
name = "snapshot"
size = "100x150"
dpi = 203
gap_mm = 3
[tspl]
cjk_font = "TSS24.BF2"
density = 8
speed = 4
[zpl]
cjk_font = "E:SIMSUN.TTF"
darkness = 15
[[element]]
type = "text"
x = 0
y = 2
w = 100
h = 14
size = 10
bold = true
align = "center"
wrap = false
invert = true
text = "{{waybill.routing_code}}"
[[element]]
type = "text"
x = 3
y = 18
w = 94
h = 12
size = 4
max_lines = 2
text = "收：{{receiver.name}} {{receiver.full_address}}"
[[element]]
type = "line"
x1 = 0
y1 = 31
x2 = 100
y2 = 31
thickness = 0.5
[[element]]
type = "box"
x = 2
y = 33
w = 96
h = 30
thickness = 0.4
[[element]]
type = "barcode"
symbology = "code128"
x = 5
y = 35
w = 90
h = 15
align = "center"
data = "{{waybill.no}}"
[[element]]
type = "text"
x = 5
y = 51
w = 90
h = 5
size = 3.5
align = "right"
text = "say \"hi\" ^_~ {{weight_kg}}kg"
[[element]]
type = "barcode"
symbology = "gs1-128"
x = 5
y = 70
w = 90
h = 12
data = "(00){{extra.sscc}}"
[[element]]
type = "barcode"
symbology = "ean13"
x = 5
y = 85
w = 60
h = 12
data = "590123412345"
[[element]]
type = "barcode"
symbology = "qr"
x = 70
y = 85
w = 25
h = 25
data = "{{waybill.no}}"
"#;

fn data() -> LabelData {
    let mut d = LabelData::sample();
    d.extra.insert("sscc".into(), "376104250021234569".into());
    d
}

fn snapshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/labels_data")
        .join(name)
}

fn check_snapshot(name: &str, got: &[u8]) {
    let p = snapshot_path(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&p, got).unwrap();
        return;
    }
    let want = std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_SNAPSHOTS=1 to create it",
            p.display()
        )
    });
    if want != got {
        let g = String::from_utf8_lossy(got);
        let w = String::from_utf8_lossy(&want);
        for (i, (a, b)) in g.lines().zip(w.lines()).enumerate() {
            assert_eq!(a, b, "{name} line {}", i + 1);
        }
        panic!(
            "{name}: outputs differ in length ({} vs {} bytes)",
            got.len(),
            want.len()
        );
    }
}

fn render(format: Format) -> Vec<u8> {
    let t = Template::from_toml(TEMPLATE, "snapshot.toml", Path::new(".")).unwrap();
    let l = labels::layout(&t, &data(), None).unwrap();
    labels::render(&l, format, None, 2).unwrap()
}

#[test]
fn tspl_snapshot() {
    let out = render(Format::Tspl);
    check_snapshot("snapshot.tspl", &out);
    // Structure printers rely on: SIZE and GAP before CLS, CR LF endings, PRINT last.
    let text = encoding_rs::GB18030.decode(&out).0.to_string();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "SIZE 100 mm,150 mm");
    assert_eq!(lines[1], "GAP 3 mm,0 mm");
    let cls = lines.iter().position(|l| *l == "CLS").unwrap();
    assert!(lines[..cls].contains(&"DENSITY 8") && lines[..cls].contains(&"SPEED 4"));
    assert_eq!(lines[lines.len() - 2], "PRINT 1,2");
    assert_eq!(lines[lines.len() - 1], "");
    // Chinese goes out in GB18030 (收 = CA D5), never UTF-8.
    assert!(out.windows(2).any(|w| w == [0xCA, 0xD5]));
    assert!(!out.windows(3).any(|w| w == "收".as_bytes()));
    // Quotes are escaped the TSPL way.
    assert!(text.contains("say \\[\"]hi\\[\"] ^_~ 1.250kg"), "{text}");
    assert!(text.contains("\"EAN13\"") && text.contains("\"EAN128\"") && text.contains("QRCODE "));
    // The inverted routing code is drawn, then reversed.
    assert!(text.contains("REVERSE 0,16,800,112"), "{text}");
}

#[test]
fn zpl_snapshot() {
    let out = render(Format::Zpl);
    check_snapshot("snapshot.zpl", &out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("^XA\n^CI28\n^PW800\n^LL1200\n"));
    assert!(text.ends_with("^PQ2,0,1,Y\n^XZ\n"));
    // CJK through the configured resident font, in UTF-8.
    assert!(text.contains("^A@N,32,32,E:SIMSUN.TTF"), "{text}");
    assert!(text.contains("收：张三"));
    // Field data escapes.
    assert!(text.contains("say \"hi\" _5E_5F_7E 1.250kg"), "{text}");
    // GS1-128 in UCC/EAN mode, EAN-13 with 12 digits, QR model 2.
    assert!(
        text.contains(",N,N,N,D^FH_^FD(00)376104250021234569^FS"),
        "{text}"
    );
    assert!(text.contains("^BEN,96,N,N^FD590123412345^FS"), "{text}");
    assert!(text.contains("^BQN,2,"), "{text}");
    assert!(text.contains("~SD15"));
}

#[test]
fn zpl_without_a_resident_font_needs_the_bitmap_font() {
    let t = Template::from_toml(
        &TEMPLATE.replace("cjk_font = \"E:SIMSUN.TTF\"", ""),
        "snapshot.toml",
        Path::new("."),
    )
    .unwrap();
    let l = labels::layout(&t, &data(), None).unwrap();
    let err = labels::render(&l, Format::Zpl, None, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no CJK font is loaded"), "{err}");
}
