//! Labels read back by tools no one here wrote: the PDF is rasterised by poppler's `pdftoppm`
//! and every barcode is decoded by zbar's `zbarimg`; `pdffonts` must show the CJK font
//! embedded as a subset; Data Matrix is read by libdmtx's `dmtxread`. Tests that need a tool skip
//! with a message when it is missing (`apt-get install poppler-utils zbar-tools dmtx-utils
//! fonts-noto-cjk`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use labels::template::{Dpi, LabelSize};
use labels::{FontConfig, Fonts, Format, LabelData, Template};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-v")
        .output()
        .map(|_| true)
        .unwrap_or(false)
}

fn fonts() -> Option<&'static Fonts> {
    static F: OnceLock<Option<Fonts>> = OnceLock::new();
    F.get_or_init(|| match Fonts::load(&FontConfig::default()) {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    })
    .as_ref()
}

fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../labels/templates")
}

/// A template with every symbology and CJK text.
const ALL_CODES: &str = r#"
name = "all-codes"
size = "100x150"
dpi = 203
[[element]]
type = "text"
x = 4
y = 3
w = 92
h = 8
size = 5
bold = true
text = "收件人：{{receiver.name}} {{receiver.city}}"
[[element]]
type = "barcode"
symbology = "code128"
x = 5
y = 14
w = 90
h = 16
data = "{{waybill.no}}"
[[element]]
type = "barcode"
symbology = "gs1-128"
x = 5
y = 36
w = 90
h = 16
data = "(00){{extra.sscc}}(420){{receiver.postcode}}"
[[element]]
type = "barcode"
symbology = "ean13"
x = 10
y = 58
w = 70
h = 18
data = "{{extra.gtin}}"
[[element]]
type = "barcode"
symbology = "qr"
x = 30
y = 84
w = 40
h = 40
data = "{{order.no}}|{{waybill.no}}"
"#;

fn sample() -> LabelData {
    let mut d = LabelData::sample();
    d.waybill.no = "SF1234567890123".into();
    d.receiver.postcode = "200120".into();
    d.extra.insert("sscc".into(), "376104250021234569".into());
    d.extra.insert("gtin".into(), "5901234123457".into());
    d
}

fn zbar(png: &Path) -> Vec<String> {
    let out = Command::new("zbarimg")
        .arg("-q")
        .arg("--raw")
        .arg(png)
        .output()
        .expect("zbarimg");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split('\n')
        .map(|s| s.trim_end_matches('\r').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v
}

fn symbols(png: &Path) -> Vec<String> {
    let out = Command::new("zbarimg").arg("-q").arg(png).output().unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(':').next().unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn pdf_barcodes_decode_back_with_zbar_and_the_cjk_font_is_an_embedded_subset() {
    pdf_round_trip(ALL_CODES);
}

/// The same at 300 dpi on 4 × 6 in stock: module widths in whole 300 dpi dots, page size in
/// tenths of a millimetre.
#[test]
fn pdf_round_trip_at_300_dpi_on_4x6_inch_stock() {
    pdf_round_trip(
        &ALL_CODES
            .replace("dpi = 203", "dpi = 300")
            .replace("size = \"100x150\"", "size = \"4x6in\""),
    );
}

fn pdf_round_trip(template: &str) {
    if !have("pdftoppm") || !have("zbarimg") || !have("pdffonts") {
        eprintln!("skipped: needs poppler-utils and zbar-tools");
        return;
    }
    let Some(fonts) = fonts() else { return };
    let dir = tempfile::tempdir().unwrap();
    let t = Template::from_toml(template, "all-codes.toml", dir.path()).unwrap();
    let data = sample();
    let pdf = labels::render_label(&t, &data, Format::Pdf, Some(fonts)).unwrap();
    assert!(pdf.len() < 50 * 1024, "PDF is {} bytes", pdf.len());
    let pdf_path = dir.path().join("l.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();

    let out = Command::new("pdffonts").arg(&pdf_path).output().unwrap();
    let fonts_txt = String::from_utf8_lossy(&out.stdout).to_string();
    let font_line = fonts_txt
        .lines()
        .find(|l| l.contains('+'))
        .unwrap_or_else(|| panic!("no subset font in:\n{fonts_txt}"));
    // Columns: name type encoding emb sub uni …; a subset name is "ABCDEF+Name".
    assert!(font_line.contains("Identity-H"), "{font_line}");
    assert!(
        font_line.contains(" yes yes "),
        "embedded and subset: {font_line}"
    );

    let status = Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png", "-singlefile"])
        .arg(&pdf_path)
        .arg(dir.path().join("page"))
        .status()
        .unwrap();
    assert!(status.success());
    let png = dir.path().join("page.png");
    let decoded = zbar(&png);
    // GS1-128 comes back as element string: FNC1 dropped at the start, AIs concatenated.
    let mut want = vec![
        "SF1234567890123".to_string(),
        "00376104250021234569420200120".to_string(),
        "5901234123457".to_string(),
        "SO20261125000123|SF1234567890123".to_string(),
    ];
    want.sort();
    assert_eq!(decoded, want);
    assert_eq!(
        symbols(&png),
        vec!["CODE-128", "CODE-128", "EAN-13", "QR-Code"]
    );

    // The text is really there: pdftotext reads the Chinese back through /ToUnicode.
    if have("pdftotext") {
        let out = Command::new("pdftotext")
            .arg(&pdf_path)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("收件人：张三"), "{text}");
    }
}

#[test]
fn png_preview_decodes_the_same() {
    if !have("zbarimg") {
        eprintln!("skipped: needs zbar-tools");
        return;
    }
    let Some(fonts) = fonts() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, template) in [
        ("203", ALL_CODES.to_string()),
        ("300", ALL_CODES.replace("dpi = 203", "dpi = 300")),
    ] {
        let t = Template::from_toml(&template, "all-codes.toml", dir.path()).unwrap();
        let png = labels::render_label(&t, &sample(), Format::Png, Some(fonts)).unwrap();
        let p = dir.path().join(format!("p{name}.png"));
        std::fs::write(&p, png).unwrap();
        assert_eq!(zbar(&p).len(), 4, "{name} dpi: {:?}", zbar(&p));
    }
}

/// The shipped express labels at 300 dpi (the 100 × 150 one on 4 × 6 in stock): the waybill
/// Code 128 and the QR code read back from the PDF and from the PNG preview, and on the
/// two-part label the stub's own Code 128 from a crop of the stub alone (zbar reports two
/// equal symbols in one image once).
#[test]
fn shipped_express_labels_decode_at_300_dpi() {
    if !have("pdftoppm") || !have("zbarimg") {
        eprintln!("skipped: needs poppler-utils and zbar-tools");
        return;
    }
    let Some(fonts) = fonts() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = sample();
    let waybill = || "SF1234567890123".to_string();
    for (name, size) in [
        ("express-100x150.toml", "4x6in"),
        ("express-100x180.toml", "100x180"),
    ] {
        let base = Template::load(&templates_dir().join(name)).unwrap();
        let mut file = base.file.clone();
        file.dpi = Dpi::D300;
        file.size = size.into();
        let t = Template::check(file, name, &templates_dir()).unwrap();
        let pdf = labels::render_label(&t, &data, Format::Pdf, Some(fonts)).unwrap();
        let pdf_path = dir.path().join("x.pdf");
        std::fs::write(&pdf_path, &pdf).unwrap();
        let raster = |out: &str, crop: &[&str]| {
            let ok = Command::new("pdftoppm")
                .args(["-r", "300", "-gray", "-png", "-singlefile"])
                .args(crop)
                .arg(&pdf_path)
                .arg(dir.path().join(out))
                .status()
                .unwrap();
            assert!(ok.success());
            dir.path().join(format!("{out}.png"))
        };
        let png = labels::render_label(&t, &data, Format::Png, Some(fonts)).unwrap();
        let preview = dir.path().join("preview.png");
        std::fs::write(&preview, png).unwrap();
        for p in [raster("x", &[]), preview] {
            assert_eq!(
                symbols(&p),
                vec!["CODE-128", "QR-Code"],
                "{name} {}",
                p.display()
            );
            assert_eq!(zbar(&p), vec![waybill(), waybill()], "{name}");
        }
        if name == "express-100x180.toml" {
            // The stub starts at 150 mm = 1772 dots at 300 dpi.
            let stub = raster(
                "stub",
                &["-x", "0", "-y", "1780", "-W", "1200", "-H", "380"],
            );
            assert_eq!(symbols(&stub), vec!["CODE-128"]);
            assert_eq!(zbar(&stub), vec![waybill()]);
        }
    }
}

/// Width and height of a PNG from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Every shipped template renders in every format at every size and resolution, and the PDF
/// page has the label's size.
#[test]
fn shipped_templates_render_at_every_size_and_dpi() {
    let Some(fonts) = fonts() else { return };
    let data = sample();
    let mut sizes_seen = Vec::new();
    for name in [
        "express-100x150.toml",
        "express-100x180.toml",
        "parcel-76x130.toml",
    ] {
        let path = templates_dir().join(name);
        let base = Template::load(&path).unwrap();
        for (size_name, size) in LabelSize::NAMED {
            for dpi in [Dpi::D203, Dpi::D300] {
                let mut file = base.file.clone();
                file.dpi = dpi;
                // A template laid out for a smaller stock fits a larger one; the 76×130
                // express label would not, so only sizes at least as large are tried.
                if size.width_tenth_mm < base.size.width_tenth_mm
                    || size.height_tenth_mm < base.size.height_tenth_mm
                {
                    continue;
                }
                file.size = (*size_name).to_string();
                let t = Template::check(file, name, &templates_dir()).unwrap();
                let l = labels::layout(&t, &data, Some(fonts)).unwrap();
                let dpmm = dpi.dots_per_mm();
                assert_eq!(
                    l.width,
                    (size.width_tenth_mm * dpmm + 5) / 10,
                    "{name} {size_name}"
                );
                assert_eq!(
                    l.height,
                    (size.height_tenth_mm * dpmm + 5) / 10,
                    "{name} {size_name}"
                );
                sizes_seen.push((*size_name, dpi));
                let at = format!("{name} {size_name} {dpi:?}");
                for f in [Format::Pdf, Format::Tspl, Format::Zpl, Format::Png] {
                    let b = labels::render(&l, f, Some(fonts), 1).unwrap();
                    match f {
                        Format::Pdf => {
                            assert!(b.starts_with(b"%PDF-"), "{at}");
                            assert!(b.len() < 50 * 1024, "{at}: {} bytes", b.len());
                        }
                        Format::Tspl => {
                            let mm = |t: u32| {
                                if t % 10 == 0 {
                                    format!("{}", t / 10)
                                } else {
                                    format!("{}.{}", t / 10, t % 10)
                                }
                            };
                            let head = format!(
                                "SIZE {} mm,{} mm\r\n",
                                mm(size.width_tenth_mm),
                                mm(size.height_tenth_mm)
                            );
                            assert!(b.starts_with(head.as_bytes()), "{at}");
                        }
                        Format::Zpl => {
                            let head = format!("^XA\n^CI28\n^PW{}\n^LL{}\n", l.width, l.height);
                            assert!(b.starts_with(head.as_bytes()), "{at}");
                        }
                        Format::Png => assert_eq!(png_size(&b), (l.width, l.height), "{at}"),
                    }
                }
            }
        }
    }
    // Every stock size the issue names was rendered at both resolutions.
    for (size_name, _) in LabelSize::NAMED {
        for dpi in [Dpi::D203, Dpi::D300] {
            assert!(
                sizes_seen.contains(&(*size_name, dpi)),
                "{size_name} {dpi:?}"
            );
        }
    }
}

#[test]
fn pdf_page_size_is_the_label_size() {
    if !have("pdfinfo") {
        eprintln!("skipped: needs poppler-utils");
        return;
    }
    let Some(fonts) = fonts() else { return };
    let t = Template::load(&templates_dir().join("express-100x150.toml")).unwrap();
    let pdf = labels::render_label(&t, &sample(), Format::Pdf, Some(fonts)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pdf");
    std::fs::write(&p, pdf).unwrap();
    let out = Command::new("pdfinfo").arg(&p).output().unwrap();
    let info = String::from_utf8_lossy(&out.stdout);
    // 100 × 150 mm = 283.46 × 425.2 pt.
    let line = info.lines().find(|l| l.starts_with("Page size:")).unwrap();
    assert!(
        line.contains("283.4") && line.contains("425.19") || line.contains("425.2"),
        "{line}"
    );
}

/// A variable-length AI followed by another field needs FNC1 between them; zbar reports it as
/// GS (0x1D), and the fixed-length SSCC before it needs none.
#[test]
fn gs1_separator_after_a_variable_length_field() {
    if !have("zbarimg") {
        eprintln!("skipped: needs zbar-tools");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let toml = r#"
name = "gs1"
size = "100x150"
dpi = 300
[[element]]
type = "barcode"
symbology = "gs1-128"
x = 5
y = 10
w = 90
h = 20
data = "(01)05901234123457(10)AB12(21)S9"
"#;
    let t = Template::from_toml(toml, "gs1.toml", dir.path()).unwrap();
    let png = labels::render_label(&t, &LabelData::default(), Format::Png, None).unwrap();
    let p = dir.path().join("g.png");
    std::fs::write(&p, png).unwrap();
    assert_eq!(
        zbar(&p),
        vec!["010590123412345710AB12\u{1d}21S9".to_string()]
    );
}

/// Data Matrix read back by libdmtx's `dmtxread` (Debian dmtx-utils) from the rasterised PDF.
#[test]
fn datamatrix_decodes_with_dmtxread() {
    if !have("dmtxread") || !have("pdftoppm") {
        eprintln!("skipped: needs dmtx-utils and poppler-utils");
        return;
    }
    let Some(fonts) = fonts() else { return };
    let dir = tempfile::tempdir().unwrap();
    let toml = r#"
name = "dm"
size = "76x130"
dpi = 203
[[element]]
type = "barcode"
symbology = "datamatrix"
x = 20
y = 20
w = 30
h = 30
data = "{{order.no}}|{{waybill.no}}"
"#;
    let t = Template::from_toml(toml, "dm.toml", dir.path()).unwrap();
    let pdf = labels::render_label(&t, &sample(), Format::Pdf, Some(fonts)).unwrap();
    let pdf_path = dir.path().join("dm.pdf");
    std::fs::write(&pdf_path, pdf).unwrap();
    let ok = Command::new("pdftoppm")
        .args(["-r", "203", "-gray", "-png", "-singlefile"])
        .arg(&pdf_path)
        .arg(dir.path().join("dm"))
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("dmtxread")
        .args(["-n", "-m", "5000"])
        .arg(dir.path().join("dm.png"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        "SO20261125000123|SF1234567890123"
    );
}

/// `packbench label render --size 4x6in --dpi 300` moves a template to another stock and
/// resolution: the PNG has 4 × 6 in at 12 dots/mm and its barcodes still decode.
#[test]
fn cli_renders_a_template_on_other_stock_and_resolution() {
    let Some(_) = fonts() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("l.png");
    let args = station::cli::label::RenderArgs {
        template: templates_dir().join("express-100x150.toml"),
        data: None,
        format: "png".into(),
        out: out.clone(),
        font: None,
        font_index: None,
        size: Some("4x6in".into()),
        dpi: Some(300),
        copies: 1,
    };
    station::cli::run(station::cli::Command::Label(
        station::cli::label::Cmd::Render(args),
    ))
    .unwrap();
    let png = std::fs::read(&out).unwrap();
    assert_eq!(png_size(&png), (1219, 1829));
    if have("zbarimg") {
        assert_eq!(symbols(&out), vec!["CODE-128", "QR-Code"]);
    }
    let bad = station::cli::label::RenderArgs {
        template: templates_dir().join("express-100x150.toml"),
        data: None,
        format: "zpl".into(),
        out,
        font: None,
        font_index: None,
        size: Some("76x130".into()),
        dpi: None,
        copies: 1,
    };
    let err = station::cli::run(station::cli::Command::Label(
        station::cli::label::Cmd::Render(bad),
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("not inside the 76×130 mm label"), "{err}");
}
