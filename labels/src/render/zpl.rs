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
use crate::render::raster::{text_line, MonoBitmap};
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

/// Appends a repeat count in ZPL's ASCII compression (`G`–`Y` = 1–19, `g`–`z` = 20–400;
/// counts add up, e.g. `hK` = 40 + 5).
fn repeat_code(mut n: usize, out: &mut Vec<u8>) {
    while n > 0 {
        if n >= 20 {
            let k = (n / 20).min(20);
            out.push(b'f' + u8::try_from(k).unwrap_or(20));
            n -= k * 20;
        } else {
            out.push(b'F' + u8::try_from(n).unwrap_or(19));
            n = 0;
        }
    }
}

/// Hex-encodes and compresses bitmap rows with ZPL's ASCII compression: runs of a hex digit
/// as a count + digit, `,` for a row ending in zeros, `!` for a row ending in ones, `:` for a
/// row equal to the previous one.
pub fn compress_rows(data: &[u8], row_bytes: usize) -> String {
    let mut out = Vec::with_capacity(data.len() + 16);
    compress_rows_into(&mut out, data, row_bytes);
    // Only ASCII is ever written.
    String::from_utf8_lossy(&out).into_owned()
}

/// [`compress_rows`] appending ASCII to `out`: a row equal to the previous one is one `:`;
/// other rows are hex-encoded through a table and their runs counted on the digits.
pub fn compress_rows_into(out: &mut Vec<u8>, data: &[u8], row_bytes: usize) {
    let row_bytes = row_bytes.max(1);
    let mut hex = Vec::with_capacity(row_bytes * 2);
    let mut prev: Option<&[u8]> = None;
    for row in data.chunks(row_bytes) {
        if prev == Some(row) {
            out.push(b':');
            continue;
        }
        prev = Some(row);
        hex.clear();
        for b in row {
            hex.extend_from_slice(&HEX_PAIRS[usize::from(*b)]);
        }
        let n = hex.len();
        let mut i = 0;
        while i < n {
            i = copy_literals(out, &hex, i);
            if i >= n {
                break;
            }
            let c = hex[i];
            let mut j = i + 1;
            while j < n && hex[j] == c {
                j += 1;
            }
            if j == n && (c == b'0' || c == b'F') {
                out.push(if c == b'0' { b',' } else { b'!' });
                break;
            }
            if j - i > 1 {
                repeat_code(j - i, out);
            }
            out.push(c);
            i = j;
        }
    }
}

/// Copies the digits from `i` on that differ from the digit after them (runs of one, which
/// are sent as they are), eight at a time, and returns where a run of two or more may start.
/// Never copies the row's last digit: whether it becomes `,` or `!` is decided by the caller.
fn copy_literals(out: &mut Vec<u8>, hex: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let (Some(a), Some(b)) = (hex.get(i..i + 8), hex.get(i + 1..i + 9)) {
        let (Ok(a), Ok(b)) = (<[u8; 8]>::try_from(a), <[u8; 8]>::try_from(b)) else {
            break;
        };
        // A zero byte in a ^ b marks a digit equal to its successor; the lowest flag of
        // the classic "has a zero byte" test is exact.
        let x = u64::from_le_bytes(a) ^ u64::from_le_bytes(b);
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero == 0 {
            out.extend_from_slice(&a);
            i += 8;
        } else {
            let k = (zero.trailing_zeros() / 8) as usize;
            out.extend_from_slice(&a[..k]);
            return i + k;
        }
    }
    i
}

/// The two hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 15]];
        i += 1;
    }
    t
};

/// Expands ZPL ASCII-compressed hex (`^GFA` data) back into packed rows of `row_bytes`: the
/// inverse of [`compress_rows`], for tests and for checking what a printer will print.
/// `Err` says what is malformed.
pub fn decompress_rows(text: &str, row_bytes: usize) -> std::result::Result<Vec<u8>, String> {
    let digits = row_bytes * 2;
    let mut rows: Vec<Vec<u8>> = Vec::new();
    let mut row: Vec<u8> = Vec::with_capacity(digits);
    let mut count = 0usize;
    let finish = |row: &mut Vec<u8>, rows: &mut Vec<Vec<u8>>| {
        let packed: Vec<u8> = row.chunks(2).map(|p| (p[0] << 4) | p[1]).collect();
        rows.push(packed);
        row.clear();
    };
    for c in text.chars() {
        match c {
            'G'..='Y' => count += usize::from(c as u8 - b'F'),
            'g'..='z' => count += usize::from(c as u8 - b'f') * 20,
            ',' | '!' => {
                let v = if c == ',' { 0 } else { 0x0F };
                row.resize(digits, v);
                finish(&mut row, &mut rows);
                count = 0;
            }
            ':' => {
                if !row.is_empty() || count != 0 {
                    return Err("':' inside a row".into());
                }
                let last = rows.last().cloned().unwrap_or_else(|| vec![0; row_bytes]);
                rows.push(last);
            }
            '0'..='9' | 'A'..='F' => {
                let v = c.to_digit(16).unwrap_or(0) as u8;
                let times = count.max(1);
                count = 0;
                if row.len() + times > digits {
                    return Err(format!(
                        "row {} has more than {digits} hex digits",
                        rows.len() + 1
                    ));
                }
                row.extend(std::iter::repeat_n(v, times));
                if row.len() == digits {
                    finish(&mut row, &mut rows);
                }
            }
            other => return Err(format!("unexpected {other:?} in compressed data")),
        }
    }
    if !row.is_empty() || count != 0 {
        return Err(format!("the last row has {} of {digits} digits", row.len()));
    }
    Ok(rows.concat())
}

/// Appends one `^GF` field drawing `bmp` at (x, y) from its ASCII-compressed hex `data`.
fn graphic_field(out: &mut String, at: (i32, i32), bmp: &MonoBitmap, data: &str, reverse: bool) {
    let total = bmp.data.len();
    let fr = if reverse { "^FR" } else { "" };
    let _ = writeln!(
        out,
        "^FO{},{}{fr}^GFA,{total},{total},{},{data}^FS",
        at.0.max(0),
        at.1.max(0),
        bmp.row_bytes
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
                    let line = text_line(fonts, t);
                    let data = line
                        .zpl
                        .get_or_init(|| compress_rows(&line.bitmap.data, line.bitmap.row_bytes));
                    graphic_field(&mut out, (t.x, t.top), &line.bitmap, data, t.invert);
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
                let bmp = MonoBitmap::from_image(image);
                let data = compress_rows(&bmp.data, bmp.row_bytes);
                graphic_field(&mut out, (*x, *y), &bmp, &data, false);
            }
        }
    }
    let _ = writeln!(out, "^PQ{},0,1,Y\n^XZ", copies.max(1));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::raster::text_mono;

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
    fn decompression_inverts_compression() {
        // Hand-written ZPL from the manual's rules.
        assert_eq!(
            decompress_rows("8,:", 3).unwrap(),
            vec![0x80, 0, 0, 0x80, 0, 0]
        );
        assert_eq!(decompress_rows("hA", 20).unwrap(), vec![0xAA; 20]);
        assert_eq!(
            decompress_rows("gIA1,", 16).unwrap(),
            [&[0xAA; 11][..], &[0xA1], &[0; 4]].concat()
        );
        assert!(decompress_rows("AAA", 1).is_err());
        assert!(decompress_rows("A", 1).is_err());
        assert!(decompress_rows("AQ", 1).is_err());
        // Pseudo-random rows with long runs, repeated rows and all-ones rows.
        let mut s = 0x9E37_79B9u32;
        for row_bytes in [1usize, 2, 7, 25, 60] {
            let mut data = Vec::new();
            for r in 0..40 {
                let row: Vec<u8> = (0..row_bytes)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 17;
                        s ^= s << 5;
                        match s % 7 {
                            0 => 0xFF,
                            1 | 2 => 0,
                            3 => 0xF0,
                            _ => s.to_le_bytes()[1],
                        }
                    })
                    .collect();
                if r % 5 == 4 {
                    let prev = data[data.len() - row_bytes..].to_vec();
                    data.extend(prev);
                } else if r % 11 == 3 {
                    data.extend(vec![0xFF; row_bytes]);
                } else {
                    data.extend(row);
                }
            }
            let z = compress_rows(&data, row_bytes);
            assert_eq!(decompress_rows(&z, row_bytes).unwrap(), data, "{z}");
            assert!(z.len() < data.len() * 2, "compression grew the data");
        }
    }

    /// Every `^GF` of a label with CJK text decodes back to the bitmap of that text, and the
    /// compressed label is much smaller than plain hex would be.
    #[test]
    fn graphic_fields_decode_to_the_text_bitmaps() {
        let Ok(fonts) = crate::fonts::default_fonts() else {
            eprintln!("skipped: no CJK font installed");
            return;
        };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let t = crate::Template::load(&dir.join("express-100x150.toml")).unwrap();
        let l = crate::layout(&t, &crate::LabelData::sample(), Some(fonts)).unwrap();
        let zpl = render(&l, Some(fonts), 1).unwrap();
        let mut bitmaps: Vec<(i32, i32, MonoBitmap)> = Vec::new();
        for item in &l.items {
            match item {
                Item::Text(t) if t.is_cjk() => bitmaps.push(text_mono(fonts, t)),
                Item::Image { x, y, image } => {
                    bitmaps.push((*x, *y, MonoBitmap::from_image(image)));
                }
                _ => {}
            }
        }
        let fields: Vec<&str> = zpl.lines().filter(|l| l.contains("^GFA,")).collect();
        assert_eq!(fields.len(), bitmaps.len());
        let mut plain_hex = 0;
        for (line, (x, y, bmp)) in fields.iter().zip(&bitmaps) {
            let (head, rest) = line.split_once("^GFA,").unwrap();
            assert!(head.starts_with(&format!("^FO{x},{y}")), "{head}");
            let mut parts = rest.splitn(4, ',');
            let total: usize = parts.next().unwrap().parse().unwrap();
            let count: usize = parts.next().unwrap().parse().unwrap();
            let row_bytes: usize = parts.next().unwrap().parse().unwrap();
            let data = parts.next().unwrap().strip_suffix("^FS").unwrap();
            assert_eq!(
                (total, count, row_bytes),
                (bmp.data.len(), bmp.data.len(), bmp.row_bytes)
            );
            assert_eq!(
                decompress_rows(data, row_bytes).unwrap(),
                bmp.data,
                "{head}"
            );
            plain_hex += bmp.data.len() * 2;
        }
        let gf: usize = fields.iter().map(|f| f.len()).sum();
        // CJK glyph rows are busy: run-length coding saves about 40 %, not more.
        assert!(
            gf * 4 < plain_hex * 3,
            "{gf} bytes of ^GF for {plain_hex} hex digits"
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(field_data("a_b^c~d"), "a_5Fb_5Ec_7Ed");
    }
}
