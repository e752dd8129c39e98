//! TSPL / TSPL2 backend (TSC, Gprinter, Xprinter, HPRT): `SIZE`, `GAP`, `CLS`, `TEXT`,
//! `BARCODE`, `QRCODE`, `BAR`, `BITMAP`, `REVERSE`, `PRINT`, lines ending CR LF.
//!
//! Chinese text goes to the resident GB font (`TSS24.BF2`, 24×24 dots, ASCII 12×24) encoded
//! in GB18030, or as a `BITMAP` rendered from the CJK font when the element asks for it.
//! Output is bytes, not a string: GB18030 text and bitmap data are binary.

// Geometry is in printer dots, bounded by the label size (under 10 000 dots), and module or
// pixel counts are bounded the same way, so these integer casts cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use crate::barcode::Encoded;
use crate::error::{Error, Result};
use crate::fonts::{is_wide, Fonts};
use crate::layout::{Item, Layout, TextLine};
use crate::render::raster::{text_line, MonoBitmap};
use crate::template::{Align, Symbology, TextMode};
use std::io::Write as _;

/// Height of the resident GB font cell in dots.
pub const RESIDENT_CELL: i32 = 24;

fn line(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Quotes a string for a TSPL string parameter: `"` becomes `\["]`.
pub fn quote(s: &str) -> String {
    s.replace('"', "\\[\"]")
}

fn mm(tenth: u32) -> String {
    if tenth % 10 == 0 {
        format!("{}", tenth / 10)
    } else {
        format!("{}.{}", tenth / 10, tenth % 10)
    }
}

fn bitmap_cmd(out: &mut Vec<u8>, x: i32, y: i32, bmp: &MonoBitmap, mode: u8) {
    let _ = write!(
        out,
        "BITMAP {},{},{},{},{},",
        x.max(0),
        y.max(0),
        bmp.row_bytes,
        bmp.height,
        mode
    );
    // TSPL bitmaps: a 0 bit prints a dot.
    out.extend(bmp.data.iter().map(|b| !b));
    out.extend_from_slice(b"\r\n");
}

/// Width in dots of `s` in the resident font at multiplier `mul`.
pub fn resident_width(s: &str, mul: i32) -> i32 {
    s.chars()
        .map(|c| {
            if is_wide(c) {
                RESIDENT_CELL
            } else {
                RESIDENT_CELL / 2
            }
        })
        .sum::<i32>()
        * mul
}

fn resident_text(out: &mut Vec<u8>, t: &TextLine, font: &str) {
    #[allow(clippy::cast_possible_truncation)]
    let mul = ((t.size / RESIDENT_CELL as f32).round() as i32).clamp(1, 10);
    let w = resident_width(&t.text, mul);
    let x = match t.align {
        Align::Left => t.box_x,
        Align::Center => t.box_x + (t.box_w - w) / 2,
        Align::Right => t.box_x + t.box_w - w,
    }
    .max(0);
    let y = (t.top + (t.line_height - RESIDENT_CELL * mul) / 2).max(0);
    let quoted = quote(&t.text);
    let (gb, _, _) = encoding_rs::GB18030.encode(&quoted);
    let passes: &[i32] = if t.bold { &[0, 1] } else { &[0] };
    for dx in passes {
        let _ = write!(out, "TEXT {},{},\"{font}\",0,{mul},{mul},\"", x + dx, y);
        out.extend_from_slice(&gb);
        out.extend_from_slice(b"\"\r\n");
    }
}

/// Renders `layout` as one TSPL job printing `copies` labels. `fonts` is needed only for
/// elements in bitmap mode.
pub fn render(layout: &Layout, fonts: Option<&Fonts>, copies: u32) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(4096);
    line(
        &mut out,
        &format!(
            "SIZE {} mm,{} mm",
            mm(layout.size.width_tenth_mm),
            mm(layout.size.height_tenth_mm)
        ),
    );
    line(
        &mut out,
        &format!("GAP {} mm,0 mm", mm(layout.gap_tenth_mm)),
    );
    line(&mut out, "DIRECTION 1,0");
    line(&mut out, "REFERENCE 0,0");
    if let Some(d) = layout.tspl.density {
        line(&mut out, &format!("DENSITY {d}"));
    }
    if let Some(s) = layout.tspl.speed {
        line(&mut out, &format!("SPEED {s}"));
    }
    line(&mut out, "CLS");
    let mut reverse = Vec::new();
    for item in &layout.items {
        match item {
            Item::Rect(r) => line(
                &mut out,
                &format!("BAR {},{},{},{}", r.x.max(0), r.y.max(0), r.w, r.h),
            ),
            // The background of inverted text: draw the text, then REVERSE the box at the end.
            Item::InvertBox(r) => reverse.push(*r),
            Item::Text(t) => {
                if t.mode == TextMode::Bitmap {
                    let fonts = fonts.ok_or_else(|| Error::Render {
                        format: "tspl",
                        message: format!(
                            "text {:?} asks for a bitmap but no CJK font is loaded",
                            t.text
                        ),
                    })?;
                    let line = text_line(fonts, t);
                    bitmap_cmd(&mut out, t.x, t.top, &line.bitmap, 1);
                } else {
                    resident_text(&mut out, t, &layout.tspl.cjk_font);
                }
            }
            Item::Barcode(b) => {
                let data = quote(b.encoded.printer_data());
                match (&b.encoded, b.symbology) {
                    (Encoded::Matrix { .. }, Symbology::DataMatrix) => {
                        let side = b.width();
                        line(
                            &mut out,
                            &format!(
                                "DMATRIX {},{},{side},{side},x{},\"{data}\"",
                                b.x, b.y, b.module
                            ),
                        );
                    }
                    (Encoded::Matrix { .. }, _) => line(
                        &mut out,
                        &format!("QRCODE {},{},M,{},A,0,\"{data}\"", b.x, b.y, b.module),
                    ),
                    (_, sym) => {
                        let kind = match sym {
                            Symbology::Gs1_128 => "EAN128",
                            Symbology::Ean13 => "EAN13",
                            _ => "128",
                        };
                        line(
                            &mut out,
                            &format!(
                                "BARCODE {},{},\"{kind}\",{},0,0,{m},{m},\"{data}\"",
                                b.x,
                                b.y,
                                b.height,
                                m = b.module
                            ),
                        );
                    }
                }
            }
            Item::Image { x, y, image } => {
                bitmap_cmd(&mut out, *x, *y, &MonoBitmap::from_image(image), 0);
            }
        }
    }
    for r in reverse {
        line(
            &mut out,
            &format!("REVERSE {},{},{},{}", r.x.max(0), r.y.max(0), r.w, r.h),
        );
    }
    line(&mut out, &format!("PRINT 1,{}", copies.max(1)));
    Ok(out)
}
