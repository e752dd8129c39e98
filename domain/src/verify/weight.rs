//! The expected-weight check: expected = Σ unit weight × units + packaging, tolerance =
//! max(absolute grams, percent of expected). Integer arithmetic only.

use crate::units::Grams;
use serde::{Deserialize, Serialize};

/// Default absolute tolerance: 20 g.
pub const DEFAULT_TOLERANCE_ABS_G: i64 = 20;
/// Default relative tolerance: 3 % (in basis points, 1 bp = 0.01 %).
pub const DEFAULT_TOLERANCE_BP: u32 = 300;

/// The allowed deviation between the weighed parcel and the expected weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tolerance {
    /// Absolute tolerance in grams.
    pub abs_g: Grams,
    /// Relative tolerance in basis points of the expected weight (300 = 3 %).
    pub percent_bp: u32,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            abs_g: Grams(DEFAULT_TOLERANCE_ABS_G),
            percent_bp: DEFAULT_TOLERANCE_BP,
        }
    }
}

impl Tolerance {
    /// The allowed deviation for an expected weight: max(abs, expected × percent), the percent
    /// part rounded down (the stricter choice).
    pub fn allowed(&self, expected: Grams) -> Grams {
        let rel = i128::from(expected.get().max(0)) * i128::from(self.percent_bp) / 10_000;
        let rel = i64::try_from(rel).unwrap_or(i64::MAX);
        Grams(self.abs_g.get().max(rel))
    }

    /// Checks a captured weight against the expected weight.
    pub fn check(&self, expected: Grams, weight: Grams) -> WeightVerdict {
        let tolerance = self.allowed(expected);
        let deviation = weight - expected;
        let ok = deviation.get().unsigned_abs() <= tolerance.get().unsigned_abs();
        WeightVerdict {
            expected,
            weight,
            tolerance,
            deviation,
            ok,
        }
    }
}

/// The result of a weight check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightVerdict {
    /// Expected parcel weight.
    pub expected: Grams,
    /// Captured weight.
    pub weight: Grams,
    /// Allowed deviation either way.
    pub tolerance: Grams,
    /// Captured minus expected.
    pub deviation: Grams,
    /// Whether the deviation is within the tolerance.
    pub ok: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(expected: i64, weight: i64, ok: bool, tolerance: i64) {
        let v = Tolerance::default().check(Grams(expected), Grams(weight));
        assert_eq!(
            (v.ok, v.tolerance),
            (ok, Grams(tolerance)),
            "expected {expected} g, weighed {weight} g"
        );
        assert_eq!(v.deviation, Grams(weight - expected));
    }

    #[test]
    fn default_is_max_of_20_g_and_3_percent() {
        check(100, 120, true, 20);
        check(100, 121, false, 20);
        check(100, 80, true, 20);
        check(100, 79, false, 20);
        // 3 % of 1000 = 30 g > 20 g.
        check(1000, 1030, true, 30);
        check(1000, 1031, false, 30);
        check(1000, 970, true, 30);
        // 3 % of 1234 = 37.02 → 37 (rounded down).
        check(1234, 1271, true, 37);
        check(1234, 1272, false, 37);
        check(0, 20, true, 20);
    }

    #[test]
    fn custom_tolerance() {
        let t = Tolerance {
            abs_g: Grams(5),
            percent_bp: 150,
        };
        assert_eq!(t.allowed(Grams(10_000)), Grams(150));
        assert_eq!(t.allowed(Grams(100)), Grams(5));
        assert_eq!(t.allowed(Grams(-5)), Grams(5));
    }
}
