//! Order import from files: a JSON array, JSON lines (one order per line) or CSV (one row per
//! order line, rows of one order together). Streaming: the file is read element by element
//! and written in batches, so a million orders need no more memory than one batch.
//!
//! A bad row is reported with file, line and field (`orders.jsonl:17: lines[0].qty: invalid
//! type: string "2", expected u32`) and skipped; the good rows are kept.

use crate::error::{Error, Result};
use crate::store::{audit, orders};
use chrono::{DateTime, Utc};
use domain::barcode::normalize_for_match;
use domain::{Order, OrderStatus};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};

/// Orders written per transaction.
pub const BATCH: usize = 10_000;
/// Largest accepted order element, in bytes.
pub const MAX_ELEMENT_BYTES: usize = 4 << 20;
/// Errors kept in the summary (all are counted).
pub const MAX_ERRORS_KEPT: usize = 200;

/// Input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A JSON array of orders.
    JsonArray,
    /// One JSON order per line.
    JsonLines,
    /// CSV, one row per order line.
    Csv,
}

impl Format {
    /// Guesses the format from the file name and its first non-blank byte.
    pub fn detect(name: &str, first: Option<u8>) -> Format {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            return Format::Csv;
        }
        match first {
            Some(b'[') => Format::JsonArray,
            Some(b'{') => Format::JsonLines,
            _ if lower.ends_with(".json") || lower.ends_with(".jsonl") => Format::JsonLines,
            _ => Format::Csv,
        }
    }
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// `file:line` or `file:line: field`.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// Progress, reported every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Orders read so far.
    pub orders: u64,
    /// Rows rejected so far.
    pub rejected: u64,
    /// Current line of the file.
    pub line: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// File name.
    pub source: String,
    /// Orders read (good and bad).
    pub read: u64,
    /// New orders.
    pub inserted: u64,
    /// Orders replaced.
    pub updated: u64,
    /// Orders packed here whose status stayed `packed`.
    pub kept_packed: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// The first [`MAX_ERRORS_KEPT`] errors.
    pub errors: Vec<RowError>,
}

impl Summary {
    fn reject(&mut self, e: RowError) {
        self.rejected += 1;
        if self.errors.len() < MAX_ERRORS_KEPT {
            self.errors.push(e);
        }
    }
}

fn bad_char(s: &str) -> Option<String> {
    s.chars()
        .find(|c| c.is_whitespace() || c.is_control())
        .map(|c| format!("contains {c:?} (whitespace or control character)"))
}

/// Checks what serde cannot; returns the field path and the problem.
pub fn validate(order: &Order) -> std::result::Result<(), (String, String)> {
    let err = |f: &str, m: String| Err((f.to_string(), m));
    if order.order_no.is_empty() {
        return err("order_no", "must not be empty".into());
    }
    if order.order_no.chars().count() > 64 {
        return err("order_no", "longer than 64 characters".into());
    }
    if let Some(m) = bad_char(&order.order_no) {
        return err("order_no", m);
    }
    for (field, list) in [
        ("waybill_nos", &order.waybill_nos),
        ("platform_order_nos", &order.platform_order_nos),
    ] {
        for (i, c) in list.iter().enumerate() {
            if c.is_empty() {
                return err(&format!("{field}[{i}]"), "must not be empty".into());
            }
            if let Some(m) = bad_char(c) {
                return err(&format!("{field}[{i}]"), m);
            }
        }
    }
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, l) in order.lines.iter().enumerate() {
        if l.sku.trim().is_empty() {
            return err(&format!("lines[{i}].sku"), "must not be empty".into());
        }
        if l.qty == 0 || l.qty > 100_000 {
            return err(
                &format!("lines[{i}].qty"),
                format!("{} is not between 1 and 100000", l.qty),
            );
        }
        if !(0..=1_000_000).contains(&l.unit_weight_g) {
            return err(
                &format!("lines[{i}].unit_weight_g"),
                format!("{} g is not between 0 and 1000000", l.unit_weight_g),
            );
        }
        for (j, b) in l.barcodes.iter().enumerate() {
            let f = format!("lines[{i}].barcodes[{j}]");
            let n = match normalize_for_match(&b.code) {
                Ok(n) => n,
                Err(e) => return err(&format!("{f}.code"), e.to_string()),
            };
            if b.units == 0 {
                return err(&format!("{f}.units"), "must be at least 1".into());
            }
            if let Some((_, other)) = seen.iter().find(|(c, line)| *c == n && *line != i) {
                return err(
                    &format!("{f}.code"),
                    format!("{} is also a barcode of lines[{other}]", b.code),
                );
            }
            seen.push((n, i));
        }
    }
    Ok(())
}

struct Writer<'c, 'p> {
    conn: &'c mut Connection,
    batch: Vec<Order>,
    now: DateTime<Utc>,
    summary: Summary,
    progress: &'p mut dyn FnMut(&Progress),
    line: u64,
}

impl Writer<'_, '_> {
    fn push(&mut self, order: Order) -> Result<()> {
        self.batch.push(order);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(|source| Error::Sqlite {
            op: "begin import batch",
            source,
        })?;
        for o in self.batch.drain(..) {
            match orders::upsert(&tx, &o, self.now)? {
                orders::Upserted::Inserted => self.summary.inserted += 1,
                orders::Upserted::Updated => self.summary.updated += 1,
                orders::Upserted::KeptPacked => self.summary.kept_packed += 1,
            }
        }
        tx.commit().map_err(|source| Error::Sqlite {
            op: "commit import batch",
            source,
        })?;
        (self.progress)(&Progress {
            orders: self.summary.read,
            rejected: self.summary.rejected,
            line: self.line,
        });
        Ok(())
    }

    /// Parses one JSON element starting at `line`.
    fn json_element(&mut self, bytes: &[u8], line: u64) -> Result<()> {
        self.summary.read += 1;
        let source = self.summary.source.clone();
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            self.summary.reject(RowError {
                place: format!("{source}:{line}"),
                message: "expected an order as a JSON object {…}".into(),
            });
            return Ok(());
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed: std::result::Result<Order, _> = serde_path_to_error::deserialize(&mut de);
        match parsed {
            Ok(order) => {
                if let Err(e) = de.end() {
                    self.summary.reject(RowError {
                        place: format!("{source}:{}", line + e.line() as u64 - 1),
                        message: format!("trailing data after the order: {e}"),
                    });
                    return Ok(());
                }
                match validate(&order) {
                    Ok(()) => self.push(order)?,
                    Err((field, message)) => self.summary.reject(RowError {
                        place: format!("{source}:{line}: order {}: {field}", order.order_no),
                        message,
                    }),
                }
            }
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let at = line + (inner.line().max(1) as u64) - 1;
                let field = if path == "." || path == "?" {
                    String::new()
                } else {
                    format!(": {path}")
                };
                let mut message = inner.to_string();
                if let Some(i) = message.find(" at line ") {
                    message.truncate(i);
                }
                self.summary.reject(RowError {
                    place: format!("{source}:{at}{field}"),
                    message,
                });
            }
        }
        Ok(())
    }
}

/// Imports orders from a reader. `source` names it in errors; `now` stamps the rows.
pub fn import_reader(
    conn: &mut Connection,
    reader: impl Read,
    format: Format,
    source: &str,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary> {
    let mut w = Writer {
        conn,
        batch: Vec::with_capacity(BATCH),
        now,
        summary: Summary {
            source: source.to_string(),
            ..Summary::default()
        },
        progress,
        line: 0,
    };
    let mut r = BufReader::with_capacity(1 << 16, reader);
    match format {
        Format::JsonLines => json_lines(&mut r, &mut w)?,
        Format::JsonArray => json_array(&mut r, &mut w)?,
        Format::Csv => csv_rows(&mut r, &mut w)?,
    }
    w.flush()?;
    let summary = w.summary;
    let data = serde_json::json!({
        "source": summary.source, "read": summary.read, "inserted": summary.inserted,
        "updated": summary.updated, "rejected": summary.rejected,
    })
    .to_string();
    audit::append(
        w.conn,
        &audit::Entry {
            at: now,
            kind: "orders_imported",
            order_no: None,
            operator: None,
            data: &data,
        },
    )?;
    Ok(summary)
}

fn read_err(source: &str, line: u64, e: std::io::Error) -> Error {
    Error::Io {
        path: format!("{source}:{line}"),
        source: e,
    }
}

fn json_lines(r: &mut impl BufRead, w: &mut Writer<'_, '_>) -> Result<()> {
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| read_err(&w.summary.source, line + 1, e))?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        w.line = line;
        let mut s: &[u8] = &buf;
        if line == 1 {
            s = s.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(s);
        }
        if s.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if s.len() > MAX_ELEMENT_BYTES {
            w.summary.read += 1;
            let place = format!("{}:{line}", w.summary.source);
            w.summary.reject(RowError {
                place,
                message: format!(
                    "line of {} bytes is longer than the {MAX_ELEMENT_BYTES} allowed",
                    s.len()
                ),
            });
            continue;
        }
        w.json_element(s, line)?;
    }
}

/// Splits a top-level JSON array into its elements without reading the whole file.
fn json_array(r: &mut impl BufRead, w: &mut Writer<'_, '_>) -> Result<()> {
    let mut line = 1u64;
    let mut depth = 0u32;
    let mut in_str = false;
    let mut esc = false;
    let mut started = false;
    let mut ended = false;
    let mut elem: Vec<u8> = Vec::new();
    let mut elem_line = 0u64;
    let mut too_big = false;
    let mut first = true;
    loop {
        let chunk = r
            .fill_buf()
            .map_err(|e| read_err(&w.summary.source, line, e))?;
        if chunk.is_empty() {
            break;
        }
        let mut data = chunk;
        if first {
            data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        }
        let skipped = chunk.len() - data.len();
        first = false;
        let len = data.len();
        let mut i = 0;
        let bytes = data.to_vec();
        r.consume(skipped + len);
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            if b == b'\n' {
                line += 1;
                w.line = line;
            }
            if ended {
                if !b.is_ascii_whitespace() {
                    let place = format!("{}:{line}", w.summary.source);
                    w.summary.reject(RowError {
                        place,
                        message: "data after the closing ] of the array".into(),
                    });
                    return Ok(());
                }
                continue;
            }
            if !started {
                if b == b'[' {
                    started = true;
                    depth = 1;
                } else if !b.is_ascii_whitespace() {
                    return Err(Error::Invalid {
                        place: format!("{}:{line}", w.summary.source),
                        message: "a JSON array must start with [".into(),
                    });
                }
                continue;
            }
            let in_elem = !elem.is_empty() || too_big;
            if in_str {
                if esc {
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    in_str = false;
                }
            } else {
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if depth == 1 && !in_str && b == b',' || depth == 0 {
                // End of an element (or of the array).
                if in_elem {
                    if too_big {
                        w.summary.read += 1;
                        let place = format!("{}:{elem_line}", w.summary.source);
                        w.summary.reject(RowError {
                            place,
                            message: format!("element longer than {MAX_ELEMENT_BYTES} bytes"),
                        });
                    } else {
                        let e = std::mem::take(&mut elem);
                        w.json_element(&e, elem_line)?;
                    }
                    elem.clear();
                    too_big = false;
                } else if b == b',' {
                    let place = format!("{}:{line}", w.summary.source);
                    w.summary.reject(RowError {
                        place,
                        message: "empty array element (two commas)".into(),
                    });
                }
                if depth == 0 {
                    ended = true;
                }
                continue;
            }
            if !in_elem {
                if b.is_ascii_whitespace() {
                    continue;
                }
                elem_line = line;
            }
            if too_big {
                continue;
            }
            if elem.len() >= MAX_ELEMENT_BYTES {
                too_big = true;
                elem.clear();
                continue;
            }
            elem.push(b);
        }
    }
    if !started {
        return Ok(());
    }
    if !ended {
        w.summary.read += u64::from(!elem.is_empty() || too_big);
        let place = format!(
            "{}:{}",
            w.summary.source,
            if elem.is_empty() { line } else { elem_line }
        );
        w.summary.reject(RowError {
            place,
            message: "file ends inside the array (missing ] or a truncated order)".into(),
        });
    }
    Ok(())
}

/// Decodes a CSV field: UTF-8, or GBK (common in Excel exports on Chinese Windows).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GBK.decode(bytes).0.into_owned(),
    }
}

const CSV_COLUMNS: &[&str] = &[
    "order_no",
    "platform_order_nos",
    "waybill_nos",
    "carrier",
    "status",
    "province",
    "city",
    "district",
    "address",
    "shop",
    "sku",
    "name",
    "qty",
    "unit_weight_g",
    "serial_required",
    "barcodes",
];

fn split_list(s: &str) -> Vec<String> {
    s.split(['|', ';'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

struct CsvOrder {
    order: Order,
    line: u64,
    bad: bool,
}

fn csv_rows(r: &mut impl BufRead, w: &mut Writer<'_, '_>) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(r);
    let source = w.summary.source.clone();
    let headers: Vec<String> = rdr
        .byte_headers()
        .map_err(|e| Error::Invalid {
            place: format!("{source}:1"),
            message: format!("cannot read the header row: {e}"),
        })?
        .iter()
        .map(|h| {
            let h = decode(h);
            h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase()
        })
        .collect();
    for required in ["order_no", "sku", "qty"] {
        if !headers.iter().any(|h| h == required) {
            return Err(Error::Invalid {
                place: format!("{source}:1"),
                message: format!(
                    "missing column {required:?}; columns are {}",
                    CSV_COLUMNS.join(",")
                ),
            });
        }
    }
    if let Some(unknown) = headers.iter().find(|h| !CSV_COLUMNS.contains(&h.as_str())) {
        return Err(Error::Invalid {
            place: format!("{source}:1"),
            message: format!(
                "unknown column {unknown:?}; columns are {}",
                CSV_COLUMNS.join(",")
            ),
        });
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let idx: Vec<Option<usize>> = CSV_COLUMNS.iter().map(|c| col(c)).collect();
    let mut current: Option<CsvOrder> = None;
    let mut done: HashSet<String> = HashSet::new();
    let mut rec = csv::ByteRecord::new();
    loop {
        let more = match rdr.read_byte_record(&mut rec) {
            Ok(m) => m,
            Err(e) => {
                let line = e.position().map_or(w.line + 1, |p| p.line());
                w.summary.read += 1;
                w.summary.reject(RowError {
                    place: format!("{source}:{line}"),
                    message: format!("unreadable CSV row: {e}"),
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        };
        if !more {
            break;
        }
        let line = rec.position().map_or(0, |p| p.line());
        w.line = line;
        if rec.len() != headers.len() {
            if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            w.summary.read += 1;
            w.summary.reject(RowError {
                place: format!("{source}:{line}"),
                message: format!("{} fields, the header has {}", rec.len(), headers.len()),
            });
            continue;
        }
        let get = |k: usize| -> String {
            idx.get(k)
                .copied()
                .flatten()
                .and_then(|i| rec.get(i))
                .map(|b| decode(b).trim().to_string())
                .unwrap_or_default()
        };
        let field_err = |name: &str, m: String| RowError {
            place: format!("{source}:{line}: {name}"),
            message: m,
        };
        let order_no = get(0);
        if order_no.is_empty() {
            w.summary.read += 1;
            w.summary
                .reject(field_err("order_no", "must not be empty".into()));
            continue;
        }
        // A new order starts: finish the previous one.
        if current
            .as_ref()
            .is_some_and(|c| c.order.order_no != order_no)
        {
            if let Some(c) = current.take() {
                finish_csv_order(w, c)?;
            }
        }
        if current.is_none() {
            if !done.insert(order_no.clone()) {
                w.summary.read += 1;
                w.summary.reject(field_err(
                    "order_no",
                    format!("order {order_no} appears again after other orders; keep the rows of an order together"),
                ));
                continue;
            }
            let status_s = get(4);
            let status = if status_s.is_empty() {
                Some(OrderStatus::Open)
            } else {
                OrderStatus::parse(&status_s)
            };
            let mut bad = false;
            if status.is_none() {
                w.summary.reject(field_err(
                    "status",
                    format!(
                        "{status_s:?} is not one of open, on_hold, cancelled, intercepted, packed"
                    ),
                ));
                bad = true;
            }
            let shop = get(9);
            current = Some(CsvOrder {
                order: Order {
                    order_no: order_no.clone(),
                    platform_order_nos: split_list(&get(1)),
                    waybill_nos: split_list(&get(2)),
                    carrier: get(3),
                    status: status.unwrap_or_default(),
                    destination: domain::Destination {
                        province: get(5),
                        city: get(6),
                        district: get(7),
                        address: get(8),
                        name: None,
                        phone: None,
                    },
                    lines: Vec::new(),
                    shop: (!shop.is_empty()).then_some(shop),
                    routing_code: None,
                    declared_value_fen: None,
                },
                line,
                bad,
            });
        }
        let Some(c) = current.as_mut() else {
            continue;
        };
        if c.bad {
            continue;
        }
        let mut row_err = None;
        let qty_s = get(12);
        let qty = match qty_s.parse::<u32>() {
            Ok(q) => q,
            Err(_) => {
                row_err = Some(field_err("qty", format!("{qty_s:?} is not a whole number")));
                0
            }
        };
        let wt_s = get(13);
        let unit_weight_g = if wt_s.is_empty() {
            0
        } else {
            match wt_s.parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    row_err.get_or_insert(field_err(
                        "unit_weight_g",
                        format!("{wt_s:?} is not a whole number of grams"),
                    ));
                    0
                }
            }
        };
        let serial_s = get(14).to_ascii_lowercase();
        let serial_required = match serial_s.as_str() {
            "" | "0" | "false" | "no" | "n" | "否" => false,
            "1" | "true" | "yes" | "y" | "是" => true,
            _ => {
                row_err.get_or_insert(field_err(
                    "serial_required",
                    format!("{serial_s:?} is not true/false"),
                ));
                false
            }
        };
        let mut barcodes = Vec::new();
        for item in split_list(&get(15)) {
            let (code, units) = match item.split_once('*') {
                Some((c, u)) => match u.trim().parse::<u32>() {
                    Ok(u) => (c.trim().to_string(), u),
                    Err(_) => {
                        row_err.get_or_insert(field_err(
                            "barcodes",
                            format!("{item:?}: units after * must be a whole number"),
                        ));
                        continue;
                    }
                },
                None => (item.clone(), 1),
            };
            barcodes.push(domain::OrderBarcode { code, units });
        }
        if let Some(e) = row_err {
            w.summary.reject(e);
            c.bad = true;
            continue;
        }
        c.order.lines.push(domain::OrderLine {
            sku: get(10),
            name: get(11),
            qty,
            unit_weight_g,
            serial_required,
            barcodes,
        });
    }
    if let Some(c) = current.take() {
        finish_csv_order(w, c)?;
    }
    Ok(())
}

fn finish_csv_order(w: &mut Writer<'_, '_>, c: CsvOrder) -> Result<()> {
    w.summary.read += 1;
    if c.bad {
        // Already reported; a bad row rejects its whole order.
        return Ok(());
    }
    match validate(&c.order) {
        Ok(()) => w.push(c.order),
        Err((field, message)) => {
            let place = format!(
                "{}:{}: order {}: {field}",
                w.summary.source, c.line, c.order.order_no
            );
            w.summary.reject(RowError { place, message });
            Ok(())
        }
    }
}

/// Imports a file, detecting its format unless given.
pub fn import_file(
    conn: &mut Connection,
    path: &std::path::Path,
    format: Option<Format>,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary> {
    let name = path.display().to_string();
    let open = || {
        std::fs::File::open(path).map_err(|source| Error::Io {
            path: name.clone(),
            source,
        })
    };
    let format = match format {
        Some(f) => f,
        None => {
            let mut head = [0u8; 512];
            let mut f = open()?;
            let n = f.read(&mut head).map_err(|source| Error::Io {
                path: name.clone(),
                source,
            })?;
            let body = head.get(..n).unwrap_or(&[]);
            let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
            let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
            Format::detect(&name, first)
        }
    };
    import_reader(conn, open()?, format, &name, now, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    fn run(format: Format, text: &[u8]) -> (Summary, Connection) {
        let mut c = crate::db::open(":memory:").unwrap();
        let s = import_reader(&mut c, text, format, "f.json", now(), &mut |_| {}).unwrap();
        (s, c)
    }

    const GOOD: &str = r#"{"order_no":"O1","waybill_nos":["SF1"],"lines":[{"sku":"A","qty":2,"unit_weight_g":350,"barcodes":[{"code":"6901234567892"},{"code":"16901234567899","units":12}]}]}"#;

    /// (one bad JSON line after a good one, expected place, expected words in the message)
    fn check_jsonl(bad: &str, place: &str, words: &str) {
        let text = format!(
            "{GOOD}\n{bad}\n{}\n",
            GOOD.replace("O1", "O3").replace("SF1", "SF3")
        );
        let (s, c) = run(Format::JsonLines, text.as_bytes());
        assert_eq!((s.inserted, s.rejected), (2, 1), "{bad}: {:?}", s.errors);
        let e = &s.errors[0];
        assert_eq!(e.place, place, "{bad}: {e}");
        assert!(e.message.contains(words), "{bad}: {e}");
        // Nothing else lost.
        assert_eq!(crate::store::orders::count(&c).unwrap(), 2);
    }

    #[test]
    fn json_lines_errors_name_line_and_field() {
        check_jsonl("{not json", "f.json:2", "key must be a string");
        check_jsonl(
            r#"{"order_no":"O2","lines":[{"sku":"A","qty":"2"}]}"#,
            "f.json:2: lines[0].qty",
            "invalid type: string \"2\"",
        );
        check_jsonl(
            r#"{"order_no":"O2","lines":[{"sku":"A"}]}"#,
            "f.json:2: lines[0]",
            "missing field `qty`",
        );
        check_jsonl(
            r#"{"order_no":"O2","status":"lost"}"#,
            "f.json:2: status",
            "unknown variant `lost`",
        );
        check_jsonl(
            r#"{"order_no":7}"#,
            "f.json:2: order_no",
            "invalid type: integer",
        );
        check_jsonl(
            r#"{"order_no":"O2","lines":[{"sku":"A","qty":0}]}"#,
            "f.json:2: order O2: lines[0].qty",
            "not between 1 and 100000",
        );
        check_jsonl(
            r#"{"order_no":"O2","lines":[{"sku":"A","qty":1,"unit_weight_g":-5}]}"#,
            "f.json:2: order O2: lines[0].unit_weight_g",
            "-5 g",
        );
        check_jsonl(
            r#"{"order_no":"O 2"}"#,
            "f.json:2: order O 2: order_no",
            "whitespace",
        );
        check_jsonl(r#"{"order_no":""}"#, "f.json:2: order : order_no", "empty");
        check_jsonl(
            r#"{"order_no":"O2","waybill_nos":["SF\u0007"]}"#,
            "f.json:2: order O2: waybill_nos[0]",
            "control",
        );
        check_jsonl(
            r#"{"order_no":"O2","lines":[{"sku":"A","qty":1,"barcodes":[{"code":"69 01"}]}]}"#,
            "f.json:2: order O2: lines[0].barcodes[0].code",
            "whitespace",
        );
        check_jsonl(
            r#"{"order_no":"O2","lines":[{"sku":"A","qty":1,"barcodes":[{"code":"X","units":0}]}]}"#,
            "f.json:2: order O2: lines[0].barcodes[0].units",
            "at least 1",
        );
        check_jsonl(
            r#"{"order_no":"O2","lines":[{"sku":"A","qty":1,"barcodes":[{"code":"6901234567892"}]},{"sku":"B","qty":1,"barcodes":[{"code":"06901234567892"}]}]}"#,
            "f.json:2: order O2: lines[1].barcodes[0].code",
            "also a barcode of lines[0]",
        );
        check_jsonl(&format!("{GOOD} trailing"), "f.json:2", "trailing");
        check_jsonl("[1]", "f.json:2", "expected an order as a JSON object");
    }

    #[test]
    fn json_array_streams_elements_with_their_lines() {
        let text = format!(
            "\u{feff}[\n  {GOOD},\n  {{\"order_no\":\"O2\",\n   \"lines\":[{{\"sku\":\"A\",\"qty\":true}}]}},\n  {}\n]\n",
            GOOD.replace("O1", "O3").replace("SF1", "SF3")
        );
        let (s, _) = run(Format::JsonArray, text.as_bytes());
        assert_eq!(
            (s.read, s.inserted, s.rejected),
            (3, 2, 1),
            "{:?}",
            s.errors
        );
        assert_eq!(s.errors[0].place, "f.json:4: lines[0].qty");
        // Strings containing brackets, braces, commas and escaped quotes do not confuse the splitter.
        let tricky =
            r#"[{"order_no":"A]1","destination":{"address":"x}, \"y\" [z"}},{"order_no":"A2"}]"#;
        let (s, c) = run(Format::JsonArray, tricky.as_bytes());
        assert_eq!((s.inserted, s.rejected), (2, 0), "{:?}", s.errors);
        let o = crate::store::orders::get(&c, "A]1").unwrap().unwrap().order;
        assert_eq!(o.destination.address, "x}, \"y\" [z");
    }

    #[test]
    fn truncated_array_and_junk() {
        let (s, _) = run(
            Format::JsonArray,
            format!("[{GOOD},\n{{\"order_no\":\"O2\"").as_bytes(),
        );
        assert_eq!((s.inserted, s.rejected), (1, 1));
        assert!(s.errors[0].message.contains("file ends inside the array"));
        let (s, _) = run(Format::JsonArray, format!("[{GOOD}] x").as_bytes());
        assert_eq!((s.inserted, s.rejected), (1, 1));
        let (s, _) = run(Format::JsonArray, format!("[{GOOD},,{GOOD}]").as_bytes());
        assert_eq!(s.rejected, 1);
        let mut c = crate::db::open(":memory:").unwrap();
        let e = import_reader(
            &mut c,
            &b"{\"a\":1}"[..],
            Format::JsonArray,
            "f.json",
            now(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("f.json:1"), "{e}");
    }

    const CSV_HEAD: &str = "order_no,platform_order_nos,waybill_nos,carrier,status,province,city,district,address,shop,sku,name,qty,unit_weight_g,serial_required,barcodes\n";

    #[test]
    fn csv_groups_rows_into_orders() {
        let text = format!(
            "{CSV_HEAD}O1,P1,SF1|SF1b,SF,open,广东省,深圳市,南山区,\"科技园, 1 号\",店,A,茶,2,280,false,6901234567892|16901234567899*12\n\
             O1,P1,SF1|SF1b,SF,open,广东省,深圳市,南山区,x,店,B,杯,1,350,是,036000291452\n\
             O2,,SF2,SF,,,,,,,C,c,1,50,0,\n"
        );
        let (s, c) = run(Format::Csv, text.as_bytes());
        assert_eq!(
            (s.read, s.inserted, s.rejected),
            (2, 2, 0),
            "{:?}",
            s.errors
        );
        let o = crate::store::orders::find_by_code(&c, "SF1b")
            .unwrap()
            .unwrap()
            .order;
        assert_eq!(o.order_no, "O1");
        assert_eq!(o.lines.len(), 2);
        assert_eq!(o.lines[0].barcodes[1].units, 12);
        assert!(o.lines[1].serial_required);
        assert_eq!(o.destination.address, "科技园, 1 号");
        assert_eq!(o.platform_order_nos, vec!["P1".to_string()]);
    }

    fn check_csv(row: &str, place: &str, words: &str) {
        let text = format!(
            "{CSV_HEAD}O1,,SF1,SF,,,,,,,A,a,1,100,,\n{row}\nO3,,SF3,SF,,,,,,,A,a,1,100,,\n"
        );
        let (s, _) = run(Format::Csv, text.as_bytes());
        assert_eq!((s.inserted, s.rejected), (2, 1), "{row}: {:?}", s.errors);
        assert_eq!(s.errors[0].place, place, "{row}: {}", s.errors[0]);
        assert!(
            s.errors[0].message.contains(words),
            "{row}: {}",
            s.errors[0]
        );
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        check_csv(
            "O2,,SF2,SF,,,,,,,A,a,two,100,,",
            "f.json:3: qty",
            "\"two\" is not a whole number",
        );
        check_csv(
            "O2,,SF2,SF,,,,,,,A,a,1,1.5kg,,",
            "f.json:3: unit_weight_g",
            "not a whole number of grams",
        );
        check_csv(
            "O2,,SF2,SF,lost,,,,,,A,a,1,1,,",
            "f.json:3: status",
            "not one of",
        );
        check_csv(
            "O2,,SF2,SF,,,,,,,A,a,1,1,maybe,",
            "f.json:3: serial_required",
            "true/false",
        );
        check_csv(
            "O2,,SF2,SF,,,,,,,A,a,1,1,,X*y",
            "f.json:3: barcodes",
            "units after *",
        );
        check_csv(
            "O2,,SF2,SF,,,,,,,A,a,1",
            "f.json:3",
            "13 fields, the header has 16",
        );
        check_csv(
            "O2,,SF2,SF,,,,,,,A,a,0,1,,",
            "f.json:3: order O2: lines[0].qty",
            "not between",
        );
        check_csv(",,SF2,SF,,,,,,,A,a,1,1,,", "f.json:3: order_no", "empty");
    }

    #[test]
    fn csv_header_problems_and_gbk() {
        let mut c = crate::db::open(":memory:").unwrap();
        let e = import_reader(
            &mut c,
            &b"order,sku,qty\n"[..],
            Format::Csv,
            "x.csv",
            now(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("x.csv:1") && e.to_string().contains("order_no"),
            "{e}"
        );
        // An Excel export on Chinese Windows: GBK.
        let (gbk, _, _) =
            encoding_rs::GBK.encode("order_no,sku,name,qty,收货人\nO1,A,西湖龙井,1,张三\n");
        let mut c = crate::db::open(":memory:").unwrap();
        let e =
            import_reader(&mut c, &gbk[..], Format::Csv, "x.csv", now(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("unknown column \"收货人\""), "{e}");
        let (gbk, _, _) =
            encoding_rs::GBK.encode("order_no,sku,name,qty,city\nO1,A,西湖龙井,1,深圳市\n");
        let s = import_reader(&mut c, &gbk[..], Format::Csv, "x.csv", now(), &mut |_| {}).unwrap();
        assert_eq!(s.inserted, 1);
        let o = crate::store::orders::get(&c, "O1").unwrap().unwrap().order;
        assert_eq!(o.lines[0].name, "西湖龙井");
        assert_eq!(o.destination.city, "深圳市");
    }

    #[test]
    fn order_rows_must_stay_together() {
        let text = format!(
            "{CSV_HEAD}O1,,,,,,,,,,A,a,1,1,,\nO2,,,,,,,,,,A,a,1,1,,\nO1,,,,,,,,,,B,b,1,1,,\n"
        );
        let (s, _) = run(Format::Csv, text.as_bytes());
        assert_eq!((s.inserted, s.rejected), (2, 1));
        assert!(
            s.errors[0].message.contains("appears again"),
            "{}",
            s.errors[0]
        );
    }

    #[test]
    fn reimport_updates_but_never_reopens_a_packed_order() {
        let (s, mut c) = run(Format::JsonLines, GOOD.as_bytes());
        assert_eq!(s.inserted, 1);
        let s = import_reader(
            &mut c,
            GOOD.as_bytes(),
            Format::JsonLines,
            "f",
            now(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(s.updated, 1);
        c.execute(
            "INSERT INTO pack_results (result_id, order_no, station_id, packed_at, weight_g, expected_g, partial, payload) VALUES ('r','O1','b','2026-01-01T00:00:00Z',1,1,0,'{}')",
            [],
        )
        .unwrap();
        let s = import_reader(
            &mut c,
            GOOD.as_bytes(),
            Format::JsonLines,
            "f",
            now(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(s.kept_packed, 1);
        let o = crate::store::orders::get(&c, "O1").unwrap().unwrap();
        assert_eq!(o.order.status, OrderStatus::Packed);
        assert!(o.packed.is_some());
        // Each import is audited.
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM audit WHERE kind='orders_imported'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn format_detection() {
        assert_eq!(Format::detect("a.CSV", Some(b'{')), Format::Csv);
        assert_eq!(Format::detect("a.json", Some(b'[')), Format::JsonArray);
        assert_eq!(Format::detect("a.json", Some(b'{')), Format::JsonLines);
        assert_eq!(Format::detect("a.txt", Some(b'o')), Format::Csv);
    }
}
