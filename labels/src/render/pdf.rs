//! PDF backend (printpdf 0.12): one page the size of the label, vector bars and boxes, text
//! in the CJK font embedded as a subset (so a label stays well under 50 KB).

// Geometry is in printer dots, bounded by the label size (under 10 000 dots), and module or
// pixel counts are bounded the same way, so these integer casts cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use crate::error::{Error, Result};
use crate::fonts::Fonts;
use crate::layout::{Item, Layout, Rect};
use crate::render::raster::barcode_rects;
use printpdf::{
    Color, Greyscale, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, RawImage, RawImageData, RawImageFormat, TextItem, TextRenderingMode,
    XObjectTransform,
};

/// Most pages one PDF job carries (a mistyped copy count must not make a huge file).
pub const MAX_COPIES: u32 = 100;

fn grey(black: bool) -> Color {
    Color::Greyscale(Greyscale {
        percent: if black { 0.0 } else { 1.0 },
        icc_profile: None,
    })
}

/// Renders `layout` to a one-page PDF. Needs the CJK font when the layout has text.
pub fn render(layout: &Layout, fonts: Option<&Fonts>) -> Result<Vec<u8>> {
    render_copies(layout, fonts, 1)
}

/// Renders `layout` to a PDF with one page per copy (a spooler or a folder printer then
/// prints every copy; the pages share the one embedded font subset).
///
/// Geometry is converted from integer dots to PDF points in `f32`, which is exact to far
/// below a printer dot; nothing here is money or weight.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
pub fn render_copies(layout: &Layout, fonts: Option<&Fonts>, copies: u32) -> Result<Vec<u8>> {
    let dpmm = layout.dpi.dots_per_mm() as f32;
    let pt = |dots: f32| Pt(dots / dpmm * 72.0 / 25.4);
    let page_h = layout.height as f32;
    let mut doc = PdfDocument::new(&layout.template);
    let mut ops = vec![Op::SetFillColor { col: grey(true) }];
    let mut regular: Option<printpdf::FontId> = None;
    let mut bold_font: Option<printpdf::FontId> = None;
    let rect_op = |r: &Rect| Op::DrawRectangle {
        rectangle: printpdf::Rect {
            x: pt(r.x as f32),
            y: pt(page_h - (r.y + r.h) as f32),
            width: pt(r.w as f32),
            height: pt(r.h as f32),
            mode: Some(PaintMode::Fill),
            winding_order: None,
        },
    };
    for item in &layout.items {
        match item {
            Item::Rect(r) | Item::InvertBox(r) => ops.push(rect_op(r)),
            Item::Barcode(b) => {
                for r in barcode_rects(b) {
                    ops.push(rect_op(&r));
                }
            }
            Item::Text(t) => {
                let fonts = fonts.ok_or_else(|| Error::Render {
                    format: "pdf",
                    message: "the layout has text but no CJK font is loaded".into(),
                })?;
                let use_bold_face = t.bold && !fonts.synthetic_bold();
                let slot = if use_bold_face {
                    &mut bold_font
                } else {
                    &mut regular
                };
                let id = match slot {
                    Some(id) => id.clone(),
                    None => {
                        let id = doc.add_font(fonts.face(use_bold_face).pdf()?);
                        *slot = Some(id.clone());
                        id
                    }
                };
                let synth_bold = t.bold && fonts.synthetic_bold();
                ops.push(Op::StartTextSection);
                if t.invert {
                    ops.push(Op::SetFillColor { col: grey(false) });
                }
                if synth_bold {
                    ops.push(Op::SetOutlineColor {
                        col: grey(!t.invert),
                    });
                    ops.push(Op::SetOutlineThickness {
                        pt: Pt(t.size / dpmm * 72.0 / 25.4 * 0.04),
                    });
                    ops.push(Op::SetTextRenderingMode {
                        mode: TextRenderingMode::FillStroke,
                    });
                }
                ops.push(Op::SetFont {
                    font: PdfFontHandle::External(id),
                    size: pt(t.size),
                });
                ops.push(Op::SetTextCursor {
                    pos: Point {
                        x: pt(t.x as f32),
                        y: pt(page_h - t.baseline as f32),
                    },
                });
                ops.push(Op::ShowText {
                    items: vec![TextItem::Text(t.text.clone())],
                });
                if synth_bold {
                    ops.push(Op::SetTextRenderingMode {
                        mode: TextRenderingMode::Fill,
                    });
                }
                if t.invert {
                    ops.push(Op::SetFillColor { col: grey(true) });
                }
                ops.push(Op::EndTextSection);
            }
            Item::Image { x, y, image } => {
                let pixels = image
                    .pixels
                    .iter()
                    .map(|b| if *b { 0 } else { 255 })
                    .collect();
                let raw = RawImage {
                    pixels: RawImageData::U8(pixels),
                    width: image.width as usize,
                    height: image.height as usize,
                    data_format: RawImageFormat::R8,
                    tag: Vec::new(),
                };
                let id = doc.add_image(&raw);
                ops.push(Op::UseXobject {
                    id,
                    transform: XObjectTransform {
                        translate_x: Some(pt(*x as f32)),
                        translate_y: Some(pt(page_h - (*y as f32 + image.height as f32))),
                        dpi: Some(dpmm * 25.4),
                        ..XObjectTransform::default()
                    },
                });
            }
        }
    }
    let page = PdfPage::new(
        Mm(layout.size.width_mm() as f32),
        Mm(layout.size.height_mm() as f32),
        ops,
    );
    doc.with_pages(vec![page; copies.clamp(1, MAX_COPIES) as usize]);
    let mut warnings = Vec::new();
    // printpdf's own `optimize` deflates every stream at zlib's best level, a quarter of the
    // time of a label. The fastest level costs about 2 KB on the express label (26.8 KB
    // against 24.7 KB, far under the 50 KB budget) and saves about 1.1 ms of CPU per label
    // (2.65 ms against 3.95 ms, measured with `perf stat`).
    let opts = PdfSaveOptions {
        optimize: false,
        image_optimization: None,
        ..PdfSaveOptions::default()
    };
    let mut pdf = doc.to_lopdf_document(&opts, &mut warnings);
    compress_streams(&mut pdf, flate2::Compression::fast())?;
    let mut out = Vec::with_capacity(32 * 1024);
    pdf.save_to(&mut out).map_err(|e| Error::Render {
        format: "pdf",
        message: format!("cannot serialise the PDF: {e}"),
    })?;
    Ok(out)
}

/// Deflates every stream that has no filter yet (as lopdf's `compress` does, at `level`),
/// keeping the plain content where compression would not make it smaller.
fn compress_streams(pdf: &mut lopdf::Document, level: flate2::Compression) -> Result<()> {
    use std::io::Write as _;
    for object in pdf.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
            continue;
        }
        let mut z =
            flate2::write::ZlibEncoder::new(Vec::with_capacity(stream.content.len() / 2), level);
        let packed = z
            .write_all(&stream.content)
            .and_then(|()| z.finish())
            .map_err(|e| Error::Render {
                format: "pdf",
                message: format!("cannot compress a PDF stream: {e}"),
            })?;
        if packed.len() + 19 < stream.content.len() {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(packed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies are pages of one document, and the streams are deflated.
    #[test]
    fn one_page_per_copy() {
        let Ok(fonts) = crate::fonts::default_fonts() else {
            eprintln!("skipped: no CJK font installed");
            return;
        };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let t = crate::Template::load(&dir.join("parcel-76x130.toml")).unwrap();
        let l = crate::layout(&t, &crate::LabelData::sample(), Some(fonts)).unwrap();
        for (copies, pages) in [(0, 1), (1, 1), (3, 3), (1000, MAX_COPIES as usize)] {
            let pdf = render_copies(&l, Some(fonts), copies).unwrap();
            let doc = lopdf::Document::load_mem(&pdf).unwrap();
            assert_eq!(doc.get_pages().len(), pages, "{copies} copies");
            let plain = doc
                .objects
                .values()
                .filter_map(|o| o.as_stream().ok())
                .filter(|s| s.content.len() > 64 && s.dict.get(b"Filter").is_err())
                .count();
            assert_eq!(plain, 0, "every sizeable stream is compressed");
        }
    }
}
