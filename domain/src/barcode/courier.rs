//! Courier waybill recognition, as a hint only.
//!
//! Chinese express waybills are recognised by pattern (no public check-digit rules exist):
//! SF, ZTO, YTO, Yunda, STO, JD, EMS/China Post, J&T, Deppon, Cainiao (patterns of the
//! Courier-Validation rule set, 2024; the older "SF = 12 digits" generation is listed last).
//! International numbers are recognised with their check digits, following the rules of
//! jkeen/tracking_number_data (MIT): UPS 1Z and waybill, FedEx (12, 15, 22, 32, 34, SSCC-18,
//! GSN), USPS (20, legacy, IMpb with optional 420+ZIP routing), DHL (Express mod 7, piece
//! id, e-commerce) and UPU S10.
//!
//! Patterns overlap (a 15-digit number starting `43` fits both Yunda and STO; any 12 digits
//! might be a FedEx number), so [`recognize`] returns the first match and [`candidates`]
//! returns all of them. On the bench, the courier should come from context (which template
//! or API issued the waybill); this hint is a sanity check.

use serde::Serialize;

/// A courier company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Courier {
    /// 顺丰速运 SF Express.
    Sf,
    /// 中通快递 ZTO Express.
    Zto,
    /// 圆通速递 YTO Express.
    Yto,
    /// 韵达快递 Yunda Express.
    Yunda,
    /// 申通快递 STO Express.
    Sto,
    /// 京东物流 JD Logistics.
    Jd,
    /// 中国邮政 EMS / China Post (domestic).
    Ems,
    /// 极兔速递 J&T Express.
    Jt,
    /// 德邦快递 Deppon.
    Deppon,
    /// 菜鸟 Cainiao.
    Cainiao,
    /// UPS.
    Ups,
    /// FedEx.
    Fedex,
    /// United States Postal Service.
    Usps,
    /// DHL.
    Dhl,
    /// A postal operator's UPU S10 item identifier (incl. China Post EMS international).
    Upu,
}

impl Courier {
    /// Display name (Chinese name for Chinese couriers).
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Sf => "顺丰速运",
            Self::Zto => "中通快递",
            Self::Yto => "圆通速递",
            Self::Yunda => "韵达快递",
            Self::Sto => "申通快递",
            Self::Jd => "京东物流",
            Self::Ems => "中国邮政/EMS",
            Self::Jt => "极兔速递",
            Self::Deppon => "德邦快递",
            Self::Cainiao => "菜鸟",
            Self::Ups => "UPS",
            Self::Fedex => "FedEx",
            Self::Usps => "USPS",
            Self::Dhl => "DHL",
            Self::Upu => "UPU S10 (postal)",
        }
    }
}

/// A recognised waybill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CourierHint {
    /// The courier.
    pub courier: Courier,
    /// The number format, e.g. `"sf"`, `"ups"`, `"fedex_12"`, `"usps_impb"`, `"s10"`.
    pub format: &'static str,
    /// Whether a check digit was verified (false for pattern-only formats).
    pub check_digit_verified: bool,
    /// The number with whitespace removed and letters upper-cased.
    pub number: String,
}

/// Digits value of an alphanumeric character for the mod-10 rules (`(ord − 3) mod 10` for letters).
fn char_value(c: u8) -> u32 {
    if c.is_ascii_digit() {
        u32::from(c - b'0')
    } else {
        (u32::from(c) + 7) % 10 // (c − 3) mod 10 without underflow: +10 − 3.
    }
}

/// tracking_number_data `mod10`: index 0-based from the left (or right when `reverse`),
/// even positions × `evens`, odd × `odds`; check = (10 − sum mod 10) mod 10.
fn mod10(serial: &[u8], check: u8, evens: u32, odds: u32, reverse: bool) -> bool {
    let vals: Vec<u32> = if reverse {
        serial.iter().rev().map(|&c| char_value(c)).collect()
    } else {
        serial.iter().map(|&c| char_value(c)).collect()
    };
    let sum: u32 = vals
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { v * evens } else { v * odds })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check.wrapping_sub(b'0'))
}

/// tracking_number_data `sum_product_with_weightings_and_modulo` (FedEx).
fn weighted(serial: &[u8], check: u8, weights: &[u32], m1: u32, m2: u32) -> bool {
    let sum: u32 = serial
        .iter()
        .zip(weights.iter().cycle())
        .map(|(&c, w)| char_value(c) * w)
        .sum();
    sum % m1 % m2 == u32::from(check.wrapping_sub(b'0'))
}

/// DHL Express mod 7: the serial as an integer, mod 7, equals the check digit.
fn mod7(serial: &[u8], check: u8) -> bool {
    let rem = serial.iter().fold(0u32, |acc, &c| {
        (acc * 10 + u32::from(c.wrapping_sub(b'0'))) % 7
    });
    rem == u32::from(check.wrapping_sub(b'0'))
}

/// UPU S10 check digit over 8 serial digits.
fn s10(serial: &[u8], check: u8) -> bool {
    const W: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = serial
        .iter()
        .zip(W)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    let expected = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        n => n,
    };
    expected == u32::from(check.wrapping_sub(b'0'))
}

const FEDEX_11: [u32; 11] = [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1];
const FEDEX_13: [u32; 13] = [1, 7, 3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1];

/// Country codes accepted in S10 identifiers (UPU members, from tracking_number_data).
const S10_COUNTRIES: &str = "AE AF AG AL AM AO AR AT AU AZ BA BB BD BE BF BG BH BI BJ BN BO BR \
BS BT BW BY BZ CA CD CF CG CH CI CL CM CN CO CR CU CV CY CZ DE DJ DK DM DO DZ EC EE EG ER ES ET \
FI FJ FR GA GB GD GE GH GM GN GQ GR GT GW GY HK HN HR HT HU ID IE IL IN IQ IR IS IT JM JO JP KE \
KG KH KI KM KN KP KR KW KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MG MK ML MM MN MR MT MU \
MV MW MX MY MZ NA NE NG NI NL NO NP NR NZ OM PA PE PG PH PK PL PT PY QA RO RS RU RW SA SB SC SD \
SE SG SI SK SL SM SN SO SR SS ST SV SY SZ TD TG TH TJ TL TM TN TO TR TT TV TZ UA UG US UY UZ VA \
VC VE VN VU WS YE ZA ZM ZW";

fn all_digits(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

fn all_upper(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_uppercase)
}

fn all_alnum(s: &[u8]) -> bool {
    s.iter()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// `prefix` + `n` digits exactly.
fn prefix_digits(s: &[u8], prefix: &[u8], n: usize) -> bool {
    s.len() == prefix.len() + n && s.starts_with(prefix) && all_digits(&s[prefix.len()..])
}

/// One recogniser: returns `Some(check_digit_verified)` on a match.
type Rule = fn(&[u8]) -> Option<bool>;

fn sf(s: &[u8]) -> Option<bool> {
    (s.len() == 15 && s.starts_with(b"SF") && all_alnum(&s[2..3]) && all_digits(&s[3..]))
        .then_some(false)
}
fn zto(s: &[u8]) -> Option<bool> {
    (s.len() == 14 && s[0] == b'7' && matches!(s[1], b'3'..=b'6' | b'8') && all_digits(s))
        .then_some(false)
}
fn yto(s: &[u8]) -> Option<bool> {
    prefix_digits(s, b"YT", 13).then_some(false)
}
fn yunda(s: &[u8]) -> Option<bool> {
    let ok = all_digits(s)
        && ((s.len() == 15 && matches!(s[0], b'3' | b'4')) || (s.len() == 13 && s[0] == b'5'));
    ok.then_some(false)
}
fn sto(s: &[u8]) -> Option<bool> {
    let ok = all_digits(s)
        && (14..=17).contains(&s.len())
        && (s.starts_with(b"77") || s.starts_with(b"43"));
    ok.then_some(false)
}
fn jd(s: &[u8]) -> Option<bool> {
    (s.len() == 15 && s.starts_with(b"JD") && all_alnum(&s[2..4]) && all_digits(&s[4..]))
        .then_some(false)
}
fn ems(s: &[u8]) -> Option<bool> {
    let digits13 = s.len() == 13 && matches!(s[0], b'9' | b'8' | b'1') && all_digits(s);
    let p = s.len() == 13 && s[0] == b'P' && s[1].is_ascii_uppercase() && all_digits(&s[2..]);
    (digits13 || p).then_some(false)
}
fn jt(s: &[u8]) -> Option<bool> {
    prefix_digits(s, b"JT", 13).then_some(false)
}
fn deppon(s: &[u8]) -> Option<bool> {
    prefix_digits(s, b"DPK", 12).then_some(false)
}
fn cainiao(s: &[u8]) -> Option<bool> {
    prefix_digits(s, b"621", 12).then_some(false)
}
fn sf_legacy(s: &[u8]) -> Option<bool> {
    (s.len() == 12 && all_digits(s)).then_some(false)
}

fn ups_1z(s: &[u8]) -> Option<bool> {
    (s.len() == 18
        && s.starts_with(b"1Z")
        && all_alnum(&s[2..17])
        && s[17].is_ascii_digit()
        && mod10(&s[2..17], s[17], 1, 2, false))
    .then_some(true)
}
fn ups_waybill(s: &[u8]) -> Option<bool> {
    (s.len() == 11
        && b"AHJKTV".contains(&s[0])
        && all_digits(&s[1..])
        && mod10(&s[1..10], s[10], 1, 2, false))
    .then_some(true)
}
fn fedex_12(s: &[u8]) -> Option<bool> {
    (s.len() == 12 && all_digits(s) && weighted(&s[..11], s[11], &FEDEX_11, 11, 10)).then_some(true)
}
fn fedex_ground(s: &[u8]) -> Option<bool> {
    (s.len() == 15 && all_digits(s) && mod10(&s[..14], s[14], 1, 3, false)).then_some(true)
}
fn fedex_sscc18(s: &[u8]) -> Option<bool> {
    (s.len() == 18 && all_digits(s) && mod10(&s[2..17], s[17], 3, 1, false)).then_some(true)
}
fn fedex_96(s: &[u8]) -> Option<bool> {
    (s.len() == 22 && s.starts_with(b"96") && all_digits(s) && mod10(&s[7..21], s[21], 1, 3, false))
        .then_some(true)
}
fn fedex_34(s: &[u8]) -> Option<bool> {
    (s.len() == 34
        && all_digits(s)
        && s[0] != b'9'
        && weighted(&s[20..33], s[33], &FEDEX_13, 11, 10))
    .then_some(true)
}
fn fedex_gsn(s: &[u8]) -> Option<bool> {
    (s.len() == 34
        && s.starts_with(b"96")
        && all_digits(s)
        && weighted(&s[20..33], s[33], &FEDEX_13, 11, 10))
    .then_some(true)
}
fn fedex_astra(s: &[u8]) -> Option<bool> {
    (s.len() == 32
        && s[0] == b'3'
        && all_digits(s)
        && weighted(&s[16..27], s[27], &FEDEX_11, 11, 10))
    .then_some(true)
}
fn usps_20(s: &[u8]) -> Option<bool> {
    (s.len() == 20 && all_digits(s) && mod10(&s[..19], s[19], 3, 1, false)).then_some(true)
}

/// The number without an optional `420` + ZIP (5 or 9 digits) routing prefix: every split.
fn usps_cores(s: &[u8]) -> Vec<&[u8]> {
    let mut v = vec![s];
    if s.starts_with(b"420") {
        for zip in [5, 9] {
            if s.len() > 3 + zip && all_digits(&s[3..3 + zip]) {
                v.push(&s[3 + zip..]);
            }
        }
    }
    v
}

fn usps_legacy(s: &[u8]) -> Option<bool> {
    usps_cores(s)
        .into_iter()
        .any(|core| {
            if !all_digits(core) {
                return false;
            }
            let (serial, check) = match core.len() {
                22 if core.starts_with(b"91") => (core[..21].to_vec(), core[21]),
                20 => ([b"91", &core[..19]].concat(), core[19]),
                _ => return false,
            };
            mod10(&serial, check, 3, 1, false)
        })
        .then_some(true)
}

/// IMpb core: application id, 3-digit service type, mailer id (9 digits starting 9 or
/// 6 digits starting 0–8), package id, check digit (GS1 mod 10).
fn impb_core(core: &[u8], app_ids: &[&[u8]]) -> bool {
    if !all_digits(core) || core.len() < 12 || !app_ids.iter().any(|a| core.starts_with(a)) {
        return false;
    }
    let long_mailer = core[5] == b'9';
    // Application id 92 needs a 9-digit mailer id, 93 a 6-digit one.
    if (core.starts_with(b"92") && !long_mailer) || (core.starts_with(b"93") && long_mailer) {
        return false;
    }
    let pkg_lens: &[usize] = match (long_mailer, core.starts_with(b"94")) {
        (true, true) => &[15, 11, 7],
        (true, false) => &[11, 7],
        (false, _) => &[14, 10],
    };
    let mailer = if long_mailer { 9 } else { 6 };
    let ok_len = pkg_lens
        .iter()
        .any(|p| 2 + 3 + mailer + p + 1 == core.len());
    ok_len && mod10(&core[..core.len() - 1], core[core.len() - 1], 3, 1, true)
}

fn usps_impb(s: &[u8]) -> Option<bool> {
    usps_cores(s)
        .into_iter()
        .any(|core| impb_core(core, &[b"92", b"93", b"94", b"95"]))
        .then_some(true)
}

fn dhl_express(s: &[u8]) -> Option<bool> {
    (matches!(s.len(), 10 | 11) && all_digits(s) && mod7(&s[..s.len() - 1], s[s.len() - 1]))
        .then_some(true)
}
fn dhl_piece(s: &[u8]) -> Option<bool> {
    let ok = s.first() == Some(&b'J')
        && [3usize, 4].iter().any(|&p| {
            s.len() > p
                && all_upper(&s[1..p])
                && all_digits(&s[p..])
                && matches!(s.len() - p, 9 | 10)
        });
    ok.then_some(false)
}
fn dhl_ecommerce(s: &[u8]) -> Option<bool> {
    const PREFIXES: [&[u8]; 10] = [
        b"GM", b"LX", b"RX", b"UV", b"CN", b"SG", b"TH", b"IN", b"HK", b"MY",
    ];
    let ok = s.len() >= 12
        && s.len() <= 41
        && PREFIXES.iter().any(|p| s.starts_with(p))
        && all_alnum(&s[2..])
        && s[2..].iter().any(u8::is_ascii_digit);
    ok.then_some(false)
}
fn dhl_ecommerce_14(s: &[u8]) -> Option<bool> {
    (s.len() == 14 && all_digits(s)).then_some(false)
}
fn upu_s10(s: &[u8]) -> Option<bool> {
    let ok = s.len() == 13
        && all_upper(&s[..2])
        && all_digits(&s[2..11])
        && all_upper(&s[11..])
        && S10_COUNTRIES
            .split_whitespace()
            .any(|c| c.as_bytes() == &s[11..])
        && s10(&s[2..10], s[10]);
    ok.then_some(true)
}

/// All rules, in priority order.
const RULES: &[(Courier, &str, Rule)] = &[
    (Courier::Sf, "sf", sf),
    (Courier::Zto, "zto", zto),
    (Courier::Yto, "yto", yto),
    (Courier::Yunda, "yunda", yunda),
    (Courier::Sto, "sto", sto),
    (Courier::Jd, "jd", jd),
    (Courier::Ems, "ems", ems),
    (Courier::Jt, "jt", jt),
    (Courier::Deppon, "deppon", deppon),
    (Courier::Cainiao, "cainiao", cainiao),
    (Courier::Ups, "ups", ups_1z),
    (Courier::Ups, "ups_waybill", ups_waybill),
    (Courier::Upu, "s10", upu_s10),
    (Courier::Usps, "usps_impb", usps_impb),
    (Courier::Usps, "usps_20", usps_20),
    (Courier::Usps, "usps_legacy", usps_legacy),
    (Courier::Fedex, "fedex_12", fedex_12),
    (Courier::Fedex, "fedex_ground", fedex_ground),
    (Courier::Fedex, "fedex_ground_sscc_18", fedex_sscc18),
    (Courier::Fedex, "fedex_ground_96", fedex_96),
    (Courier::Fedex, "fedex_ground_gsn", fedex_gsn),
    (Courier::Fedex, "fedex_34", fedex_34),
    (Courier::Fedex, "fedex_astra_32", fedex_astra),
    (Courier::Dhl, "dhl_express", dhl_express),
    (Courier::Dhl, "dhl_express_piece_id", dhl_piece),
    (Courier::Dhl, "dhl_ecommerce", dhl_ecommerce),
    (Courier::Dhl, "dhl_ecommerce_14", dhl_ecommerce_14),
    (Courier::Sf, "sf_legacy_12", sf_legacy),
];

/// Remove whitespace and upper-case; `None` when anything but ASCII letters/digits remains.
fn compact(text: &str) -> Option<String> {
    let s: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(s)
}

/// Every courier format the text matches, in priority order (whitespace ignored).
pub fn candidates(text: &str) -> Vec<CourierHint> {
    let Some(s) = compact(text) else {
        return Vec::new();
    };
    RULES
        .iter()
        .filter_map(|(courier, format, rule)| {
            rule(s.as_bytes()).map(|check_digit_verified| CourierHint {
                courier: *courier,
                format,
                check_digit_verified,
                number: s.clone(),
            })
        })
        .collect()
}

/// The first courier format the text matches (Chinese couriers first).
pub fn recognize(text: &str) -> Option<CourierHint> {
    candidates(text).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<(&str, bool)>) {
        let got = recognize(text).map(|h| (h.format, h.check_digit_verified));
        assert_eq!(got, expected, "text {text:?}");
    }

    #[test]
    fn chinese_patterns() {
        check("SF1234567890123", Some(("sf", false)));
        check("sf1234567890123", Some(("sf", false)));
        check("73123456789012", Some(("zto", false)));
        check("YT1234567890123", Some(("yto", false)));
        check("312345678901234", Some(("yunda", false)));
        check("5123456789012", Some(("yunda", false)));
        check("773123456789012", Some(("sto", false)));
        check("JDAB12345678901", Some(("jd", false)));
        check("9123456789012", Some(("ems", false)));
        check("PA12345678901", Some(("ems", false)));
        check("JT1234567890123", Some(("jt", false)));
        check("DPK123456789012", Some(("deppon", false)));
        check("621123456789012", Some(("cainiao", false)));
        check("SKU-001", None);
        check("", None);
        check("顺丰", None);
    }

    #[test]
    fn international_with_check_digits() {
        check("1Z5R89390357567127", Some(("ups", true)));
        check("1Z5R89390357567128", None);
        check("RB123456785GB", Some(("s10", true)));
        check("EA123456785CN", Some(("s10", true)));
        check("RB123456786US", None);
        check("9400111206206406260787", Some(("usps_impb", true)));
        check("JJD0099999999", Some(("dhl_express_piece_id", false)));
    }
}

#[cfg(test)]
mod dataset_tests {
    use super::*;

    /// Test numbers of jkeen/tracking_number_data (MIT), kept verbatim in `domain/data/`.
    const TSV: &str = include_str!("../../data/tracking_numbers.tsv");

    #[test]
    fn tracking_number_data_vectors() {
        let mut checked = 0;
        for (i, line) in TSV.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            assert!(cols.len() >= 4, "line {}: {line:?}", i + 1);
            let (number, expected, courier, id) = (cols[0], cols[1], cols[2], cols[3]);
            if !["ups", "fedex", "usps", "dhl", "s10"].contains(&courier) {
                continue;
            }
            // The UPS waybill entry has no id in the dataset.
            let id = if id == "None" { "ups_waybill" } else { id };
            let id = match id {
                "usps_impb_n" | "usps_impb_c" => "usps_impb",
                other => other,
            };
            let formats: Vec<&str> = candidates(number).iter().map(|h| h.format).collect();
            match expected {
                "valid" => assert!(
                    formats.contains(&id),
                    "line {}: {number:?} should be {id}, got {formats:?}",
                    i + 1
                ),
                "invalid" => assert!(
                    !formats.contains(&id),
                    "line {}: {number:?} must not be {id}, got {formats:?}",
                    i + 1
                ),
                other => panic!("line {}: bad expectation {other:?}", i + 1),
            }
            checked += 1;
        }
        assert!(checked > 130, "only {checked} vectors checked");
    }
}
