#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Barcode semantics across the pipeline and bounded fuzzing of the GS1 parser and
//! normalisation: no panic on any input, errors carry positions inside the input, and
//! element strings built from valid parts round-trip.

use domain::barcode::gs1::{self, Gs1Error};
use domain::barcode::{analyze, gs1_check_digit, normalize_for_match, BarcodeError};
use proptest::prelude::*;

fn gtin14(payload13: &str) -> String {
    format!("{payload13}{}", gs1_check_digit(payload13).unwrap())
}

#[test]
fn gs1_general_specification_examples() {
    // GS1 General Specifications §3 / §7 examples.
    let es = gs1::parse("0195012345678903\u{1d}10ABC123\u{1d}17250630").unwrap();
    assert_eq!(es.get("01"), Some("95012345678903"));
    assert_eq!(es.get("10"), Some("ABC123"));
    assert_eq!(es.get("17"), Some("250630"));
    let es = gs1::parse("00106141412345678908").unwrap();
    assert_eq!(es.get("00"), Some("106141412345678908"));
    let es = gs1::parse("(01)09521234543213(3103)000123").unwrap();
    assert_eq!(es.get("3103"), Some("000123"));
    assert!(matches!(
        gs1::parse("0109521234543214"),
        Err(Gs1Error::CheckDigit { .. })
    ));
}

#[test]
fn the_three_forms_of_one_product_match() {
    let keys: Vec<String> = [
        "6901234567892",
        "]E06901234567892",
        "06901234567892",
        "]C10106901234567892",
        "]d2\u{1d}0106901234567892\u{1d}21ABC",
        "]Q30106901234567892",
        "(01)06901234567892",
    ]
    .iter()
    .map(|c| normalize_for_match(c).unwrap())
    .collect();
    assert!(keys.iter().all(|k| k == "06901234567892"), "{keys:?}");
    // Different products never collide, and no prefix matching happens.
    assert_ne!(normalize_for_match("690123456789").unwrap(), keys[0]);
    assert_ne!(normalize_for_match("6901234567892X").unwrap(), keys[0]);
}

#[test]
fn analyze_waybills_of_the_demo_orders() {
    for (code, courier) in [
        ("SF1000000007907", "sf"),
        ("75310000007142", "zto"),
        ("JDVA00000000633", "jd"),
        ("YT8000000004372", "yto"),
    ] {
        let info = analyze(code);
        assert_eq!(info.courier.map(|c| c.format), Some(courier), "{code}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// Arbitrary input never panics; error positions are within the input.
    #[test]
    fn normalize_never_panics(raw in "(\\]([A-Za-z][0-9])?)?[0-9A-Za-z\\x1d ()\\-]{0,60}") {
        let n = raw.chars().count();
        match normalize_for_match(&raw) {
            Ok(k) => prop_assert!(!k.is_empty()),
            Err(BarcodeError::Whitespace { pos, .. } | BarcodeError::Control { pos, .. }) => prop_assert!(pos < n),
            Err(_) => {}
        }
        let _ = analyze(&raw);
    }

    /// The GS1 parser never panics on digit-heavy input with separators.
    #[test]
    fn gs1_parser_never_panics(data in "[0-9\\x1d]{0,80}[A-Z]{0,5}") {
        match gs1::parse(&data) {
            Ok(es) => prop_assert!(!es.elements.is_empty()),
            Err(Gs1Error::UnknownAi { pos, .. } | Gs1Error::TooShort { pos, .. } | Gs1Error::MissingSeparator { pos, .. }) => {
                prop_assert!(pos <= data.chars().count());
            }
            Err(_) => {}
        }
    }

    /// Element strings assembled from valid parts parse back to the same values.
    #[test]
    fn gs1_round_trip(
        payload in "[0-9]{13}",
        lot in "[A-Z0-9]{1,20}",
        serial in "[A-Za-z0-9]{1,20}",
        yy in 0u8..100, mm in 1u8..13, dd in 0u8..29,
        kg in 0u32..1_000_000,
        redundant in any::<bool>(),
    ) {
        let gtin = gtin14(&payload);
        let sep = if redundant { "\u{1d}" } else { "" };
        let data = format!(
            "01{gtin}{sep}17{yy:02}{mm:02}{dd:02}3102{kg:06}10{lot}\u{1d}21{serial}"
        );
        let es = gs1::parse(&data).unwrap();
        prop_assert_eq!(es.get("01"), Some(gtin.as_str()));
        prop_assert_eq!(es.get("10"), Some(lot.as_str()));
        prop_assert_eq!(es.get("21"), Some(serial.as_str()));
        let kg_text = format!("{kg:06}");
        prop_assert_eq!(es.get("3102"), Some(kg_text.as_str()));
        prop_assert_eq!(normalize_for_match(&format!("]C1{data}")).unwrap(), gtin);
    }
}
