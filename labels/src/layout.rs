//! The layout engine: template + data → a resolved layout in printer dots.
//!
//! This is the only place that binds fields, wraps text, sizes barcodes and scales images.
//! Every backend (PDF, TSPL, ZPL, PNG) draws the same [`Layout`], so what the preview shows
//! is what the printer prints. Coordinates are dots from the top-left corner.

// Geometry is in printer dots, bounded by the label size (under 10 000 dots), and module or
// pixel counts are bounded the same way, so these integer casts cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use crate::barcode::{encode, Encoded};
use crate::data::LabelData;
use crate::error::{Error, Result};
use crate::fonts::{is_wide, Fonts};
use crate::template::{
    parse_bindings, Align, Dpi, Element, LabelSize, MonoImage, Segment, Symbology, Template,
    TextMode, TsplOptions, ZplOptions,
};

/// Where the ideographic baseline sits in the em box (CJK glyphs span −0.12…0.88 em).
pub const BASELINE_IN_EM: f32 = 0.88;

/// A resolved label.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Template name.
    pub template: String,
    /// Stock size.
    pub size: LabelSize,
    /// Resolution.
    pub dpi: Dpi,
    /// Width in dots.
    pub width: u32,
    /// Height in dots.
    pub height: u32,
    /// Gap between labels in 0.1 mm.
    pub gap_tenth_mm: u32,
    /// TSPL options.
    pub tspl: TsplOptions,
    /// ZPL options.
    pub zpl: ZplOptions,
    /// What to draw, in order.
    pub items: Vec<Item>,
}

/// One thing to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A filled black rectangle (lines, box borders, filled boxes).
    Rect(Rect),
    /// The black background of inverted text; thermal backends may draw it differently.
    InvertBox(Rect),
    /// One line of text.
    Text(TextLine),
    /// A barcode.
    Barcode(BarcodeItem),
    /// A monochrome image already scaled to dots.
    Image {
        /// Left.
        x: i32,
        /// Top.
        y: i32,
        /// Pixels at one pixel per dot.
        image: MonoImage,
    },
}

/// A rectangle in dots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left.
    pub x: i32,
    /// Top.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

/// A line of text, placed.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// The text of this line.
    pub text: String,
    /// Left of the text as measured with the layout font (after alignment).
    pub x: i32,
    /// Top of the line box.
    pub top: i32,
    /// Baseline.
    pub baseline: i32,
    /// Line box height.
    pub line_height: i32,
    /// Em size in dots.
    pub size: f32,
    /// Measured width in dots.
    pub width: f32,
    /// The element box's left edge (for printers that align themselves).
    pub box_x: i32,
    /// The element box's width.
    pub box_w: i32,
    /// Alignment in the box.
    pub align: Align,
    /// Bold.
    pub bold: bool,
    /// Printer font or bitmap.
    pub mode: TextMode,
    /// White on black.
    pub invert: bool,
}

impl TextLine {
    /// True if the line has characters outside ASCII (needs a CJK font).
    pub fn is_cjk(&self) -> bool {
        !self.text.is_ascii()
    }
}

/// A barcode, placed.
#[derive(Debug, Clone, PartialEq)]
pub struct BarcodeItem {
    /// Left.
    pub x: i32,
    /// Top.
    pub y: i32,
    /// Module (narrow bar or QR cell) width in dots.
    pub module: u32,
    /// Bar height in dots (QR: the side).
    pub height: u32,
    /// Symbology.
    pub symbology: Symbology,
    /// Encoded modules.
    pub encoded: Encoded,
}

impl BarcodeItem {
    /// Width in dots.
    pub fn width(&self) -> u32 {
        match &self.encoded {
            Encoded::Linear { modules, .. } => self.module * modules.len() as u32,
            Encoded::Matrix { size, .. } => self.module * *size as u32,
        }
    }
}

/// Converts millimetres to dots (rounded). Template values are range-checked at load, so the
/// cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
pub fn mm_to_dots(mm: f64, dpi: Dpi) -> i32 {
    (mm * f64::from(dpi.dots_per_mm())).round() as i32
}

#[allow(clippy::cast_possible_truncation)]
fn round(v: f32) -> i32 {
    v.round() as i32
}

/// Text measurement: with the CJK font when there is one, else an estimate (wide = 1 em,
/// other = 0.55 em) good enough for thermal printers' own fonts.
#[derive(Clone, Copy)]
pub struct Measure<'a> {
    fonts: Option<&'a Fonts>,
}

impl<'a> Measure<'a> {
    /// A measure using `fonts` if given.
    pub fn new(fonts: Option<&'a Fonts>) -> Self {
        Measure { fonts }
    }
    /// Width of `s` at em size `size` dots.
    pub fn width(&self, s: &str, size: f32, bold: bool) -> f32 {
        match self.fonts {
            Some(f) => {
                let face = f.face(bold);
                s.chars().map(|c| face.advance(c, size)).sum()
            }
            None => s
                .chars()
                .map(|c| if is_wide(c) { size } else { size * 0.55 })
                .sum(),
        }
    }
}

/// Characters that must not begin a line (Chinese line-breaking rule).
fn no_break_before(c: char) -> bool {
    "，。、；：？！）】》」』”’,.;:?!)]}%".contains(c)
}

/// Wraps `text` to `max_w` dots: CJK breaks between any two characters (never before closing
/// punctuation), Latin words break at spaces, over-long words break anywhere. `\n` forces a
/// break.
pub fn wrap(text: &str, max_w: f32, size: f32, bold: bool, m: Measure<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        // Tokens: a CJK char, a run of spaces, or a Latin word.
        let mut tokens: Vec<String> = Vec::new();
        for c in para.chars() {
            let last_is_word = tokens
                .last()
                .and_then(|t| t.chars().last())
                .is_some_and(|l| !is_wide(l) && !l.is_whitespace());
            let last_is_space = tokens
                .last()
                .and_then(|t| t.chars().last())
                .is_some_and(char::is_whitespace);
            if is_wide(c) || no_break_before(c) {
                if no_break_before(c) {
                    if let Some(t) = tokens.last_mut() {
                        t.push(c);
                        continue;
                    }
                }
                tokens.push(c.to_string());
            } else if c.is_whitespace() {
                if last_is_space {
                    if let Some(t) = tokens.last_mut() {
                        t.push(c);
                    }
                } else {
                    tokens.push(c.to_string());
                }
            } else if last_is_word {
                if let Some(t) = tokens.last_mut() {
                    t.push(c);
                }
            } else {
                tokens.push(c.to_string());
            }
        }
        // Widths are summed incrementally (advances add up; no kerning across tokens).
        let mut line = String::new();
        let mut line_w = 0.0f32;
        for tok in tokens {
            let tok_w = m.width(&tok, size, bold);
            let is_space = tok.trim().is_empty();
            // Trailing spaces do not count against the width.
            if is_space || line_w + tok_w <= max_w {
                if !(is_space && line.is_empty()) {
                    line.push_str(&tok);
                    line_w += tok_w;
                }
                continue;
            }
            if !line.trim().is_empty() {
                lines.push(line.trim_end().to_string());
                line.clear();
                line_w = 0.0;
            }
            if tok_w <= max_w {
                line = tok;
                line_w = tok_w;
            } else {
                // A word longer than the line: break it by characters.
                for c in tok.chars() {
                    let cw = m.width(c.encode_utf8(&mut [0u8; 4]), size, bold);
                    if line_w + cw > max_w && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    line.push(c);
                    line_w += cw;
                }
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Binds the fields of `s` against `data`. A field without a value prints its default
/// (`{{f|default}}`); without a default, `Ok(None)` leaves an optional element out and any
/// other element fails naming the field.
fn bind(
    s: &str,
    data: &LabelData,
    optional: bool,
    template: &str,
    place: &str,
) -> Result<Option<String>> {
    let segs = parse_bindings(s).map_err(|m| Error::Template {
        template: template.into(),
        place: place.into(),
        message: m,
    })?;
    let mut out = String::new();
    for seg in segs {
        match seg {
            Segment::Lit(l) => out.push_str(&l),
            Segment::Field { name, default } => match (data.get(&name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(&d),
                (None, None) if optional => return Ok(None),
                (None, None) => {
                    return Err(Error::MissingValue {
                        template: template.into(),
                        place: place.into(),
                        field: name,
                    })
                }
            },
        }
    }
    Ok(Some(out))
}

/// Lays `template` out with `data`. `fonts` measures text (pass the CJK font; without it
/// widths are estimated, which suits thermal printers' resident fonts).
pub fn layout(template: &Template, data: &LabelData, fonts: Option<&Fonts>) -> Result<Layout> {
    let t = &template.file;
    let dpi = t.dpi;
    let d = |mm: f64| mm_to_dots(mm, dpi);
    let measure = Measure::new(fonts);
    let name = template.source.as_str();
    let mut items = Vec::new();
    for (i, el) in t.elements.iter().enumerate() {
        let place = format!("element {} ({})", i + 1, el.kind());
        match el {
            Element::Text {
                x,
                y,
                w,
                h,
                text,
                size,
                bold,
                align,
                wrap: do_wrap,
                max_lines,
                line_spacing,
                shrink_to_fit,
                mode,
                invert,
                optional,
            } => {
                let Some(text) = bind(text, data, *optional, name, &place)? else {
                    continue;
                };
                let (bx, by, bw, bh) = (d(*x), d(*y), d(*w), d(*h));
                #[allow(clippy::cast_possible_truncation)]
                let mut em = (*size * f64::from(dpi.dots_per_mm())) as f32;
                let bwf = bw as f32;
                if *shrink_to_fit {
                    let min = em * 0.5;
                    while em > min && measure.width(&text, em, *bold) > bwf {
                        em *= 0.95;
                    }
                }
                #[allow(clippy::cast_possible_truncation)]
                let spacing = line_spacing.unwrap_or(1.25) as f32;
                let line_h = (em * spacing).max(1.0);
                let mut lines = if *do_wrap {
                    wrap(&text, bwf, em, *bold, measure)
                } else {
                    text.lines().map(str::to_string).take(1).collect()
                };
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let fit = ((bh as f32 + 0.5) / line_h).floor().max(1.0) as usize;
                let max = max_lines.map_or(fit, |m| (m as usize).min(fit));
                let truncated = lines.len() > max;
                lines.truncate(max);
                if let Some(last) = lines.last_mut() {
                    if truncated || measure.width(last, em, *bold) > bwf {
                        let mut chars: Vec<char> = last.chars().collect();
                        loop {
                            let s: String = chars.iter().collect::<String>() + "…";
                            if measure.width(&s, em, *bold) <= bwf || chars.is_empty() {
                                *last = s;
                                break;
                            }
                            chars.pop();
                        }
                    }
                }
                if *invert {
                    items.push(Item::InvertBox(Rect {
                        x: bx,
                        y: by,
                        w: bw,
                        h: bh,
                    }));
                }
                // Centre the block of lines vertically when it is inverted (a routing-code
                // badge); otherwise lines start at the top of the box.
                let used = line_h * lines.len() as f32;
                let y0 = if *invert {
                    by as f32 + ((bh as f32 - used) / 2.0).max(0.0)
                } else {
                    by as f32
                };
                for (n, line) in lines.into_iter().enumerate() {
                    let width = measure.width(&line, em, *bold);
                    let lx = match align {
                        Align::Left => bx as f32,
                        Align::Center => bx as f32 + (bwf - width) / 2.0,
                        Align::Right => bx as f32 + bwf - width,
                    };
                    let top = y0 + line_h * n as f32;
                    let baseline = top + (line_h - em) / 2.0 + em * BASELINE_IN_EM;
                    items.push(Item::Text(TextLine {
                        text: line,
                        x: round(lx),
                        top: round(top),
                        baseline: round(baseline),
                        line_height: round(line_h),
                        size: em,
                        width,
                        box_x: bx,
                        box_w: bw,
                        align: *align,
                        bold: *bold,
                        mode: *mode,
                        invert: *invert,
                    }));
                }
            }
            Element::Barcode {
                x,
                y,
                w,
                h,
                symbology,
                data: bdata,
                module,
                align,
                optional,
            } => {
                let Some(value) = bind(bdata, data, *optional, name, &place)? else {
                    continue;
                };
                let encoded = encode(*symbology, &value).map_err(|m| Error::Barcode {
                    template: name.into(),
                    place: place.clone(),
                    symbology: symbology.name(),
                    data: value.clone(),
                    message: m,
                })?;
                let (bx, by, bw, bh) = (d(*x), d(*y), d(*w), d(*h));
                let n = match &encoded {
                    Encoded::Linear { modules, .. } => modules.len(),
                    Encoded::Matrix { size, .. } => *size,
                } as i32;
                let avail = if matches!(encoded, Encoded::Matrix { .. }) {
                    bw.min(bh)
                } else {
                    bw
                };
                let m = match module {
                    Some(mm) => d(*mm).max(1),
                    None => (avail / n.max(1)).max(1),
                };
                if m * n > avail {
                    return Err(Error::Barcode {
                        template: name.into(),
                        place,
                        symbology: symbology.name(),
                        data: value,
                        message: format!(
                            "needs {} dots ({n} modules × {m}) but the box is {avail} dots wide; \
                             widen the box or shorten the data",
                            m * n
                        ),
                    });
                }
                let total = m * n;
                let left = match align {
                    Align::Left => bx,
                    Align::Center => bx + (avail - total) / 2,
                    Align::Right => bx + avail - total,
                };
                #[allow(clippy::cast_sign_loss)]
                let (module_u, height_u) = (
                    m as u32,
                    if matches!(encoded, Encoded::Matrix { .. }) {
                        total
                    } else {
                        bh
                    } as u32,
                );
                items.push(Item::Barcode(BarcodeItem {
                    x: left,
                    y: by,
                    module: module_u,
                    height: height_u,
                    symbology: *symbology,
                    encoded,
                }));
            }
            Element::Line {
                x1,
                y1,
                x2,
                y2,
                thickness,
            } => {
                let t = d(thickness.unwrap_or(0.3)).max(1);
                let (ax, ay) = (d(x1.min(*x2)), d(y1.min(*y2)));
                let (lw, lh) = (d((x2 - x1).abs()), d((y2 - y1).abs()));
                let r = if lh == 0 {
                    Rect {
                        x: ax,
                        y: ay,
                        w: lw.max(1),
                        h: t,
                    }
                } else {
                    Rect {
                        x: ax,
                        y: ay,
                        w: t,
                        h: lh,
                    }
                };
                items.push(Item::Rect(r));
            }
            Element::Box {
                x,
                y,
                w,
                h,
                thickness,
                fill,
            } => {
                let (bx, by, bw, bh) = (d(*x), d(*y), d(*w), d(*h));
                if *fill {
                    items.push(Item::Rect(Rect {
                        x: bx,
                        y: by,
                        w: bw,
                        h: bh,
                    }));
                } else {
                    let t = d(thickness.unwrap_or(0.3)).max(1);
                    for r in [
                        Rect {
                            x: bx,
                            y: by,
                            w: bw,
                            h: t,
                        },
                        Rect {
                            x: bx,
                            y: by + bh - t,
                            w: bw,
                            h: t,
                        },
                        Rect {
                            x: bx,
                            y: by,
                            w: t,
                            h: bh,
                        },
                        Rect {
                            x: bx + bw - t,
                            y: by,
                            w: t,
                            h: bh,
                        },
                    ] {
                        items.push(Item::Rect(r));
                    }
                }
            }
            Element::Image { x, y, w, h, .. } => {
                let Some(img) = template.image(i) else {
                    continue;
                };
                // Scaled to the box when the template was loaded.
                let (bx, by, bw, bh) = (d(*x), d(*y), d(*w), d(*h));
                #[allow(clippy::cast_possible_wrap)]
                let (sw, sh) = (img.width as i32, img.height as i32);
                items.push(Item::Image {
                    x: bx + (bw - sw) / 2,
                    y: by + (bh - sh) / 2,
                    image: img.clone(),
                });
            }
        }
    }
    let w = mm_to_dots(template.size.width_mm(), dpi);
    let h = mm_to_dots(template.size.height_mm(), dpi);
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let gap = (t.gap_mm.unwrap_or(2.0) * 10.0).round() as u32;
    #[allow(clippy::cast_sign_loss)]
    Ok(Layout {
        template: t.name.clone(),
        size: template.size,
        dpi,
        width: w as u32,
        height: h as u32,
        gap_tenth_mm: gap,
        tspl: t.tspl.clone(),
        zpl: t.zpl.clone(),
        items,
    })
}

/// Scales a monochrome image (nearest neighbour) to fit `w` × `h`, keeping its aspect ratio.
#[allow(clippy::cast_sign_loss)]
pub fn scale_to_fit(img: &MonoImage, w: i32, h: i32) -> MonoImage {
    let (w, h) = (w as u64, h as u64);
    let (iw, ih) = (u64::from(img.width), u64::from(img.height));
    // Fit: the smaller of w/iw and h/ih.
    let (tw, th) = if w * ih <= h * iw {
        (w, (ih * w / iw).max(1))
    } else {
        ((iw * h / ih).max(1), h)
    };
    let mut pixels = Vec::with_capacity((tw * th) as usize);
    for y in 0..th {
        let sy = (y * ih / th) as usize;
        for x in 0..tw {
            let sx = (x * iw / tw) as usize;
            pixels.push(img.pixels[sy * img.width as usize + sx]);
        }
    }
    #[allow(clippy::cast_possible_truncation)]
    MonoImage {
        width: tw as u32,
        height: th as u32,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est() -> Measure<'static> {
        Measure::new(None)
    }

    fn check_wrap(text: &str, width_em: f32, want: &[&str]) {
        let got = wrap(text, width_em * 10.0, 10.0, false, est());
        assert_eq!(got, want, "{text:?} at {width_em} em");
    }

    #[test]
    fn wrapping() {
        check_wrap(
            "上海市浦东新区张江镇",
            4.0,
            &["上海市浦", "东新区张", "江镇"],
        );
        // Closing punctuation stays with the character before it.
        check_wrap("一二三，四五", 3.0, &["一二", "三，四", "五"]);
        // Latin words break at spaces (0.55 em per char).
        check_wrap("hello world foo", 6.0, &["hello", "world foo"]);
        // Over-long words break anywhere.
        check_wrap("ABCDEFGHIJKLMNOP", 4.4, &["ABCDEFGH", "IJKLMNOP"]);
        check_wrap("a\nb", 10.0, &["a", "b"]);
        check_wrap("", 10.0, &[""]);
    }

    fn texts(l: &Layout) -> Vec<String> {
        l.items
            .iter()
            .filter_map(|i| match i {
                Item::Text(t) => Some(t.text.clone()),
                _ => None,
            })
            .collect()
    }

    const FALLBACKS: &str = r#"
name = "t"
size = "100x150"
dpi = 203
[[element]]
type = "text"
x = 2
y = 2
w = 90
h = 6
size = 3
wrap = false
text = "收：{{receiver.name|}} {{receiver.phone_masked|无电话}}"
[[element]]
type = "text"
x = 2
y = 10
w = 90
h = 6
size = 3
wrap = false
optional = true
text = "备注：{{order.remark}} {{order.shop|-}}"
[[element]]
type = "barcode"
symbology = "code128"
x = 2
y = 20
w = 90
h = 10
optional = true
data = "{{extra.sscc}}"
[[element]]
type = "text"
x = 2
y = 40
w = 90
h = 6
size = 3
wrap = false
text = "单号 {{order.no}}"
"#;

    fn check_bound(edit: impl Fn(&mut LabelData), want: &[&str]) {
        let t = Template::from_toml(FALLBACKS, "t.toml", std::path::Path::new(".")).unwrap();
        let mut d = LabelData::sample();
        edit(&mut d);
        let l = layout(&t, &d, None).unwrap();
        assert_eq!(texts(&l), want);
        assert!(l.items.iter().all(|i| !matches!(i, Item::Barcode(_))));
    }

    /// Missing values: defaults print, optional elements drop out, the rest are errors that
    /// name the field (unknown fields are refused at load, see `template::tests`).
    #[test]
    fn missing_values_use_defaults_or_drop_optional_elements() {
        check_bound(
            |_| {},
            &[
                "收：张三 138****5678",
                "备注：易碎品 轻拿轻放 好物旗舰店",
                "单号 SO20261125000123",
            ],
        );
        check_bound(
            |d| {
                d.receiver.name.clear();
                d.receiver.phone.clear();
                d.order.shop.clear();
            },
            &[
                "收： 无电话",
                "备注：易碎品 轻拿轻放 -",
                "单号 SO20261125000123",
            ],
        );
        // A missing field without a default drops an optional element, whatever else is set.
        check_bound(
            |d| d.order.remark.clear(),
            &["收：张三 138****5678", "单号 SO20261125000123"],
        );
        let t = Template::from_toml(FALLBACKS, "t.toml", std::path::Path::new(".")).unwrap();
        let mut d = LabelData::sample();
        d.order.no.clear();
        let err = layout(&t, &d, None).unwrap_err().to_string();
        for want in [
            "element 4 (text)",
            "no value for {{order.no}}",
            "{{order.no|…}}",
        ] {
            assert!(err.contains(want), "{err}");
        }
    }

    /// The shipped templates print with only what a bare order gives: waybill, order number
    /// and address (no receiver name or phone, sender, weight, cost, packer …).
    #[test]
    fn shipped_templates_print_sparse_data() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut d = LabelData {
            label_id: "L1".into(),
            ..LabelData::default()
        };
        d.order.no = "SO1".into();
        d.waybill.no = "73100012345678".into();
        d.receiver.province = "上海市".into();
        d.receiver.address = "博云路2号".into();
        for name in ["express-100x150", "express-100x180", "parcel-76x130"] {
            let t = Template::load(&dir.join(format!("{name}.toml"))).unwrap();
            let l = layout(&t, &d, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            let all = texts(&l).join("\n");
            assert!(!all.contains("{{"), "{name}: {all}");
            // Without the waybill number the label is refused, naming the field.
            let mut no_waybill = d.clone();
            no_waybill.waybill.no.clear();
            no_waybill.order.no.clear();
            let err = layout(&t, &no_waybill, None).unwrap_err().to_string();
            assert!(err.contains("no value for {{"), "{name}: {err}");
        }
    }

    #[test]
    fn dots() {
        assert_eq!(mm_to_dots(100.0, Dpi::D203), 800);
        assert_eq!(mm_to_dots(150.0, Dpi::D300), 1800);
        assert_eq!(mm_to_dots(101.6, Dpi::D203), 813);
    }

    #[test]
    fn scaling_keeps_aspect() {
        let img = MonoImage {
            width: 4,
            height: 2,
            pixels: vec![true, false, true, false, false, true, false, true],
        };
        let s = scale_to_fit(&img, 8, 8);
        assert_eq!((s.width, s.height), (8, 4));
        assert!(s.pixels[0] && s.pixels[1] && !s.pixels[2]);
    }
}
