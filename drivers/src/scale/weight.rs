//! Exact weights: a decimal value as the device shows it (integer mantissa + scale) and a unit,
//! with exact conversion to nanograms and rounded conversion to milligrams or grams.
//!
//! Never floats. The conversion factors are the legal definitions: 1 lb = 0.45359237 kg and
//! 1 oz = 1/16 lb = 28.349523125 g, 1 ct = 0.2 g, so every supported unit is an integer number
//! of nanograms and a conversion to nanograms is exact.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest number of decimal places a [`Decimal`] may carry.
pub const MAX_SCALE: u8 = 9;

/// An exact decimal number: `mantissa × 10^-scale`, e.g. `-12.50` = `(-1250, 2)`.
///
/// The scale is kept, so `12.50` and `12.5` compare equal by value ([`Decimal::cmp_value`])
/// but display as the device showed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    /// The digits as an integer, sign included.
    pub mantissa: i64,
    /// The number of digits after the decimal point (0..=[`MAX_SCALE`]).
    pub scale: u8,
}

/// Why a decimal could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// The text holds no digit.
    #[error("no digits in {0:?}")]
    Empty(String),
    /// A character that is not a digit, sign, point or space.
    #[error("unexpected character {ch:?} at {pos} in {text:?}")]
    BadChar {
        /// The character.
        ch: char,
        /// Its byte offset.
        pos: usize,
        /// The whole text.
        text: String,
    },
    /// Too many digits for an `i64` or more than [`MAX_SCALE`] decimals.
    #[error("{0:?} is out of range")]
    Range(String),
}

impl Decimal {
    /// Zero with no decimals.
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    /// Builds `mantissa × 10^-scale`. Returns `None` when the scale exceeds [`MAX_SCALE`].
    pub const fn new(mantissa: i64, scale: u8) -> Option<Decimal> {
        if scale > MAX_SCALE {
            None
        } else {
            Some(Decimal { mantissa, scale })
        }
    }

    /// Parses device text such as `"  -12.50"`, `"+0012.34"`, `"- 5.0"`, `"1 234.5"` is rejected.
    ///
    /// Leading and trailing blanks are ignored; a sign may be separated from the digits by blanks
    /// (several indicators print it that way); blanks between digits are an error.
    pub fn parse(text: &str) -> Result<Decimal, DecimalError> {
        Self::parse_bytes(text.as_bytes())
    }

    /// As [`Decimal::parse`], on bytes (device fields are bytes, not strings).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Decimal, DecimalError> {
        let text = || String::from_utf8_lossy(bytes).into_owned();
        let mut negative = false;
        let mut seen_sign = false;
        let mut seen_digit = false;
        let mut seen_point = false;
        let mut ended = false;
        let mut mantissa: i64 = 0;
        let mut scale: u8 = 0;
        for (pos, &b) in bytes.iter().enumerate() {
            match b {
                b' ' => {
                    if seen_digit || seen_point {
                        ended = true;
                    }
                }
                b'+' | b'-' if !seen_sign && !seen_digit && !seen_point => {
                    seen_sign = true;
                    negative = b == b'-';
                }
                b'.' | b',' if !seen_point && !ended => seen_point = true,
                b'0'..=b'9' if !ended => {
                    seen_digit = true;
                    mantissa = mantissa
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(i64::from(b - b'0')))
                        .ok_or_else(|| DecimalError::Range(text()))?;
                    if seen_point {
                        scale += 1;
                        if scale > MAX_SCALE {
                            return Err(DecimalError::Range(text()));
                        }
                    }
                }
                _ => {
                    return Err(DecimalError::BadChar {
                        ch: char::from(b),
                        pos,
                        text: text(),
                    })
                }
            }
        }
        if !seen_digit {
            return Err(DecimalError::Empty(text()));
        }
        Ok(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale,
        })
    }

    /// Multiplies by `10^exp` (exp may be negative: the scale grows instead).
    /// Returns `None` on overflow or when the scale would exceed [`MAX_SCALE`].
    pub fn shifted(self, exp: i32) -> Option<Decimal> {
        if exp >= 0 {
            let mut m = self.mantissa;
            let mut s = self.scale;
            let mut e = exp;
            while e > 0 && s > 0 {
                s -= 1;
                e -= 1;
            }
            let factor = 10i64.checked_pow(u32::try_from(e).ok()?)?;
            m = m.checked_mul(factor)?;
            Some(Decimal {
                mantissa: m,
                scale: s,
            })
        } else {
            let s = i32::from(self.scale) - exp;
            if s > i32::from(MAX_SCALE) {
                return None;
            }
            Some(Decimal {
                mantissa: self.mantissa,
                scale: u8::try_from(s).ok()?,
            })
        }
    }

    /// True when the value is below zero.
    pub const fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    /// True when the value is zero.
    pub const fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// The value scaled to `10^-MAX_SCALE` units, exact.
    fn at_max_scale(self) -> i128 {
        i128::from(self.mantissa) * 10i128.pow(u32::from(MAX_SCALE - self.scale.min(MAX_SCALE)))
    }

    /// Compares by value, ignoring how many decimals are shown.
    pub fn cmp_value(self, other: Decimal) -> std::cmp::Ordering {
        self.at_max_scale().cmp(&other.at_max_scale())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let a = self.mantissa.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{a}");
        }
        let p = 10u64.pow(u32::from(self.scale));
        write!(
            f,
            "{sign}{}.{:0width$}",
            a / p,
            a % p,
            width = usize::from(self.scale)
        )
    }
}

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Decimal::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Decimal {
    type Err = DecimalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::parse(s)
    }
}

/// A unit of mass a scale reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Milligram.
    Mg,
    /// Gram.
    G,
    /// Kilogram.
    Kg,
    /// Metric tonne (1000 kg).
    T,
    /// Avoirdupois pound (0.45359237 kg exactly).
    Lb,
    /// Avoirdupois ounce (1/16 lb = 28.349523125 g exactly).
    Oz,
    /// Metric carat (0.2 g).
    Ct,
}

impl Unit {
    /// All units.
    pub const ALL: [Unit; 7] = [
        Unit::Mg,
        Unit::G,
        Unit::Kg,
        Unit::T,
        Unit::Lb,
        Unit::Oz,
        Unit::Ct,
    ];

    /// Nanograms in one unit (exact).
    pub const fn nanograms(self) -> i128 {
        match self {
            Unit::Mg => 1_000_000,
            Unit::G => 1_000_000_000,
            Unit::Kg => 1_000_000_000_000,
            Unit::T => 1_000_000_000_000_000,
            Unit::Lb => 453_592_370_000,
            Unit::Oz => 28_349_523_125,
            Unit::Ct => 200_000_000,
        }
    }

    /// The symbol as written in JSON and on screen.
    pub const fn symbol(self) -> &'static str {
        match self {
            Unit::Mg => "mg",
            Unit::G => "g",
            Unit::Kg => "kg",
            Unit::T => "t",
            Unit::Lb => "lb",
            Unit::Oz => "oz",
            Unit::Ct => "ct",
        }
    }

    /// Recognises a device's unit text (case-insensitive, blanks trimmed): `g`, `kg`, `lb`, `lbs`,
    /// `oz`, `t`, `mg`, `ct`. Returns `None` for anything else (pieces, percent, newton…).
    pub fn from_text(text: &[u8]) -> Option<Unit> {
        let t = trim(text);
        let lower: Vec<u8> = t.iter().map(u8::to_ascii_lowercase).collect();
        match lower.as_slice() {
            b"mg" => Some(Unit::Mg),
            b"g" | b"gr" | b"gm" => Some(Unit::G),
            b"kg" => Some(Unit::Kg),
            b"t" => Some(Unit::T),
            b"lb" | b"lbs" | b"#" => Some(Unit::Lb),
            b"oz" => Some(Unit::Oz),
            b"ct" => Some(Unit::Ct),
            _ => None,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl std::str::FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Unit::from_text(s.as_bytes())
            .ok_or_else(|| format!("unknown unit {s:?} (g, kg, lb, oz, t, mg, ct)"))
    }
}

/// Trims ASCII blanks (space, tab, NUL) at both ends.
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let is_blank = |b: &u8| matches!(*b, b' ' | b'\t' | 0);
    let start = bytes
        .iter()
        .position(|b| !is_blank(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_blank(b))
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or(&[])
}

/// A weight as the device reported it: exact value and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Weight {
    /// The value as shown.
    pub value: Decimal,
    /// Its unit.
    pub unit: Unit,
}

impl Weight {
    /// Builds a weight.
    pub const fn new(value: Decimal, unit: Unit) -> Weight {
        Weight { value, unit }
    }

    /// The exact weight in nanograms. `None` only if the value overflows `i128` (it cannot for an
    /// `i64` mantissa, but the arithmetic is checked anyway).
    pub fn nanograms(self) -> Option<i128> {
        let ng = i128::from(self.value.mantissa).checked_mul(self.unit.nanograms())?;
        Some(div_round(ng, 10i128.pow(u32::from(self.value.scale))))
    }

    /// Milligrams, rounded half away from zero (exact for g, kg, mg, t; lb and oz round).
    pub fn milligrams(self) -> Option<i64> {
        let ng = self.nanograms()?;
        i64::try_from(div_round(ng, 1_000_000)).ok()
    }

    /// Whole grams, rounded half away from zero.
    pub fn grams(self) -> Option<i64> {
        let ng = self.nanograms()?;
        i64::try_from(div_round(ng, 1_000_000_000)).ok()
    }

    /// True when the conversion to milligrams needs no rounding.
    pub fn is_exact_in_mg(self) -> bool {
        let ng = i128::from(self.value.mantissa) * self.unit.nanograms();
        ng % (10i128.pow(u32::from(self.value.scale)) * 1_000_000) == 0
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

/// Integer division rounding half away from zero.
pub(crate) fn div_round(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let q = n / d;
    let r = n % d;
    if r.abs() * 2 >= d.abs() {
        if (n < 0) != (d < 0) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_parse(text: &str, expected: Option<(i64, u8)>) {
        let got = Decimal::parse(text).ok().map(|d| (d.mantissa, d.scale));
        assert_eq!(got, expected, "parse {text:?}");
    }

    #[test]
    fn parses_device_decimals() {
        check_parse("  100.00", Some((10000, 2)));
        check_parse("-12.50", Some((-1250, 2)));
        check_parse("+0012.34", Some((1234, 2)));
        check_parse("- 5.0", Some((-50, 1)));
        check_parse("1560", Some((1560, 0)));
        check_parse("  1234.5 ", Some((12345, 1)));
        check_parse("0.1278", Some((1278, 4)));
        check_parse(".5", Some((5, 1)));
        check_parse("", None);
        check_parse("   ", None);
        check_parse("-", None);
        check_parse("12 34", None);
        check_parse("1.2.3", None);
        check_parse("12a", None);
        check_parse("99999999999999999999", None);
        check_parse("1.0000000001", None);
    }

    fn check_display(m: i64, s: u8, expected: &str) {
        assert_eq!(Decimal::new(m, s).unwrap().to_string(), expected);
    }

    #[test]
    fn displays_as_shown() {
        check_display(-1250, 2, "-12.50");
        check_display(5, 3, "0.005");
        check_display(-5, 3, "-0.005");
        check_display(1560, 0, "1560");
        check_display(0, 2, "0.00");
    }

    #[test]
    fn shifts_by_powers_of_ten() {
        let d = Decimal::new(356, 0).unwrap();
        assert_eq!(d.shifted(-1).unwrap().to_string(), "35.6");
        assert_eq!(d.shifted(2).unwrap().to_string(), "35600");
        let d = Decimal::new(1234, 2).unwrap();
        assert_eq!(d.shifted(1).unwrap().to_string(), "123.4");
        assert_eq!(d.shifted(3).unwrap().to_string(), "12340");
        assert!(Decimal::new(1, 9).unwrap().shifted(-1).is_none());
    }

    fn check_conv(text: &str, unit: Unit, mg: i64, g: i64) {
        let w = Weight::new(Decimal::parse(text).unwrap(), unit);
        assert_eq!(w.milligrams(), Some(mg), "{text} {unit} in mg");
        assert_eq!(w.grams(), Some(g), "{text} {unit} in g");
    }

    #[test]
    fn converts_units_exactly() {
        check_conv("4.139", Unit::Kg, 4_139_000, 4139);
        check_conv("100.00", Unit::G, 100_000, 100);
        check_conv("12.5", Unit::G, 12_500, 13);
        check_conv("-12.5", Unit::G, -12_500, -13);
        check_conv("1", Unit::Lb, 453_592, 454);
        check_conv("5.025", Unit::Lb, 2_279_302, 2279);
        check_conv("35.6", Unit::Oz, 1_009_243, 1009);
        check_conv("16", Unit::Oz, 453_592, 454);
        check_conv("1.5", Unit::T, 1_500_000_000, 1_500_000);
        check_conv("250", Unit::Mg, 250, 0);
        check_conv("5", Unit::Ct, 1000, 1);
        // 16 oz is exactly 1 lb, in nanograms.
        let oz = Weight::new(Decimal::parse("16").unwrap(), Unit::Oz);
        let lb = Weight::new(Decimal::parse("1").unwrap(), Unit::Lb);
        assert_eq!(oz.nanograms(), lb.nanograms());
        assert!(Weight::new(Decimal::parse("1.234").unwrap(), Unit::Kg).is_exact_in_mg());
        assert!(!lb.is_exact_in_mg());
    }

    #[test]
    fn unit_texts() {
        for (t, u) in [
            ("kg", Some(Unit::Kg)),
            (" g ", Some(Unit::G)),
            ("LB", Some(Unit::Lb)),
            ("lbs", Some(Unit::Lb)),
            ("oz", Some(Unit::Oz)),
            (" t", Some(Unit::T)),
            ("pcs", None),
            ("", None),
        ] {
            assert_eq!(Unit::from_text(t.as_bytes()), u, "{t:?}");
        }
    }

    #[test]
    fn compares_by_value() {
        let a = Decimal::parse("12.50").unwrap();
        let b = Decimal::parse("12.5").unwrap();
        assert_eq!(a.cmp_value(b), std::cmp::Ordering::Equal);
        assert_ne!(a, b);
    }
}
