//! GS1 mod-10 check digits (GTIN-8/12/13/14, SSCC, GLN, GSRN) and GTIN normalisation
//! (UPC-E → UPC-A → EAN-13 → GTIN-14).
//!
//! The rule: weights 3,1,3,1… from the rightmost payload digit; the check digit is
//! `(10 − sum mod 10) mod 10`. Every GS1 key uses the same rule right-aligned, which is why
//! a GTIN can be left-padded with zeros without changing its check digit.

/// Compute the GS1 mod-10 check digit of a payload of ASCII digits (without the check digit).
///
/// Returns `None` when `payload` is empty or holds anything but ASCII digits.
pub fn gs1_check_digit(payload: &str) -> Option<u8> {
    let b = payload.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0');
            if i % 2 == 0 {
                v * 3
            } else {
                v
            }
        })
        .sum();
    // The value is 0..=9, so the narrowing is exact.
    u8::try_from((10 - sum % 10) % 10).ok()
}

/// Whether `digits` (payload followed by its check digit) carries a valid GS1 mod-10 check digit.
pub fn gs1_check_ok(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() < 2 {
        return false;
    }
    let (payload, check) = digits.split_at(digits.len() - 1);
    match (gs1_check_digit(payload), check.as_bytes()[0]) {
        (Some(c), d) if d.is_ascii_digit() => c == d - b'0',
        _ => false,
    }
}

/// Why a string is not a valid GTIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    /// Not 8, 12, 13 or 14 digits.
    #[error("a GTIN has 8, 12, 13 or 14 digits, got {len} characters")]
    Length {
        /// The length found.
        len: usize,
    },
    /// A character other than an ASCII digit.
    #[error("a GTIN holds only digits, found {ch:?} at position {pos}")]
    NotDigit {
        /// Position (0-based, in characters).
        pos: usize,
        /// The character.
        ch: char,
    },
    /// The check digit does not match.
    #[error("bad GS1 check digit in {code}: expected {expected}, found {found}")]
    CheckDigit {
        /// The code as given.
        code: String,
        /// The check digit computed from the payload.
        expected: u8,
        /// The check digit in the code.
        found: u8,
    },
}

fn digits_only(code: &str) -> Result<(), GtinError> {
    match code.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        Some((pos, ch)) => Err(GtinError::NotDigit { pos, ch }),
        None => Ok(()),
    }
}

fn verify_check(code: &str) -> Result<(), GtinError> {
    let (payload, check) = code.split_at(code.len() - 1);
    let expected = gs1_check_digit(payload).unwrap_or(0);
    let found = check.as_bytes().first().map_or(0, |d| d.wrapping_sub(b'0'));
    if expected == found {
        Ok(())
    } else {
        Err(GtinError::CheckDigit {
            code: code.to_string(),
            expected,
            found,
        })
    }
}

/// Validate a GTIN-8/12/13/14 and return it as a zero-padded 14-digit GTIN.
///
/// `6901234567892` (EAN-13), `06901234567892` (GTIN-14) → `06901234567892`;
/// `036000291452` (UPC-A) → `00036000291452`.
pub fn to_gtin14(code: &str) -> Result<String, GtinError> {
    digits_only(code)?;
    if !matches!(code.len(), 8 | 12 | 13 | 14) {
        return Err(GtinError::Length { len: code.len() });
    }
    verify_check(code)?;
    Ok(format!("{code:0>14}"))
}

/// Validate an SSCC (18 digits with a GS1 mod-10 check digit).
pub fn validate_sscc(code: &str) -> Result<(), GtinError> {
    digits_only(code)?;
    if code.len() != 18 {
        return Err(GtinError::Length { len: code.len() });
    }
    verify_check(code)
}

/// UPC-A (12 digits) → EAN-13 (13 digits, leading zero). Validates the check digit.
pub fn upca_to_ean13(upca: &str) -> Result<String, GtinError> {
    digits_only(upca)?;
    if upca.len() != 12 {
        return Err(GtinError::Length { len: upca.len() });
    }
    verify_check(upca)?;
    Ok(format!("0{upca}"))
}

/// EAN-13 → UPC-A when the EAN-13 starts with `0` (a US/Canada UPC); `None` otherwise.
pub fn ean13_to_upca(ean13: &str) -> Option<String> {
    if ean13.len() == 13 && ean13.starts_with('0') && to_gtin14(ean13).is_ok() {
        ean13.get(1..).map(str::to_string)
    } else {
        None
    }
}

/// Expand an 8-digit UPC-E (number system 0 or 1, six data digits, check digit) to UPC-A.
///
/// Returns `None` when the input is not a valid UPC-E (the check digit of a UPC-E is the
/// check digit of its UPC-A expansion).
pub fn upce_to_upca(upce: &str) -> Option<String> {
    let b = upce.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) || !matches!(b[0], b'0' | b'1') {
        return None;
    }
    let ns = char::from(b[0]);
    let d: Vec<char> = upce.chars().skip(1).take(6).collect();
    let check = char::from(b[7]);
    let (d1, d2, d3, d4, d5, d6) = (d[0], d[1], d[2], d[3], d[4], d[5]);
    let body: String = match d6 {
        '0' | '1' | '2' => [d1, d2, d6, '0', '0', '0', '0', d3, d4, d5]
            .iter()
            .collect(),
        '3' => [d1, d2, d3, '0', '0', '0', '0', '0', d4, d5]
            .iter()
            .collect(),
        '4' => [d1, d2, d3, d4, '0', '0', '0', '0', '0', d5]
            .iter()
            .collect(),
        _ => [d1, d2, d3, d4, d5, '0', '0', '0', '0', d6]
            .iter()
            .collect(),
    };
    let upca = format!("{ns}{body}{check}");
    gs1_check_ok(&upca).then_some(upca)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_digit(payload: &str, expected: Option<u8>) {
        assert_eq!(gs1_check_digit(payload), expected, "payload {payload}");
    }

    #[test]
    fn check_digits_from_gs1_and_biip_vectors() {
        // Vectors from the GS1 General Specifications and jodal/biip tests.
        check_digit("629104150021", Some(3));
        check_digit("703801005447", Some(1));
        check_digit("950110153100", Some(0));
        check_digit("37610425002123456", Some(9));
        check_digit("590123412345", Some(7));
        check_digit("690123456789", Some(2));
        check_digit("9638507", Some(4));
        check_digit("03600029145", Some(2));
        check_digit("", None);
        check_digit("12a", None);
    }

    fn gtin(code: &str, expected: Result<&str, GtinError>) {
        assert_eq!(to_gtin14(code), expected.map(str::to_string), "code {code}");
    }

    #[test]
    fn gtin_normalisation() {
        gtin("6901234567892", Ok("06901234567892"));
        gtin("06901234567892", Ok("06901234567892"));
        gtin("036000291452", Ok("00036000291452"));
        gtin("0036000291452", Ok("00036000291452"));
        gtin("96385074", Ok("00000096385074"));
        gtin("10614141000415", Ok("10614141000415"));
        gtin("123456", Err(GtinError::Length { len: 6 }));
        gtin(
            "69012345678a2",
            Err(GtinError::NotDigit { pos: 11, ch: 'a' }),
        );
        gtin(
            "6901234567893",
            Err(GtinError::CheckDigit {
                code: "6901234567893".into(),
                expected: 2,
                found: 3,
            }),
        );
    }

    #[test]
    fn sscc() {
        assert_eq!(validate_sscc("376104250021234569"), Ok(()));
        assert!(validate_sscc("376104250021234568").is_err());
        assert!(validate_sscc("37610425002123456").is_err());
    }

    #[test]
    fn upc_conversions() {
        assert_eq!(
            upca_to_ean13("036000291452").as_deref(),
            Ok("0036000291452")
        );
        assert!(upca_to_ean13("036000291453").is_err());
        assert_eq!(
            ean13_to_upca("0036000291452").as_deref(),
            Some("036000291452")
        );
        assert_eq!(ean13_to_upca("6901234567892"), None);
        // UPC-E examples: 04252614 ↔ 042100005264; 01234565 ↔ 012345000065.
        assert_eq!(upce_to_upca("04252614").as_deref(), Some("042100005264"));
        assert_eq!(upce_to_upca("01234565").as_deref(), Some("012345000065"));
        assert_eq!(upce_to_upca("01234133").as_deref(), Some("012300000413"));
        assert_eq!(upce_to_upca("01234566"), None);
        assert_eq!(upce_to_upca("21234565"), None);
    }
}
