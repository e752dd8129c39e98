//! Errors of the labels crate. Every variant says what went wrong and where (template file,
//! element number, field name), so an integrator editing a template can fix it at once.

use std::path::PathBuf;

/// Result alias for the labels crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Label errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file (template, data, font, logo) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A template or data file does not parse.
    #[error("{place}: {message}")]
    Parse {
        /// File (and line/column when known).
        place: String,
        /// What the parser said.
        message: String,
    },
    /// A template is well-formed but says something impossible (size, position, option).
    #[error("template {template}, {place}: {message}")]
    Template {
        /// Template name or file.
        template: String,
        /// Element (e.g. `element 3 (text)`) or top-level key.
        place: String,
        /// What is wrong.
        message: String,
    },
    /// A template binds a field that does not exist.
    #[error("template {template}, {place}: unknown field {{{{{field}}}}}; known fields: {known}")]
    UnknownField {
        /// Template name or file.
        template: String,
        /// Element that binds it.
        place: String,
        /// The field as written.
        field: String,
        /// Comma-separated list of the fields that exist.
        known: String,
    },
    /// The label data has no value for a field the template needs.
    #[error(
        "template {template}, {place}: the label data has no value for {{{{{field}}}}} \
         (give it a value, or let the template print a default with {{{{{field}|…}}}} or \
         leave the element out with optional = true)"
    )]
    MissingValue {
        /// Template name or file.
        template: String,
        /// Element that binds it.
        place: String,
        /// The field.
        field: String,
    },
    /// Bound data cannot be encoded in the requested barcode.
    #[error("template {template}, {place}: cannot encode {data:?} as {symbology}: {message}")]
    Barcode {
        /// Template name or file.
        template: String,
        /// Element.
        place: String,
        /// Symbology name.
        symbology: &'static str,
        /// The data that was to be encoded.
        data: String,
        /// Why it cannot be.
        message: String,
    },
    /// No usable CJK font was found or the configured one does not parse.
    #[error("font: {0}")]
    Font(String),
    /// An image (logo) could not be decoded.
    #[error("image {path}: {message}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A renderer could not produce its output.
    #[error("{format} renderer: {message}")]
    Render {
        /// `pdf`, `tspl`, `zpl` or `png`.
        format: &'static str,
        /// What failed.
        message: String,
    },
}
