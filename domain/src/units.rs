//! Value types for money and weight. Integers only: no floats for money or weight.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A weight in whole grams. Negative values are allowed (a scale can read below zero),
/// but the verification flow never accepts them as a parcel weight.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Grams(pub i64);

impl Grams {
    /// Zero grams.
    pub const ZERO: Grams = Grams(0);

    /// The weight in grams.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Formats as kilograms with three decimals, e.g. `1.250`. Exact (integer arithmetic).
    pub fn kg_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:03}", a / 1000, a % 1000)
    }
}

impl fmt::Display for Grams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} g", self.0)
    }
}

impl std::ops::Add for Grams {
    type Output = Grams;
    fn add(self, rhs: Grams) -> Grams {
        Grams(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::Sub for Grams {
    type Output = Grams;
    fn sub(self, rhs: Grams) -> Grams {
        Grams(self.0.saturating_sub(rhs.0))
    }
}

/// An amount of money in fen (1/100 yuan). Integer only.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// The amount in fen.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Formats as yuan with two decimals, e.g. `28.00`. Exact (integer arithmetic).
    pub fn yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }

    /// Parses a yuan amount such as `12`, `12.5` or `1999.00` into fen, exactly.
    /// More than two decimals is an error rather than a silent rounding.
    pub fn parse_yuan(s: &str) -> Option<Fen> {
        let s = s.trim();
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || frac.len() > 2
        {
            return None;
        }
        let i: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut f: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().ok()?
        };
        if frac.len() == 1 {
            f *= 10;
        }
        let v = i.checked_mul(100)?.checked_add(f)?;
        Some(Fen(if neg { -v } else { v }))
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}元", self.yuan_string())
    }
}

impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0.saturating_add(rhs.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_round_trip() {
        assert_eq!(Fen::parse_yuan("1999.00"), Some(Fen(199_900)));
        assert_eq!(Fen::parse_yuan("12.5"), Some(Fen(1250)));
        assert_eq!(Fen::parse_yuan("-0.05"), Some(Fen(-5)));
        assert_eq!(Fen::parse_yuan("1.005"), None);
        assert_eq!(Fen::parse_yuan("abc"), None);
        assert_eq!(Fen(2800).yuan_string(), "28.00");
        assert_eq!(Fen(-5).yuan_string(), "-0.05");
    }

    #[test]
    fn kg_format() {
        assert_eq!(Grams(1250).kg_string(), "1.250");
        assert_eq!(Grams(-20).kg_string(), "-0.020");
    }
}
