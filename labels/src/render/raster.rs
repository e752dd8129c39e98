//! Rasterising a layout (or one text line) into a greyscale bitmap: the PNG preview, and the
//! bitmaps thermal printers get for CJK text (`^GF`, TSPL `BITMAP`) and images.

// Geometry is in printer dots, bounded by the label size (under 10 000 dots), and module or
// pixel counts are bounded the same way, so these integer casts cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use crate::barcode::Encoded;
use crate::fonts::Fonts;
use crate::layout::{BarcodeItem, Item, Layout, Rect, TextLine};
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

/// Draws `text` with the pen's position and size.
pub fn draw_text(bmp: &mut Bitmap, fonts: &Fonts, text: &str, pen: Pen) {
    let Pen {
        x,
        baseline,
        size,
        bold,
        white,
    } = pen;
    let face = fonts.face(bold);
    let font = face.glyphs();
    let sf = font.as_scaled(face.scale(size));
    let passes: &[i32] = if bold && fonts.synthetic_bold() {
        &[0, 1]
    } else {
        &[0]
    };
    let base = baseline.round() as i32;
    for dx in passes {
        let mut caret = x;
        for c in text.chars() {
            let g = face.raster(c, size);
            let ox = caret.round() as i32 + g.left + dx;
            let oy = base + g.top;
            caret += sf.h_advance(font.glyph_id(c));
            for gy in 0..g.height {
                for gx in 0..g.width {
                    let v = g.coverage[(gy * g.width + gx) as usize];
                    if v > 0 {
                        bmp.put(ox + gx as i32, oy + gy as i32, v, white);
                    }
                }
            }
        }
    }
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
            for (r, row) in modules.chunks(*size).enumerate() {
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
}
