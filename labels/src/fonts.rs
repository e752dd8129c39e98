//! The CJK font used to measure, rasterise and embed text.
//!
//! One font file (TrueType/OpenType, or one face of a `.ttc` collection) serves every backend:
//! the layout engine measures with it, the PNG preview and the thermal bitmaps rasterise with
//! it (ab_glyph), and the PDF embeds a subset of it (printpdf with `text_layout`). The path is
//! configurable; without one, the usual Debian and Windows locations are searched (see
//! [`CANDIDATES`]). Load it once and share it: parsing a 20 MB collection takes tens of ms.

use crate::error::{Error, Result};
use ab_glyph::{Font as _, FontVec, ScaleFont as _};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Where to find the CJK font.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FontConfig {
    /// Regular face: a `.ttf`, `.otf` or `.ttc`; `None` searches [`CANDIDATES`].
    pub path: Option<PathBuf>,
    /// Face index inside a collection (Noto Sans CJK: 2 = Simplified Chinese).
    pub index: Option<u32>,
    /// Bold face; without it bold is synthesised (stroked outlines / one extra dot).
    pub bold_path: Option<PathBuf>,
    /// Face index of the bold face.
    pub bold_index: Option<u32>,
}

/// A known font location: (path, face index, bold path, bold index, Debian package).
pub type Candidate = (&'static str, u32, Option<&'static str>, u32, &'static str);

/// Font files searched, in order, when no path is configured.
///
/// WenQuanYi Micro Hei comes first: a 5 MB TrueType (glyf) face subsets much faster than the
/// CFF outlines of Noto Sans CJK's 20 MB collections (express label PDF 3.7 ms and 25 KB
/// against 6.8 ms and 32 KB with Noto's regular + bold faces, `labels/benches/render.rs`) and
/// keeps 35 MB less font data resident in the app. Noto remains the fallback.
pub const CANDIDATES: &[Candidate] = &[
    (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        0,
        None,
        0,
        "fonts-wqy-microhei",
    ),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        2,
        Some("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
        2,
        "fonts-noto-cjk",
    ),
    (
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        0,
        None,
        0,
        "fonts-wqy-zenhei",
    ),
    (
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        0,
        None,
        0,
        "fonts-droid-fallback",
    ),
    (
        "/usr/share/fonts/truetype/arphic/uming.ttc",
        0,
        None,
        0,
        "fonts-arphic-uming",
    ),
    (
        "C:\\Windows\\Fonts\\msyh.ttc",
        0,
        Some("C:\\Windows\\Fonts\\msyhbd.ttc"),
        0,
        "Windows",
    ),
    ("C:\\Windows\\Fonts\\simhei.ttf", 0, None, 0, "Windows"),
    ("C:\\Windows\\Fonts\\simsun.ttc", 0, None, 0, "Windows"),
];

/// The environment variable that overrides the font path (`PATH` or `PATH#INDEX`).
pub const FONT_ENV: &str = "PACKBENCH_CJK_FONT";

/// One loaded face.
pub struct Face {
    /// The file it came from.
    pub path: PathBuf,
    /// Face index.
    pub index: u32,
    glyphs: FontVec,
    bytes: Arc<Vec<u8>>,
    pdf: OnceLock<std::result::Result<printpdf::ParsedFont, String>>,
    rasters: Mutex<HashMap<(char, u32), Arc<GlyphRaster>>>,
    lines: Mutex<HashMap<LineKey, Arc<LineRaster>>>,
}

/// What a thermal text-line bitmap depends on (its position on the label does not count).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineKey {
    /// The text.
    pub text: String,
    /// Em size in dots, as `f32` bits.
    pub size_bits: u32,
    /// Bold synthesised by drawing twice (no bold face).
    pub synthetic_bold: bool,
    /// Bitmap width in dots.
    pub width: u32,
    /// Bitmap height in dots.
    pub height: u32,
    /// Baseline below the top of the bitmap, in dots.
    pub baseline: i32,
}

/// A text line rasterised for thermal printers, kept by its [`Face`]: on a run of labels most
/// lines repeat (carrier, sender, fixed captions, the legal notice), so they are composed and
/// compressed once.
#[derive(Debug)]
pub struct LineRaster {
    /// The dots, 1 = print.
    pub bitmap: crate::render::raster::MonoBitmap,
    /// The ZPL `^GF` ASCII-compressed data of `bitmap`, made on first use.
    pub zpl: OnceLock<String>,
}

/// Text-line bitmaps kept per face before the cache is cleared (a few KB each).
const LINE_CACHE_MAX: usize = 512;

/// A glyph rasterised at one size, placed relative to an integer pen position on the
/// baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlyphRaster {
    /// Left edge relative to the pen.
    pub left: i32,
    /// Top edge relative to the baseline (negative = above).
    pub top: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major coverage, 0–255.
    pub coverage: Vec<u8>,
    /// The dots a thermal printer prints (coverage ≥ 50 %), packed 1 bit per pixel, MSB
    /// first, rows of [`GlyphRaster::mask_row_bytes`] bytes; padding bits are 0. Thresholding
    /// once here lets thermal backends OR whole bytes instead of testing every pixel.
    pub mask: Vec<u8>,
}

impl GlyphRaster {
    /// Builds a raster from its coverage, deriving the 1-bit mask.
    pub fn new(left: i32, top: i32, width: u32, height: u32, coverage: Vec<u8>) -> Self {
        let rb = width.div_ceil(8) as usize;
        let mut mask = vec![0u8; rb * height as usize];
        if rb > 0 {
            for (row, out) in coverage
                .chunks_exact(width as usize)
                .zip(mask.chunks_exact_mut(rb))
            {
                for (x, v) in row.iter().enumerate() {
                    if *v >= 128 {
                        out[x / 8] |= 0x80 >> (x % 8);
                    }
                }
            }
        }
        GlyphRaster {
            left,
            top,
            width,
            height,
            coverage,
            mask,
        }
    }

    /// Bytes per row of [`GlyphRaster::mask`].
    pub fn mask_row_bytes(&self) -> usize {
        self.width.div_ceil(8) as usize
    }
}

/// Glyph rasters kept per face before the cache is cleared (a label uses a few hundred).
const RASTER_CACHE_MAX: usize = 8192;

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Face")
            .field("path", &self.path)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Face {
    /// Loads face `index` of the font file at `path`.
    pub fn load(path: &Path, index: u32) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Font(format!("cannot read {}: {e}", path.display())))?;
        Self::from_bytes(bytes, path, index)
    }

    /// Builds a face from bytes already read.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path, index: u32) -> Result<Self> {
        let glyphs = FontVec::try_from_vec_and_index(bytes.clone(), index)
            .map_err(|e| Error::Font(format!("{} face {index}: {e}", path.display())))?;
        if glyphs.glyph_id('中').0 == 0 {
            return Err(Error::Font(format!(
                "{} face {index} has no Chinese glyphs (no 中); configure a CJK font",
                path.display()
            )));
        }
        Ok(Face {
            path: path.to_path_buf(),
            index,
            glyphs,
            bytes: Arc::new(bytes),
            pdf: OnceLock::new(),
            rasters: Mutex::new(HashMap::new()),
            lines: Mutex::new(HashMap::new()),
        })
    }

    /// The ab_glyph font (for rasterising).
    pub fn glyphs(&self) -> &FontVec {
        &self.glyphs
    }

    /// The printpdf face (parsed on first use, then shared).
    pub fn pdf(&self) -> Result<&printpdf::ParsedFont> {
        self.pdf
            .get_or_init(|| {
                let mut warnings = Vec::new();
                // Cut the face out of a collection once: otherwise every PDF save copies
                // the face out of the ~20 MB collection again.
                let single =
                    printpdf::font::extract_collection_face(&self.bytes, self.index as usize);
                let (bytes, index) = match &single {
                    Some(b) => (b.as_slice(), 0),
                    None => (self.bytes.as_slice(), self.index as usize),
                };
                printpdf::ParsedFont::from_bytes(bytes, index, &mut warnings).ok_or_else(|| {
                    format!(
                        "printpdf cannot parse {} face {}: {warnings:?}",
                        self.path.display(),
                        self.index
                    )
                })
            })
            .as_ref()
            .map_err(|m| Error::Font(m.clone()))
    }

    /// The px scale at which the em is `em_px` pixels.
    pub fn scale(&self, em_px: f32) -> ab_glyph::PxScale {
        self.glyphs
            .pt_to_px_scale(em_px)
            .unwrap_or(ab_glyph::PxScale::from(em_px))
    }

    /// Advance width of `c` at em size `em_px`.
    pub fn advance(&self, c: char, em_px: f32) -> f32 {
        let sf = self.glyphs.as_scaled(self.scale(em_px));
        sf.h_advance(self.glyphs.glyph_id(c))
    }

    /// The raster of `c` at em size `em_px` (quantised to ¼ px), cached: labels repeat the
    /// same characters, and rasterising outlines is the slow part of bitmaps and previews.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn raster(&self, c: char, em_px: f32) -> Arc<GlyphRaster> {
        let q = (em_px * 4.0).round().max(1.0) as u32;
        let key = (c, q);
        if let Some(r) = self
            .rasters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return r.clone();
        }
        let em = q as f32 / 4.0;
        let scale = self.scale(em);
        let glyph = self
            .glyphs
            .glyph_id(c)
            .with_scale_and_position(scale, ab_glyph::point(0.0, 0.0));
        let r = match self.glyphs.outline_glyph(glyph) {
            Some(o) => {
                let b = o.px_bounds();
                let (w, h) = (b.width() as u32, b.height() as u32);
                let mut coverage = vec![0u8; (w * h) as usize];
                o.draw(|x, y, cov| {
                    if x < w && y < h {
                        coverage[(y * w + x) as usize] = (cov.clamp(0.0, 1.0) * 255.0) as u8;
                    }
                });
                GlyphRaster::new(b.min.x as i32, b.min.y as i32, w, h, coverage)
            }
            None => GlyphRaster::new(0, 0, 0, 0, Vec::new()),
        };
        let r = Arc::new(r);
        let mut cache = self.rasters.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= RASTER_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, r.clone());
        r
    }

    /// The thermal bitmap of a text line drawn in this face, from the cache or made by `make`
    /// and kept (the cache is emptied when it holds `LINE_CACHE_MAX` (512) lines).
    pub fn line(
        &self,
        key: LineKey,
        make: impl FnOnce() -> crate::render::raster::MonoBitmap,
    ) -> Arc<LineRaster> {
        if let Some(l) = self
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return l.clone();
        }
        // Made outside the lock: two threads may both make a line; the bitmaps are equal.
        let l = Arc::new(LineRaster {
            bitmap: make(),
            zpl: OnceLock::new(),
        });
        let mut cache = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= LINE_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, l.clone());
        l
    }

    /// Ascent (above the baseline) at em size `em_px`.
    pub fn ascent(&self, em_px: f32) -> f32 {
        self.glyphs.as_scaled(self.scale(em_px)).ascent()
    }
}

/// The regular face and an optional bold face.
#[derive(Debug)]
pub struct Fonts {
    /// Regular face.
    pub regular: Face,
    /// Bold face, if one was configured or found.
    pub bold: Option<Face>,
}

impl Fonts {
    /// Loads the configured font, or the first candidate found (the env var [`FONT_ENV`]
    /// overrides the search). The error lists what was tried and which package to install.
    pub fn load(cfg: &FontConfig) -> Result<Self> {
        if let Some(path) = &cfg.path {
            let regular = Face::load(path, cfg.index.unwrap_or(0))?;
            let bold = match &cfg.bold_path {
                Some(b) => Some(Face::load(b, cfg.bold_index.unwrap_or(0))?),
                None => None,
            };
            return Ok(Fonts { regular, bold });
        }
        if let Ok(v) = std::env::var(FONT_ENV) {
            let (p, idx) = match v.rsplit_once('#') {
                Some((p, i)) => (p.to_string(), i.parse().unwrap_or(0)),
                None => (v.clone(), 0),
            };
            return Ok(Fonts {
                regular: Face::load(Path::new(&p), idx)?,
                bold: None,
            });
        }
        for (path, idx, bold, bidx, _) in CANDIDATES {
            let p = Path::new(path);
            if p.exists() {
                let regular = Face::load(p, *idx)?;
                let bold = bold
                    .map(Path::new)
                    .filter(|b| b.exists())
                    .and_then(|b| Face::load(b, *bidx).ok());
                return Ok(Fonts { regular, bold });
            }
        }
        let tried: Vec<String> = CANDIDATES
            .iter()
            .map(|(p, _, _, _, pkg)| format!("{p} ({pkg})"))
            .collect();
        Err(Error::Font(format!(
            "no CJK font found; install fonts-wqy-microhei or fonts-noto-cjk (apt-get install …), set \
             [labels.font] path in the config or {FONT_ENV}=PATH[#INDEX]. Tried: {}",
            tried.join(", ")
        )))
    }

    /// The face for regular or bold text (falls back to regular).
    pub fn face(&self, bold: bool) -> &Face {
        if bold {
            self.bold.as_ref().unwrap_or(&self.regular)
        } else {
            &self.regular
        }
    }

    /// True when bold must be synthesised (no bold face).
    pub fn synthetic_bold(&self) -> bool {
        self.bold.is_none()
    }
}

/// A process-wide font set, loaded once on first use from the default search.
pub fn default_fonts() -> Result<&'static Fonts> {
    static FONTS: OnceLock<std::result::Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| Fonts::load(&FontConfig::default()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|m| Error::Font(m.clone()))
}

/// True for characters drawn full-width (CJK ideographs, kana, hangul, fullwidth forms).
pub fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF |
        0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF |
        0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x2FFFD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_chars() {
        for (c, w) in [
            ('中', true),
            ('，', true),
            ('A', false),
            ('1', false),
            ('ア', true),
        ] {
            assert_eq!(is_wide(c), w, "{c}");
        }
    }

    #[test]
    fn a_missing_font_says_what_to_install() {
        let cfg = FontConfig {
            path: Some("/nonexistent/font.ttc".into()),
            ..FontConfig::default()
        };
        let err = Fonts::load(&cfg).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/font.ttc"), "{err}");
    }

    #[test]
    fn a_latin_only_font_is_refused() {
        let p = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
        if !p.exists() {
            eprintln!("skipped: DejaVuSans not installed");
            return;
        }
        let err = Face::load(p, 0).unwrap_err().to_string();
        assert!(err.contains("no Chinese glyphs"), "{err}");
    }
}
