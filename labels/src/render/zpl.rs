//! ZPL II backend: `^XA … ^XZ`, UTF-8 (`^CI28`), `^FO` positions in dots, `^GB` bars and
//! boxes, `^BC` Code 128 (mode D for GS1-128), `^BE` EAN-13, `^BQ` QR, `^A0` for ASCII text.
//!
//! Zebra's built-in fonts have no CJK glyphs: CJK text uses the resident TrueType font named
//! in the template (`^A@`), or is sent as a `^GF` bitmap (ASCII-compressed hex) rendered
//! from the CJK font.

// Geometry is in printer dots, bounded by the label size (under 10 000 dots), and module or
// pixel counts are bounded the same way, so these integer casts cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use crate::barcode::Encoded;
use crate::error::{Error, Result};
use crate::fonts::Fonts;
use crate::layout::{Item, Layout, TextLine};
use crate::render::raster::{text_bitmap, Bitmap};
use crate::template::{Align, Symbology, TextMode};
use std::fmt::Write as _;

/// Escapes field data for `^FH_`: `_`, `^` and `~` become hex escapes.
pub fn field_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '_' => out.push_str("_5F"),
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            c => out.push(c),
        }
    }
    out
}

/// A repeat count in ZPL's ASCII compression (`G`–`Y` = 1–19, `g`–`z` = 20–400).
fn repeat_code(mut n: usize, out: &mut String) {
    while n > 0 {
        if n >= 20 {
            let k = (n / 20).min(20);
            out.push(char::from(b'f' + u8::try_from(k).unwrap_or(20)));
            n -= k * 20;
        } else {
            out.push(char::from(b'F' + u8::try_from(n).unwrap_or(19)));
            n = 0;
        }
    }
}

/// Hex-encodes and compresses bitmap rows with ZPL's ASCII compression: runs of a hex digit
/// as a count + digit, `,` for a row ending in zeros, `!` for a row ending in ones, `:` for a
/// row equal to the previous one.
pub fn compress_rows(data: &[u8], row_bytes: usize) -> String {
    let mut out = String::new();
    let mut prev: Option<String> = None;
    for row in data.chunks(row_bytes.max(1)) {
        let hex: String = row.iter().map(|b| format!("{b:02X}")).collect();
        if prev.as_deref() == Some(hex.as_str()) {
            out.push(':');
            continue;
        }
        let chars: Vec<char> = hex.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let mut j = i;
            while j < chars.len() && chars[j] == c {
                j += 1;
            }
            if j == chars.len() && (c == '0' || c == 'F') {
                out.push(if c == '0' { ',' } else { '!' });
                break;
            }
            if j - i > 1 {
                repeat_code(j - i, &mut out);
            }
            out.push(c);
            i = j;
        }
        prev = Some(hex);
    }
    out
}

fn graphic_field(out: &mut String, x: i32, y: i32, bmp: &Bitmap, reverse: bool) {
    let (row_bytes, data) = bmp.pack(true);
    let total = data.len();
    let fr = if reverse { "^FR" } else { "" };
    let _ = writeln!(
        out,
        "^FO{},{}{fr}^GFA,{total},{total},{row_bytes},{}^FS",
        x.max(0),
        y.max(0),
        compress_rows(&data, row_bytes as usize)
    );
}

fn font_text(out: &mut String, t: &TextLine, font: Option<&str>) {
    #[allow(clippy::cast_possible_truncation)]
    let h = (t.size.round() as i32).max(10);
    let j = match t.align {
        Align::Left => 'L',
        Align::Center => 'C',
        Align::Right => 'R',
    };
    let a = match font {
        Some(f) => format!("^A@N,{h},{h},{f}"),
        None => format!("^A0N,{h},{h}"),
    };
    let fr = if t.invert { "^FR" } else { "" };
    let y = t.top + (t.line_height - h) / 2;
    let _ = writeln!(
        out,
        "^FO{},{}{a}{fr}^FB{},1,0,{j}^FH_^FD{}^FS",
        t.box_x.max(0),
        y.max(0),
        t.box_w,
        field_data(&t.text)
    );
}

/// Renders `layout` as one ZPL format printing `copies` labels. `fonts` is needed for CJK text
/// when the template configures no resident CJK font, and for bitmap-mode text.
pub fn render(layout: &Layout, fonts: Option<&Fonts>, copies: u32) -> Result<String> {
    let mut out = String::with_capacity(4096);
    out.push_str("^XA\n^CI28\n");
    let _ = writeln!(out, "^PW{}\n^LL{}\n^LH0,0", layout.width, layout.height);
    if let Some(d) = layout.zpl.darkness {
        let _ = writeln!(out, "~SD{d:02}");
    }
    for item in &layout.items {
        match item {
            Item::Rect(r) | Item::InvertBox(r) => {
                let t = r.w.min(r.h).max(1);
                let _ = writeln!(
                    out,
                    "^FO{},{}^GB{},{},{t}^FS",
                    r.x.max(0),
                    r.y.max(0),
                    r.w,
                    r.h
                );
            }
            Item::Text(t) => {
                let resident = layout.zpl.cjk_font.as_deref();
                let bitmap = t.mode == TextMode::Bitmap || (t.is_cjk() && resident.is_none());
                if bitmap {
                    let fonts = fonts.ok_or_else(|| Error::Render {
                        format: "zpl",
                        message: format!(
                            "text {:?} needs a bitmap (no resident CJK font configured) but no CJK font is loaded",
                            t.text
                        ),
                    })?;
                    let (x, y, bmp) = text_bitmap(fonts, t);
                    graphic_field(&mut out, x, y, &bmp, t.invert);
                } else {
                    font_text(&mut out, t, if t.is_cjk() { resident } else { None });
                }
            }
            Item::Barcode(b) => {
                let data = field_data(b.encoded.printer_data());
                match (&b.encoded, b.symbology) {
                    (Encoded::Matrix { .. }, Symbology::DataMatrix) => {
                        let _ = writeln!(
                            out,
                            "^FO{},{}^BXN,{},200^FH_^FD{data}^FS",
                            b.x, b.y, b.module
                        );
                    }
                    (Encoded::Matrix { .. }, _) => {
                        // Model 2, magnification = the module size in dots, ECC M, automatic mode.
                        let _ = writeln!(
                            out,
                            "^FO{},{}^BQN,2,{}^FH_^FDMA,{data}^FS",
                            b.x,
                            b.y,
                            b.module.clamp(1, 10)
                        );
                    }
                    (_, Symbology::Ean13) => {
                        let _ = writeln!(
                            out,
                            "^BY{}^FO{},{}^BEN,{},N,N^FD{data}^FS",
                            b.module, b.x, b.y, b.height
                        );
                    }
                    (_, sym) => {
                        let mode = if sym == Symbology::Gs1_128 { 'D' } else { 'N' };
                        let _ = writeln!(
                            out,
                            "^BY{}^FO{},{}^BCN,{},N,N,N,{mode}^FH_^FD{data}^FS",
                            b.module, b.x, b.y, b.height
                        );
                    }
                }
            }
            Item::Image { x, y, image } => {
                let mut bmp = Bitmap::new(image.width, image.height);
                for (i, black) in image.pixels.iter().enumerate() {
                    if *black {
                        bmp.ink[i] = 255;
                    }
                }
                graphic_field(&mut out, *x, *y, &bmp, false);
            }
        }
    }
    let _ = writeln!(out, "^PQ{},0,1,Y\n^XZ", copies.max(1));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_compress(rows: &[&[u8]], want: &str) {
        let data: Vec<u8> = rows.concat();
        assert_eq!(compress_rows(&data, rows[0].len()), want);
    }

    #[test]
    fn ascii_compression() {
        check_compress(&[&[0, 0, 0]], ",");
        check_compress(&[&[0xFF, 0xFF]], "!");
        check_compress(&[&[0x80, 0, 0], &[0x80, 0, 0]], "8,:");
        // 0x0F repeated: no runs; the trailing F becomes "fill the row with ones".
        check_compress(&[&[0x0F, 0x0F, 0x0F]], "0F0F0!");
        // 40 'A' digits (20 bytes 0xAA): 'h' = 40.
        check_compress(&[&[0xAA; 20]], "hA");
        // 23 'A' digits then '1' then zeros: g (20) + I (3) + A.
        let mut row = vec![0xAA; 11];
        row.push(0xA1);
        row.extend([0u8; 4]);
        check_compress(&[&row], "gIA1,");
    }

    #[test]
    fn escapes() {
        assert_eq!(field_data("a_b^c~d"), "a_5Fb_5Ec_7Ed");
    }
}
