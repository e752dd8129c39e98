//! Label templates: the file format an integrator edits (TOML or JSON, see
//! `docs/label-templates.md`), parsed and checked once when loaded.
//!
//! Positions and sizes are in millimetres from the top-left corner of the label. Text and
//! barcode data bind fields as `{{order.no}}`; every field is checked against
//! [`crate::data::FIELDS`] at load time so a typo never reaches the printer.

use crate::data::{is_known_field, FIELDS};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Print resolution. Thermal label printers are 203 dpi (8 dots/mm) or 300 dpi (12 dots/mm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum Dpi {
    /// 203 dpi, 8 dots per mm.
    D203,
    /// 300 dpi, 12 dots per mm.
    D300,
}

impl Dpi {
    /// Dots per millimetre as the printers count them (8 or 12).
    pub fn dots_per_mm(self) -> u32 {
        match self {
            Dpi::D203 => 8,
            Dpi::D300 => 12,
        }
    }
    /// The nominal dpi (203 or 300).
    pub fn dpi(self) -> u32 {
        match self {
            Dpi::D203 => 203,
            Dpi::D300 => 300,
        }
    }
}

impl TryFrom<u32> for Dpi {
    type Error = String;
    fn try_from(v: u32) -> std::result::Result<Self, String> {
        match v {
            203 | 200 => Ok(Dpi::D203),
            300 => Ok(Dpi::D300),
            other => Err(format!("dpi {other} is not supported (use 203 or 300)")),
        }
    }
}

impl From<Dpi> for u32 {
    fn from(d: Dpi) -> u32 {
        d.dpi()
    }
}

/// A label stock size, in tenths of a millimetre (exact for 4×6 in = 101.6 × 152.4 mm).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSize {
    /// Width in 0.1 mm.
    pub width_tenth_mm: u32,
    /// Height in 0.1 mm.
    pub height_tenth_mm: u32,
}

impl LabelSize {
    /// The standard sizes by name: `100x150`, `100x180`, `76x130`, `4x6in`.
    pub const NAMED: &'static [(&'static str, LabelSize)] = &[
        ("100x150", LabelSize::mm(100, 150)),
        ("100x180", LabelSize::mm(100, 180)),
        ("76x130", LabelSize::mm(76, 130)),
        (
            "4x6in",
            LabelSize {
                width_tenth_mm: 1016,
                height_tenth_mm: 1524,
            },
        ),
    ];

    /// A size of whole millimetres.
    pub const fn mm(w: u32, h: u32) -> Self {
        LabelSize {
            width_tenth_mm: w * 10,
            height_tenth_mm: h * 10,
        }
    }

    /// Looks a size up by name (see [`LabelSize::NAMED`]); `WxH` in whole mm is accepted too.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace(['×', ' '], "x");
        if let Some((_, size)) = Self::NAMED.iter().find(|(n, _)| *n == s) {
            return Some(*size);
        }
        let (w, h) = s.trim_end_matches("mm").split_once('x')?;
        let (w, h) = (w.parse::<u32>().ok()?, h.parse::<u32>().ok()?);
        ((20..=300).contains(&w) && (20..=600).contains(&h)).then(|| LabelSize::mm(w, h))
    }

    /// Width in millimetres (for printers that take mm).
    pub fn width_mm(self) -> f64 {
        f64::from(self.width_tenth_mm) / 10.0
    }
    /// Height in millimetres.
    pub fn height_mm(self) -> f64 {
        f64::from(self.height_tenth_mm) / 10.0
    }
}

/// Horizontal alignment of text or a barcode inside its box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// Flush left.
    #[default]
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// How text reaches a thermal printer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextMode {
    /// The printer's own font (TSPL resident GB font; ZPL font 0, or the configured resident
    /// CJK font); CJK text on ZPL without a resident CJK font becomes a bitmap.
    #[default]
    Auto,
    /// Always send the text as a bitmap rendered from the CJK font (exact look, more bytes).
    Bitmap,
}

/// Barcode symbologies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symbology {
    /// Code 128 (waybill numbers).
    Code128,
    /// GS1-128: Code 128 with FNC1; data written with AIs in parentheses, `(00)…(420)…`.
    Gs1_128,
    /// EAN-13 (12 digits, or 13 with a correct check digit).
    Ean13,
    /// QR code, error correction M.
    Qr,
    /// Data Matrix (ECC 200, square symbols).
    #[serde(rename = "datamatrix")]
    DataMatrix,
}

impl Symbology {
    /// Name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Symbology::Code128 => "code128",
            Symbology::Gs1_128 => "gs1-128",
            Symbology::Ean13 => "ean13",
            Symbology::Qr => "qr",
            Symbology::DataMatrix => "datamatrix",
        }
    }
}

/// One element of a template, as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Element {
    /// A block of text inside the box `x, y, w, h`.
    Text {
        /// Left edge, mm.
        x: f64,
        /// Top edge, mm.
        y: f64,
        /// Box width, mm.
        w: f64,
        /// Box height, mm (lines that do not fit are dropped, the last one ends in `…`).
        h: f64,
        /// The text, with `{{field}}` bindings.
        text: String,
        /// Font size: the em height in mm (3 mm ≈ 8.5 pt).
        size: f64,
        /// Bold.
        #[serde(default)]
        bold: bool,
        /// Alignment inside the box.
        #[serde(default)]
        align: Align,
        /// Wrap onto further lines (default true); false keeps one line.
        #[serde(default = "yes")]
        wrap: bool,
        /// At most this many lines.
        #[serde(default)]
        max_lines: Option<u32>,
        /// Line height as a multiple of the size (default 1.25).
        #[serde(default)]
        line_spacing: Option<f64>,
        /// Shrink the size (down to half) until the text fits on one line of the box.
        #[serde(default)]
        shrink_to_fit: bool,
        /// Printer font or bitmap for thermal languages.
        #[serde(default)]
        mode: TextMode,
        /// White text on a black box (for routing codes).
        #[serde(default)]
        invert: bool,
        /// Leave the element out when a bound field has no value (default: an error).
        #[serde(default)]
        optional: bool,
    },
    /// A barcode. 1D codes fill at most `w` (module width chosen as whole dots), QR codes
    /// are squares of at most `w` × `h`.
    Barcode {
        /// Left edge, mm.
        x: f64,
        /// Top edge, mm.
        y: f64,
        /// Available width, mm.
        w: f64,
        /// Bar height (1D) or available height (QR), mm.
        h: f64,
        /// Symbology.
        symbology: Symbology,
        /// Data with `{{field}}` bindings.
        data: String,
        /// Narrow module width in mm; default: the widest whole-dot module that fits `w`.
        #[serde(default)]
        module: Option<f64>,
        /// Alignment inside `w`.
        #[serde(default)]
        align: Align,
        /// Leave the element out when a bound field has no value.
        #[serde(default)]
        optional: bool,
    },
    /// A horizontal or vertical line from (x1, y1) to (x2, y2).
    Line {
        /// Start x, mm.
        x1: f64,
        /// Start y, mm.
        y1: f64,
        /// End x, mm.
        x2: f64,
        /// End y, mm.
        y2: f64,
        /// Thickness, mm (default 0.3).
        #[serde(default)]
        thickness: Option<f64>,
    },
    /// A rectangle outline (or a filled one).
    Box {
        /// Left, mm.
        x: f64,
        /// Top, mm.
        y: f64,
        /// Width, mm.
        w: f64,
        /// Height, mm.
        h: f64,
        /// Border thickness, mm (default 0.3).
        #[serde(default)]
        thickness: Option<f64>,
        /// Fill it black.
        #[serde(default)]
        fill: bool,
    },
    /// A monochrome image (a logo) scaled into the box; PNG file, path relative to the template.
    Image {
        /// Left, mm.
        x: f64,
        /// Top, mm.
        y: f64,
        /// Width, mm.
        w: f64,
        /// Height, mm.
        h: f64,
        /// PNG file.
        path: PathBuf,
        /// Grey level (0–255) below which a pixel prints black (default 128).
        #[serde(default)]
        threshold: Option<u8>,
    },
}

fn yes() -> bool {
    true
}

impl Element {
    /// Short kind name for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Element::Text { .. } => "text",
            Element::Barcode { .. } => "barcode",
            Element::Line { .. } => "line",
            Element::Box { .. } => "box",
            Element::Image { .. } => "image",
        }
    }
}

/// TSPL options of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TsplOptions {
    /// Resident Chinese font (GB18030); `TSS24.BF2` on TSC, Gprinter, Xprinter.
    pub cjk_font: String,
    /// Print density 0–15, if set.
    pub density: Option<u8>,
    /// Print speed (inches/s), if set.
    pub speed: Option<u8>,
}

impl Default for TsplOptions {
    fn default() -> Self {
        TsplOptions {
            cjk_font: "TSS24.BF2".into(),
            density: None,
            speed: None,
        }
    }
}

/// ZPL options of a template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZplOptions {
    /// A resident CJK TrueType font on the printer (e.g. `E:SIMSUN.TTF`); without one, CJK
    /// text is sent as `^GF` bitmaps.
    pub cjk_font: Option<String>,
    /// Darkness `~SD` 0–30, if set.
    pub darkness: Option<u8>,
}

/// A template file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    /// Template name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Stock size: `100x150`, `100x180`, `76x130`, `4x6in` (or `WxH` in mm).
    pub size: String,
    /// 203 or 300.
    pub dpi: Dpi,
    /// Gap between labels, mm (default 2).
    #[serde(default)]
    pub gap_mm: Option<f64>,
    /// TSPL options.
    #[serde(default)]
    pub tspl: TsplOptions,
    /// ZPL options.
    #[serde(default)]
    pub zpl: ZplOptions,
    /// Elements, drawn in order.
    #[serde(default, rename = "element")]
    pub elements: Vec<Element>,
}

/// A piece of bound text: a literal or a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text.
    Lit(String),
    /// A field reference.
    Field {
        /// The field name, e.g. `order.no`.
        name: String,
        /// Text printed when the field has no value (`{{receiver.phone|无}}`); `None` makes a
        /// missing value an error (or skips an `optional` element).
        default: Option<String>,
    },
}

/// Splits `s` into literals and `{{field}}` / `{{field|default}}` references; `Err` says what
/// is malformed. Names and defaults are trimmed; `{{field|}}` prints nothing when the field has
/// no value.
pub fn parse_bindings(s: &str) -> std::result::Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Segment::Lit(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!("unclosed '{{{{' in {s:?}"));
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once('|') {
            Some((n, d)) => (n.trim(), Some(d.trim().to_string())),
            None => (inner.trim(), None),
        };
        if name.is_empty() {
            return Err(format!("empty field name in '{{{{{inner}}}}}' in {s:?}"));
        }
        if name.contains("{{") {
            return Err(format!("'{{{{' inside a field in {s:?}"));
        }
        out.push(Segment::Field {
            name: name.to_string(),
            default,
        });
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push(Segment::Lit(rest.to_string()));
    }
    Ok(out)
}

/// A decoded monochrome image: `true` = black.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonoImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major pixels, `true` = print a dot.
    pub pixels: Vec<bool>,
}

/// A loaded, checked template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The file contents.
    pub file: TemplateFile,
    /// Stock size.
    pub size: LabelSize,
    /// Where it came from (for messages).
    pub source: String,
    /// Decoded images by element index, already scaled to fit their boxes at the template's
    /// resolution.
    pub images: Vec<(usize, MonoImage)>,
}

impl Template {
    /// Loads a template from a `.toml` or `.json` file. Image paths are relative to the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let place = path.display().to_string();
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let base = path.parent().unwrap_or(Path::new("."));
        if is_json {
            Self::from_json(&text, &place, base)
        } else {
            Self::from_toml(&text, &place, base)
        }
    }

    /// Parses TOML text; `place` names the source, `base` resolves image paths.
    pub fn from_toml(text: &str, place: &str, base: &Path) -> Result<Self> {
        let file: TemplateFile = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(":{line}")
                })
                .unwrap_or_default();
            Error::Parse {
                place: format!("{place}{at}"),
                message: e.message().to_string(),
            }
        })?;
        Self::check(file, place, base)
    }

    /// Parses JSON text; `place` names the source, `base` resolves image paths.
    pub fn from_json(text: &str, place: &str, base: &Path) -> Result<Self> {
        let file: TemplateFile = serde_json::from_str(text).map_err(|e| Error::Parse {
            place: format!("{place}:{}:{}", e.line(), e.column()),
            message: e.to_string(),
        })?;
        Self::check(file, place, base)
    }

    /// Checks a parsed template: size, geometry inside the label, known fields, images.
    pub fn check(file: TemplateFile, place: &str, base: &Path) -> Result<Self> {
        let source = format!("{} ({place})", file.name);
        let terr = |p: String, m: String| Error::Template {
            template: source.clone(),
            place: p,
            message: m,
        };
        let size = LabelSize::parse(&file.size).ok_or_else(|| {
            terr(
                "size".into(),
                format!(
                    "unknown size {:?}; use one of 100x150, 100x180, 76x130, 4x6in or WxH in mm",
                    file.size
                ),
            )
        })?;
        if let Some(g) = file.gap_mm {
            if !(0.0..=20.0).contains(&g) {
                return Err(terr("gap_mm".into(), format!("{g} mm is outside 0–20 mm")));
            }
        }
        let (lw, lh) = (size.width_mm(), size.height_mm());
        let mut images = Vec::new();
        for (i, el) in file.elements.iter().enumerate() {
            let at = format!("element {} ({})", i + 1, el.kind());
            let inside = |x: f64, y: f64, w: f64, h: f64| -> Result<()> {
                let ok = [x, y, w, h].iter().all(|v| v.is_finite())
                    && x >= 0.0
                    && y >= 0.0
                    && w >= 0.0
                    && h >= 0.0
                    && x + w <= lw + 0.05
                    && y + h <= lh + 0.05;
                if ok {
                    Ok(())
                } else {
                    Err(terr(
                        at.clone(),
                        format!(
                            "box x={x} y={y} w={w} h={h} mm is not inside the {lw}×{lh} mm label"
                        ),
                    ))
                }
            };
            let fields = |s: &str| -> Result<()> {
                let segs = parse_bindings(s).map_err(|m| terr(at.clone(), m))?;
                for seg in segs {
                    // A default does not excuse a typo: the name must still exist.
                    if let Segment::Field { name, .. } = seg {
                        if !is_known_field(&name) {
                            return Err(Error::UnknownField {
                                template: source.clone(),
                                place: at.clone(),
                                field: name,
                                known: FIELDS.join(", ") + ", extra.<name>",
                            });
                        }
                    }
                }
                Ok(())
            };
            match el {
                Element::Text {
                    x,
                    y,
                    w,
                    h,
                    text,
                    size,
                    line_spacing,
                    max_lines,
                    ..
                } => {
                    inside(*x, *y, *w, *h)?;
                    fields(text)?;
                    if !(size.is_finite() && (1.0..=60.0).contains(size)) {
                        return Err(terr(at, format!("size {size} mm is outside 1–60 mm")));
                    }
                    if let Some(ls) = line_spacing {
                        if !(ls.is_finite() && (0.8..=3.0).contains(ls)) {
                            return Err(terr(at, format!("line_spacing {ls} is outside 0.8–3")));
                        }
                    }
                    if *max_lines == Some(0) {
                        return Err(terr(at, "max_lines must be at least 1".into()));
                    }
                }
                Element::Barcode {
                    x,
                    y,
                    w,
                    h,
                    data,
                    module,
                    ..
                } => {
                    inside(*x, *y, *w, *h)?;
                    fields(data)?;
                    if let Some(m) = module {
                        if !(m.is_finite() && (0.1..=2.0).contains(m)) {
                            return Err(terr(at, format!("module {m} mm is outside 0.1–2 mm")));
                        }
                    }
                    if *h < 3.0 {
                        return Err(terr(at, format!("height {h} mm is below 3 mm")));
                    }
                }
                Element::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    thickness,
                } => {
                    inside(x1.min(*x2), y1.min(*y2), (x2 - x1).abs(), (y2 - y1).abs())?;
                    if x1 != x2 && y1 != y2 {
                        return Err(terr(
                            at,
                            "only horizontal or vertical lines are supported (label printers draw bars)".into(),
                        ));
                    }
                    check_thickness(*thickness).map_err(|m| terr(at.clone(), m))?;
                }
                Element::Box {
                    x,
                    y,
                    w,
                    h,
                    thickness,
                    ..
                } => {
                    inside(*x, *y, *w, *h)?;
                    check_thickness(*thickness).map_err(|m| terr(at.clone(), m))?;
                }
                Element::Image {
                    x,
                    y,
                    w,
                    h,
                    path,
                    threshold,
                } => {
                    inside(*x, *y, *w, *h)?;
                    let full = if path.is_absolute() {
                        path.clone()
                    } else {
                        base.join(path)
                    };
                    // Scaled to the box once here, not on every label.
                    let img = decode_png(&full, threshold.unwrap_or(128))?;
                    let d = |mm: f64| crate::layout::mm_to_dots(mm, file.dpi).max(1);
                    images.push((i, crate::layout::scale_to_fit(&img, d(*w), d(*h))));
                }
            }
        }
        Ok(Template {
            file,
            size,
            source,
            images,
        })
    }

    /// The image of element `index` scaled to its box, if it is an image element.
    pub fn image(&self, index: usize) -> Option<&MonoImage> {
        self.images
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, img)| img)
    }
}

fn check_thickness(t: Option<f64>) -> std::result::Result<(), String> {
    match t {
        Some(t) if !(t.is_finite() && (0.1..=10.0).contains(&t)) => {
            Err(format!("thickness {t} mm is outside 0.1–10 mm"))
        }
        _ => Ok(()),
    }
}

/// Decodes a PNG into a monochrome image (alpha-composited on white, then thresholded).
pub fn decode_png(path: &Path, threshold: u8) -> Result<MonoImage> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let ierr = |m: String| Error::Image {
        path: path.to_path_buf(),
        message: m,
    };
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(|e| ierr(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| ierr("image too large".into()))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| ierr(e.to_string()))?;
    let (w, h) = (info.width, info.height);
    if w == 0 || h == 0 || w > 4000 || h > 4000 {
        return Err(ierr(format!("{w}×{h} px is outside 1–4000 px")));
    }
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(ierr("indexed colour was not expanded".into())),
    };
    let mut pixels = Vec::with_capacity((w * h) as usize);
    for px in buf[..info.buffer_size()].chunks_exact(channels) {
        let (lum, alpha) = match channels {
            1 => (u32::from(px[0]), 255),
            2 => (u32::from(px[0]), u32::from(px[1])),
            3 => (luma(px[0], px[1], px[2]), 255),
            _ => (luma(px[0], px[1], px[2]), u32::from(px[3])),
        };
        // Composite on white: out = lum*a + 255*(1-a).
        let v = (lum * alpha + 255 * (255 - alpha)) / 255;
        pixels.push(v < u32::from(threshold));
    }
    Ok(MonoImage {
        width: w,
        height: h,
        pixels,
    })
}

fn luma(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_size(s: &str, want: Option<(u32, u32)>) {
        assert_eq!(
            LabelSize::parse(s).map(|z| (z.width_tenth_mm, z.height_tenth_mm)),
            want,
            "{s}"
        );
    }

    #[test]
    fn sizes() {
        check_size("100x150", Some((1000, 1500)));
        check_size("100×180", Some((1000, 1800)));
        check_size("76x130", Some((760, 1300)));
        check_size("4x6in", Some((1016, 1524)));
        check_size("4X6IN", Some((1016, 1524)));
        check_size("60x40mm", Some((600, 400)));
        check_size("A4", None);
        check_size("1x1", None);
    }

    #[test]
    fn bindings() {
        let field = |n: &str, d: Option<&str>| Segment::Field {
            name: n.into(),
            default: d.map(str::to_string),
        };
        assert_eq!(
            parse_bindings("收件人 {{ receiver.name }}!").unwrap(),
            vec![
                Segment::Lit("收件人 ".into()),
                field("receiver.name", None),
                Segment::Lit("!".into())
            ]
        );
        assert_eq!(
            parse_bindings("{{receiver.phone|—}}{{ order.remark | 无 }}{{packer|}}").unwrap(),
            vec![
                field("receiver.phone", Some("—")),
                field("order.remark", Some("无")),
                field("packer", Some("")),
            ]
        );
        assert_eq!(
            parse_bindings("{{extra.a|x|y}}").unwrap(),
            vec![field("extra.a", Some("x|y"))]
        );
        assert!(parse_bindings("{{order.no").is_err());
        assert!(parse_bindings("{{ }}").is_err());
        assert!(parse_bindings("{{|无}}").is_err());
        assert_eq!(parse_bindings("").unwrap(), vec![]);
    }

    const MIN: &str = r#"
name = "t"
size = "100x150"
dpi = 203
[[element]]
type = "text"
x = 2
y = 2
w = 50
h = 10
size = 4
text = "{{order.no}}"
"#;

    #[test]
    fn loads_a_minimal_template() {
        let t = Template::from_toml(MIN, "t.toml", Path::new(".")).unwrap();
        assert_eq!(t.size, LabelSize::mm(100, 150));
        assert_eq!(t.file.elements.len(), 1);
    }

    fn check_err(toml_text: &str, want: &[&str]) {
        let err = Template::from_toml(toml_text, "t.toml", Path::new("."))
            .unwrap_err()
            .to_string();
        for w in want {
            assert!(err.contains(w), "{err:?} lacks {w:?}");
        }
    }

    #[test]
    fn clear_errors() {
        check_err(
            &MIN.replace("order.no", "order.number"),
            &[
                "element 1 (text)",
                "unknown field {{order.number}}",
                "order.no",
            ],
        );
        check_err(
            &MIN.replace("x = 2", "x = 80"),
            &["not inside the 100×150 mm label"],
        );
        check_err(
            &MIN.replace("dpi = 203", "dpi = 600"),
            &["t.toml", "dpi 600"],
        );
        // A default does not hide a misspelt field.
        check_err(
            &MIN.replace("{{order.no}}", "{{receiver.phon|无}}"),
            &["unknown field {{receiver.phon}}", "receiver.phone"],
        );
        check_err(&MIN.replace("100x150", "A6"), &["unknown size \"A6\""]);
        check_err(&MIN.replace("size = 4", "size = 0"), &["size 0 mm"]);
        check_err(
            &MIN.replace("type = \"text\"", "type = \"circle\""),
            &["t.toml:", "circle"],
        );
    }
}
