//! Barcode semantics: AIM symbology identifiers, GS1 element strings, check digits,
//! normalisation for matching (EAN-13 ↔ UPC-A, GTIN-14 from AI 01), courier waybill hints.
//! Pure functions, no IO, no clock (a date window takes `today` as an argument).
//!
//! The one function the verification flow needs is [`normalize_for_match`]: it turns a
//! scanned code and a code stored on an order line into the same key when they denote the
//! same thing (EAN-13 `6901234567892`, its GTIN-14 `06901234567892`, a GS1-128 carrying
//! `(01)06901234567892`), and leaves everything else untouched. Matching on the keys is
//! then exact: never substring, never prefix.
//!
//! [`analyze`] gives the full picture of one scan (what the `packbench barcode parse`
//! command prints).

pub mod aim;
pub mod check;
pub mod courier;
pub mod gs1;

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;

pub use aim::{split_aim, AimContent, AimId};
pub use check::{gs1_check_digit, gs1_check_ok, to_gtin14, upca_to_ean13, upce_to_upca, GtinError};
pub use courier::{Courier, CourierHint};
pub use gs1::{ElementString, Gs1Error};

/// Group separator (FNC1 in GS1 data transmitted by scanners).
pub const GS: char = '\u{1d}';

/// Why a scanned code was rejected. Positions are 0-based character offsets in the raw
/// input (including any AIM identifier).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BarcodeError {
    /// Nothing left to match (empty input or only an AIM identifier).
    #[error("empty barcode")]
    Empty,
    /// Whitespace inside the code (scanners never send it; it means a mis-read or a pasted value).
    #[error("whitespace {ch:?} at position {pos} in barcode")]
    Whitespace {
        /// Character position.
        pos: usize,
        /// The offending character.
        ch: char,
    },
    /// A control character (other than GS inside GS1 data).
    #[error("control character U+{code:04X} at position {pos} in barcode")]
    Control {
        /// Character position.
        pos: usize,
        /// Unicode scalar value of the character.
        code: u32,
    },
    /// The AIM id says GS1, or the data looks like GS1, and the element string is invalid.
    #[error("invalid GS1 element string after {prefix_len} prefix characters: {source}")]
    Gs1 {
        /// Characters before the element string (the AIM id) to add to the error's positions.
        prefix_len: usize,
        /// What is wrong.
        source: Gs1Error,
    },
    /// The AIM id says EAN/UPC/ITF-14 and the digits are not a valid GTIN.
    #[error("invalid {symbology}: {source}")]
    Gtin {
        /// The symbology named by the AIM id.
        symbology: &'static str,
        /// What is wrong.
        source: GtinError,
    },
}

/// What a scan turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A GTIN-8/12/13/14 (or UPC-E) with a valid check digit, as a 14-digit GTIN.
    Gtin(String),
    /// A GS1 element string.
    Gs1(ElementString),
    /// Anything else (an internal SKU code, a waybill, a URL…).
    Text,
}

/// A classified scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified<'a> {
    /// The AIM id, when the scanner sent one.
    pub aim: Option<AimId>,
    /// The data after the AIM id.
    pub data: &'a str,
    /// What it is.
    pub content: Content,
}

fn check_chars(data: &str, offset: usize, gs_allowed: bool) -> Result<(), BarcodeError> {
    for (i, ch) in data.chars().enumerate() {
        let pos = offset + i;
        if ch == GS && gs_allowed {
            continue;
        }
        if ch.is_control() {
            return Err(BarcodeError::Control {
                pos,
                code: u32::from(ch),
            });
        }
        if ch.is_whitespace() {
            return Err(BarcodeError::Whitespace { pos, ch });
        }
    }
    Ok(())
}

fn gs1(data: &str, prefix_len: usize) -> Result<Content, BarcodeError> {
    gs1::parse(data)
        .map(Content::Gs1)
        .map_err(|source| BarcodeError::Gs1 { prefix_len, source })
}

fn is_gtin_shape(s: &str) -> bool {
    matches!(s.len(), 8 | 12 | 13 | 14) && s.bytes().all(|b| b.is_ascii_digit()) && gs1_check_ok(s)
}

/// Classify a raw scan: strip the AIM id, validate characters, and decide between GTIN,
/// GS1 element string and plain text.
pub fn classify(raw: &str) -> Result<Classified<'_>, BarcodeError> {
    let (aim, data) = split_aim(raw);
    let offset = if aim.is_some() { 3 } else { 0 };
    if data.is_empty() {
        return Err(BarcodeError::Empty);
    }
    let kind = aim.map_or(AimContent::Other, AimId::content);
    let gs_allowed = aim.is_none() || kind == AimContent::Gs1;
    check_chars(data, offset, gs_allowed)?;
    let gtin = |symbology: &'static str, code: &str| {
        to_gtin14(code)
            .map(Content::Gtin)
            .map_err(|source| BarcodeError::Gtin { symbology, source })
    };
    let content = match (aim, kind) {
        (Some(_), AimContent::Gs1) => gs1(data, offset)?,
        (Some(_), AimContent::EanUpc) if data.len() == 8 => match upce_to_upca(data) {
            Some(upca) => gtin("UPC-E", &upca)?,
            None => {
                return Err(BarcodeError::Gtin {
                    symbology: "UPC-E",
                    source: check::GtinError::CheckDigit {
                        code: data.to_string(),
                        expected: upce_check(data),
                        found: data.as_bytes()[7].wrapping_sub(b'0'),
                    },
                })
            }
        },
        (Some(_), AimContent::EanUpc) => {
            if !matches!(data.len(), 12 | 13) {
                return Err(BarcodeError::Gtin {
                    symbology: "EAN-13/UPC-A",
                    source: GtinError::Length { len: data.len() },
                });
            }
            gtin("EAN-13/UPC-A", data)?
        }
        (Some(_), AimContent::Ean8) => {
            if data.len() != 8 {
                return Err(BarcodeError::Gtin {
                    symbology: "EAN-8",
                    source: GtinError::Length { len: data.len() },
                });
            }
            gtin("EAN-8", data)?
        }
        (Some(_), AimContent::Itf14) => {
            if data.len() != 14 {
                return Err(BarcodeError::Gtin {
                    symbology: "ITF-14",
                    source: GtinError::Length { len: data.len() },
                });
            }
            gtin("ITF-14", data)?
        }
        (Some(_), AimContent::EanAddOn) => match data.get(..13) {
            // Main EAN-13 followed by a 2- or 5-digit add-on: match on the main code.
            Some(main) if matches!(data.len(), 15 | 18) && is_gtin_shape(main) => {
                Content::Gtin(format!("0{main}"))
            }
            _ => Content::Text,
        },
        _ if is_gtin_shape(data) => Content::Gtin(format!("{data:0>14}")),
        (None, _) if data.starts_with(GS) || data.contains(GS) => gs1(data, 0)?,
        (None, _) if data.starts_with('(') => match gs1::parse(data) {
            Ok(es) => Content::Gs1(es),
            Err(_) => Content::Text,
        },
        (None, _) if data.len() > 16 && ["00", "01", "02"].iter().any(|p| data.starts_with(p)) => {
            // A GS1 string from a scanner that does not send AIM ids: accept it as GS1 only
            // when it parses completely, otherwise it is just a code that starts with digits.
            match gs1::parse(data) {
                Ok(es) => Content::Gs1(es),
                Err(_) => Content::Text,
            }
        }
        _ => Content::Text,
    };
    Ok(Classified { aim, data, content })
}

fn upce_check(upce: &str) -> u8 {
    // The check digit a UPC-E would need: that of its expansion with a placeholder check.
    (0..10u8)
        .find(|c| {
            let mut s = upce.get(..7).unwrap_or("").to_string();
            s.push(char::from(b'0' + c));
            upce_to_upca(&s).is_some()
        })
        .unwrap_or(0)
}

/// Normalise a scanned or stored code for exact matching.
///
/// * Strips an AIM symbology identifier (`]` + letter + modifier).
/// * Rejects empty input, whitespace and control characters (GS is allowed inside GS1 data)
///   with the position.
/// * GTIN-8/12/13/14 (and UPC-E under `]E0`) with a valid GS1 check digit → the zero-padded
///   14-digit GTIN, so EAN-13 `6901234567892`, UPC-A/GTIN-14 forms match each other.
/// * GS1 element strings containing AI 01 → that GTIN-14.
/// * Everything else is returned unchanged (without the AIM id).
pub fn normalize_for_match(raw: &str) -> Result<String, BarcodeError> {
    let c = classify(raw)?;
    Ok(match c.content {
        Content::Gtin(g) => g,
        Content::Gs1(es) => es.gtin().map_or_else(|| c.data.to_string(), str::to_string),
        Content::Text => c.data.to_string(),
    })
}

/// Everything known about one scan (the JSON of `packbench barcode parse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanInfo {
    /// The raw input.
    pub raw: String,
    /// The AIM id as sent (`"]C1"`), when present.
    pub aim: Option<String>,
    /// The symbology named by the AIM id, when present.
    pub symbology: Option<&'static str>,
    /// The data without the AIM id.
    pub text: String,
    /// The 14-digit GTIN, when the code is or contains one.
    pub gtin: Option<String>,
    /// AI → value, for GS1 element strings.
    pub ais: Option<BTreeMap<String, String>>,
    /// The key used for matching against order lines ([`normalize_for_match`]).
    pub match_key: Option<String>,
    /// Whether the scan is acceptable.
    pub valid: bool,
    /// Why not, when not valid.
    pub error: Option<String>,
    /// Courier waybill hint, when the text looks like a waybill.
    pub courier: Option<CourierHint>,
}

/// Analyse a raw scan (never fails: problems are reported in [`ScanInfo::error`]).
pub fn analyze(raw: &str) -> ScanInfo {
    let (aim, data) = split_aim(raw);
    let mut info = ScanInfo {
        raw: raw.to_string(),
        aim: aim.map(|a| a.to_string()),
        symbology: aim.map(AimId::symbology_name),
        text: data.to_string(),
        gtin: None,
        ais: None,
        match_key: None,
        valid: false,
        error: None,
        courier: None,
    };
    match classify(raw) {
        Ok(c) => {
            info.valid = true;
            match c.content {
                Content::Gtin(g) => {
                    info.match_key = Some(g.clone());
                    info.gtin = Some(g);
                }
                Content::Gs1(es) => {
                    info.gtin = es.gtin().map(str::to_string);
                    info.match_key = Some(info.gtin.clone().unwrap_or_else(|| data.to_string()));
                    info.ais = Some(es.ai_map());
                }
                Content::Text => {
                    info.match_key = Some(data.to_string());
                    info.courier = courier::recognize(data);
                }
            }
        }
        Err(e) => {
            if matches!(e, BarcodeError::Whitespace { .. }) {
                info.courier = courier::recognize(data);
            }
            info.error = Some(e.to_string());
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, BarcodeError>) {
        assert_eq!(
            normalize_for_match(input),
            expected.map(str::to_string),
            "input {input:?}"
        );
    }

    #[test]
    fn normalize_cases() {
        check("6901234567892", Ok("06901234567892"));
        check("]E06901234567892", Ok("06901234567892"));
        check("06901234567892", Ok("06901234567892"));
        check("036000291452", Ok("00036000291452"));
        check("]E0036000291452", Ok("00036000291452"));
        check("0036000291452", Ok("00036000291452"));
        check("96385074", Ok("00000096385074"));
        check("]E496385074", Ok("00000096385074"));
        check("]E004252614", Ok("00042100005264"));
        check("]I110614141000415", Ok("10614141000415"));
        check("]C10106901234567892", Ok("06901234567892"));
        check("]C1010690123456789210ABC\u{1d}21X", Ok("06901234567892"));
        check("]d2\u{1d}0106901234567892", Ok("06901234567892"));
        check("\u{1d}0106901234567892\u{1d}10L1", Ok("06901234567892"));
        check("010690123456789210L1", Ok("06901234567892"));
        check("(01)06901234567892(10)L1", Ok("06901234567892"));
        check("]C100376104250021234569", Ok("00376104250021234569"));
        // Not a GTIN (bad check digit) without an AIM id: a plain code, unchanged.
        check("6901234567893", Ok("6901234567893"));
        check("0106901234567893", Ok("0106901234567893"));
        check("SKU-001", Ok("SKU-001"));
        check("]C0SKU-001", Ok("SKU-001"));
        check("6901234", Ok("6901234"));
        check("6901234567892-1", Ok("6901234567892-1"));
        check("颜色-红", Ok("颜色-红"));
        check("", Err(BarcodeError::Empty));
        check("]E0", Err(BarcodeError::Empty));
        check("AB C", Err(BarcodeError::Whitespace { pos: 2, ch: ' ' }));
        check("]C0AB\tC", Err(BarcodeError::Control { pos: 5, code: 9 }));
        check("AB\r", Err(BarcodeError::Control { pos: 2, code: 13 }));
        check(
            "]C0A\u{1d}B",
            Err(BarcodeError::Control { pos: 4, code: 0x1d }),
        );
        check(
            "]E06901234567893",
            Err(BarcodeError::Gtin {
                symbology: "EAN-13/UPC-A",
                source: GtinError::CheckDigit {
                    code: "6901234567893".into(),
                    expected: 2,
                    found: 3,
                },
            }),
        );
        check(
            "]E41234",
            Err(BarcodeError::Gtin {
                symbology: "EAN-8",
                source: GtinError::Length { len: 4 },
            }),
        );
        check(
            "]C10106901234567893",
            Err(BarcodeError::Gs1 {
                prefix_len: 3,
                source: Gs1Error::CheckDigit {
                    ai: "01".into(),
                    value: "06901234567893".into(),
                },
            }),
        );
        check(
            "\u{1d}99",
            Err(BarcodeError::Gs1 {
                prefix_len: 0,
                source: Gs1Error::TooShort {
                    ai: "99".into(),
                    pos: 3,
                    expected: 1,
                    got: 0,
                },
            }),
        );
    }

    #[test]
    fn ean13_and_upca_forms_match() {
        let a = normalize_for_match("0036000291452").unwrap();
        let b = normalize_for_match("036000291452").unwrap();
        let c = normalize_for_match("]C10100036000291452").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_ne!(
            normalize_for_match("6901234567892").unwrap(),
            normalize_for_match("690123456789").unwrap()
        );
    }

    #[test]
    fn analyze_reports() {
        let i = analyze("]C10106901234567892\u{1d}10ABC");
        assert_eq!(i.symbology, Some("GS1-128"));
        assert_eq!(i.gtin.as_deref(), Some("06901234567892"));
        assert_eq!(
            i.ais.as_ref().and_then(|m| m.get("10")).map(String::as_str),
            Some("ABC")
        );
        assert!(i.valid);
        assert!(i.error.is_none());
        let i = analyze("SF1234567890123");
        assert_eq!(i.courier.map(|c| c.courier), Some(Courier::Sf));
        assert_eq!(i.symbology, None);
        let i = analyze("]E06901234567893");
        assert!(!i.valid);
        assert!(i.error.unwrap().contains("expected 2, found 3"));
        let i = analyze("1Z 5R8 939 0357567127");
        assert!(!i.valid);
        assert_eq!(i.courier.map(|c| c.format), Some("ups"));
    }
}
