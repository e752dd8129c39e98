//! Spreadsheet import: the layout carriers send (key/value rows, a header row, one row per
//! province or province group), from CSV (UTF-8 or GB18030) or a workbook (calamine).
//!
//! Header recognition, province groups and the error places are described in
//! `docs/rate-cards.md`. Nothing here panics on bad input: every problem is a [`RatingError`]
//! naming file, sheet, row and column.

use super::{
    parse_decimal, parse_weight, validate_cards, CellError, Collect, LoadedFile, RatingError,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::rates::{
    Above, AboveMode, Areas, Boundary, Bracket, Insurance, Pricing, RateBook, RateCard, Rounding,
    Surcharge, Volumetric, Zone,
};
use domain::region::{self, CityCode, ProvinceCode};
use domain::{Fen, Grams};
use std::collections::BTreeMap;
use std::path::Path;

/// A spreadsheet cell as the importer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellValue {
    /// Nothing.
    Empty,
    /// Text as typed.
    Text(String),
    /// A number, as its exact shortest decimal text (`0.9`, `12`).
    Number(String),
    /// A date cell.
    Date(NaiveDate),
}

impl CellValue {
    fn text(&self) -> String {
        match self {
            CellValue::Empty => String::new(),
            CellValue::Text(s) | CellValue::Number(s) => s.trim().to_string(),
            CellValue::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            CellValue::Empty => true,
            CellValue::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// A sheet: its name and rows (1-based row numbers, cells from column A).
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// Sheet name (`csv` for a CSV file).
    pub name: String,
    /// `(row number, cells)`.
    pub rows: Vec<(usize, Vec<CellValue>)>,
}

/// `0 → A`, `25 → Z`, `26 → AA`.
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(char::from(b'A' + u8::try_from(i % 26).unwrap_or(0)));
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.iter().rev().collect()
}

pub(super) fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

fn csv_sheet(bytes: &[u8], file: &str) -> Result<Sheet, RatingError> {
    let text = decode_text(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut sheet = Sheet {
        name: "csv".to_string(),
        rows: Vec::new(),
    };
    let (mut scanned, mut newlines) = (0usize, 0usize);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| RatingError::Parse {
            place: format!(
                "{file}:{}",
                e.position()
                    .map_or(0, |p| usize::try_from(p.line()).unwrap_or(0))
            ),
            message: e.to_string(),
        })?;
        // The line as an editor shows it (the csv crate's own count skips blank lines),
        // counted incrementally from the previous record.
        let row = match rec.position() {
            Some(p) => {
                let mut byte = usize::try_from(p.byte()).unwrap_or(0).min(text.len());
                // A record after blank lines may be reported at the first blank line.
                while matches!(text.as_bytes().get(byte), Some(b'\n' | b'\r')) {
                    byte += 1;
                }
                if byte >= scanned {
                    newlines += text
                        .as_bytes()
                        .get(scanned..byte)
                        .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
                    scanned = byte;
                }
                newlines + 1
            }
            None => sheet.rows.len() + 1,
        };
        let cells = rec
            .iter()
            .map(|c| {
                let t = c.trim();
                if t.is_empty() {
                    CellValue::Empty
                } else {
                    CellValue::Text(t.to_string())
                }
            })
            .collect();
        sheet.rows.push((row, cells));
    }
    Ok(sheet)
}

/// Exact decimal text of a float cell: the shortest text that reads back as the same float.
fn float_text(f: f64) -> String {
    let s = format!("{f}");
    if s.contains('e') || s.contains('E') {
        format!("{f:.6}")
    } else {
        s
    }
}

fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    let days: i64 = format!("{:.0}", serial.floor()).parse().ok()?;
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_signed(chrono::Duration::days(days))
}

fn workbook_sheets(path: &Path) -> Result<Vec<Sheet>, RatingError> {
    use calamine::{open_workbook_auto, Data, Reader};
    let file = path.display().to_string();
    let mut wb = open_workbook_auto(path).map_err(|e| RatingError::Workbook {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| RatingError::Workbook {
                file: file.clone(),
                message: format!("sheet {name:?}: {e}"),
            })?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let (r0, c0) = (
            usize::try_from(r0).unwrap_or(0),
            usize::try_from(c0).unwrap_or(0),
        );
        let mut sheet = Sheet {
            name: name.clone(),
            rows: Vec::new(),
        };
        for (i, row) in range.rows().enumerate() {
            let mut cells = vec![CellValue::Empty; c0];
            cells.extend(row.iter().map(|d| match d {
                Data::Empty => CellValue::Empty,
                Data::String(s) => CellValue::Text(s.clone()),
                Data::Int(i) => CellValue::Number(i.to_string()),
                Data::Float(f) => CellValue::Number(float_text(*f)),
                Data::Bool(b) => CellValue::Text(b.to_string()),
                Data::DateTime(dt) => match excel_serial_date(dt.as_f64()) {
                    Some(d) => CellValue::Date(d),
                    None => CellValue::Text(dt.to_string()),
                },
                Data::DateTimeIso(s) | Data::DurationIso(s) => CellValue::Text(s.clone()),
                Data::Error(e) => CellValue::Text(format!("#ERROR {e}")),
            }));
            sheet.rows.push((r0 + i + 1, cells));
        }
        out.push(sheet);
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Col {
    Region,
    Zone,
    Carrier,
    Service,
    FirstWeight,
    FirstPrice(Option<Grams>),
    StepWeight,
    StepPrice(Option<Grams>),
    Flat,
    Bracket { from: Grams, to: Grams },
    Above { threshold: Grams, mode: AboveMode },
    Remote,
    Ignore,
}

fn normalize_header(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '：' => ':',
            '～' => '~',
            '＞' => '>',
            '≥' => '>',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn strip_parens(h: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    for c in h.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

const PRICE_HINTS: &[&str] = &[
    "价", "费", "元", "¥", "￥", "price", "fee", "cost", "rmb", "cny",
];

fn has_price_hint(h: &str) -> bool {
    PRICE_HINTS.iter().any(|p| h.contains(p))
}

/// A weight written in a header (`首重(1kg)`, `续重0.5kg`), not a per-unit (`元/kg`).
fn weight_in_header(h: &str) -> Option<Grams> {
    let chars: Vec<char> = h.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || chars[i - 1] != '/') {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let num: String = chars[start..i].iter().collect();
            let rest: String = chars[i..].iter().collect();
            if rest.starts_with("kg") || rest.starts_with("公斤") || rest.starts_with("千克") {
                return parse_decimal(&num, 3).map(Grams);
            }
            if rest.starts_with('g') || rest.starts_with('克') {
                return parse_decimal(&num, 0).map(Grams);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// `0-1kg`, `1.01-2`, `0~0.5公斤`, `500-1000g`, `≤1kg`, `1kg以内` → (from, to) in grams.
fn bracket_in_header(h: &str) -> Option<(Grams, Grams)> {
    let h = strip_parens(h);
    let (body, grams) = if let Some(b) = h
        .strip_suffix("kg")
        .or_else(|| h.strip_suffix("公斤"))
        .or_else(|| h.strip_suffix("千克"))
    {
        (b.to_string(), false)
    } else if let Some(b) = h.strip_suffix('g').or_else(|| h.strip_suffix("克")) {
        (b.to_string(), true)
    } else {
        (h.clone(), false)
    };
    let scale = if grams { 0 } else { 3 };
    let unit_trim = |s: &str| -> String {
        s.trim_end_matches("kg")
            .trim_end_matches("公斤")
            .trim_end_matches('g')
            .trim_end_matches('克')
            .to_string()
    };
    for prefix in ["<=", "≤", "0<w<=", "0<"] {
        if let Some(n) = body.strip_prefix(prefix) {
            return Some((Grams(0), Grams(parse_decimal(&unit_trim(n), scale)?)));
        }
    }
    for suffix in ["以内", "及以下", "以下"] {
        if let Some(n) = body.strip_suffix(suffix) {
            let n = unit_trim(n);
            let n = n
                .strip_suffix("kg")
                .or_else(|| n.strip_suffix("公斤"))
                .unwrap_or(&n);
            return Some((Grams(0), Grams(parse_decimal(n, 3)?)));
        }
    }
    for sep in ["-", "~", "–", "—", "至", "到"] {
        if let Some((a, b)) = body.split_once(sep) {
            let a = parse_decimal(&unit_trim(a), scale)?;
            let b = parse_decimal(&unit_trim(b), scale)?;
            return Some((Grams(a), Grams(b)));
        }
    }
    None
}

/// `3kg以上`, `>3kg`, `超过3kg续重(元/kg)`, `above 3kg`.
fn above_in_header(h: &str) -> Option<(Grams, AboveMode)> {
    let bare = strip_parens(h);
    let is_above = bare.contains("以上")
        || bare.starts_with('>')
        || bare.starts_with("超过")
        || bare.starts_with("above")
        || bare.starts_with("over");
    if !is_above {
        return None;
    }
    let threshold = weight_in_header(&bare).or_else(|| {
        let digits: String = bare
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        parse_decimal(&digits, 3).map(Grams)
    })?;
    let add = ["续", "超出", "additional", "extra", "每增加"]
        .iter()
        .any(|k| h.contains(k));
    Some((
        threshold,
        if add {
            AboveMode::AddSteps
        } else {
            AboveMode::WholeWeight
        },
    ))
}

fn classify(header: &str) -> Col {
    let h = normalize_header(header);
    let bare = strip_parens(&h);
    let bare = bare.trim_end_matches(':');
    const REGION: &[&str] = &[
        "省份",
        "目的地",
        "目的省份",
        "到达省份",
        "收件省份",
        "目的地区",
        "地区",
        "区域",
        "省",
        "省市",
        "province",
        "destination",
        "region",
        "dest",
        "to",
    ];
    const ZONE: &[&str] = &["分区", "区号", "价格区", "zone"];
    const CARRIER: &[&str] = &[
        "承运商",
        "快递公司",
        "快递",
        "物流公司",
        "carrier",
        "express",
    ];
    const SERVICE: &[&str] = &["产品", "服务", "产品类型", "服务类型", "service", "product"];
    const FLAT: &[&str] = &["运费", "价格", "一口价", "price", "flat", "fee"];
    if REGION.contains(&bare) {
        return Col::Region;
    }
    if ZONE.contains(&bare) {
        return Col::Zone;
    }
    if CARRIER.contains(&bare) {
        return Col::Carrier;
    }
    if SERVICE.contains(&bare) {
        return Col::Service;
    }
    if h.contains("偏远") || h.contains("附加") || h.contains("remote") || h.contains("surcharge")
    {
        return Col::Remote;
    }
    if let Some((threshold, mode)) = above_in_header(&h) {
        return Col::Above { threshold, mode };
    }
    let is_first = h.starts_with("首重") || h.starts_with("first");
    let is_step = h.starts_with("续重")
        || h.starts_with("续")
        || h.starts_with("additional")
        || h.starts_with("extra")
        || h.starts_with("step")
        || h.starts_with("perkg")
        || h.starts_with("每公斤");
    if is_first || is_step {
        let price = has_price_hint(&h) || h.contains("/kg") || h.contains("/公斤");
        let w = weight_in_header(&h);
        return match (is_first, price) {
            (true, true) => Col::FirstPrice(w),
            (true, false) => Col::FirstWeight,
            (false, true) => Col::StepPrice(w),
            (false, false) => Col::StepWeight,
        };
    }
    if FLAT.contains(&bare) {
        return Col::Flat;
    }
    if let Some((from, to)) = bracket_in_header(&h) {
        return Col::Bracket { from, to };
    }
    Col::Ignore
}

/// Province groups carriers write in one cell.
const GROUPS: &[(&str, &[u8])] = &[
    ("江浙沪皖", &[32, 33, 31, 34]),
    ("江浙皖沪", &[32, 33, 34, 31]),
    ("江浙沪", &[32, 33, 31]),
    ("京津冀", &[11, 12, 13]),
    ("黑吉辽", &[23, 22, 21]),
    ("东三省", &[21, 22, 23]),
    ("东北三省", &[21, 22, 23]),
    ("川渝", &[51, 50]),
    ("港澳台", &[81, 82, 71]),
    ("港澳", &[81, 82]),
    ("新疆西藏", &[65, 54]),
    ("青宁", &[63, 64]),
];

const DEFAULT_WORDS: &[&str] = &[
    "其他",
    "其它",
    "其余",
    "其他地区",
    "其它地区",
    "其余地区",
    "其他省份",
    "默认",
    "default",
    "others",
    "other",
    "rest",
];

const UNSERVICEABLE_WORDS: &[&str] = &[
    "不配送",
    "停发",
    "不派送",
    "不发",
    "不送",
    "暂停",
    "-",
    "/",
    "—",
];

#[derive(Debug, Default)]
struct RegionCell {
    provinces: Vec<ProvinceCode>,
    cities: Vec<CityCode>,
    default: bool,
}

fn parse_region_cell(text: &str) -> Result<RegionCell, String> {
    let mut out = RegionCell::default();
    let tokens = text
        .split(|c: char| "、,，/;；|+＋和 \t".contains(c))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    for tok in tokens {
        let lower = tok.to_ascii_lowercase();
        if DEFAULT_WORDS.contains(&lower.as_str()) {
            out.default = true;
            continue;
        }
        if let Some((_, codes)) = GROUPS.iter().find(|(n, _)| *n == tok) {
            for c in *codes {
                if let Some(p) = ProvinceCode::new(*c) {
                    out.provinces.push(p);
                }
            }
            continue;
        }
        if let Some(p) = ProvinceCode::parse(tok) {
            out.provinces.push(p);
            continue;
        }
        if let Some(c) = CityCode::parse(tok) {
            out.cities.push(c);
            continue;
        }
        // `广东深圳`, `广东省深圳市`: a province and a city, nothing else.
        if let Some(m) = region::match_address(tok) {
            if m.consumed == tok.len() {
                if let Some(c) = m.region.city {
                    out.cities.push(c);
                    continue;
                }
            }
        }
        return Err(format!(
            "unknown province {tok:?} (expected a province name such as 广东/广东省, a group such as 江浙沪, a city, or 其他)"
        ));
    }
    if out.provinces.is_empty() && out.cities.is_empty() && !out.default {
        return Err("no province in the destination cell".to_string());
    }
    Ok(out)
}

/// Card-level settings from the key/value rows above the header.
#[derive(Debug, Default, Clone)]
struct Meta {
    carrier: Option<String>,
    carrier_name: Option<String>,
    service: Option<String>,
    origin: Option<String>,
    version: Option<String>,
    effective_from: Option<DateTime<Utc>>,
    effective_to: Option<DateTime<Utc>>,
    divisor: Option<u32>,
    rounding: Rounding,
    min_charge: Fen,
    max_weight: Option<Grams>,
    boundary: Option<Boundary>,
    fuel_bp: Option<u32>,
    insurance_bp: Option<u32>,
    insurance_min: Fen,
    first_g: Option<Grams>,
    step_g: Option<Grams>,
}

enum MetaKey {
    Carrier,
    CarrierName,
    Service,
    Origin,
    Version,
    From,
    To,
    Divisor,
    RoundStep,
    Tolerance,
    MinWeight,
    MinCharge,
    MaxWeight,
    Boundary,
    Fuel,
    InsuranceRate,
    InsuranceMin,
    FirstWeight,
    StepWeight,
}

fn meta_key(k: &str) -> Option<MetaKey> {
    let k = normalize_header(k);
    let k = k.trim_end_matches(':');
    let k = strip_parens(k);
    Some(match k.as_str() {
        "承运商" | "快递公司" | "快递" | "物流公司" | "carrier" => MetaKey::Carrier,
        "承运商名称" | "快递名称" | "carrier_name" => MetaKey::CarrierName,
        "产品" | "服务" | "产品类型" | "服务类型" | "service" | "product" => {
            MetaKey::Service
        }
        "始发地" | "发货地" | "寄件地" | "origin" => MetaKey::Origin,
        "版本" | "报价版本" | "version" => MetaKey::Version,
        "生效日期" | "生效时间" | "开始日期" | "effective_from" | "valid_from" => {
            MetaKey::From
        }
        "失效日期" | "截止日期" | "结束日期" | "effective_to" | "valid_to" => {
            MetaKey::To
        }
        "抛比" | "计泡系数" | "体积重系数" | "材积系数" | "divisor" | "dim_divisor" => {
            MetaKey::Divisor
        }
        "进位" | "进位单位" | "计重单位" | "rounding" | "rounding_step" => {
            MetaKey::RoundStep
        }
        "进位容差" | "容差" | "tolerance" => MetaKey::Tolerance,
        "最低计费重量" | "最低计重" | "min_weight" => MetaKey::MinWeight,
        "最低收费" | "最低消费" | "min_charge" => MetaKey::MinCharge,
        "最大重量" | "限重" | "max_weight" => MetaKey::MaxWeight,
        "区间规则" | "区间" | "boundary" => MetaKey::Boundary,
        "燃油附加费" | "燃油附加" | "燃油" | "fuel" => MetaKey::Fuel,
        "保价费率" | "insurance_rate" => MetaKey::InsuranceRate,
        "保价最低" | "保价最低收费" | "insurance_min" => MetaKey::InsuranceMin,
        "首重重量" | "first_weight" => MetaKey::FirstWeight,
        "续重重量" | "续重单位" | "step_weight" => MetaKey::StepWeight,
        _ => return None,
    })
}

fn parse_percent_bp(s: &str) -> Option<u32> {
    let t = s.trim().trim_end_matches('%').trim_end_matches('％');
    parse_decimal(t, 2).and_then(|v| u32::try_from(v).ok())
}

fn money(s: &str) -> Option<i64> {
    let t = s
        .trim()
        .trim_start_matches(['¥', '￥'])
        .trim_end_matches('元')
        .trim();
    parse_decimal(t, 2)
}

/// Weight in kg (the carriers' unit) unless a unit is written.
fn weight_kg(s: &str) -> Option<Grams> {
    let t = s.trim().to_ascii_lowercase();
    if t.ends_with("kg") || t.ends_with('g') || t.ends_with("公斤") || t.ends_with('克') {
        parse_weight(&t).ok()
    } else {
        parse_decimal(&t, 3).map(Grams)
    }
}

struct SheetCtx<'a> {
    file: &'a str,
    sheet: &'a str,
}

impl SheetCtx<'_> {
    fn cell(&self, row: usize, col: usize, header: &str, message: String) -> RatingError {
        RatingError::Cell(Box::new(CellError {
            file: self.file.to_string(),
            sheet: self.sheet.to_string(),
            row,
            column: column_letter(col),
            header: header.to_string(),
            message,
        }))
    }

    fn sheet(&self, message: String) -> RatingError {
        RatingError::Sheet {
            file: self.file.to_string(),
            sheet: self.sheet.to_string(),
            message,
        }
    }
}

fn apply_meta(
    meta: &mut Meta,
    key: MetaKey,
    value: &CellValue,
    cx: &SheetCtx<'_>,
    row: usize,
    col: usize,
    key_text: &str,
) -> Result<(), RatingError> {
    let v = value.text();
    let bad = |what: &str| cx.cell(row, col, key_text, format!("bad {what} {v:?}"));
    let date = |value: &CellValue| -> Option<DateTime<Utc>> {
        match value {
            CellValue::Date(d) => domain::rates::parse_instant(&d.format("%Y-%m-%d").to_string()),
            other => domain::rates::parse_instant(&other.text()),
        }
    };
    match key {
        MetaKey::Carrier => meta.carrier = Some(v),
        MetaKey::CarrierName => meta.carrier_name = Some(v),
        MetaKey::Service => meta.service = Some(v),
        MetaKey::Origin => meta.origin = Some(v),
        MetaKey::Version => meta.version = Some(v),
        MetaKey::From => {
            meta.effective_from = Some(date(value).ok_or_else(|| bad("date (2025-01-01)"))?)
        }
        MetaKey::To => {
            meta.effective_to = Some(date(value).ok_or_else(|| bad("date (2025-01-01)"))?)
        }
        MetaKey::Divisor => {
            meta.divisor = if v == "0" || v == "不计泡" || v.eq_ignore_ascii_case("off") {
                None
            } else {
                Some(v.parse().map_err(|_| bad("divisor (6000)"))?)
            }
        }
        MetaKey::RoundStep => {
            meta.rounding.step_g = weight_kg(&v)
                .filter(|g| g.0 > 0)
                .ok_or_else(|| bad("weight step in kg (0.5)"))?
        }
        MetaKey::Tolerance => {
            meta.rounding.tolerance_g =
                weight_kg(&v).ok_or_else(|| bad("tolerance in kg (0.05)"))?
        }
        MetaKey::MinWeight => {
            meta.rounding.min_g = weight_kg(&v).ok_or_else(|| bad("weight in kg"))?
        }
        MetaKey::MinCharge => meta.min_charge = Fen(money(&v).ok_or_else(|| bad("amount in 元"))?),
        MetaKey::MaxWeight => {
            meta.max_weight = Some(weight_kg(&v).ok_or_else(|| bad("weight in kg"))?)
        }
        MetaKey::Boundary => {
            meta.boundary = Some(match v.as_str() {
                "(a,b]" | "含上限" | "左开右闭" => Boundary::UpperInclusive,
                "[a,b)" | "含下限" | "左闭右开" => Boundary::LowerInclusive,
                _ => return Err(bad("boundary ((a,b] or [a,b))")),
            })
        }
        MetaKey::Fuel => {
            meta.fuel_bp = Some(parse_percent_bp(&v).ok_or_else(|| bad("percentage (12.5%)"))?)
        }
        MetaKey::InsuranceRate => {
            meta.insurance_bp = Some(parse_percent_bp(&v).ok_or_else(|| bad("percentage (0.5%)"))?)
        }
        MetaKey::InsuranceMin => {
            meta.insurance_min = Fen(money(&v).ok_or_else(|| bad("amount in 元"))?)
        }
        MetaKey::FirstWeight => {
            meta.first_g = Some(weight_kg(&v).ok_or_else(|| bad("weight in kg"))?)
        }
        MetaKey::StepWeight => {
            meta.step_g = Some(
                weight_kg(&v)
                    .filter(|g| g.0 > 0)
                    .ok_or_else(|| bad("weight in kg"))?,
            )
        }
    }
    Ok(())
}

/// One priced row, before grouping into cards.
struct PricedRow {
    row: usize,
    carrier: Option<String>,
    service: Option<String>,
    zone: String,
    region: RegionCell,
    region_col: usize,
    pricing: Option<Pricing>,
    remote: Option<Fen>,
}

/// A header row: its number and its cells with their classification.
type Header = (usize, Vec<(String, Col)>);

/// The header row (its number and classified cells) and where data starts, with the settings
/// from the key/value rows above it. No header: `None` (the sheet has no rate table).
fn scan_header(
    cx: &SheetCtx<'_>,
    sheet: &Sheet,
    found: &mut Collect<'_>,
) -> (Meta, Option<Header>, usize) {
    let mut meta = Meta::default();
    let mut header: Option<Header> = None;
    let mut data_start = sheet.rows.len();
    for (idx, (row, cells)) in sheet.rows.iter().enumerate() {
        let classes: Vec<(String, Col)> = cells
            .iter()
            .map(|c| {
                let t = c.text();
                let col = if t.is_empty() {
                    Col::Ignore
                } else {
                    classify(&t)
                };
                (t, col)
            })
            .collect();
        let has_region = classes.iter().any(|(_, c)| *c == Col::Region);
        let has_price = classes.iter().any(|(_, c)| {
            matches!(
                c,
                Col::FirstPrice(_)
                    | Col::StepPrice(_)
                    | Col::Flat
                    | Col::Bracket { .. }
                    | Col::Above { .. }
            )
        });
        if has_region && has_price {
            header = Some((*row, classes));
            data_start = idx + 1;
            break;
        }
        // Key/value rows: `承运商 | SF` or `承运商：SF` in one cell.
        let first = cells.iter().position(|c| !c.is_empty());
        if let Some(i) = first {
            let text = cells[i].text();
            if let Some(key) = meta_key(&text) {
                let value = cells[i + 1..]
                    .iter()
                    .find(|c| !c.is_empty())
                    .cloned()
                    .unwrap_or(CellValue::Empty);
                if value.is_empty() {
                    found.push(cx.cell(*row, i, &text, "key without a value".to_string()));
                } else if let Err(e) = apply_meta(&mut meta, key, &value, cx, *row, i + 1, &text) {
                    found.push(e);
                }
            } else if let Some((k, v)) = text.split_once([':', '：']) {
                if let Some(key) = meta_key(k) {
                    if let Err(e) = apply_meta(
                        &mut meta,
                        key,
                        &CellValue::Text(v.to_string()),
                        cx,
                        *row,
                        i,
                        k,
                    ) {
                        found.push(e);
                    }
                }
            }
        }
    }
    (meta, header, data_start)
}

/// The weight brackets written in the header, checked for gaps and overlaps:
/// `(column, from, to)`. `0-1, 1.01-2` is read as (a,b] brackets 0–1 kg, 1–2 kg.
fn header_brackets(
    cx: &SheetCtx<'_>,
    header_row: usize,
    cols: &[(String, Col)],
    boundary: Boundary,
) -> Result<Vec<(usize, Grams, Grams)>, RatingError> {
    let mut bracket_cols: Vec<(usize, Grams, Grams)> = Vec::new();
    for (i, (h, c)) in cols.iter().enumerate() {
        if let Col::Bracket { from, to } = c {
            let mut from = *from;
            let expect = bracket_cols.last().map_or(Grams(0), |(_, _, t)| *t);
            // Chinese tables write `0-1, 1.01-2`: (a,b] at 0.01 kg (or 1 g) granularity.
            if from > expect && from.0 - expect.0 <= 10 && boundary == Boundary::UpperInclusive {
                from = expect;
            }
            if *to <= from {
                return Err(cx.cell(header_row, i, h, format!("empty weight bracket {h:?}")));
            }
            if from > expect {
                return Err(cx.cell(
                    header_row,
                    i,
                    h,
                    format!(
                        "gapped brackets: nothing prices {}–{} (previous bracket ends at {})",
                        domain::rates::format_kg(expect),
                        domain::rates::format_kg(from),
                        domain::rates::format_kg(expect)
                    ),
                ));
            }
            if from < expect {
                return Err(cx.cell(
                    header_row,
                    i,
                    h,
                    format!(
                        "overlapping brackets: {}–{} is also in the previous bracket",
                        domain::rates::format_kg(from),
                        domain::rates::format_kg(expect)
                    ),
                ));
            }
            bracket_cols.push((i, from, *to));
        }
    }
    Ok(bracket_cols)
}

/// Imports one sheet. Returns no cards (and no error) when the sheet has no header row at all
/// (an instructions sheet, say). Stops at the first problem; [`import_sheet_into`] collects
/// every problem of the sheet.
pub fn import_sheet(
    file: &str,
    sheet: &Sheet,
    notes: &mut Vec<String>,
) -> Result<Vec<RateCard>, RatingError> {
    let mut quiet = |_: u64, _: u64| {};
    let mut found = Collect::new(1, &mut quiet);
    let cards = import_sheet_into(file, sheet, notes, &mut found);
    match found.into_first() {
        Some(e) => Err(e),
        None => Ok(cards),
    }
}

/// Imports one sheet, recording every problem (each bad cell of each row, bad key/value rows,
/// a broken header) in `found` and advancing its progress by the sheet's rows. The cards are
/// only meaningful when `found` stayed empty.
pub fn import_sheet_into(
    file: &str,
    sheet: &Sheet,
    notes: &mut Vec<String>,
    found: &mut Collect<'_>,
) -> Vec<RateCard> {
    let before = found.read();
    let cards = match sheet_cards(file, sheet, notes, found) {
        Ok(cards) => cards,
        Err(e) => {
            found.push(e);
            Vec::new()
        }
    };
    // Rows not reached (a broken header) count as read.
    let done = found.read() - before;
    found.advance(
        sheet
            .rows
            .len()
            .saturating_sub(usize::try_from(done).unwrap_or(0)),
    );
    cards
}

fn sheet_cards(
    file: &str,
    sheet: &Sheet,
    notes: &mut Vec<String>,
    found: &mut Collect<'_>,
) -> Result<Vec<RateCard>, RatingError> {
    let cx = SheetCtx {
        file,
        sheet: &sheet.name,
    };
    let problems_before = found.count();
    let (meta, header, data_start) = scan_header(&cx, sheet, found);
    let Some((header_row, cols)) = header else {
        let has_content = sheet
            .rows
            .iter()
            .any(|(_, c)| c.iter().any(|c| !c.is_empty()));
        if has_content {
            notes.push(format!(
                "sheet {:?}: no header row with a destination column (省份/目的地/province) and price columns; skipped",
                sheet.name
            ));
        }
        return Ok(Vec::new());
    };

    // Columns.
    let find = |want: &dyn Fn(&Col) -> bool| cols.iter().position(|(_, c)| want(c));
    let region_col = find(&|c| *c == Col::Region).unwrap_or(0);
    let zone_col = find(&|c| *c == Col::Zone);
    let carrier_col = find(&|c| *c == Col::Carrier);
    let service_col = find(&|c| *c == Col::Service);
    let first_w_col = find(&|c| *c == Col::FirstWeight);
    let first_p_col = find(&|c| matches!(c, Col::FirstPrice(_)));
    let step_w_col = find(&|c| *c == Col::StepWeight);
    let step_p_col = find(&|c| matches!(c, Col::StepPrice(_)));
    let flat_col = find(&|c| *c == Col::Flat);
    let remote_col = find(&|c| *c == Col::Remote);
    let above_col = find(&|c| matches!(c, Col::Above { .. }));
    for (i, (h, c)) in cols.iter().enumerate() {
        if *c == Col::Ignore && !h.is_empty() {
            notes.push(format!(
                "sheet {:?}: column {} ({h}) ignored",
                sheet.name,
                column_letter(i)
            ));
        }
    }
    // First/step "weight" columns without any price column are price columns with 1 kg units
    // (`首重 | 续重` holding 3.5 | 0.8).
    let (first_p_col, first_w_col) = match (first_p_col, first_w_col) {
        (None, Some(w)) => (Some(w), None),
        other => other,
    };
    let (step_p_col, step_w_col) = match (step_p_col, step_w_col) {
        (None, Some(w)) => (Some(w), None),
        other => other,
    };
    let header_weight = |i: Option<usize>| {
        i.and_then(|i| match &cols[i].1 {
            Col::FirstPrice(w) | Col::StepPrice(w) => *w,
            _ => weight_in_header(&normalize_header(&cols[i].0)),
        })
    };
    let first_g_default = header_weight(first_p_col)
        .or(meta.first_g)
        .unwrap_or(Grams(1000));
    let step_g_default = header_weight(step_p_col)
        .filter(|_| {
            // `续重(元/kg)` is a per-kg price, not a 1 kg step written in the header.
            step_p_col.is_some_and(|i| !normalize_header(&cols[i].0).contains("/"))
        })
        .or(meta.step_g)
        .unwrap_or(Grams(1000));

    // Brackets from the headers, checked for gaps and overlaps.
    let boundary = meta.boundary.unwrap_or(Boundary::UpperInclusive);
    let bracket_cols = header_brackets(&cx, header_row, &cols, boundary)?;
    let above = above_col.and_then(|i| match &cols[i].1 {
        Col::Above { threshold, mode } => Some((i, *threshold, *mode)),
        _ => None,
    });
    if let (Some((i, threshold, _)), Some((_, _, last_to))) = (above, bracket_cols.last()) {
        if threshold != *last_to {
            return Err(cx.cell(
                header_row,
                i,
                &cols[i].0,
                format!(
                    "threshold {} does not continue the last bracket, which ends at {}",
                    domain::rates::format_kg(threshold),
                    domain::rates::format_kg(*last_to)
                ),
            ));
        }
    }
    let model_first = first_p_col.is_some() || step_p_col.is_some();
    let model_brackets = !bracket_cols.is_empty();
    if model_first && model_brackets {
        return Err(cx.sheet(format!(
            "row {header_row}: both 首重/续重 columns and weight-bracket columns; use one pricing model per sheet"
        )));
    }
    if model_first && (first_p_col.is_none() || step_p_col.is_none()) {
        return Err(cx.sheet(format!(
            "row {header_row}: a 首重 price column needs a 续重 price column too (found {})",
            if first_p_col.is_some() {
                "首重 only"
            } else {
                "续重 only"
            }
        )));
    }
    if !model_first && !model_brackets && flat_col.is_none() {
        if let Some((i, _, _)) = above {
            return Err(cx.cell(
                header_row,
                i,
                &cols[i].0,
                "a per-kg column above a threshold needs weight brackets before it".to_string(),
            ));
        }
    }

    // Rows.
    let header_text = |i: usize| cols.get(i).map_or(String::new(), |(h, _)| h.clone());
    let price_cols: Vec<usize> = first_p_col
        .into_iter()
        .chain(step_p_col)
        .chain(flat_col)
        .chain(bracket_cols.iter().map(|(i, _, _)| *i))
        .chain(above.map(|(i, _, _)| i))
        .collect();
    let mut priced: Vec<PricedRow> = Vec::new();
    let mut bad_rows = 0usize;
    // One row: `Ok(None)` to skip it, every bad cell of the row as errors.
    let parse_row = |row: usize,
                     cells: &[CellValue],
                     notes: &mut Vec<String>|
     -> Result<Option<PricedRow>, Vec<RatingError>> {
        let get = |i: usize| cells.get(i).cloned().unwrap_or(CellValue::Empty);
        let no_prices = price_cols.iter().all(|i| get(*i).is_empty());
        let region_text = get(region_col).text();
        if region_text.is_empty() {
            if no_prices {
                return Ok(None);
            }
            return Err(vec![cx.cell(
                row,
                region_col,
                &header_text(region_col),
                "no destination in a priced row".to_string(),
            )]);
        }
        let mut errs: Vec<RatingError> = Vec::new();
        let region = match parse_region_cell(&region_text) {
            Ok(r) => Some(r),
            // A footnote under the table (注：…) has no prices: skip it, with a note.
            Err(_) if no_prices => {
                notes.push(format!(
                    "sheet {:?}: row {row} skipped (no prices, not a destination): {region_text}",
                    sheet.name
                ));
                return Ok(None);
            }
            Err(m) => {
                errs.push(cx.cell(row, region_col, &header_text(region_col), m));
                None
            }
        };
        let unserviceable = price_cols.iter().all(|i| {
            let t = get(*i).text();
            t.is_empty() || UNSERVICEABLE_WORDS.contains(&t.as_str())
        });
        let price_at = |i: usize| -> Result<Fen, RatingError> {
            let t = get(i).text();
            if t.is_empty() {
                return Err(cx.cell(row, i, &header_text(i), "missing price".to_string()));
            }
            let v = money(&t).ok_or_else(|| {
                cx.cell(
                    row,
                    i,
                    &header_text(i),
                    format!("not a price {t:?} (元, at most 2 decimals)"),
                )
            })?;
            if v < 0 {
                return Err(cx.cell(row, i, &header_text(i), format!("negative price {t}")));
            }
            Ok(Fen(v))
        };
        let weight_at = |i: Option<usize>, default: Grams| -> Result<Grams, RatingError> {
            let Some(i) = i else { return Ok(default) };
            let t = get(i).text();
            if t.is_empty() {
                return Ok(default);
            }
            let g = weight_kg(&t).ok_or_else(|| {
                cx.cell(
                    row,
                    i,
                    &header_text(i),
                    format!("not a weight {t:?} (kg, at most 3 decimals)"),
                )
            })?;
            if g.0 <= 0 {
                return Err(cx.cell(
                    row,
                    i,
                    &header_text(i),
                    format!("weight must be positive, got {t}"),
                ));
            }
            Ok(g)
        };
        let pricing = if unserviceable {
            None
        } else if model_first {
            let (Some(fp), Some(sp)) = (first_p_col, step_p_col) else {
                return Err(vec![cx.sheet("首重/续重 columns missing".to_string())]);
            };
            let first_g = keep(weight_at(first_w_col, first_g_default), &mut errs);
            let first_fen = keep(price_at(fp), &mut errs);
            let step_g = keep(weight_at(step_w_col, step_g_default), &mut errs);
            let step_fen = keep(price_at(sp), &mut errs);
            match (first_g, first_fen, step_g, step_fen) {
                (Some(first_g), Some(first_fen), Some(step_g), Some(step_fen)) => {
                    Some(Pricing::FirstAdditional {
                        first_g,
                        first_fen,
                        step_g,
                        step_fen,
                    })
                }
                _ => None,
            }
        } else if model_brackets {
            let mut brackets = Vec::with_capacity(bracket_cols.len());
            for (i, from, to) in &bracket_cols {
                if let Some(fen) = keep(price_at(*i), &mut errs) {
                    brackets.push(Bracket {
                        from_g: *from,
                        to_g: *to,
                        fen,
                    });
                }
            }
            let above = match above {
                Some((i, _, mode)) if !get(i).is_empty() => {
                    keep(price_at(i), &mut errs).map(|step_fen| Above {
                        mode,
                        step_g: Grams(1000),
                        step_fen,
                    })
                }
                _ => None,
            };
            Some(Pricing::Brackets {
                boundary,
                brackets,
                above,
            })
        } else if let Some(fc) = flat_col {
            keep(price_at(fc), &mut errs).map(|fen| Pricing::Flat { fen })
        } else {
            return Err(vec![cx.sheet(format!("row {header_row}: no price columns"))]);
        };
        let remote = match remote_col {
            Some(i) if !get(i).is_empty() => {
                let t = get(i).text();
                match money(&t) {
                    None => {
                        errs.push(cx.cell(row, i, &header_text(i), format!("not an amount {t:?}")));
                        None
                    }
                    Some(v) if v < 0 => {
                        errs.push(cx.cell(row, i, &header_text(i), format!("negative price {t}")));
                        None
                    }
                    Some(v) => (v > 0).then_some(Fen(v)),
                }
            }
            _ => None,
        };
        let region = match region {
            Some(r) if errs.is_empty() => r,
            _ => return Err(errs),
        };
        let zone = zone_col
            .map(|i| get(i).text())
            .filter(|z| !z.is_empty())
            .unwrap_or_else(|| region_text.clone());
        Ok(Some(PricedRow {
            row,
            carrier: carrier_col.map(|i| get(i).text()).filter(|s| !s.is_empty()),
            service: service_col.map(|i| get(i).text()).filter(|s| !s.is_empty()),
            zone,
            region,
            region_col,
            pricing,
            remote,
        }))
    };
    found.advance(data_start);
    for (row, cells) in &sheet.rows[data_start..] {
        found.advance(1);
        if cells.iter().all(CellValue::is_empty) {
            continue;
        }
        match parse_row(*row, cells, notes) {
            Ok(Some(r)) => priced.push(r),
            Ok(None) => {}
            Err(errs) => {
                bad_rows += 1;
                for e in errs {
                    found.push(e);
                }
            }
        }
    }
    if bad_rows > 0 || found.count() > problems_before {
        // The rows that parsed are not checked further: the card is incomplete anyway, and
        // duplicates against a row in error would only confuse.
        return Ok(Vec::new());
    }
    if priced.is_empty() {
        return Err(cx.sheet(format!(
            "no priced rows below the header in row {header_row}"
        )));
    }

    // Group rows into cards by (carrier, service).
    let mut groups: BTreeMap<(String, String), Vec<&PricedRow>> = BTreeMap::new();
    for r in &priced {
        let carrier = r
            .carrier
            .clone()
            .or_else(|| meta.carrier.clone())
            .ok_or_else(|| {
                cx.sheet(
                    "no carrier: add a `承运商 | SF` row above the header or a 承运商 column"
                        .to_string(),
                )
            })?;
        let service = r
            .service
            .clone()
            .or_else(|| meta.service.clone())
            .unwrap_or_else(|| "standard".to_string());
        groups.entry((carrier, service)).or_default().push(r);
    }
    let effective_from = meta.effective_from.ok_or_else(|| {
        cx.sheet(
            "no effective date: add a `生效日期 | 2025-01-01` row above the header".to_string(),
        )
    })?;
    let mut cards = Vec::with_capacity(groups.len());
    for ((carrier, service), rows) in groups {
        if let Some(card) = build_card(&cx, &meta, carrier, service, effective_from, &rows, found) {
            cards.push(card);
        }
    }
    Ok(cards)
}

/// Keeps the value of a cell, or records its error.
fn keep<T>(r: Result<T, RatingError>, errs: &mut Vec<RatingError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errs.push(e);
            None
        }
    }
}

fn build_card(
    cx: &SheetCtx<'_>,
    meta: &Meta,
    carrier: String,
    service: String,
    effective_from: DateTime<Utc>,
    rows: &[&PricedRow],
    found: &mut Collect<'_>,
) -> Option<RateCard> {
    let problems_before = found.count();
    let mut zones: Vec<Zone> = Vec::new();
    let mut zone_rows: Vec<usize> = Vec::new();
    let mut unserviceable = Areas::default();
    let mut default_zone = None;
    let mut seen_p: BTreeMap<u8, usize> = BTreeMap::new();
    let mut seen_c: BTreeMap<u16, usize> = BTreeMap::new();
    let mut remote: Vec<(Fen, Vec<ProvinceCode>, Vec<CityCode>)> = Vec::new();
    for r in rows {
        let dup = |what: String, prev: usize| {
            cx.cell(
                r.row,
                r.region_col,
                "destination",
                format!("{what} already listed in row {prev}"),
            )
        };
        let mut dups = Vec::new();
        for p in &r.region.provinces {
            if let Some(prev) = seen_p.insert(p.get(), r.row) {
                dups.push(dup(p.info().short_name.to_string(), prev));
            }
        }
        for c in &r.region.cities {
            if let Some(prev) = seen_c.insert(c.get(), r.row) {
                dups.push(dup(c.to_string(), prev));
            }
        }
        if !dups.is_empty() {
            for e in dups {
                found.push(e);
            }
            continue;
        }
        let Some(pricing) = &r.pricing else {
            unserviceable.provinces.extend(&r.region.provinces);
            unserviceable.cities.extend(&r.region.cities);
            continue;
        };
        if let Some(fen) = r.remote {
            remote.push((fen, r.region.provinces.clone(), r.region.cities.clone()));
        }
        match zones.iter().position(|z| z.name == r.zone) {
            Some(i) => {
                if zones[i].pricing != *pricing {
                    found.push(cx.cell(
                        r.row,
                        r.region_col,
                        "zone",
                        format!(
                            "zone {:?} priced differently in row {}",
                            r.zone, zone_rows[i]
                        ),
                    ));
                    continue;
                }
                zones[i].provinces.extend(&r.region.provinces);
                zones[i].cities.extend(&r.region.cities);
            }
            None => {
                zones.push(Zone {
                    name: r.zone.clone(),
                    provinces: r.region.provinces.clone(),
                    cities: r.region.cities.clone(),
                    pricing: pricing.clone(),
                });
                zone_rows.push(r.row);
            }
        }
        if r.region.default {
            default_zone = Some(r.zone.clone());
        }
    }
    let mut surcharges: Vec<Surcharge> = remote
        .into_iter()
        .map(|(fen, provinces, cities)| Surcharge {
            name: "偏远附加费".to_string(),
            fixed_fen: Some(fen),
            percent_bp: None,
            provinces,
            cities,
        })
        .collect();
    if let Some(bp) = meta.fuel_bp {
        surcharges.push(Surcharge {
            name: "燃油附加费".to_string(),
            fixed_fen: None,
            percent_bp: Some(bp),
            provinces: Vec::new(),
            cities: Vec::new(),
        });
    }
    let card = RateCard {
        carrier,
        carrier_name: meta.carrier_name.clone(),
        service,
        origin: meta.origin.clone().unwrap_or_default(),
        currency: "CNY".to_string(),
        version: meta.version.clone().unwrap_or_default(),
        effective_from,
        effective_to: meta.effective_to,
        max_weight_g: meta.max_weight,
        volumetric: Volumetric {
            divisor: meta.divisor,
            ..Volumetric::default()
        },
        rounding: meta.rounding,
        min_charge_fen: meta.min_charge,
        zones,
        default_zone,
        unserviceable,
        surcharges,
        insurance: meta.insurance_bp.map(|rate_bp| Insurance {
            rate_bp,
            min_fen: meta.insurance_min,
            max_declared_fen: None,
        }),
    };
    if found.count() > problems_before {
        return None;
    }
    match RateBook::new(vec![card.clone()]) {
        Ok(_) => Some(card),
        Err(errors) => {
            found.push(RatingError::Card {
                file: format!("{} sheet {:?}", cx.file, cx.sheet),
                errors,
            });
            None
        }
    }
}

/// Imports a CSV carrier sheet from bytes (UTF-8 or GB18030); `file` names it in errors.
/// Stops at the first problem; [`import_csv_into`] collects them all.
pub fn import_csv(bytes: &[u8], file: &str) -> Result<LoadedFile, RatingError> {
    let mut quiet = |_: u64, _: u64| {};
    let mut found = Collect::new(1, &mut quiet);
    let loaded = import_csv_into(bytes, file, &mut found);
    first_problem(loaded, found, file)
}

/// The loaded file, or the first problem recorded.
fn first_problem(
    loaded: Option<LoadedFile>,
    found: Collect<'_>,
    file: &str,
) -> Result<LoadedFile, RatingError> {
    match (loaded, found.into_first()) {
        (_, Some(e)) => Err(e),
        (Some(l), None) => Ok(l),
        (None, None) => Err(RatingError::Workbook {
            file: file.to_string(),
            message: "nothing imported".to_string(),
        }),
    }
}

/// Imports a CSV carrier sheet, recording every problem in `found` (and its rows in its
/// progress). `None` when the file has any problem.
pub fn import_csv_into(bytes: &[u8], file: &str, found: &mut Collect<'_>) -> Option<LoadedFile> {
    let sheet = match csv_sheet(bytes, file) {
        Ok(s) => s,
        Err(e) => {
            found.push(e);
            return None;
        }
    };
    found.add_total(sheet.rows.len());
    let before = found.count();
    let mut notes = Vec::new();
    let cards = import_sheet_into(file, &sheet, &mut notes, found);
    if found.count() > before {
        return None;
    }
    if cards.is_empty() {
        found.push(RatingError::Sheet {
            file: file.to_string(),
            sheet: sheet.name,
            message:
                "no header row with a destination column (省份/目的地/province) and price columns"
                    .to_string(),
        });
        return None;
    }
    Some(LoadedFile {
        path: file.to_string(),
        cards,
        notes,
    })
}

/// Imports every sheet of a workbook (.xlsx, .xls, .ods) that has a rate table. Stops at the
/// first problem; [`import_workbook_into`] collects them all.
pub fn import_workbook(path: &Path) -> Result<LoadedFile, RatingError> {
    let mut quiet = |_: u64, _: u64| {};
    let mut found = Collect::new(1, &mut quiet);
    let loaded = import_workbook_into(path, &mut found);
    first_problem(loaded, found, &path.display().to_string())
}

/// Imports every sheet of a workbook, recording every problem of every sheet in `found` (and
/// the rows of all sheets in its progress). `None` when the file has any problem.
pub fn import_workbook_into(path: &Path, found: &mut Collect<'_>) -> Option<LoadedFile> {
    let file = path.display().to_string();
    let sheets = match workbook_sheets(path) {
        Ok(s) => s,
        Err(e) => {
            found.push(e);
            return None;
        }
    };
    found.add_total(sheets.iter().map(|s| s.rows.len()).sum());
    let before = found.count();
    let mut notes = Vec::new();
    let mut cards = Vec::new();
    for s in &sheets {
        cards.extend(import_sheet_into(&file, s, &mut notes, found));
    }
    if found.count() > before {
        return None;
    }
    if cards.is_empty() {
        found.push(RatingError::Workbook {
            file,
            message: "no sheet has a rate table (a header row with 省份/目的地 and price columns)"
                .to_string(),
        });
        return None;
    }
    if let Err(e) = validate_cards(&cards, &file) {
        found.push(e);
        return None;
    }
    Some(LoadedFile {
        path: file,
        cards,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_classification() {
        fn check(h: &str, expected: Col) {
            assert_eq!(classify(h), expected, "{h}");
        }
        check("省份", Col::Region);
        check("目的地", Col::Region);
        check("Province", Col::Region);
        check("首重(kg)", Col::FirstWeight);
        check("首重价格", Col::FirstPrice(None));
        check("首重（元）", Col::FirstPrice(None));
        check("首重1kg(元)", Col::FirstPrice(Some(Grams(1000))));
        check("续重", Col::StepWeight);
        check("续重价格", Col::StepPrice(None));
        check("续重(元/kg)", Col::StepPrice(None));
        check("First price", Col::FirstPrice(None));
        check("Additional price", Col::StepPrice(None));
        check(
            "0-1kg",
            Col::Bracket {
                from: Grams(0),
                to: Grams(1000),
            },
        );
        check(
            "1.01-2kg",
            Col::Bracket {
                from: Grams(1010),
                to: Grams(2000),
            },
        );
        check(
            "0~0.5公斤",
            Col::Bracket {
                from: Grams(0),
                to: Grams(500),
            },
        );
        check(
            "500-1000g",
            Col::Bracket {
                from: Grams(500),
                to: Grams(1000),
            },
        );
        check(
            "3kg以上续重(元/kg)",
            Col::Above {
                threshold: Grams(3000),
                mode: AboveMode::AddSteps,
            },
        );
        check(
            ">20kg(元/kg)",
            Col::Above {
                threshold: Grams(20000),
                mode: AboveMode::WholeWeight,
            },
        );
        check("偏远附加费", Col::Remote);
        check("时效", Col::Ignore);
    }

    const HEAD: &str = "承运商,STO\n生效日期,2025-01-01\n省份,首重价格,续重价格\n";

    /// Every problem of a CSV body: `(row, column, message fragment)`.
    fn problems(body: &str, cap: usize) -> (Vec<(u64, String, String)>, u64) {
        let text = format!("{HEAD}{body}");
        let mut quiet = |_: u64, _: u64| {};
        let mut found = Collect::new(cap, &mut quiet);
        let loaded = import_csv_into(text.as_bytes(), "t.csv", &mut found);
        assert_eq!(loaded.is_some(), found.is_empty());
        let (issues, more) = found.into_issues();
        (
            issues
                .into_iter()
                .map(|i| (i.row.unwrap_or(0), i.column.unwrap_or_default(), i.message))
                .collect(),
            more,
        )
    }

    #[test]
    fn every_bad_cell_of_every_row_is_reported() {
        fn check(body: &str, expected: &[(u64, &str, &str)]) {
            let (got, more) = problems(body, 200);
            assert_eq!(more, 0);
            assert_eq!(got.len(), expected.len(), "{body}: {got:?}");
            for ((row, col, msg), (erow, ecol, efrag)) in got.iter().zip(expected) {
                assert_eq!((row, col.as_str()), (erow, *ecol), "{body}: {got:?}");
                assert!(msg.contains(efrag), "{body}: {msg} lacks {efrag}");
            }
        }
        check("广东,5,2\n其他,6,3\n", &[]);
        // Two bad prices in one row, a bad province in another, a good row between.
        check(
            "广东,x,y\n浙江,5,2\n火星,5,2\n其他,6,-3\n",
            &[
                (4, "B", "not a price"),
                (4, "C", "not a price"),
                (6, "A", "unknown province"),
                (7, "C", "negative price"),
            ],
        );
        // Duplicates are found once the rows themselves are good.
        check(
            "广东,5,2\n广东省,6,3\n其他,6,3\n",
            &[(5, "A", "already listed in row 4")],
        );
        // A missing price.
        let (got, _) = problems("广东,5,\n其他,6,3\n", 200);
        assert_eq!(got.len(), 1, "{got:?}");
    }

    #[test]
    fn problems_are_capped_and_counted() {
        let body: String = (0..300).map(|_| "广东,x,2\n").collect();
        let (got, more) = problems(&body, 200);
        assert_eq!((got.len(), more), (200, 100));
    }

    #[test]
    fn progress_reaches_the_total() {
        let body: String =
            ["广东,5,2\n", "其他,6,3\n"].concat() + &(0..1000).map(|_| ",,\n").collect::<String>();
        let text = format!("{HEAD}{body}");
        let mut seen: Vec<(u64, u64)> = Vec::new();
        let mut cb = |r: u64, t: u64| seen.push((r, t));
        let mut found = Collect::new(10, &mut cb);
        let loaded = import_csv_into(text.as_bytes(), "t.csv", &mut found);
        found.finish();
        assert!(loaded.is_some());
        let total = seen.last().unwrap().1;
        assert_eq!(total, 1005);
        assert_eq!(seen.last().unwrap().0, total);
        assert!(seen.len() >= 4, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    }

    #[test]
    fn region_cells() {
        let p = |s: &str| {
            parse_region_cell(s).map(|r| {
                (
                    r.provinces.iter().map(|p| p.get()).collect::<Vec<_>>(),
                    r.cities.iter().map(|c| c.get()).collect::<Vec<_>>(),
                    r.default,
                )
            })
        };
        assert_eq!(p("江浙沪"), Ok((vec![32, 33, 31], vec![], false)));
        assert_eq!(p("新疆、西藏"), Ok((vec![65, 54], vec![], false)));
        assert_eq!(p("广东省"), Ok((vec![44], vec![], false)));
        assert_eq!(p("深圳市"), Ok((vec![], vec![4403], false)));
        assert_eq!(p("广东深圳"), Ok((vec![], vec![4403], false)));
        assert_eq!(p("其他"), Ok((vec![], vec![], true)));
        assert!(p("火星").unwrap_err().contains("unknown province \"火星\""));
    }
}
