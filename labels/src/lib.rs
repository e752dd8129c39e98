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
pub mod template;

pub use data::LabelData;
pub use error::{Error, Result};
pub use fonts::{FontConfig, Fonts};
pub use layout::{layout, Layout};
pub use template::Template;
