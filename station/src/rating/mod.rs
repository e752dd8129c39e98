//! Rating in the station: loading rate cards from files and quoting pack results.
//!
//! Card sources (see `docs/rate-cards.md` for the schema and examples):
//! - `.toml` / `.json`: one card, or `cards = [ … ]` (TOML `[[cards]]`), in the
//!   [`domain::rates::RateCard`] schema;
//! - `.csv` (UTF-8, or GB18030 as Excel saves it in China) and `.xlsx` / `.xls` / `.ods`: the
//!   layout carriers send — optional `key, value` rows on top (承运商, 产品, 生效日期, 抛比, 进位 …),
//!   then a header row with a destination column (省份/目的地/province…) and price columns
//!   (首重, 首重价格, 续重, 续重价格, or weight brackets such as `0-1kg`, `1.01-2kg`, `3kg以上`),
//!   then one row per province or province group (江浙沪, 京津冀, 新疆、西藏, 其他).
//!
//! Every problem is reported with its place: file, sheet, row and column (`A`, `B` …) for
//! spreadsheets; file, line and column for TOML/JSON; file and card place for validation.
//! [`Rating::reload`] builds a whole new [`RateBook`] and swaps it in only when every file is
//! good, so a bad file changes nothing already loaded.
//!
//! This module reads files; it never runs on an async runtime and never quotes on a device
//! thread. Quoting itself is pure ([`domain::rates`]).

use chrono::{DateTime, Utc};
use domain::rates::{CardError, Parcel, RateBook, RateCard};
use domain::region::{self, CityCode, ProvinceCode, Region};
use domain::{Fen, Grams, Order};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Errors of card loading, each with its place.
#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// TOML/JSON syntax or schema error (line:column when known).
    #[error("{place}: {message}")]
    Parse {
        /// `file:line:column`.
        place: String,
        /// What is wrong.
        message: String,
    },
    /// A bad cell in a spreadsheet.
    #[error("{0}")]
    Cell(Box<CellError>),
    /// A spreadsheet whose structure is wrong (no header row, missing columns…).
    #[error("{file} sheet {sheet:?}: {message}")]
    Sheet {
        /// File.
        file: String,
        /// Sheet.
        sheet: String,
        /// What is wrong.
        message: String,
    },
    /// The workbook could not be opened.
    #[error("{file}: {message}")]
    Workbook {
        /// File.
        file: String,
        /// Cause.
        message: String,
    },
    /// Cards that parsed but do not validate.
    #[error("{file}: {}", join_errors(.errors))]
    Card {
        /// File (and sheet for spreadsheets).
        file: String,
        /// Every problem found.
        errors: Vec<CardError>,
    },
    /// An unknown file type.
    #[error("{path}: unsupported card file type (use .toml, .json, .csv or .xlsx)")]
    Unsupported {
        /// File.
        path: String,
    },
}

/// A bad cell in a spreadsheet: file, sheet, row, column and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} sheet {sheet:?} row {row} column {column} ({header}): {message}")]
pub struct CellError {
    /// File.
    pub file: String,
    /// Sheet name (`csv` for CSV files).
    pub sheet: String,
    /// 1-based row.
    pub row: usize,
    /// Column letter (A, B, … AA).
    pub column: String,
    /// Header of the column (or the key of a key/value row).
    pub header: String,
    /// What is wrong.
    pub message: String,
}

fn join_errors(errors: &[CardError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl RatingError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RatingError::Io { .. } => "io",
            RatingError::Parse { .. } => "rate_card_parse",
            RatingError::Cell(_) | RatingError::Sheet { .. } | RatingError::Workbook { .. } => {
                "rate_sheet"
            }
            RatingError::Card { .. } => "rate_card_invalid",
            RatingError::Unsupported { .. } => "rate_card_type",
        }
    }
}

impl From<RatingError> for crate::error::Error {
    fn from(e: RatingError) -> Self {
        match e {
            RatingError::Io { path, source } => crate::error::Error::Io { path, source },
            other => crate::error::Error::Invalid {
                place: "rate cards".to_string(),
                message: other.to_string(),
            },
        }
    }
}

/// The `[rates]` section of the station configuration.
///
/// ```toml
/// [rates]
/// cards = ["rates/sf.toml", "rates/zto.toml", "rates/sto_2025.xlsx"]
/// allowed_carriers = ["SF", "ZTO", "STO"]   # empty = every carrier with a card
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RatesConfig {
    /// Card files (TOML, JSON, CSV, XLSX), relative to the working directory.
    pub cards: Vec<PathBuf>,
    /// Carriers the rate shop may choose from (empty = all carriers with a card).
    pub allowed_carriers: Vec<String>,
}

/// One file's cards, with notes about what the importer ignored or assumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedFile {
    /// The file.
    pub path: String,
    /// Cards it holds.
    pub cards: Vec<RateCard>,
    /// Ignored columns, skipped sheets, defaults applied.
    pub notes: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Exact decimals, weights, dimensions
// ---------------------------------------------------------------------------------------------

/// Parses a decimal such as `12`, `12.5`, `-0.05` into an integer scaled by 10^`scale`, exactly.
/// More decimals than `scale` is refused (`None`), never rounded.
pub fn parse_decimal(s: &str, scale: u32) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let frac_len = u32::try_from(frac.len()).ok()?;
    if frac_len > scale {
        return None;
    }
    let i: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let v = i
        .checked_mul(10i64.checked_pow(scale)?)?
        .checked_add(f.checked_mul(10i64.checked_pow(scale - frac_len)?)?)?;
    Some(if neg { -v } else { v })
}

/// Parses a weight: `2350g`, `2.35kg`, `2350` (grams), `2.35公斤`, `500克`.
pub fn parse_weight(s: &str) -> Result<Grams, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, kg) = if let Some(n) = t.strip_suffix("kg") {
        (n, true)
    } else if let Some(n) = t.strip_suffix("公斤").or_else(|| t.strip_suffix("千克")) {
        (n, true)
    } else if let Some(n) = t.strip_suffix('g').or_else(|| t.strip_suffix("克")) {
        (n, false)
    } else {
        (t.as_str(), false)
    };
    let v = parse_decimal(num, if kg { 3 } else { 0 }).ok_or_else(|| {
        format!("bad weight {s:?} (examples: 2350g, 2.35kg; at most 1 g precision)")
    })?;
    if v < 0 {
        return Err(format!("negative weight {s:?}"));
    }
    Ok(Grams(v))
}

/// Parses dimensions `400x300x200mm`, `40x30x20cm`, `40*30*20cm`, `400×300×200` (mm).
pub fn parse_dims(s: &str) -> Result<[u32; 3], String> {
    let t = s.trim().to_ascii_lowercase();
    let (body, scale) = if let Some(b) = t.strip_suffix("mm") {
        (b, 0)
    } else if let Some(b) = t.strip_suffix("cm") {
        (b, 1)
    } else {
        (t.as_str(), 0)
    };
    let parts: Vec<&str> = body.split(['x', '*', '×']).map(str::trim).collect();
    if parts.len() != 3 {
        return Err(format!(
            "bad dimensions {s:?} (expected L×W×H like 400x300x200mm or 40x30x20cm)"
        ));
    }
    let mut out = [0u32; 3];
    for (slot, p) in out.iter_mut().zip(&parts) {
        let v = parse_decimal(p, scale)
            .ok_or_else(|| format!("bad side {p:?} in {s:?} (at most 1 mm precision)"))?;
        *slot = u32::try_from(v)
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| format!("side {p:?} in {s:?} must be positive"))?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// TOML / JSON
// ---------------------------------------------------------------------------------------------

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn toml_cards(text: &str, file: &str) -> Result<Vec<RateCard>, RatingError> {
    let value: toml::Table = toml::from_str(text).map_err(|e| RatingError::Parse {
        place: match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                format!("{file}:{l}:{c}")
            }
            None => file.to_string(),
        },
        message: e.message().to_string(),
    })?;
    // Deserialise with the span-aware deserialiser so schema errors carry line:column.
    let one_or_many = |t: &str| -> Result<Vec<RateCard>, toml::de::Error> {
        if value.contains_key("cards") {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Many {
                cards: Vec<RateCard>,
            }
            toml::from_str::<Many>(t).map(|m| m.cards)
        } else {
            toml::from_str::<RateCard>(t).map(|c| vec![c])
        }
    };
    one_or_many(text).map_err(|e| RatingError::Parse {
        place: match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                format!("{file}:{l}:{c}")
            }
            None => file.to_string(),
        },
        message: e.message().to_string(),
    })
}

fn json_cards(text: &str, file: &str) -> Result<Vec<RateCard>, RatingError> {
    let err = |e: serde_json::Error| RatingError::Parse {
        place: format!("{file}:{}:{}", e.line(), e.column()),
        message: e.to_string(),
    };
    let v: serde_json::Value = serde_json::from_str(text).map_err(err)?;
    if v.is_array() {
        return serde_json::from_str::<Vec<RateCard>>(text).map_err(err);
    }
    if v.get("cards").is_some() {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Many {
            cards: Vec<RateCard>,
        }
        return serde_json::from_str::<Many>(text)
            .map(|m| m.cards)
            .map_err(err);
    }
    serde_json::from_str::<RateCard>(text)
        .map(|c| vec![c])
        .map_err(err)
}

/// Parses TOML or JSON card text (`json` picks the format); `file` names it in errors.
/// The cards are validated (each on its own) before they are returned.
pub fn parse_cards(text: &str, json: bool, file: &str) -> Result<Vec<RateCard>, RatingError> {
    let cards = if json {
        json_cards(text, file)?
    } else {
        toml_cards(text, file)?
    };
    validate_cards(&cards, file)?;
    Ok(cards)
}

pub(super) fn validate_cards(cards: &[RateCard], file: &str) -> Result<(), RatingError> {
    RateBook::new(cards.to_vec())
        .map(|_| ())
        .map_err(|errors| RatingError::Card {
            file: file.to_string(),
            errors,
        })
}

mod sheet;

use sheet::decode_text;
pub use sheet::{
    column_letter, import_csv, import_csv_into, import_sheet, import_sheet_into, import_workbook,
    import_workbook_into, CellValue, Sheet,
};

// ---------------------------------------------------------------------------------------------
// Import with every problem and progress
// ---------------------------------------------------------------------------------------------

/// How many problems an import lists (the rest are counted).
pub const MAX_IMPORT_ISSUES: usize = 200;

/// Rows between two progress reports.
pub const PROGRESS_EVERY_ROWS: u64 = 250;

/// Problems found during an import (the first `cap` kept, the rest counted) and its progress
/// (rows read of rows known), reported through a callback every [`PROGRESS_EVERY_ROWS`] rows
/// and at the end.
pub struct Collect<'a> {
    errors: Vec<RatingError>,
    pushed: u64,
    cap: usize,
    read: u64,
    total: u64,
    reported: u64,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl std::fmt::Debug for Collect<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collect")
            .field("errors", &self.errors)
            .field("pushed", &self.pushed)
            .field("read", &self.read)
            .field("total", &self.total)
            .finish()
    }
}

impl<'a> Collect<'a> {
    /// Keeps up to `cap` problems; `progress(rows_read, rows_total)` is called as rows are read.
    pub fn new(cap: usize, progress: &'a mut dyn FnMut(u64, u64)) -> Collect<'a> {
        Collect {
            errors: Vec::new(),
            pushed: 0,
            cap,
            read: 0,
            total: 0,
            reported: 0,
            progress,
        }
    }

    /// Records a problem. A card-validation error with several problems counts as several.
    pub fn push(&mut self, e: RatingError) {
        match e {
            RatingError::Card { file, errors } if errors.len() > 1 => {
                for one in errors {
                    self.push(RatingError::Card {
                        file: file.clone(),
                        errors: vec![one],
                    });
                }
            }
            e => {
                self.pushed += 1;
                if self.errors.len() < self.cap {
                    self.errors.push(e);
                }
            }
        }
    }

    /// Problems recorded (kept or not).
    pub fn count(&self) -> u64 {
        self.pushed
    }

    /// No problem so far.
    pub fn is_empty(&self) -> bool {
        self.pushed == 0
    }

    /// Rows read so far.
    pub fn read(&self) -> u64 {
        self.read
    }

    /// Rows known so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// More rows to read.
    pub fn add_total(&mut self, rows: usize) {
        self.total += u64::try_from(rows).unwrap_or(u64::MAX);
        self.report(false);
    }

    /// Rows read.
    pub fn advance(&mut self, rows: usize) {
        self.read = (self.read + u64::try_from(rows).unwrap_or(0)).min(self.total.max(self.read));
        self.report(false);
    }

    fn report(&mut self, force: bool) {
        if force || self.read >= self.reported + PROGRESS_EVERY_ROWS || self.read == self.total {
            if force || self.read != self.reported || self.read == 0 {
                (self.progress)(self.read, self.total);
            }
            self.reported = self.read;
        }
    }

    /// Marks every known row read and reports it.
    pub fn finish(&mut self) {
        self.read = self.total.max(self.read);
        self.report(true);
    }

    /// The first problem, if any.
    pub fn into_first(self) -> Option<RatingError> {
        self.errors.into_iter().next()
    }

    /// The problems kept, as structured items, and how many more there were.
    pub fn into_issues(self) -> (Vec<ImportIssue>, u64) {
        let more = self.pushed.saturating_sub(self.errors.len() as u64);
        (self.errors.iter().map(ImportIssue::from).collect(), more)
    }
}

/// One problem of an import, with its place, for the settings page's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportIssue {
    /// File.
    pub file: String,
    /// Sheet (`csv` for CSV files), when the problem is in a sheet.
    pub sheet: Option<String>,
    /// 1-based row (line for TOML/JSON/CSV syntax errors).
    pub row: Option<u64>,
    /// Column letter (spreadsheets) or column number (text files).
    pub column: Option<String>,
    /// The column's header (or the key of a key/value row).
    pub header: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl From<&RatingError> for ImportIssue {
    fn from(e: &RatingError) -> ImportIssue {
        let plain = |file: &str, message: String| ImportIssue {
            file: file.to_string(),
            sheet: None,
            row: None,
            column: None,
            header: None,
            message,
        };
        match e {
            RatingError::Cell(c) => ImportIssue {
                file: c.file.clone(),
                sheet: Some(c.sheet.clone()),
                row: Some(c.row as u64),
                column: Some(c.column.clone()),
                header: Some(c.header.clone()).filter(|h| !h.is_empty()),
                message: c.message.clone(),
            },
            RatingError::Sheet {
                file,
                sheet,
                message,
            } => ImportIssue {
                sheet: Some(sheet.clone()),
                ..plain(file, message.clone())
            },
            RatingError::Parse { place, message } => {
                // `file:line:column` or `file:line`.
                let mut parts = place.rsplitn(3, ':');
                let (a, b, rest) = (parts.next(), parts.next(), parts.next());
                let num = |s: Option<&str>| s.and_then(|s| s.parse::<u64>().ok());
                match (num(a), num(b), rest) {
                    (Some(col), Some(line), Some(file)) => ImportIssue {
                        row: Some(line),
                        column: Some(col.to_string()),
                        ..plain(file, message.clone())
                    },
                    (Some(line), _, _) => {
                        let file = place.rsplit_once(':').map_or(place.as_str(), |(f, _)| f);
                        ImportIssue {
                            row: Some(line).filter(|l| *l > 0),
                            ..plain(file, message.clone())
                        }
                    }
                    _ => plain(place, message.clone()),
                }
            }
            RatingError::Card { file, errors } => plain(file, join_errors(errors)),
            RatingError::Io { path, source } => plain(path, source.to_string()),
            RatingError::Workbook { file, message } => plain(file, message.clone()),
            RatingError::Unsupported { path } => plain(path, e.to_string()),
        }
    }
}

/// Why an import changed nothing: its problems (the first [`MAX_IMPORT_ISSUES`]), how many
/// more there were, and how far it read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportFailure {
    /// Problems, in the order found.
    pub issues: Vec<ImportIssue>,
    /// Problems not listed.
    pub more: u64,
    /// Rows read.
    pub rows: u64,
}

/// A file imported: its cards, notes and rows read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// The file's cards and notes.
    pub file: LoadedFile,
    /// Rows read (1 for TOML/JSON files).
    pub rows: u64,
}

/// Loads one card file, collecting every problem (up to `cap`) instead of stopping at the
/// first, and reporting progress as `progress(rows_read, rows_total)`.
pub fn import_file(
    path: &Path,
    cap: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Imported, ImportFailure> {
    let file = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let mut found = Collect::new(cap, progress);
    let read = |found: &mut Collect<'_>| match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(source) => {
            found.push(RatingError::Io {
                path: file.clone(),
                source,
            });
            None
        }
    };
    let loaded = match ext.as_str() {
        "toml" | "json" => read(&mut found).and_then(|bytes| {
            found.add_total(1);
            let text = decode_text(&bytes);
            match parse_cards(&text, ext == "json", &file) {
                Ok(cards) => {
                    found.advance(1);
                    Some(LoadedFile {
                        path: file.clone(),
                        cards,
                        notes: Vec::new(),
                    })
                }
                Err(e) => {
                    found.push(e);
                    None
                }
            }
        }),
        "csv" => read(&mut found).and_then(|bytes| {
            let loaded = import_csv_into(&bytes, &file, &mut found)?;
            match validate_cards(&loaded.cards, &file) {
                Ok(()) => Some(loaded),
                Err(e) => {
                    found.push(e);
                    None
                }
            }
        }),
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => import_workbook_into(path, &mut found),
        _ => {
            found.push(RatingError::Unsupported { path: file.clone() });
            None
        }
    };
    found.finish();
    let rows = found.read();
    match loaded {
        Some(file) if found.is_empty() => Ok(Imported { file, rows }),
        _ => {
            let (issues, more) = found.into_issues();
            Err(ImportFailure { issues, more, rows })
        }
    }
}

/// Loads one card file by its extension.
pub fn load_file(path: &Path) -> Result<LoadedFile, RatingError> {
    let file = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let read = || {
        std::fs::read(path).map_err(|source| RatingError::Io {
            path: file.clone(),
            source,
        })
    };
    match ext.as_str() {
        "toml" | "json" => {
            let text = decode_text(&read()?);
            let cards = parse_cards(&text, ext == "json", &file)?;
            Ok(LoadedFile {
                path: file,
                cards,
                notes: Vec::new(),
            })
        }
        "csv" => {
            let loaded = import_csv(&read()?, &file)?;
            validate_cards(&loaded.cards, &file)?;
            Ok(loaded)
        }
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => import_workbook(path),
        _ => Err(RatingError::Unsupported { path: file }),
    }
}

/// Card file extensions [`load_file`] reads.
pub const CARD_EXTENSIONS: &[&str] = &["toml", "json", "csv", "xlsx", "xlsm", "xls", "xlsb", "ods"];

/// Replaces each directory by the card files in it (by name, not recursive).
pub fn expand_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RatingError> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let io = |source| RatingError::Io {
            path: p.display().to_string(),
            source,
        };
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir(p).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            if path.is_file() && CARD_EXTENSIONS.contains(&ext.as_str()) {
                found.push(path);
            }
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Loads every file (a directory stands for the card files in it) and builds one book; fails on the first bad file or on cards that conflict
/// across files (overlapping versions of one service).
pub fn load_book(paths: &[PathBuf]) -> Result<(RateBook, Vec<LoadedFile>), RatingError> {
    let paths = expand_dirs(paths)?;
    let mut files = Vec::with_capacity(paths.len());
    let mut all = Vec::new();
    for p in &paths {
        let f = load_file(p)?;
        all.extend(f.cards.iter().cloned());
        files.push(f);
    }
    let names: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let book = RateBook::new(all).map_err(|errors| RatingError::Card {
        file: names.join(", "),
        errors,
    })?;
    Ok((book, files))
}

// ---------------------------------------------------------------------------------------------
// The station's rating service
// ---------------------------------------------------------------------------------------------

/// The demo cards of `station/demo/rates/` in text formats, embedded so the demo station quotes
/// without any file on disk (the `.xlsx` demo sheet is loaded from disk only).
pub const DEMO_CARDS: &[(&str, &str)] = &[
    ("sf.toml", include_str!("../../demo/rates/sf.toml")),
    ("sto.toml", include_str!("../../demo/rates/sto.toml")),
    ("zto.toml", include_str!("../../demo/rates/zto.toml")),
    ("yto.json", include_str!("../../demo/rates/yto.json")),
    ("jd.toml", include_str!("../../demo/rates/jd.toml")),
    (
        "sto_sheet.csv",
        include_str!("../../demo/rates/sto_sheet.csv"),
    ),
];

/// Builds the book of the embedded demo cards.
pub fn demo_book() -> Result<RateBook, RatingError> {
    let mut cards = Vec::new();
    for (name, text) in DEMO_CARDS {
        let file = format!("demo/rates/{name}");
        if name.ends_with(".csv") {
            cards.extend(import_csv(text.as_bytes(), &file)?.cards);
        } else {
            cards.extend(parse_cards(text, name.ends_with(".json"), &file)?);
        }
    }
    RateBook::new(cards).map_err(|errors| RatingError::Card {
        file: "demo/rates".to_string(),
        errors,
    })
}

/// What a reload loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadSummary {
    /// Files loaded.
    pub files: usize,
    /// Cards (all versions).
    pub cards: usize,
}

/// What [`Rating::import`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The file.
    pub file: String,
    /// Cards in the file.
    pub cards: usize,
    /// Cards in use that they replaced (same carrier, service and effective date).
    pub replaced: usize,
    /// Cards in use now.
    pub total: usize,
    /// Rows read.
    pub rows: u64,
    /// Ignored columns, skipped sheets, defaults applied.
    pub notes: Vec<String>,
}

/// The station's rate cards: a book swapped atomically on reload, and the allowed carriers.
#[derive(Debug)]
pub struct Rating {
    config: RatesConfig,
    book: RwLock<Arc<RateBook>>,
}

impl Rating {
    /// Loads the configured files. An empty list gives an empty book (no quotes).
    pub fn load(config: RatesConfig) -> Result<Rating, RatingError> {
        let (book, _) = load_book(&config.cards)?;
        Ok(Rating {
            config,
            book: RwLock::new(Arc::new(book)),
        })
    }

    /// The demo rating service: the embedded demo cards, every carrier allowed.
    pub fn demo() -> Result<Rating, RatingError> {
        Ok(Rating::with_book(RatesConfig::default(), demo_book()?))
    }

    /// A rating service over an already built book.
    pub fn with_book(config: RatesConfig, book: RateBook) -> Rating {
        Rating {
            config,
            book: RwLock::new(Arc::new(book)),
        }
    }

    /// Re-reads the configured files. On any error the book in use stays as it was.
    pub fn reload(&self) -> Result<LoadSummary, RatingError> {
        self.replace_files(&self.config.cards.clone())
    }

    /// Loads these files instead; on any error the book in use stays as it was.
    pub fn replace_files(&self, paths: &[PathBuf]) -> Result<LoadSummary, RatingError> {
        let (book, files) = load_book(paths)?;
        let summary = LoadSummary {
            files: files.len(),
            cards: book.len(),
        };
        match self.book.write() {
            Ok(mut g) => *g = Arc::new(book),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(book),
        }
        Ok(summary)
    }

    /// Imports one card file into the book in use: its cards replace the cards of the same
    /// carrier, service and effective date (a corrected sheet), the others stay. Every problem
    /// of the file (up to `cap`) is reported, with progress as `progress(rows_read, rows_total)`;
    /// on any problem, including cards that overlap cards in use, nothing changes.
    pub fn import(
        &self,
        path: &Path,
        cap: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ImportSummary, ImportFailure> {
        let imported = import_file(path, cap, progress)?;
        let current = self.book();
        let same = |a: &RateCard, b: &RateCard| {
            a.carrier == b.carrier && a.service == b.service && a.effective_from == b.effective_from
        };
        let mut replaced = 0usize;
        let mut cards: Vec<RateCard> =
            Vec::with_capacity(current.len() + imported.file.cards.len());
        for c in current.cards() {
            if imported.file.cards.iter().any(|n| same(c, n)) {
                replaced += 1;
            } else {
                cards.push(c.clone());
            }
        }
        cards.extend(imported.file.cards.iter().cloned());
        let book = RateBook::new(cards).map_err(|errors| {
            let mut quiet = |_: u64, _: u64| {};
            let mut found = Collect::new(cap, &mut quiet);
            found.push(RatingError::Card {
                file: format!("{} with the cards in use", imported.file.path),
                errors,
            });
            let (issues, more) = found.into_issues();
            ImportFailure {
                issues,
                more,
                rows: imported.rows,
            }
        })?;
        let summary = ImportSummary {
            file: imported.file.path.clone(),
            cards: imported.file.cards.len(),
            replaced,
            total: book.len(),
            rows: imported.rows,
            notes: imported.file.notes.clone(),
        };
        match self.book.write() {
            Ok(mut g) => *g = Arc::new(book),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(book),
        }
        Ok(summary)
    }

    /// The book in use.
    pub fn book(&self) -> Arc<RateBook> {
        match self.book.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The carriers the rate shop may choose from (empty = all).
    pub fn allowed_carriers(&self) -> &[String] {
        &self.config.allowed_carriers
    }

    /// Quotes an order's parcel: the assigned carrier's cost and the rate shop over the allowed
    /// carriers, as JSON for the pack result. `None` when the destination is unknown or no
    /// card quotes it.
    pub fn quote_order(
        &self,
        order: &Order,
        weight: Grams,
        dims_mm: Option<[u32; 3]>,
        at: DateTime<Utc>,
    ) -> Option<OrderQuote> {
        let region = order_region(order)?;
        let parcel = Parcel {
            actual: weight,
            dims_mm,
            declared: order.declared_value_fen.filter(|v| *v > 0).map(Fen),
        };
        let book = self.book();
        let allowed: Vec<&str> = self
            .config
            .allowed_carriers
            .iter()
            .map(String::as_str)
            .collect();
        let shop = book.shop(&region, &parcel, at, &allowed);
        let assigned = if order.carrier.is_empty() {
            None
        } else {
            book.quote_carrier(&order.carrier, &region, &parcel, at)
                .quotes
                .first()
                .map(|q| q.record())
        };
        if assigned.is_none() && shop.quotes.is_empty() {
            return None;
        }
        Some(OrderQuote {
            province: region.province.get(),
            city: region.city.map(CityCode::get),
            assigned,
            cheapest: shop.quotes.first().map(|q| q.record()),
            shop: shop.quotes.iter().map(|q| q.record()).collect(),
            skipped: shop
                .skipped
                .iter()
                .map(|s| SkippedRecord {
                    carrier: s.carrier.to_string(),
                    service: s.service.to_string(),
                    reason: s.reason.to_string(),
                })
                .collect(),
        })
    }
}

impl crate::station::Quoter for Rating {
    /// The JSON recorded with the pack result: the quote for the order's assigned carrier (or,
    /// when it has no card, the cheapest allowed one) at top level — `carrier`, `service`,
    /// `zone`, weights, `base_fen`, `surcharges`, `total_fen`, `explain`, `explain_en`, card
    /// version — plus `basis` (`assigned` / `cheapest`), `cheapest`, `shop` and `skipped`.
    fn quote(&self, order: &Order, weight: Grams, at: DateTime<Utc>) -> Option<serde_json::Value> {
        self.quote_order(order, weight, None, at)
            .and_then(|q| q.to_json())
    }
}

impl OrderQuote {
    /// The flat JSON form described at [`Rating`]'s `Quoter` implementation.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        let (basis, primary) = match (&self.assigned, &self.cheapest) {
            (Some(a), _) => ("assigned", a),
            (None, Some(c)) => ("cheapest", c),
            (None, None) => return None,
        };
        let mut v = serde_json::to_value(primary).ok()?;
        let obj = v.as_object_mut()?;
        obj.insert("basis".into(), serde_json::Value::from(basis));
        obj.insert(
            "cheapest".into(),
            serde_json::to_value(&self.cheapest).ok()?,
        );
        obj.insert("shop".into(), serde_json::to_value(&self.shop).ok()?);
        obj.insert("skipped".into(), serde_json::to_value(&self.skipped).ok()?);
        Some(v)
    }
}

/// A card that did not quote, for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// Carrier.
    pub carrier: String,
    /// Service.
    pub service: String,
    /// Why.
    pub reason: String,
}

/// What the pack result records about cost: the assigned carrier's quote and the rate shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderQuote {
    /// Destination province code.
    pub province: u8,
    /// Destination city code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<u16>,
    /// Cost with the order's assigned carrier (cheapest of its services), when it has a card.
    pub assigned: Option<domain::rates::QuoteRecord>,
    /// The cheapest allowed quote.
    pub cheapest: Option<domain::rates::QuoteRecord>,
    /// Every allowed quote, cheapest first.
    pub shop: Vec<domain::rates::QuoteRecord>,
    /// Cards that could not quote and why.
    pub skipped: Vec<SkippedRecord>,
}

/// The destination of an order: the province field (name or code) and city field first, the
/// free-text address as a fallback.
pub fn order_region(order: &Order) -> Option<Region> {
    let d = &order.destination;
    if let Some(p) = ProvinceCode::parse(&d.province) {
        let city = region::city_in_province(p, &d.city)
            .map(|c| c.code)
            .or_else(|| CityCode::parse(&d.city).filter(|c| c.province() == p));
        return Some(match city {
            Some(c) => Region::city(c),
            // A 直辖市 has a single city code (its 市辖区), the one the address matcher gives.
            None => region::match_address(p.info().full_name)
                .map_or_else(|| Region::province(p), |m| m.region),
        });
    }
    let joined = format!("{}{}{}", d.province, d.city, d.address);
    region::match_address(&joined)
        .map(|m| m.region)
        .or_else(|| region::match_address(&d.address).map(|m| m.region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_file_places_problems_of_every_format() {
        let dir = tempfile::tempdir().unwrap();
        // (file name, content, expected (row, column) of the first problem, problems)
        type Case<'a> = (&'a str, &'a str, (Option<u64>, Option<&'a str>), usize);
        let cases: &[Case<'_>] = &[
            (
                "a.toml",
                "carrier = \"SF\"\nservice = 3\n",
                (Some(2), Some("11")),
                1,
            ),
            (
                "b.json",
                "{\"carrier\": \"SF\",\n \"zones\": 5}",
                (Some(2), Some("11")),
                1,
            ),
            (
                "c.csv",
                "承运商,ZZ\n生效日期,2025-01-01\n省份,首重价格,续重价格\n广东,x,y\n其他,5,2\n",
                (Some(4), Some("B")),
                2,
            ),
            ("d.txt", "x", (None, None), 1),
        ];
        for (name, text, (row, col), n) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let mut seen = Vec::new();
            let f = import_file(&path, 10, &mut |r, t| seen.push((r, t))).unwrap_err();
            assert_eq!(f.issues.len(), *n, "{name}: {:?}", f.issues);
            assert_eq!(
                (f.issues[0].row, f.issues[0].column.as_deref()),
                (*row, *col),
                "{name}: {:?}",
                f.issues[0]
            );
            assert!(f.issues[0].file.ends_with(name), "{:?}", f.issues[0]);
        }
        let missing = import_file(&dir.path().join("none.csv"), 10, &mut |_, _| {}).unwrap_err();
        assert_eq!(missing.issues.len(), 1);
    }

    #[test]
    fn decimals_weights_dims() {
        assert_eq!(parse_decimal("12.5", 2), Some(1250));
        assert_eq!(parse_decimal("0.9", 2), Some(90));
        assert_eq!(parse_decimal("1.005", 2), None);
        assert_eq!(parse_decimal("1.50", 1), Some(15));
        assert_eq!(parse_decimal("-3", 2), Some(-300));
        assert_eq!(parse_decimal("", 2), None);
        assert_eq!(parse_decimal("1e3", 2), None);
        assert_eq!(parse_weight("2350g"), Ok(Grams(2350)));
        assert_eq!(parse_weight("2.35kg"), Ok(Grams(2350)));
        assert_eq!(parse_weight("2.35KG"), Ok(Grams(2350)));
        assert_eq!(parse_weight("2350"), Ok(Grams(2350)));
        assert!(parse_weight("2.3505kg").is_err());
        assert!(parse_weight("-1g").is_err());
        assert_eq!(parse_dims("400x300x200mm"), Ok([400, 300, 200]));
        assert_eq!(parse_dims("40x30x20cm"), Ok([400, 300, 200]));
        assert_eq!(parse_dims("40.5*30*20cm"), Ok([405, 300, 200]));
        assert!(parse_dims("40x30cm").is_err());
        assert!(parse_dims("0x30x20").is_err());
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }
}
