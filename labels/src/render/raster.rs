//! Rasterising a layout (or one text line) into a greyscale bitmap: the PNG preview, and the
//! bitmaps thermal printers get for CJK text (`^GF`, TSPL `BITMAP`) and images.

// Geometry is in printer dots, bounded by the label size (under 10 000 dots), and module or
// pixel counts are bounded the same way, so these integer casts cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use crate::barcode::Encoded;
use crate::fonts::{Fonts, GlyphRaster, LineKey, LineRaster};
use crate::layout::{BarcodeItem, Item, Layout, Rect, TextLine};
use crate::template::MonoImage;
use ab_glyph::{Font as _, ScaleFont as _};

/// A greyscale bitmap: 0 = white (no dot), 255 = black.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    /// Width in pixels (dots).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major ink coverage.
    pub ink: Vec<u8>,
}

impl Bitmap {
    /// A blank (white) bitmap.
    pub fn new(width: u32, height: u32) -> Self {
        Bitmap {
            width,
            height,
            ink: vec![0; width as usize * height as usize],
        }
    }

    /// Sets the ink at (x, y) to `v` if inside (keeps the darker of old and new unless `white`).
    #[allow(clippy::cast_sign_loss)]
    pub fn put(&mut self, x: i32, y: i32, v: u8, white: bool) {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height {
            return;
        }
        let i = y as usize * self.width as usize + x as usize;
        if white {
            self.ink[i] = self.ink[i].min(255 - v);
        } else {
            self.ink[i] = self.ink[i].max(v);
        }
    }

    /// Fills a rectangle black (or white).
    pub fn fill(&mut self, r: Rect, white: bool) {
        for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                self.put(x, y, 255, white);
            }
        }
    }

    /// True if the pixel prints (ink ≥ 50 %).
    pub fn dot(&self, x: u32, y: u32) -> bool {
        self.ink[y as usize * self.width as usize + x as usize] >= 128
    }

    /// Packs to 1 bit per pixel, MSB first, rows padded to whole bytes; `one_is_black`
    /// chooses the polarity (ZPL: 1 = black; TSPL: 0 = black).
    pub fn pack(&self, one_is_black: bool) -> (u32, Vec<u8>) {
        let row_bytes = self.width.div_ceil(8);
        let mut out = Vec::with_capacity((row_bytes * self.height) as usize);
        for y in 0..self.height {
            for bx in 0..row_bytes {
                let mut byte = 0u8;
                for bit in 0..8 {
                    let x = bx * 8 + bit;
                    let black = x < self.width && self.dot(x, y);
                    if black == one_is_black {
                        byte |= 0x80 >> bit;
                    }
                }
                out.push(byte);
            }
        }
        (row_bytes, out)
    }
}

/// A 1-bit bitmap for thermal printers: packed MSB first, rows padded to whole bytes, a 1 bit
/// prints a dot. Padding bits are always 0. Thermal text is composed here straight from the
/// cached glyph masks ([`GlyphRaster::mask`]), a byte at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonoBitmap {
    /// Width in dots.
    pub width: u32,
    /// Height in dots.
    pub height: u32,
    /// Bytes per row (`width` / 8 rounded up).
    pub row_bytes: usize,
    /// Rows of packed bits.
    pub data: Vec<u8>,
}

impl MonoBitmap {
    /// A blank bitmap (no dots).
    pub fn new(width: u32, height: u32) -> Self {
        let row_bytes = width.div_ceil(8) as usize;
        MonoBitmap {
            width,
            height,
            row_bytes,
            data: vec![0; row_bytes * height as usize],
        }
    }

    /// True if the dot at (x, y) prints.
    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width
            && y < self.height
            && self.data[y as usize * self.row_bytes + x as usize / 8] & (0x80 >> (x % 8)) != 0
    }

    /// Sets the dot at (x, y), ignoring dots outside.
    #[allow(clippy::cast_sign_loss)]
    pub fn set(&mut self, x: i32, y: i32) {
        if x >= 0 && y >= 0 && (x as u32) < self.width && (y as u32) < self.height {
            self.data[y as usize * self.row_bytes + x as usize / 8] |= 0x80 >> (x % 8);
        }
    }

    /// ORs a packed 1-bit mask of `w` × `h` (rows of `src_row_bytes`, padding bits 0) with its
    /// top-left corner at (x, y); whatever falls outside is clipped.
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_wrap)]
    pub fn or_mask(&mut self, x: i32, y: i32, mask: &[u8], w: u32, h: u32, src_row_bytes: usize) {
        if w == 0 || h == 0 {
            return;
        }
        let inside_x = x >= 0 && x as u32 + w <= self.width;
        for sy in 0..h as i32 {
            let dy = y + sy;
            if dy < 0 || dy as u32 >= self.height {
                continue;
            }
            let src = &mask[sy as usize * src_row_bytes..(sy as usize + 1) * src_row_bytes];
            if inside_x {
                // Whole bytes, shifted into place: the common case.
                let shift = (x % 8) as u32;
                let row = dy as usize * self.row_bytes + x as usize / 8;
                let end = (dy as usize + 1) * self.row_bytes;
                for (i, b) in src.iter().enumerate() {
                    if *b == 0 {
                        continue;
                    }
                    self.data[row + i] |= b >> shift;
                    if shift > 0 && row + i + 1 < end {
                        self.data[row + i + 1] |= b << (8 - shift);
                    }
                }
            } else {
                for sx in 0..w {
                    if src[sx as usize / 8] & (0x80 >> (sx % 8)) != 0 {
                        self.set(x + sx as i32, dy);
                    }
                }
            }
        }
    }

    /// A bitmap of a monochrome image (`true` = a dot).
    pub fn from_image(image: &MonoImage) -> Self {
        let mut bmp = MonoBitmap::new(image.width, image.height);
        if image.width == 0 {
            return bmp;
        }
        for (row, out) in image
            .pixels
            .chunks_exact(image.width as usize)
            .zip(bmp.data.chunks_exact_mut(bmp.row_bytes))
        {
            for (px, byte) in row.chunks(8).zip(out.iter_mut()) {
                for (bit, black) in px.iter().enumerate() {
                    if *black {
                        *byte |= 0x80 >> bit;
                    }
                }
            }
        }
        bmp
    }
}

/// Where and how to draw a run of text.
#[derive(Debug, Clone, Copy)]
pub struct Pen {
    /// Left of the first glyph.
    pub x: f32,
    /// Baseline.
    pub baseline: f32,
    /// Em size in pixels.
    pub size: f32,
    /// Bold.
    pub bold: bool,
    /// Draw white (on a black background).
    pub white: bool,
}

/// Calls `f(glyph, left, top)` for every glyph of `text` drawn with `pen` (twice, one dot
/// apart, for synthetic bold), with the glyph's top-left corner in bitmap pixels. The caret
/// advances exactly as the layout engine measured it.
fn for_each_glyph(fonts: &Fonts, text: &str, pen: Pen, mut f: impl FnMut(&GlyphRaster, i32, i32)) {
    let face = fonts.face(pen.bold);
    let font = face.glyphs();
    let sf = font.as_scaled(face.scale(pen.size));
    let passes: &[i32] = if pen.bold && fonts.synthetic_bold() {
        &[0, 1]
    } else {
        &[0]
    };
    let base = pen.baseline.round() as i32;
    let glyphs: Vec<(std::sync::Arc<GlyphRaster>, f32)> = text
        .chars()
        .map(|c| (face.raster(c, pen.size), sf.h_advance(font.glyph_id(c))))
        .collect();
    for dx in passes {
        let mut caret = pen.x;
        for (g, advance) in &glyphs {
            f(g, caret.round() as i32 + g.left + dx, base + g.top);
            caret += advance;
        }
    }
}

/// Draws `text` with the pen's position and size (antialiased, for the preview).
#[allow(clippy::cast_sign_loss, clippy::cast_possible_wrap)]
pub fn draw_text(bmp: &mut Bitmap, fonts: &Fonts, text: &str, pen: Pen) {
    let (bw, bh) = (bmp.width as i32, bmp.height as i32);
    for_each_glyph(fonts, text, pen, |g, ox, oy| {
        let (gw, gh) = (g.width as i32, g.height as i32);
        // Clip the glyph to the bitmap once, then blend whole row slices.
        let (x0, x1) = ((-ox).max(0), gw.min(bw - ox));
        let (y0, y1) = ((-oy).max(0), gh.min(bh - oy));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        for gy in y0..y1 {
            let src = &g.coverage[(gy * gw + x0) as usize..(gy * gw + x1) as usize];
            let at = ((oy + gy) * bw + ox + x0) as usize;
            let dst = &mut bmp.ink[at..at + src.len()];
            if pen.white {
                for (d, v) in dst.iter_mut().zip(src) {
                    *d = (*d).min(255 - v);
                }
            } else {
                for (d, v) in dst.iter_mut().zip(src) {
                    *d = (*d).max(*v);
                }
            }
        }
    });
}

/// Draws a barcode's modules.
#[allow(clippy::cast_possible_wrap)]
pub fn draw_barcode(bmp: &mut Bitmap, b: &BarcodeItem) {
    for r in barcode_rects(b) {
        bmp.fill(r, false);
    }
}

/// The black rectangles of a barcode (adjacent modules merged).
#[allow(clippy::cast_possible_wrap)]
pub fn barcode_rects(b: &BarcodeItem) -> Vec<Rect> {
    let m = b.module as i32;
    let mut out = Vec::new();
    let mut runs = |row: &[bool], y: i32, h: i32| {
        let mut i = 0;
        while i < row.len() {
            if row[i] {
                let start = i;
                while i < row.len() && row[i] {
                    i += 1;
                }
                out.push(Rect {
                    x: b.x + start as i32 * m,
                    y,
                    w: (i - start) as i32 * m,
                    h,
                });
            } else {
                i += 1;
            }
        }
    };
    match &b.encoded {
        Encoded::Linear { modules, .. } => runs(modules, b.y, b.height as i32),
        Encoded::Matrix { size, modules, .. } => {
            for (r, row) in modules.get().chunks(*size).enumerate() {
                runs(row, b.y + r as i32 * m, m);
            }
        }
    }
    out
}

/// Rasterises one text line into a tight bitmap (for thermal printers): returns the bitmap
/// and its top-left position in label dots.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn text_bitmap(fonts: &Fonts, t: &TextLine) -> (i32, i32, Bitmap) {
    let w = (t.width.ceil() as i32 + 2).max(1);
    let h = t.line_height.max(1);
    let mut bmp = Bitmap::new(w as u32, h as u32);
    let base = (t.baseline - t.top) as f32;
    let pen = Pen {
        x: 0.0,
        baseline: base,
        size: t.size,
        bold: t.bold,
        white: false,
    };
    draw_text(&mut bmp, fonts, &t.text, pen);
    (t.x, t.top, bmp)
}

/// Rasterises one text line for a thermal printer into a tight 1-bit bitmap composed from
/// the cached glyph masks: the same dots as [`text_bitmap`] thresholded at 50 %, without
/// touching every pixel. Returns the bitmap and its top-left position in label dots.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn text_mono(fonts: &Fonts, t: &TextLine) -> (i32, i32, MonoBitmap) {
    let w = (t.width.ceil() as i32 + 2).max(1);
    let h = t.line_height.max(1);
    let mut bmp = MonoBitmap::new(w as u32, h as u32);
    let pen = Pen {
        x: 0.0,
        baseline: (t.baseline - t.top) as f32,
        size: t.size,
        bold: t.bold,
        white: false,
    };
    for_each_glyph(fonts, &t.text, pen, |g, ox, oy| {
        bmp.or_mask(ox, oy, &g.mask, g.width, g.height, g.mask_row_bytes());
    });
    (t.x, t.top, bmp)
}

/// [`text_mono`] through the face's line cache: the bitmap of a line already drawn in the same
/// face, size and box is reused, and so is its compressed ZPL.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn text_line(fonts: &Fonts, t: &TextLine) -> std::sync::Arc<LineRaster> {
    let key = LineKey {
        text: t.text.clone(),
        size_bits: t.size.to_bits(),
        synthetic_bold: t.bold && fonts.synthetic_bold(),
        width: (t.width.ceil() as i32 + 2).max(1) as u32,
        height: t.line_height.max(1) as u32,
        baseline: t.baseline - t.top,
    };
    fonts.face(t.bold).line(key, || text_mono(fonts, t).2)
}

/// Rasterises a whole layout (the PNG preview). Without fonts, text is drawn as grey boxes.
pub fn rasterise(layout: &Layout, fonts: Option<&Fonts>) -> Bitmap {
    let mut bmp = Bitmap::new(layout.width, layout.height);
    for item in &layout.items {
        match item {
            Item::Rect(r) | Item::InvertBox(r) => bmp.fill(*r, false),
            Item::Text(t) => match fonts {
                Some(f) => {
                    let pen = Pen {
                        x: t.x as f32,
                        baseline: t.baseline as f32,
                        size: t.size,
                        bold: t.bold,
                        white: t.invert,
                    };
                    draw_text(&mut bmp, f, &t.text, pen);
                }
                #[allow(clippy::cast_possible_truncation)]
                None => {
                    let r = Rect {
                        x: t.x,
                        y: t.top,
                        w: t.width as i32,
                        h: t.line_height,
                    };
                    for y in r.y..r.y + r.h {
                        for x in r.x..r.x + r.w {
                            bmp.put(x, y, 96, false);
                        }
                    }
                }
            },
            Item::Barcode(b) => draw_barcode(&mut bmp, b),
            Item::Image { x, y, image } => {
                for (i, black) in image.pixels.iter().enumerate() {
                    if *black {
                        #[allow(clippy::cast_possible_wrap)]
                        let (px, py) = (
                            (i % image.width as usize) as i32,
                            (i / image.width as usize) as i32,
                        );
                        bmp.put(x + px, y + py, 255, false);
                    }
                }
            }
        }
    }
    bmp
}

/// Encodes a bitmap as an 8-bit greyscale PNG (white paper, black ink).
pub fn to_png(bmp: &Bitmap) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, bmp.width, bmp.height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        let px: Vec<u8> = bmp.ink.iter().map(|v| 255 - v).collect();
        w.write_image_data(&px).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_polarity() {
        let mut b = Bitmap::new(10, 1);
        b.fill(
            Rect {
                x: 0,
                y: 0,
                w: 1,
                h: 1,
            },
            false,
        );
        b.fill(
            Rect {
                x: 9,
                y: 0,
                w: 1,
                h: 1,
            },
            false,
        );
        assert_eq!(b.pack(true), (2, vec![0x80, 0x40]));
        assert_eq!(b.pack(false), (2, vec![0x7F, 0xBF]));
    }

    /// A deterministic pseudo-random mask of `w` × `h` with zero padding bits.
    fn mask(w: u32, h: u32, seed: u32) -> Vec<u8> {
        let rb = w.div_ceil(8) as usize;
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        let mut m = vec![0u8; rb * h as usize];
        for y in 0..h as usize {
            for x in 0..w as usize {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                if s % 3 == 0 {
                    m[y * rb + x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        m
    }

    /// `or_mask` (byte-shifting fast path and clipped slow path) sets exactly the dots a
    /// per-pixel copy sets, and never a padding bit.
    #[test]
    fn or_mask_matches_per_pixel_copy() {
        let cases = [
            (0, 0, 9, 5),
            (3, 1, 13, 4),
            (7, 2, 8, 8),
            (-3, -2, 10, 6),
            (25, 7, 9, 5),
            (20, 0, 11, 3),
            (1, 1, 0, 0),
        ];
        for (n, (x, y, w, h)) in cases.into_iter().enumerate() {
            let m = mask(w, h, n as u32 + 1);
            let rb = w.div_ceil(8) as usize;
            let mut fast = MonoBitmap::new(30, 10);
            fast.set(0, 9);
            fast.or_mask(x, y, &m, w, h, rb);
            let mut slow = MonoBitmap::new(30, 10);
            slow.set(0, 9);
            for sy in 0..h {
                for sx in 0..w {
                    if m[sy as usize * rb + sx as usize / 8] & (0x80 >> (sx % 8)) != 0 {
                        #[allow(clippy::cast_possible_wrap)]
                        slow.set(x + sx as i32, y + sy as i32);
                    }
                }
            }
            assert_eq!(fast, slow, "case {n}: ({x},{y}) {w}×{h}");
            for row in fast.data.chunks(fast.row_bytes) {
                assert_eq!(row[3] & 0x03, 0, "case {n}: padding bits set");
            }
        }
    }

    #[test]
    fn images_pack_msb_first() {
        let img = MonoImage {
            width: 10,
            height: 2,
            pixels: [
                [
                    true, false, false, false, false, false, false, true, true, false,
                ],
                [false; 10],
            ]
            .concat(),
        };
        let b = MonoBitmap::from_image(&img);
        assert_eq!((b.row_bytes, b.data), (2, vec![0x81, 0x80, 0, 0]));
    }

    /// The thermal text path (cached 1-bit glyph masks ORed together) prints exactly the dots
    /// of the antialiased raster thresholded at 50 %, for regular, bold and mixed text.
    #[test]
    fn mono_text_equals_thresholded_raster() {
        let Ok(fonts) = crate::fonts::default_fonts() else {
            eprintln!("skipped: no CJK font installed");
            return;
        };
        let m = crate::layout::Measure::new(Some(fonts));
        for (text, size, bold) in [
            ("收件人：张三 138****5678", 36.0, true),
            ("上海市浦东新区 jgpq Wy", 28.5, false),
            ("021 E12-03", 88.0, true),
            ("重量：1.250kg", 23.7, false),
        ] {
            let width = m.width(text, size, bold);
            #[allow(clippy::cast_possible_truncation)]
            let line_height = (size * 1.25).round() as i32;
            let t = TextLine {
                text: text.into(),
                x: 17,
                top: 40,
                #[allow(clippy::cast_possible_truncation)]
                baseline: 40 + (size * 1.0).round() as i32,
                line_height,
                size,
                width,
                box_x: 10,
                box_w: 700,
                align: crate::template::Align::Left,
                bold,
                mode: crate::template::TextMode::Bitmap,
                invert: false,
            };
            let (gx, gy, grey) = text_bitmap(fonts, &t);
            let (mx, my, mono) = text_mono(fonts, &t);
            assert_eq!((gx, gy), (mx, my));
            let (rb, packed) = grey.pack(true);
            assert_eq!(rb as usize, mono.row_bytes, "{text}");
            assert_eq!(packed, mono.data, "{text}");
            assert!(mono.data.iter().any(|b| *b != 0), "{text}: no dots");
        }
    }
}
