//! Errors of the station crate. Every variant says what and where; the UI gets `{code, message}`.

use serde::Serialize;

/// Result alias for the station crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Station errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened, migrated or queried.
    #[error("database {path}: {source}")]
    Db {
        /// Database path (or `:memory:`).
        path: String,
        /// Underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// A SQLite error during an operation.
    #[error("sqlite during {op}: {source}")]
    Sqlite {
        /// What was being done.
        op: &'static str,
        /// Underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Invalid input, with the place (file:line:field) it was found.
    #[error("{place}: {message}")]
    Invalid {
        /// Where: file, line, field.
        place: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// A stable machine-readable code for the UI (never parse the message).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Db { .. } => "db_open",
            Error::Sqlite { .. } => "db",
            Error::Io { .. } => "io",
            Error::Invalid { .. } => "invalid_input",
        }
    }

    /// The `{code, message}` form sent to the UI.
    pub fn to_wire(&self) -> WireError {
        WireError {
            code: self.code().to_string(),
            message: self.to_string(),
        }
    }
}

/// The error shape that crosses to the UI.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WireError {
    /// Stable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}
