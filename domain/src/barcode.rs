//! Barcode semantics: AIM symbology identifiers, GS1 element strings, check digits,
//! normalisation for matching (EAN-13 ↔ UPC-A, GTIN-14 from AI 01), courier waybill hints.
//! Pure functions, no IO.

use thiserror::Error;

/// Group separator (FNC1 in GS1 data transmitted by scanners).
pub const GS: char = '\u{1d}';

/// Why a scanned code was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BarcodeError {
    /// Nothing left to match (empty input or only an AIM identifier).
    #[error("empty barcode")]
    Empty,
    /// Whitespace inside the code (scanners never send it; it means a mis-read or a pasted value).
    #[error("whitespace {ch:?} at position {pos} in barcode")]
    Whitespace {
        /// Character position (0-based, in chars of the raw input).
        pos: usize,
        /// The offending character.
        ch: char,
    },
    /// A control character (other than GS inside GS1 data).
    #[error("control character U+{code:04X} at position {pos} in barcode")]
    Control {
        /// Character position (0-based, in chars of the raw input).
        pos: usize,
        /// Unicode scalar value of the character.
        code: u32,
    },
}

/// Strip a leading AIM symbology identifier (`]` + code letter + modifier).
fn strip_aim(raw: &str) -> (&str, Option<(char, char)>) {
    let mut it = raw.chars();
    if let (Some(']'), Some(c), Some(m)) = (it.next(), it.next(), it.next()) {
        if c.is_ascii_alphabetic() && m.is_ascii_alphanumeric() {
            return (&raw[3..], Some((c, m)));
        }
    }
    (raw, None)
}

/// GS1 mod-10 check for a string of ASCII digits whose last digit is the check digit.
pub fn gs1_check_ok(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() < 2 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (body, check) = b.split_at(b.len() - 1);
    let mut sum = 0u32;
    for (i, d) in body.iter().rev().enumerate() {
        let v = u32::from(d - b'0');
        sum += if i % 2 == 0 { v * 3 } else { v };
    }
    (10 - sum % 10) % 10 == u32::from(check[0] - b'0')
}

/// Normalise a scanned or stored code for exact matching.
///
/// Strips an AIM identifier; GTIN-8/12/13/14 with a valid check digit become the
/// zero-padded 14-digit GTIN; GS1 element strings starting with AI 01 become that
/// GTIN-14; everything else is returned unchanged. Never a substring/prefix match.
pub fn normalize_for_match(raw: &str) -> Result<String, BarcodeError> {
    let (data, aim) = strip_aim(raw);
    let offset = raw.chars().count() - data.chars().count();
    if data.is_empty() {
        return Err(BarcodeError::Empty);
    }
    for (i, ch) in data.chars().enumerate() {
        let pos = offset + i;
        if ch == GS {
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
    let _ = aim;
    let body = data.trim_start_matches(GS);
    if matches!(body.len(), 8 | 12 | 13 | 14) && gs1_check_ok(body) {
        return Ok(format!("{body:0>14}"));
    }
    if let Some(rest) = body.strip_prefix("01") {
        if let Some(gtin) = rest.get(..14) {
            if gs1_check_ok(gtin) {
                return Ok(gtin.to_string());
            }
        }
    }
    if data.contains(GS) {
        return Err(BarcodeError::Control {
            pos: offset + data.chars().position(|c| c == GS).unwrap_or(0),
            code: 0x1d,
        });
    }
    Ok(data.to_string())
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
        check("0036000291452", Ok("00036000291452"));
        check("96385074", Ok("00000096385074"));
        check("]C10106901234567892", Ok("06901234567892"));
        check("]C1010690123456789210ABC\u{1d}21X", Ok("06901234567892"));
        check("6901234567893", Ok("6901234567893"));
        check("SKU-001", Ok("SKU-001"));
        check("", Err(BarcodeError::Empty));
        check("]E0", Err(BarcodeError::Empty));
        check("AB C", Err(BarcodeError::Whitespace { pos: 2, ch: ' ' }));
        check("AB\r", Err(BarcodeError::Control { pos: 2, code: 13 }));
    }
}
