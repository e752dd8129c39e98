//! AIM symbology identifiers (ISO/IEC 15424): `]` + code character + modifier.
//!
//! A scanner configured to transmit the AIM id tells us which symbology it read, and for
//! GS1 symbologies that the data is an element string with an implied leading FNC1.

use serde::Serialize;

/// A parsed AIM symbology identifier such as `]C1` or `]E0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct AimId {
    /// Code character: `A` Code 39, `C` Code 128, `E` EAN/UPC, `Q` QR, `d` Data Matrix…
    pub code: char,
    /// Modifier character (`0`–`9`, `A`–`Z`): options such as "GS1 mode".
    pub modifier: char,
}

/// What the data after an AIM id is, as far as matching cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AimContent {
    /// GS1 element string with an implied leading FNC1 (`]C1`, `]d2`, `]Q3`, `]e0`, `]J1`).
    Gs1,
    /// EAN-13 / UPC-A sent as 13 digits, or UPC-E (`]E0`).
    EanUpc,
    /// EAN-8 (`]E4`).
    Ean8,
    /// ITF-14 with a check digit (`]I1`).
    Itf14,
    /// EAN/UPC with a 2- or 5-digit add-on (`]E1`, `]E2`, `]E3`).
    EanAddOn,
    /// Anything else: plain text.
    Other,
}

impl AimId {
    /// Parse the first three characters of `raw` as an AIM id.
    ///
    /// Returns `None` when `raw` does not start with `]`, a letter and a modifier
    /// (an ASCII digit or letter).
    pub fn parse_prefix(raw: &str) -> Option<Self> {
        let b = raw.as_bytes();
        if b.len() >= 3
            && b[0] == b']'
            && b[1].is_ascii_alphabetic()
            && b[2].is_ascii_alphanumeric()
        {
            Some(Self {
                code: char::from(b[1]),
                modifier: char::from(b[2]),
            })
        } else {
            None
        }
    }

    /// What kind of content follows this identifier.
    pub fn content(self) -> AimContent {
        match (self.code, self.modifier) {
            ('C', '1') | ('d', '2') | ('Q', '3') | ('e', '0') | ('J', '1') => AimContent::Gs1,
            ('E', '0') => AimContent::EanUpc,
            ('E', '4') => AimContent::Ean8,
            ('E', '1' | '2' | '3') => AimContent::EanAddOn,
            ('I', '1') => AimContent::Itf14,
            _ => AimContent::Other,
        }
    }

    /// Whether the data is a GS1 element string.
    pub fn is_gs1(self) -> bool {
        self.content() == AimContent::Gs1
    }

    /// Human name of the symbology, e.g. `"GS1-128"`, `"EAN-13/UPC-A"`, `"QR Code"`.
    pub fn symbology_name(self) -> &'static str {
        match (self.code, self.modifier) {
            ('C', '1') => "GS1-128",
            ('C', _) => "Code 128",
            ('E', '0') => "EAN-13/UPC-A/UPC-E",
            ('E', '4') => "EAN-8",
            ('E', _) => "EAN/UPC with add-on",
            ('I', '1') => "ITF-14",
            ('I', _) => "Interleaved 2 of 5",
            ('A', _) => "Code 39",
            ('G', _) => "Code 93",
            ('F', _) => "Codabar",
            ('Q', '3') => "GS1 QR Code",
            ('Q', _) => "QR Code",
            ('d', '2') => "GS1 DataMatrix",
            ('d', _) => "Data Matrix",
            ('e', _) => "GS1 DataBar",
            ('J', '1') => "GS1 DotCode",
            ('J', _) => "DotCode",
            ('L', _) => "PDF417",
            ('z', _) => "Aztec",
            ('X', _) => "Other/unknown",
            _ => "Unknown symbology",
        }
    }
}

impl std::fmt::Display for AimId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "]{}{}", self.code, self.modifier)
    }
}

/// Split a raw scan into its AIM id (if present) and the data after it.
pub fn split_aim(raw: &str) -> (Option<AimId>, &str) {
    match AimId::parse_prefix(raw) {
        // The three prefix bytes are ASCII, so slicing at 3 is on a char boundary.
        Some(id) => (Some(id), raw.get(3..).unwrap_or("")),
        None => (None, raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Option<(&str, AimContent, &str)>, rest: &str) {
        let (id, data) = split_aim(raw);
        assert_eq!(data, rest, "data of {raw:?}");
        match (id, expected) {
            (None, None) => {}
            (Some(id), Some((text, content, name))) => {
                assert_eq!(id.to_string(), text);
                assert_eq!(id.content(), content, "{raw:?}");
                assert_eq!(id.symbology_name(), name, "{raw:?}");
            }
            (got, want) => panic!("{raw:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn aim_ids() {
        check(
            "]C1011234",
            Some(("]C1", AimContent::Gs1, "GS1-128")),
            "011234",
        );
        check(
            "]C0ABC",
            Some(("]C0", AimContent::Other, "Code 128")),
            "ABC",
        );
        check(
            "]E06901234567892",
            Some(("]E0", AimContent::EanUpc, "EAN-13/UPC-A/UPC-E")),
            "6901234567892",
        );
        check(
            "]E496385074",
            Some(("]E4", AimContent::Ean8, "EAN-8")),
            "96385074",
        );
        check(
            "]Q3010",
            Some(("]Q3", AimContent::Gs1, "GS1 QR Code")),
            "010",
        );
        check(
            "]Q1http",
            Some(("]Q1", AimContent::Other, "QR Code")),
            "http",
        );
        check(
            "]d2010",
            Some(("]d2", AimContent::Gs1, "GS1 DataMatrix")),
            "010",
        );
        check(
            "]e0010",
            Some(("]e0", AimContent::Gs1, "GS1 DataBar")),
            "010",
        );
        check(
            "]I100012345678905",
            Some(("]I1", AimContent::Itf14, "ITF-14")),
            "00012345678905",
        );
        check(
            "]E3123",
            Some(("]E3", AimContent::EanAddOn, "EAN/UPC with add-on")),
            "123",
        );
        check("]C", None, "]C");
        check("]1AB", None, "]1AB");
        check("]C\u{1d}x", None, "]C\u{1d}x");
        check("ABC", None, "ABC");
        check("", None, "");
        check("]文字", None, "]文字");
    }
}
