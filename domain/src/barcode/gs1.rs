//! GS1 element strings (GS1-128, GS1 DataMatrix, GS1 QR, GS1 DataBar), driven by the
//! GS1 Barcode Syntax Dictionary (embedded from `domain/data/gs1-syntax-dictionary.txt`,
//! Apache-2.0, GS1 AISBL).
//!
//! Input is the data after the AIM id, with FNC1 separators transmitted as GS (0x1D).
//! A leading FNC1/GS and redundant separators (after predefined-length AIs, doubled, or
//! trailing) are ignored. Each AI's value is checked against its components: length,
//! character set (N, X = CSET 82, Y = CSET 39, Z = base64url) and the linters we implement
//! (`csum`, `yymmd0`, `yymmdd`, `yyyymmdd`, `hh`, `mi`, `ss`, `hhmi`, `zero`, `nonzero`, `yesno`,
//! `hyphen`). Linters that need external tables (ISO 3166/4217 code lists, GCP lengths…) are
//! not applied: the value is still checked for length and character set.
//!
//! Exclusive pairs (`ex=`: (01) with (02), two net weights (310n)…) are rejected. Mandatory
//! associations (`req=`) are not enforced: GS1 evaluates them over all the carriers on an item,
//! and a bench scans one symbol at a time.
//!
//! Parsing also accepts the human-readable form `(01)06901234567892(10)ABC`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use thiserror::Error;

use super::check::gs1_check_ok;
use super::GS;

/// The GS1 Barcode Syntax Dictionary text, as shipped by GS1.
pub const SYNTAX_DICTIONARY: &str = include_str!("../../data/gs1-syntax-dictionary.txt");

/// Character set of one component of an AI's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Digits only.
    N,
    /// GS1 AI encodable character set 82.
    X,
    /// GS1 AI encodable character set 39.
    Y,
    /// base64url (for digital signatures).
    Z,
}

impl Charset {
    fn allows(self, c: char) -> bool {
        match self {
            Self::N => c.is_ascii_digit(),
            Self::X => c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c),
            Self::Y => c.is_ascii_digit() || c.is_ascii_uppercase() || "#-/".contains(c),
            Self::Z => c.is_ascii_alphanumeric() || "-_=".contains(c),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::N => "digits",
            Self::X => "GS1 character set 82",
            Self::Y => "GS1 character set 39",
            Self::Z => "base64url",
        }
    }
}

/// One component of an AI's value specification (e.g. `N6,yymmd0` or `[X..17]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Character set.
    pub charset: Charset,
    /// Minimum length (equal to `max` for a fixed-length component).
    pub min: usize,
    /// Maximum length.
    pub max: usize,
    /// Whether the component may be absent (only at the end).
    pub optional: bool,
    /// Linter names applied to the component.
    pub linters: Vec<String>,
}

/// One dictionary entry: a single AI or a range of AIs with the same specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiSpec {
    /// First AI of the range (e.g. `"3100"`).
    pub first: String,
    /// Last AI of the range (equal to `first` for a single AI).
    pub last: String,
    /// Predefined length: no FNC1 separator needed after it.
    pub predefined_length: bool,
    /// The value's components, in order.
    pub components: Vec<Component>,
    /// Short title (`SSCC`, `GTIN`, `BATCH/LOT`…).
    pub title: String,
    /// AIs (or patterns such as `310n`, `35nn`) that must not appear with this one
    /// (the dictionary's `ex=` attribute). An AI is never exclusive of itself.
    pub exclusive: Vec<String>,
}

/// Whether an AI matches a dictionary pattern where `n` stands for any digit.
pub fn ai_matches(pattern: &str, ai: &str) -> bool {
    pattern.len() == ai.len()
        && pattern
            .bytes()
            .zip(ai.bytes())
            .all(|(p, a)| p == a || (p == b'n' && a.is_ascii_digit()))
}

impl AiSpec {
    fn covers(&self, ai: &str) -> bool {
        ai.len() == self.first.len() && self.first.as_str() <= ai && ai <= self.last.as_str()
    }
}

/// Why the embedded dictionary could not be read (a build-time data bug, reported as an error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("GS1 syntax dictionary line {line}: {reason}")]
pub struct DictionaryError {
    /// 1-based line number in the dictionary.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

fn parse_component(token: &str, line: usize) -> Result<Component, DictionaryError> {
    let err = |reason: String| DictionaryError { line, reason };
    let mut parts = token.split(',');
    let ty = parts.next().unwrap_or("");
    let (ty, optional) = match ty.strip_prefix('[') {
        Some(inner) => (
            inner
                .strip_suffix(']')
                .ok_or_else(|| err(format!("unclosed optional component {token:?}")))?,
            true,
        ),
        None => (ty, false),
    };
    let mut chars = ty.chars();
    let charset = match chars.next() {
        Some('N') => Charset::N,
        Some('X') => Charset::X,
        Some('Y') => Charset::Y,
        Some('Z') => Charset::Z,
        _ => return Err(err(format!("unknown component type {token:?}"))),
    };
    let len = chars.as_str();
    let (min, max) = match len.strip_prefix("..") {
        Some(max) => (
            1,
            max.parse()
                .map_err(|_| err(format!("bad length in {token:?}")))?,
        ),
        None => {
            let n = len
                .parse()
                .map_err(|_| err(format!("bad length in {token:?}")))?;
            (n, n)
        }
    };
    Ok(Component {
        charset,
        min,
        max,
        optional,
        linters: parts.map(str::to_string).collect(),
    })
}

fn looks_like_component(token: &str) -> bool {
    let t = token.trim_start_matches('[');
    let mut c = t.chars();
    matches!(c.next(), Some('N' | 'X' | 'Y' | 'Z'))
        && c.next().is_some_and(|c| c.is_ascii_digit() || c == '.')
}

/// Parse the text of a GS1 Barcode Syntax Dictionary.
pub fn parse_dictionary(text: &str) -> Result<Vec<AiSpec>, DictionaryError> {
    let mut specs = Vec::new();
    for (i, raw_line) in text.lines().enumerate() {
        let line = i + 1;
        let (body, title) = match raw_line.split_once('#') {
            Some((b, t)) => (b, t.trim()),
            None => (raw_line, ""),
        };
        let mut tokens = body.split_whitespace().peekable();
        let Some(ais) = tokens.next() else { continue };
        let (first, last) = ais.split_once('-').unwrap_or((ais, ais));
        if first.is_empty()
            || first.len() != last.len()
            || !first
                .bytes()
                .chain(last.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(DictionaryError {
                line,
                reason: format!("bad AI or AI range {ais:?}"),
            });
        }
        let mut predefined_length = false;
        if let Some(flags) = tokens.peek() {
            if !looks_like_component(flags) {
                predefined_length = flags.contains('*');
                tokens.next();
            }
        }
        let mut components = Vec::new();
        while let Some(tok) = tokens.peek() {
            if !looks_like_component(tok) {
                break;
            }
            components.push(parse_component(tok, line)?);
            tokens.next();
        }
        if components.is_empty() {
            return Err(DictionaryError {
                line,
                reason: format!("AI {ais} has no value specification"),
            });
        }
        let exclusive = tokens
            .filter_map(|t| t.strip_prefix("ex="))
            .flat_map(|list| list.split(','))
            .map(str::to_string)
            .collect();
        specs.push(AiSpec {
            first: first.to_string(),
            last: last.to_string(),
            predefined_length,
            components,
            title: title.to_string(),
            exclusive,
        });
    }
    Ok(specs)
}

/// The embedded dictionary, parsed once.
pub fn dictionary() -> Result<&'static [AiSpec], DictionaryError> {
    static DICT: OnceLock<Result<Vec<AiSpec>, DictionaryError>> = OnceLock::new();
    DICT.get_or_init(|| parse_dictionary(SYNTAX_DICTIONARY))
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// Look up the specification of one AI (`"01"`, `"3103"`, `"92"`).
pub fn lookup(ai: &str) -> Option<&'static AiSpec> {
    dictionary().ok()?.iter().find(|s| s.covers(ai))
}

/// A date from a `YYMMDD` field, kept as transmitted; resolve the century with [`Gs1Date::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gs1Date {
    /// Two-digit year.
    pub yy: u8,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31, or 0 meaning the last day of the month.
    pub day: u8,
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

impl Gs1Date {
    /// The full year for the two-digit year, by the GS1 General Specifications window
    /// (section 7.12): a year from 49 years in the past to 50 years in the future of `today`.
    pub fn full_year(self, today: NaiveDate) -> i32 {
        let current = today.year();
        let cy = current.rem_euclid(100);
        let century = current - cy;
        let diff = i32::from(self.yy) - cy;
        if (51..=99).contains(&diff) {
            century - 100 + i32::from(self.yy)
        } else if (-99..=-50).contains(&diff) {
            century + 100 + i32::from(self.yy)
        } else {
            century + i32::from(self.yy)
        }
    }

    /// The calendar date, with the century from the window around `today` and day `00`
    /// meaning the month's last day. `None` when the day does not exist in that month.
    pub fn resolve(self, today: NaiveDate) -> Option<NaiveDate> {
        let year = self.full_year(today);
        let month = u32::from(self.month);
        let day = if self.day == 0 {
            last_day_of_month(year, month)
        } else {
            u32::from(self.day)
        };
        NaiveDate::from_ymd_opt(year, month, day)
    }
}

/// An interpreted value of a known AI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Gs1Value {
    /// A `YYMMDD` date (AIs 11, 13, 15, 16, 17…).
    Date(Gs1Date),
    /// A measure with implied decimals (AIs 310n–369n): `value / 10^decimals`.
    Decimal {
        /// Integer digits as transmitted.
        value: u64,
        /// Number of implied decimal places (the AI's last digit).
        decimals: u8,
    },
    /// A count (AIs 30, 37).
    Count(u64),
}

/// One parsed element: AI and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Element {
    /// The application identifier (`"01"`, `"3103"`…).
    pub ai: String,
    /// The dictionary title (`"GTIN"`, `"NET WEIGHT (kg)"`…).
    pub title: String,
    /// The raw value.
    pub value: String,
    /// An interpretation for dates, measures and counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreted: Option<Gs1Value>,
}

/// A parsed GS1 element string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElementString {
    /// Elements in the order they appear.
    pub elements: Vec<Element>,
}

impl ElementString {
    /// The value of the first element with this AI.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.elements
            .iter()
            .find(|e| e.ai == ai)
            .map(|e| e.value.as_str())
    }

    /// The GTIN (AI 01) if present.
    pub fn gtin(&self) -> Option<&str> {
        self.get("01")
    }

    /// AI → value (the first value when an AI repeats).
    pub fn ai_map(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for e in &self.elements {
            m.entry(e.ai.clone()).or_insert_with(|| e.value.clone());
        }
        m
    }
}

/// Why a GS1 element string was rejected. Positions are 0-based character offsets in the
/// data after the AIM id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Gs1Error {
    /// No element at all.
    #[error("empty GS1 element string")]
    Empty,
    /// The digits at `pos` are not an AI of the dictionary.
    #[error("unknown GS1 application identifier starting {prefix:?} at position {pos}")]
    UnknownAi {
        /// Position of the AI.
        pos: usize,
        /// Up to four characters found there.
        prefix: String,
    },
    /// The value ended before its fixed length.
    #[error(
        "AI ({ai}) at position {pos}: value too short, expected {expected} characters, got {got}"
    )]
    TooShort {
        /// The AI.
        ai: String,
        /// Position of the value.
        pos: usize,
        /// Characters required.
        expected: usize,
        /// Characters available.
        got: usize,
    },
    /// A character outside the component's character set.
    #[error("AI ({ai}): {ch:?} at position {pos} is not allowed ({charset} expected)")]
    BadChar {
        /// The AI.
        ai: String,
        /// Position of the character.
        pos: usize,
        /// The character.
        ch: char,
        /// The expected character set.
        charset: &'static str,
    },
    /// A variable-length value runs past its maximum (usually a missing FNC1 separator).
    #[error(
        "AI ({ai}) at position {pos}: value longer than {max} characters (missing FNC1 separator?)"
    )]
    TooLong {
        /// The AI.
        ai: String,
        /// Position of the value.
        pos: usize,
        /// Maximum length.
        max: usize,
    },
    /// A non-predefined-length AI is followed by data without an FNC1 separator.
    #[error("AI ({ai}): FNC1 separator required at position {pos}")]
    MissingSeparator {
        /// The AI.
        ai: String,
        /// Where the separator should be.
        pos: usize,
    },
    /// The check digit is wrong.
    #[error("AI ({ai}) value {value}: bad check digit")]
    CheckDigit {
        /// The AI.
        ai: String,
        /// The value.
        value: String,
    },
    /// A date, time or other linted field holds an impossible value.
    #[error("AI ({ai}) value {value}: {reason}")]
    BadValue {
        /// The AI.
        ai: String,
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The same AI appears twice with different values.
    #[error("AI ({ai}) appears twice with different values ({first} and {second})")]
    Conflict {
        /// The AI.
        ai: String,
        /// The first value.
        first: String,
        /// The second value.
        second: String,
    },
    /// Two AIs that must not appear together (the dictionary's `ex=` rule).
    #[error("AI ({ai}) must not appear together with AI ({other})")]
    Exclusive {
        /// The AI whose rule forbids the pair.
        ai: String,
        /// The other AI.
        other: String,
    },
    /// Malformed human-readable form (parentheses).
    #[error("malformed bracketed GS1 string at position {pos}: {reason}")]
    Bracketed {
        /// Position.
        pos: usize,
        /// What is wrong.
        reason: String,
    },
    /// The embedded dictionary is unusable.
    #[error(transparent)]
    Dictionary(#[from] DictionaryError),
}

fn two(s: &str, i: usize) -> u8 {
    let b = s.as_bytes();
    (b[i] - b'0') * 10 + (b[i + 1] - b'0')
}

fn bad(ai: &str, value: &str, reason: impl Into<String>) -> Gs1Error {
    Gs1Error::BadValue {
        ai: ai.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Check a `YYMMDD` value (all digits, length 6 already checked).
fn check_yymmdd(ai: &str, v: &str, zero_day_ok: bool) -> Result<Gs1Date, Gs1Error> {
    let (yy, month, day) = (two(v, 0), two(v, 2), two(v, 4));
    if !(1..=12).contains(&month) {
        return Err(bad(ai, v, format!("month {month:02} does not exist")));
    }
    if day == 0 {
        if zero_day_ok {
            return Ok(Gs1Date { yy, month, day });
        }
        return Err(bad(ai, v, "day 00 is not allowed here"));
    }
    // Within the ±50-year window (1977–2076 for today) a two-digit year is a leap year
    // exactly when it is divisible by 4, so the check does not need the century.
    let leap = yy % 4 == 0;
    let max = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > max {
        return Err(bad(
            ai,
            v,
            format!("day {day:02} does not exist in month {month:02}"),
        ));
    }
    Ok(Gs1Date { yy, month, day })
}

fn lint(ai: &str, linter: &str, v: &str) -> Result<(), Gs1Error> {
    let digits = v.bytes().all(|b| b.is_ascii_digit());
    match linter {
        "csum" if !gs1_check_ok(v) => Err(Gs1Error::CheckDigit {
            ai: ai.to_string(),
            value: v.to_string(),
        }),
        "yymmd0" if digits && v.len() == 6 => check_yymmdd(ai, v, true).map(drop),
        "yymmdd" if digits && v.len() == 6 => check_yymmdd(ai, v, false).map(drop),
        "yyyymmdd" if digits && v.len() == 8 => {
            let y: i32 = v[..4].parse().unwrap_or(0);
            NaiveDate::from_ymd_opt(y, u32::from(two(v, 4)), u32::from(two(v, 6)))
                .map(drop)
                .ok_or_else(|| bad(ai, v, "date does not exist"))
        }
        "hh" if digits && v.len() == 2 && two(v, 0) > 23 => Err(bad(ai, v, "hour above 23")),
        "mi" | "ss" if digits && v.len() == 2 && two(v, 0) > 59 => {
            Err(bad(ai, v, "minute/second above 59"))
        }
        "hhmi" if digits && v.len() == 4 && (two(v, 0) > 23 || two(v, 2) > 59) => {
            Err(bad(ai, v, "time does not exist"))
        }
        "zero" if v != "0" => Err(bad(ai, v, "must be 0")),
        "nonzero" if v.bytes().all(|b| b == b'0') => Err(bad(ai, v, "must not be zero")),
        "yesno" if v != "0" && v != "1" => Err(bad(ai, v, "must be 0 or 1")),
        "hyphen" if v != "-" => Err(bad(ai, v, "must be '-'")),
        _ => Ok(()),
    }
}

fn interpret(ai: &str, spec: &AiSpec, value: &str) -> Option<Gs1Value> {
    let first = spec.components.first()?;
    if first.linters.iter().any(|l| l == "yymmd0" || l == "yymmdd") && value.len() == 6 {
        let zero_ok = first.linters.iter().any(|l| l == "yymmd0");
        return check_yymmdd(ai, value, zero_ok).ok().map(Gs1Value::Date);
    }
    let b = ai.as_bytes();
    if ai.len() == 4
        && spec.predefined_length
        && matches!(&ai[..2], "31" | "32" | "33" | "34" | "35" | "36")
    {
        return Some(Gs1Value::Decimal {
            value: value.parse().ok()?,
            decimals: b[3] - b'0',
        });
    }
    if ai == "30" || ai == "37" {
        return value.parse().ok().map(Gs1Value::Count);
    }
    None
}

fn read_ai(chars: &[char], pos: usize) -> Result<(String, &'static AiSpec), Gs1Error> {
    for len in 2..=4 {
        if pos + len > chars.len() {
            break;
        }
        let cand: String = chars[pos..pos + len].iter().collect();
        if !cand.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        if let Some(spec) = lookup(&cand) {
            return Ok((cand, spec));
        }
    }
    Err(Gs1Error::UnknownAi {
        pos,
        prefix: chars[pos..chars.len().min(pos + 4)].iter().collect(),
    })
}

/// Parse a GS1 element string as transmitted after the AIM id (FNC1 as GS).
pub fn parse(data: &str) -> Result<ElementString, Gs1Error> {
    dictionary()?;
    if data.starts_with('(') {
        return parse_bracketed(data);
    }
    let chars: Vec<char> = data.chars().collect();
    let mut pos = 0;
    let mut elements: Vec<Element> = Vec::new();
    loop {
        while pos < chars.len() && chars[pos] == GS {
            pos += 1;
        }
        if pos >= chars.len() {
            break;
        }
        let (ai, spec) = read_ai(&chars, pos)?;
        pos += ai.len();
        let value_start = pos;
        for comp in &spec.components {
            let avail = chars[pos..].iter().take_while(|&&c| c != GS).count();
            if comp.optional && avail == 0 {
                break;
            }
            let take = if comp.min == comp.max {
                if avail < comp.min {
                    return Err(Gs1Error::TooShort {
                        ai,
                        pos,
                        expected: comp.min,
                        got: avail,
                    });
                }
                comp.min
            } else {
                if avail == 0 {
                    return Err(Gs1Error::TooShort {
                        ai,
                        pos,
                        expected: comp.min,
                        got: 0,
                    });
                }
                if avail > comp.max {
                    return Err(Gs1Error::TooLong {
                        ai,
                        pos: value_start,
                        max: comp.max,
                    });
                }
                avail
            };
            let part: String = chars[pos..pos + take].iter().collect();
            if let Some((i, ch)) = part
                .chars()
                .enumerate()
                .find(|(_, c)| !comp.charset.allows(*c))
            {
                return Err(Gs1Error::BadChar {
                    ai,
                    pos: pos + i,
                    ch,
                    charset: comp.charset.name(),
                });
            }
            for l in &comp.linters {
                lint(&ai, l, &part)?;
            }
            pos += take;
        }
        let value: String = chars[value_start..pos].iter().collect();
        if !spec.predefined_length && pos < chars.len() && chars[pos] != GS {
            return Err(Gs1Error::MissingSeparator { ai, pos });
        }
        if let Some(prev) = elements.iter().find(|e| e.ai == ai) {
            if prev.value != value {
                return Err(Gs1Error::Conflict {
                    ai,
                    first: prev.value.clone(),
                    second: value,
                });
            }
        }
        let interpreted = interpret(&ai, spec, &value);
        elements.push(Element {
            title: spec.title.clone(),
            ai,
            value,
            interpreted,
        });
    }
    if elements.is_empty() {
        return Err(Gs1Error::Empty);
    }
    for e in &elements {
        let Some(spec) = lookup(&e.ai) else { continue };
        for f in &elements {
            if f.ai != e.ai && spec.exclusive.iter().any(|p| ai_matches(p, &f.ai)) {
                return Err(Gs1Error::Exclusive {
                    ai: e.ai.clone(),
                    other: f.ai.clone(),
                });
            }
        }
    }
    Ok(ElementString { elements })
}

/// Parse the bracketed human-readable form `(01)06901234567892(10)ABC`.
fn parse_bracketed(data: &str) -> Result<ElementString, Gs1Error> {
    let mut unbracketed = String::with_capacity(data.len());
    let mut rest = data;
    let mut pos = 0;
    while !rest.is_empty() {
        let Some(after_open) = rest.strip_prefix('(') else {
            return Err(Gs1Error::Bracketed {
                pos,
                reason: "expected '('".into(),
            });
        };
        let Some(close) = after_open.find(')') else {
            return Err(Gs1Error::Bracketed {
                pos,
                reason: "missing ')'".into(),
            });
        };
        let ai = &after_open[..close];
        let value_and_more = &after_open[close + 1..];
        let end = value_and_more.find('(').unwrap_or(value_and_more.len());
        let value = &value_and_more[..end];
        if lookup(ai).is_none() {
            return Err(Gs1Error::UnknownAi {
                pos: pos + 1,
                prefix: ai.to_string(),
            });
        }
        if !unbracketed.is_empty() {
            unbracketed.push(GS);
        }
        unbracketed.push_str(ai);
        unbracketed.push_str(value);
        pos += 2 + close + end;
        rest = &value_and_more[end..];
    }
    parse(&unbracketed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(data: &str, expected: Result<&[(&str, &str)], Gs1Error>) {
        let got = parse(data).map(|es| {
            es.elements
                .into_iter()
                .map(|e| (e.ai, e.value))
                .collect::<Vec<_>>()
        });
        let want = expected.map(|v| {
            v.iter()
                .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, want, "data {data:?}");
    }

    #[test]
    fn dictionary_parses_completely() {
        let d = dictionary().unwrap();
        assert!(d.len() > 200, "{} entries", d.len());
        for ai in [
            "00", "01", "02", "10", "11", "13", "15", "17", "21", "30", "37", "3100", "3695",
            "400", "420", "91", "99",
        ] {
            assert!(lookup(ai).is_some(), "AI {ai} missing");
        }
        assert!(lookup("01").unwrap().predefined_length);
        assert!(!lookup("10").unwrap().predefined_length);
        assert_eq!(lookup("3103").unwrap().title, "NET WEIGHT (kg)");
        assert!(lookup("3106").is_none());
        assert!(lookup("23").is_none());
        assert_eq!(lookup("98").unwrap().components[0].max, 90);
    }

    #[test]
    fn ai_patterns() {
        assert!(ai_matches("310n", "3105"));
        assert!(ai_matches("35nn", "3512"));
        assert!(ai_matches("37", "37"));
        assert!(!ai_matches("310n", "311"));
        assert!(!ai_matches("310n", "3115"));
        assert_eq!(lookup("01").unwrap().exclusive, ["255", "37"]);
        assert_eq!(lookup("3103").unwrap().exclusive, ["310n"]);
    }

    #[test]
    fn ais_are_prefix_free() {
        // read_ai tries 2, 3 then 4 digits: correct only if no AI is a prefix of another.
        let mut ais = Vec::new();
        for spec in dictionary().unwrap() {
            let (a, b): (u32, u32) = (spec.first.parse().unwrap(), spec.last.parse().unwrap());
            for n in a..=b {
                ais.push(format!("{n:0w$}", w = spec.first.len()));
            }
        }
        for x in &ais {
            for y in &ais {
                assert!(
                    x == y || !y.starts_with(x.as_str()),
                    "AI {x} is a prefix of {y}"
                );
            }
        }
    }

    #[test]
    fn element_strings() {
        const G: &str = "\u{1d}";
        // GS1 General Specifications / biip examples.
        check("0106901234567892", Ok(&[("01", "06901234567892")]));
        check(
            "010703801005447117211200",
            Ok(&[("01", "07038010054471"), ("17", "211200")]),
        );
        check(
            &format!("0107038010054471{G}17211200"),
            Ok(&[("01", "07038010054471"), ("17", "211200")]),
        );
        check(
            &format!("{G}0106901234567892{G}{G}10ABC-12{G}21SN01{G}"),
            Ok(&[("01", "06901234567892"), ("10", "ABC-12"), ("21", "SN01")]),
        );
        check(
            "010703801005447110032915210526",
            Ok(&[("01", "07038010054471"), ("10", "032915210526")]),
        );
        check("00376104250021234569", Ok(&[("00", "376104250021234569")]));
        check(
            &format!("0206901234567892{G}3712"),
            Ok(&[("02", "06901234567892"), ("37", "12")]),
        );
        check(
            &format!("01069012345678923103001250{G}400PO-9{G}420200000{G}92abc"),
            Ok(&[
                ("01", "06901234567892"),
                ("3103", "001250"),
                ("400", "PO-9"),
                ("420", "200000"),
                ("92", "abc"),
            ]),
        );
        check(
            "(01)06901234567892(15)200200(10)L1",
            Ok(&[("01", "06901234567892"), ("15", "200200"), ("10", "L1")]),
        );
        check("", Err(Gs1Error::Empty));
        check(G, Err(Gs1Error::Empty));
        check(
            "0106901234567893",
            Err(Gs1Error::CheckDigit {
                ai: "01".into(),
                value: "06901234567893".into(),
            }),
        );
        check(
            "23123",
            Err(Gs1Error::UnknownAi {
                pos: 0,
                prefix: "2312".into(),
            }),
        );
        check(
            "01069012345678",
            Err(Gs1Error::TooShort {
                ai: "01".into(),
                pos: 2,
                expected: 14,
                got: 12,
            }),
        );
        check(
            "10ABCDEFGHIJKLMNOPQRSTU",
            Err(Gs1Error::TooLong {
                ai: "10".into(),
                pos: 2,
                max: 20,
            }),
        );
        check(
            "10AB CD",
            Err(Gs1Error::BadChar {
                ai: "10".into(),
                pos: 4,
                ch: ' ',
                charset: "GS1 character set 82",
            }),
        );
        check(
            "17211301",
            Err(Gs1Error::BadValue {
                ai: "17".into(),
                value: "211301".into(),
                reason: "month 13 does not exist".into(),
            }),
        );
        check(
            "17210230",
            Err(Gs1Error::BadValue {
                ai: "17".into(),
                value: "210230".into(),
                reason: "day 30 does not exist in month 02".into(),
            }),
        );
        check("3710", Ok(&[("37", "10")]));
        check(
            "3100",
            Err(Gs1Error::TooShort {
                ai: "3100".into(),
                pos: 4,
                expected: 6,
                got: 0,
            }),
        );
        check(
            &format!("0106901234567892{G}0106901234567892"),
            Ok(&[("01", "06901234567892"), ("01", "06901234567892")]),
        );
        check(
            &format!("10A{G}10B"),
            Err(Gs1Error::Conflict {
                ai: "10".into(),
                first: "A".into(),
                second: "B".into(),
            }),
        );
        // (01) and (02) exclude each other; two net weights in kg with different decimals too.
        check(
            "01069012345678920206901234567892",
            Err(Gs1Error::Exclusive {
                ai: "02".into(),
                other: "01".into(),
            }),
        );
        check(
            "010690123456789231020012503103001250",
            Err(Gs1Error::Exclusive {
                ai: "3102".into(),
                other: "3103".into(),
            }),
        );
        check(
            "(01)06901234567892(99",
            Err(Gs1Error::Bracketed {
                pos: 18,
                reason: "missing ')'".into(),
            }),
        );
    }

    #[test]
    fn interpretation() {
        let es = parse("0106901234567892310312345617211200").unwrap();
        assert_eq!(
            es.elements[1].interpreted,
            Some(Gs1Value::Decimal {
                value: 123456,
                decimals: 3
            })
        );
        let Some(Gs1Value::Date(d)) = es.elements[2].interpreted else {
            panic!("no date")
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(d.resolve(today), NaiveDate::from_ymd_opt(2021, 12, 31));
        let feb = Gs1Date {
            yy: 20,
            month: 2,
            day: 0,
        };
        assert_eq!(feb.resolve(today), NaiveDate::from_ymd_opt(2020, 2, 29));
        let es = parse("3712").unwrap();
        assert_eq!(es.elements[0].interpreted, Some(Gs1Value::Count(12)));
    }

    fn year(yy: u8, today_year: i32, expected: i32) {
        let today = NaiveDate::from_ymd_opt(today_year, 6, 1).unwrap();
        let d = Gs1Date {
            yy,
            month: 1,
            day: 1,
        };
        assert_eq!(d.full_year(today), expected, "yy {yy} in {today_year}");
    }

    #[test]
    fn two_digit_year_window() {
        // GS1 GenSpecs 7.12 and biip test_extract_handles_min_and_max_year_correctly.
        year(0, 2026, 2000);
        year(76, 2026, 2076);
        year(77, 2026, 1977);
        year(99, 2026, 1999);
        year(26, 2026, 2026);
        year(49, 1999, 2049);
        year(50, 1999, 1950);
        year(48, 1998, 2048);
        year(49, 1998, 1949);
        year(98, 2049, 2098);
        year(99, 2049, 2099);
        year(0, 2051, 2100);
        year(1, 2051, 2101);
        year(2, 2051, 2002);
    }
}
