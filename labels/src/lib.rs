//! PackBench labels: a template (millimetre layout with bound fields) is laid out once and
//! rendered to PDF (printpdf), TSPL, ZPL or a PNG preview. No device IO here.
//!
//! ```text
//! Template::load(file) ─┐
//! LabelData (JSON)  ────┼─► layout::layout() ─► Layout (dots) ─► pdf / tspl / zpl / png
//! Fonts (CJK font)  ────┘
//! ```
//!
//! Architecture invariant: there is one layout engine; backends only draw a [`Layout`]. A
//! backend never binds fields or wraps text itself.

pub mod barcode;
pub mod data;
pub mod error;
pub mod fonts;
pub mod layout;
pub mod render;
pub mod template;

pub use data::LabelData;
pub use error::{Error, Result};
pub use fonts::{FontConfig, Fonts};
pub use layout::{layout, Layout};
pub use template::Template;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PDF with an embedded subset CJK font.
    Pdf,
    /// TSPL printer job (bytes, GB18030 text).
    Tspl,
    /// ZPL II printer job (UTF-8).
    Zpl,
    /// PNG preview.
    Png,
}

impl Format {
    /// Parses `pdf`, `tspl`, `zpl`, `png`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "pdf" => Some(Format::Pdf),
            "tspl" | "tspl2" => Some(Format::Tspl),
            "zpl" => Some(Format::Zpl),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Tspl => "tspl",
            Format::Zpl => "zpl",
            Format::Png => "png",
        }
    }
}

/// Draws `layout` in `format`: thermal formats print `copies` labels, a PDF has one page per
/// copy, a PNG preview shows one.
pub fn render(
    layout: &Layout,
    format: Format,
    fonts: Option<&Fonts>,
    copies: u32,
) -> Result<Vec<u8>> {
    match format {
        Format::Pdf => render::pdf::render_copies(layout, fonts, copies),
        Format::Tspl => render::tspl::render(layout, fonts, copies),
        Format::Zpl => render::zpl::render(layout, fonts, copies).map(String::into_bytes),
        Format::Png => {
            render::raster::to_png(&render::raster::rasterise(layout, fonts)).map_err(|m| {
                Error::Render {
                    format: "png",
                    message: m,
                }
            })
        }
    }
}

/// Template + data → bytes in one call: lays out with `fonts` and renders.
pub fn render_label(
    template: &Template,
    data: &LabelData,
    format: Format,
    fonts: Option<&Fonts>,
) -> Result<Vec<u8>> {
    let l = layout(template, data, fonts)?;
    render(&l, format, fonts, 1)
}
