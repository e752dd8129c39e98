//! Unit tests of the rate engine: every pricing model and rounding rule at and around its
//! boundaries, volumetric rules, minimum charge, surcharges, insurance, versions, validation,
//! explanations and rate shopping.

use super::*;
use crate::region::{CityCode, ProvinceCode, Region};
use crate::units::{Fen, Grams};
use chrono::{DateTime, Utc};
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn card_json(v: serde_json::Value) -> RateCard {
    serde_json::from_value(v).unwrap()
}

fn fa(first_g: i64, first_fen: i64, step_g: i64, step_fen: i64) -> serde_json::Value {
    json!({"model": "first_additional", "first_g": first_g, "first_fen": first_fen,
           "step_g": step_g, "step_fen": step_fen})
}

/// A card with one zone for everything (default zone) priced by `pricing`.
fn simple(pricing: serde_json::Value, extra: serde_json::Value) -> RateCard {
    let mut v = json!({
        "carrier": "T", "service": "std", "effective_from": "2025-01-01T00:00:00+08:00",
        "zones": [{"name": "全国", "pricing": pricing}], "default_zone": "全国"
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in e {
            o.insert(k.clone(), val.clone());
        }
    }
    card_json(v)
}

fn book(cards: Vec<RateCard>) -> RateBook {
    RateBook::new(cards).unwrap()
}

fn gd() -> Region {
    Region::province(ProvinceCode::new(44).unwrap())
}

fn at() -> DateTime<Utc> {
    t("2025-06-01T10:00:00+08:00")
}

fn quote_total(b: &RateBook, parcel: Parcel) -> Result<i64, NoQuote> {
    let shop = b.shop(&gd(), &parcel, at(), &[]);
    match (shop.quotes.first(), shop.skipped.first()) {
        (Some(q), _) => Ok(q.total_fen.0),
        (None, Some(s)) => Err(s.reason),
        (None, None) => panic!("no quote and no skip"),
    }
}

fn w(g: i64) -> Parcel {
    Parcel {
        actual: Grams(g),
        ..Parcel::default()
    }
}

#[test]
fn rounding_rules_at_boundaries() {
    fn check(step: i64, tol: i64, min: i64, input: i64, expected: i64) {
        let r = Rounding {
            step_g: Grams(step),
            tolerance_g: Grams(tol),
            min_g: Grams(min),
        };
        assert_eq!(
            r.apply(Grams(input)),
            Grams(expected),
            "step {step} tol {tol} min {min} input {input}"
        );
    }
    // No rounding.
    check(1, 0, 0, 2351, 2351);
    check(1, 0, 0, 0, 0);
    // 10 g (0.01 kg), 100 g (0.1 kg), 500 g, 1000 g: exact stays, one gram over goes up.
    for step in [10, 100, 500, 1000] {
        check(step, 0, 0, step, step);
        check(step, 0, 0, step + 1, 2 * step);
        check(step, 0, 0, 2 * step - 1, 2 * step);
        check(step, 0, 0, 1, step);
    }
    // SF: 0.5 kg steps, 0.05 kg tolerance, minimum 1 kg.
    check(500, 50, 1000, 200, 1000);
    check(500, 50, 1000, 1000, 1000);
    check(500, 50, 1000, 1049, 1000);
    check(500, 50, 1000, 1050, 1500);
    check(500, 50, 1000, 1300, 1500);
    check(500, 50, 1000, 1540, 1500);
    check(500, 50, 1000, 1549, 1500);
    check(500, 50, 1000, 1550, 2000);
    check(500, 50, 1000, 1560, 2000);
    // Whole kg with a 0.3 kg tolerance ("≤0.3 rounds down" style): 2.299 → 2, 2.3 → 3.
    check(1000, 300, 1000, 2299, 2000);
    check(1000, 300, 1000, 2300, 3000);
    check(1000, 300, 1000, 100, 1000);
}

#[test]
fn first_additional_at_boundaries() {
    fn check(first: i64, step: i64, weight: i64, expected: i64) {
        let b = book(vec![simple(fa(first, 1200, step, 800), json!({}))]);
        assert_eq!(
            quote_total(&b, w(weight)),
            Ok(expected),
            "first {first} step {step} w {weight}"
        );
    }
    check(1000, 1000, 0, 1200);
    check(1000, 1000, 1, 1200);
    check(1000, 1000, 1000, 1200);
    check(1000, 1000, 1001, 2000);
    check(1000, 1000, 2000, 2000);
    check(1000, 1000, 2001, 2800);
    check(1000, 1000, 3000, 2800);
    check(1000, 500, 1001, 2000);
    check(1000, 500, 1500, 2000);
    check(1000, 500, 1501, 2800);
    check(3000, 1000, 3000, 1200);
    check(3000, 1000, 3001, 2000);
}

fn brackets(boundary: &str, above: serde_json::Value) -> serde_json::Value {
    let mut v = json!({"model": "brackets", "boundary": boundary, "brackets": [
        {"from_g": 0, "to_g": 1000, "fen": 350},
        {"from_g": 1000, "to_g": 2000, "fen": 400},
        {"from_g": 2000, "to_g": 3000, "fen": 450}
    ]});
    if !above.is_null() {
        v["above"] = above;
    }
    v
}

#[test]
fn brackets_boundaries_both_semantics() {
    fn check(boundary: &str, weight: i64, expected: Result<i64, NoQuote>) {
        let b = book(vec![simple(
            brackets(boundary, serde_json::Value::Null),
            json!({}),
        )]);
        assert_eq!(
            quote_total(&b, w(weight)),
            expected,
            "{boundary} w {weight}"
        );
    }
    let over = |g| {
        Err(NoQuote::Overweight {
            billable: Grams(g),
            max: Grams(3000),
        })
    };
    // (a,b]: the upper bound belongs to the bracket.
    check("(a,b]", 0, Ok(350));
    check("(a,b]", 999, Ok(350));
    check("(a,b]", 1000, Ok(350));
    check("(a,b]", 1001, Ok(400));
    check("(a,b]", 2000, Ok(400));
    check("(a,b]", 2001, Ok(450));
    check("(a,b]", 3000, Ok(450));
    check("(a,b]", 3001, over(3001));
    // [a,b): the upper bound belongs to the next bracket.
    check("[a,b)", 0, Ok(350));
    check("[a,b)", 999, Ok(350));
    check("[a,b)", 1000, Ok(400));
    check("[a,b)", 1999, Ok(400));
    check("[a,b)", 2000, Ok(450));
    check("[a,b)", 2999, Ok(450));
    check("[a,b)", 3000, over(3000));
}

#[test]
fn brackets_then_per_kg_above_threshold() {
    fn check(boundary: &str, mode: &str, weight: i64, expected: i64) {
        let above = json!({"mode": mode, "step_g": 1000, "step_fen": 100});
        let b = book(vec![simple(brackets(boundary, above), json!({}))]);
        assert_eq!(
            quote_total(&b, w(weight)),
            Ok(expected),
            "{boundary} {mode} w {weight}"
        );
    }
    check("(a,b]", "add_steps", 3000, 450);
    check("(a,b]", "add_steps", 3001, 550);
    check("(a,b]", "add_steps", 4000, 550);
    check("(a,b]", "add_steps", 4001, 650);
    check("[a,b)", "add_steps", 2999, 450);
    check("[a,b)", "add_steps", 3000, 550);
    check("[a,b)", "add_steps", 3999, 550);
    check("[a,b)", "add_steps", 4000, 650);
    // Whole weight: ≥ threshold, every (started) kg of the whole weight at the per-kg price.
    check("(a,b]", "whole_weight", 3000, 450);
    check("(a,b]", "whole_weight", 3001, 400);
    check("(a,b]", "whole_weight", 21000, 2100);
    check("(a,b]", "whole_weight", 21001, 2200);
}

#[test]
fn flat_and_max_weight() {
    let b = book(vec![simple(
        json!({"model": "flat", "fen": 800}),
        json!({"max_weight_g": 3000}),
    )]);
    assert_eq!(quote_total(&b, w(1)), Ok(800));
    assert_eq!(quote_total(&b, w(3000)), Ok(800));
    assert_eq!(
        quote_total(&b, w(3001)),
        Err(NoQuote::Overweight {
            billable: Grams(3001),
            max: Grams(3000)
        })
    );
    assert_eq!(
        quote_total(&b, w(-1)),
        Err(NoQuote::NegativeWeight { actual: Grams(-1) })
    );
}

#[test]
fn volumetric_weight_rules() {
    fn check(vol: serde_json::Value, actual: i64, dims: [u32; 3], expected: (Option<i64>, i64)) {
        let b = book(vec![simple(
            fa(1000, 1000, 1000, 100),
            json!({ "volumetric": vol }),
        )]);
        let p = Parcel {
            actual: Grams(actual),
            dims_mm: Some(dims),
            declared: None,
        };
        let shop = b.shop(&gd(), &p, at(), &[]);
        let q = &shop.quotes[0];
        assert_eq!(
            (q.volumetric.map(|g| g.0), q.unrounded.0),
            expected,
            "{vol} {actual} {dims:?}"
        );
    }
    let d6000 = json!({"divisor": 6000});
    // 40×30×20 cm / 6000 = 4 kg.
    check(d6000.clone(), 2350, [400, 300, 200], (Some(4000), 4000));
    check(d6000.clone(), 5000, [400, 300, 200], (Some(4000), 5000));
    // Ceil to the gram: 1 mm³ over.
    check(d6000.clone(), 0, [1, 1, 6001], (Some(2), 2));
    check(
        json!({"divisor": 12000}),
        100,
        [400, 300, 200],
        (Some(2000), 2000),
    );
    check(json!({}), 100, [400, 300, 200], (None, 100));
    // Sides rounded up to whole cm before cubing: 401 mm → 41 cm.
    check(
        json!({"divisor": 6000, "round_sides_up_to_cm": true}),
        0,
        [401, 300, 200],
        (Some(4100), 4100),
    );
    // Only above a longest side of 400 mm: 400 does not count, 401 does.
    let longest = json!({"divisor": 6000, "only_above_longest_side_mm": 400});
    check(longest.clone(), 100, [400, 300, 200], (Some(4000), 100));
    check(longest, 100, [401, 300, 200], (Some(4010), 4010));
    // Only above L+W+H of 900 mm.
    let sum = json!({"divisor": 6000, "only_above_sides_sum_mm": 900});
    check(sum.clone(), 100, [400, 300, 200], (Some(4000), 100));
    check(sum, 100, [400, 300, 201], (Some(4020), 4020));
    // Only above 24000 cm³.
    let volume = json!({"divisor": 6000, "only_above_volume_cm3": 24000});
    check(volume.clone(), 100, [400, 300, 200], (Some(4000), 100));
    check(volume, 100, [400, 300, 201], (Some(4020), 4020));
    // Only when volumetric > 1.5 × actual: 4 kg vs 2.666 kg actual (ratio 1.5003) counts,
    // vs 2.667 kg (ratio 1.4998) does not.
    let ratio = json!({"divisor": 6000, "only_above_ratio_bp": 15000});
    check(ratio.clone(), 2666, [400, 300, 200], (Some(4000), 4000));
    check(ratio, 2667, [400, 300, 200], (Some(4000), 2667));
}

#[test]
fn minimum_charge() {
    let b = book(vec![simple(
        json!({"model": "flat", "fen": 300}),
        json!({"min_charge_fen": 500}),
    )]);
    let shop = b.shop(&gd(), &w(100), at(), &[]);
    let q = &shop.quotes[0];
    assert_eq!(
        (q.pricing_fen, q.base_fen, q.total_fen),
        (Fen(300), Fen(500), Fen(500))
    );
    assert!(q.min_charge_applied);
    assert!(
        q.explain_zh().contains("按最低收费 5.00元"),
        "{}",
        q.explain_zh()
    );
    let b = book(vec![simple(
        json!({"model": "flat", "fen": 500}),
        json!({"min_charge_fen": 500}),
    )]);
    let shop = b.shop(&gd(), &w(100), at(), &[]);
    assert!(!shop.quotes[0].min_charge_applied);
}

fn china_card(extra: serde_json::Value) -> RateCard {
    let mut v = json!({
        "carrier": "SF", "service": "标快", "version": "2025-01",
        "effective_from": "2025-01-01",
        "rounding": {"step_g": 1000},
        "zones": [
            {"name": "一区", "provinces": ["江苏", "浙江", "上海", "安徽"], "pricing": fa(1000, 600, 1000, 100)},
            {"name": "三区", "provinces": ["新疆维吾尔自治区", 54], "pricing": fa(1000, 1200, 1000, 800)},
            {"name": "深圳同城", "cities": ["深圳市"], "pricing": fa(1000, 500, 1000, 100)},
            {"name": "二区", "pricing": fa(1000, 700, 1000, 200)}
        ],
        "default_zone": "二区",
        "surcharges": [
            {"name": "偏远附加费", "fixed_fen": 1000, "provinces": [65, 54]},
            {"name": "喀什附加", "fixed_fen": 300, "cities": [6531]},
            {"name": "燃油附加费", "percent_bp": 1250}
        ],
        "insurance": {"rate_bp": 50, "min_fen": 100, "max_declared_fen": 3000000}
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in e {
            o.insert(k.clone(), val.clone());
        }
    }
    card_json(v)
}

#[test]
fn zones_city_overrides_surcharges_and_insurance() {
    let b = book(vec![china_card(json!({}))]);
    let xj = Region::province(ProvinceCode::new(65).unwrap());
    let kashgar = Region::city(CityCode::new(6531).unwrap());
    let sz = Region::city(CityCode::new(4403).unwrap());
    let gz = Region::city(CityCode::new(4401).unwrap());
    let p = |g, declared: Option<i64>| Parcel {
        actual: Grams(g),
        dims_mm: None,
        declared: declared.map(Fen),
    };
    let check = |r: &Region, parcel: Parcel, zone: &str, lines: &[(&str, i64)], total: i64| {
        let shop = b.shop(r, &parcel, at(), &[]);
        let q = shop.quotes.first().unwrap_or_else(|| panic!("{shop:?}"));
        assert_eq!(q.zone.name, zone);
        let got: Vec<(&str, i64)> = q.surcharges.iter().map(|l| (l.name, l.fen.0)).collect();
        assert_eq!(got, lines, "{}", q.explain_zh());
        assert_eq!(q.total_fen.0, total, "{}", q.explain_zh());
        assert_eq!(
            q.total_fen.0,
            q.base_fen.0 + q.surcharges.iter().map(|l| l.fen.0).sum::<i64>()
        );
    };
    // 新疆 3 kg: 12 + 2×8 = 28; remote 10; fuel 12.5 % of 28 = 3.50.
    check(
        &xj,
        p(3000, None),
        "三区",
        &[("偏远附加费", 1000), ("燃油附加费", 350)],
        4150,
    );
    // 喀什 (a 新疆 city): province zone, province remote surcharge and the city one.
    check(
        &kashgar,
        p(3000, None),
        "三区",
        &[("偏远附加费", 1000), ("喀什附加", 300), ("燃油附加费", 350)],
        4450,
    );
    // 深圳 has a city override; 广州 falls to the province → default zone.
    check(&sz, p(1000, None), "深圳同城", &[("燃油附加费", 63)], 563);
    check(&gz, p(1000, None), "二区", &[("燃油附加费", 88)], 788);
    // Fuel rounding half up: 7.00 × 12.5 % = 0.875 → 0.88; 9.00 × 12.5 % = 1.125 → 1.13.
    check(&gz, p(2000, None), "二区", &[("燃油附加费", 113)], 1013);
    // Insurance 0.5 %: 1999.00 → 9.995 → 10.00; 100.00 → 0.50 → minimum 1.00.
    check(
        &gz,
        p(1000, Some(199_900)),
        "二区",
        &[("燃油附加费", 88), ("保价", 1000)],
        1788,
    );
    check(
        &gz,
        p(1000, Some(10_000)),
        "二区",
        &[("燃油附加费", 88), ("保价", 100)],
        888,
    );
    // Above the insurable maximum: no quote, and the reason says why.
    let shop = b.shop(&gz, &p(1000, Some(3_000_001)), at(), &[]);
    assert!(shop.quotes.is_empty());
    assert_eq!(
        shop.skipped[0].reason,
        NoQuote::DeclaredTooHigh {
            declared: Fen(3_000_001),
            max: Fen(3_000_000)
        }
    );
    // Hong Kong is outside the card (no zone, no default for SARs): unserviceable.
    let hk = Region::province(ProvinceCode::new(81).unwrap());
    let shop = b.shop(&hk, &p(1000, None), at(), &[]);
    assert_eq!(shop.skipped[0].reason, NoQuote::Unserviceable);
}

#[test]
fn unserviceable_areas() {
    let b = book(vec![china_card(json!({
        "unserviceable": {"provinces": ["台湾"], "cities": ["阿里地区"]}
    }))]);
    let ali = Region::city(CityCode::new(5425).unwrap());
    let lhasa = Region::city(CityCode::new(5401).unwrap());
    assert_eq!(
        b.shop(&ali, &w(1000), at(), &[]).skipped[0].reason,
        NoQuote::Unserviceable
    );
    assert_eq!(b.shop(&lhasa, &w(1000), at(), &[]).quotes.len(), 1);
}

#[test]
fn issue_example_explanation() {
    let b = book(vec![china_card(
        json!({"surcharges": [], "insurance": null}),
    )]);
    let xj = Region::province(ProvinceCode::new(65).unwrap());
    let shop = b.shop(&xj, &w(3000), at(), &[]);
    let q = &shop.quotes[0];
    assert_eq!(
        q.explain_zh(),
        "新疆 三区：首重1kg 12.00元 + 续重2kg×8.00元 = 28.00元（计费3kg：实重3kg）"
    );
    assert_eq!(
        q.explain_en(),
        "Xinjiang zone 三区: first 1kg 12.00 + 2 × 1kg × 8.00 = 28.00 CNY (billable 3kg: actual 3kg)"
    );
    let r = q.record();
    assert_eq!(r.total_fen, Fen(2800));
    assert_eq!(r.card_version, "2025-01");
    assert_eq!(r.province, 65);
    let v = serde_json::to_value(&r).unwrap();
    for key in [
        "carrier",
        "service",
        "zone",
        "actual_g",
        "volumetric_g",
        "billable_g",
        "base_fen",
        "surcharges",
        "total_fen",
        "explain",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    let back: QuoteRecord = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}

#[test]
fn explanations_of_each_model() {
    fn check(pricing: serde_json::Value, extra: serde_json::Value, parcel: Parcel, zh: &str) {
        let b = book(vec![simple(pricing, extra)]);
        let shop = b.shop(&gd(), &parcel, at(), &[]);
        assert_eq!(shop.quotes[0].explain_zh(), zh);
        assert!(!shop.quotes[0].explain_en().is_empty());
    }
    check(
        fa(1000, 1200, 500, 400),
        json!({}),
        w(2350),
        "广东 全国：首重1kg 12.00元 + 续重3×0.5kg×4.00元 = 24.00元（计费2.35kg：实重2.35kg）",
    );
    check(
        brackets("(a,b]", serde_json::Value::Null),
        json!({}),
        w(1500),
        "广东 全国：(1,2kg] 4.00元 = 4.00元（计费1.5kg：实重1.5kg）",
    );
    check(
        brackets(
            "(a,b]",
            json!({"mode": "add_steps", "step_g": 1000, "step_fen": 100}),
        ),
        json!({"rounding": {"step_g": 1000}}),
        w(4200),
        "广东 全国：3kg以内 4.50元 + 超出2kg×1.00元 = 6.50元（计费5kg：实重4.2kg）",
    );
    check(
        json!({"model": "flat", "fen": 800}),
        json!({"volumetric": {"divisor": 6000}}),
        Parcel {
            actual: Grams(5000),
            dims_mm: Some([400, 300, 200]),
            declared: None,
        },
        "广东 全国：一口价 8.00元 = 8.00元（计费5kg：实重5kg，体积重4kg，不计）",
    );
}

#[test]
fn versions_by_date() {
    let v1 = china_card(
        json!({"version": "v1", "effective_from": "2025-01-01", "effective_to": "2025-07-01"}),
    );
    let v2 = china_card(json!({"version": "v2", "effective_from": "2025-07-01",
        "zones": [{"name": "全国", "pricing": fa(1000, 999, 1000, 100)}], "default_zone": "全国"}));
    let b = book(vec![v2, v1]);
    let check = |instant: &str, expected: Option<(&str, i64)>| {
        let shop = b.shop(&gd(), &w(1000), t(instant), &[]);
        let got = shop
            .quotes
            .first()
            .map(|q| (q.card.version.as_str(), q.base_fen.0));
        assert_eq!(got, expected, "{instant}");
        if expected.is_none() {
            assert_eq!(shop.skipped[0].reason, NoQuote::NotInForce);
        }
    };
    // Dates are midnight China time.
    check("2024-12-31T15:59:59Z", None);
    check("2024-12-31T16:00:00Z", Some(("v1", 700)));
    check("2025-06-30T23:59:59+08:00", Some(("v1", 700)));
    check("2025-07-01T00:00:00+08:00", Some(("v2", 999)));
    check("2030-01-01T00:00:00Z", Some(("v2", 999)));
    // The quote records which version priced it.
    let shop = b.shop(&gd(), &w(1000), t("2025-03-01T00:00:00Z"), &[]);
    let r = shop.quotes[0].record();
    assert_eq!(r.card_version, "v1");
    assert_eq!(r.card_effective_from, t("2024-12-31T16:00:00Z"));
}

#[test]
fn overlapping_versions_rejected() {
    let v1 = china_card(json!({"version": "v1", "effective_to": "2025-07-02"}));
    let v2 = china_card(json!({"version": "v2", "effective_from": "2025-07-01"}));
    let errs = RateBook::new(vec![v1, v2]).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].message.contains("overlaps SF/标快 vv1"),
        "{}",
        errs[0]
    );
    // Open-ended first version overlaps anything later.
    let v1 = china_card(json!({"version": "v1"}));
    let v2 = china_card(json!({"version": "v2", "effective_from": "2026-01-01"}));
    assert!(RateBook::new(vec![v1, v2]).is_err());
}

#[test]
fn validation_errors_name_the_place() {
    fn check(card: RateCard, place: &str, message: &str) {
        let errs = RateBook::new(vec![card]).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.place.contains(place) && e.message.contains(message)),
            "want {place}: {message}, got {errs:?}"
        );
    }
    let gap = json!({"model": "brackets", "boundary": "(a,b]", "brackets": [
        {"from_g": 0, "to_g": 1000, "fen": 350}, {"from_g": 1010, "to_g": 2000, "fen": 400}]});
    check(
        simple(gap, json!({})),
        "brackets[1]",
        "gap: nothing prices 1000–1010 g",
    );
    let overlap = json!({"model": "brackets", "boundary": "[a,b)", "brackets": [
        {"from_g": 0, "to_g": 1000, "fen": 350}, {"from_g": 900, "to_g": 2000, "fen": 400}]});
    check(
        simple(overlap, json!({})),
        "brackets[1]",
        "overlap: 900–1000 g",
    );
    let late_start = json!({"model": "brackets", "boundary": "[a,b)", "brackets": [
        {"from_g": 100, "to_g": 1000, "fen": 350}]});
    check(simple(late_start, json!({})), "brackets[0]", "gap");
    check(
        simple(fa(1000, -1, 1000, 100), json!({})),
        "pricing",
        "negative price first_fen -1",
    );
    check(
        simple(fa(1000, 100, 0, 100), json!({})),
        "pricing",
        "step_g 0 must be positive",
    );
    check(
        simple(
            json!({"model": "flat", "fen": 100}),
            json!({"default_zone": "火星"}),
        ),
        "default_zone",
        "not one of the zones",
    );
    check(
        china_card(json!({"default_zone": null})),
        "default_zone",
        "missing default zone: no zone for 北京、天津",
    );
    check(
        simple(
            json!({"model": "flat", "fen": 100}),
            json!({"rounding": {"step_g": 500, "tolerance_g": 500}}),
        ),
        "rounding.tolerance_g",
        "below the step",
    );
    check(
        simple(
            json!({"model": "flat", "fen": 100}),
            json!({"rounding": {"step_g": 500, "min_g": 1200}}),
        ),
        "rounding.min_g",
        "not a multiple of the step 500",
    );
    check(
        china_card(json!({"surcharges": [{"name": "x", "fixed_fen": 1, "percent_bp": 1}]})),
        "surcharges[0]",
        "exactly one",
    );
    let dup = china_card(json!({"zones": [
        {"name": "a", "provinces": ["江苏"], "pricing": fa(1000, 1, 1000, 1)},
        {"name": "b", "provinces": ["江苏省"], "pricing": fa(1000, 1, 1000, 1)}
    ], "default_zone": "a"}));
    check(
        dup,
        "zones[1] \"b\"",
        "province 江苏 is already in zones[0]",
    );
    check(
        simple(
            json!({"model": "flat", "fen": 100}),
            json!({"effective_to": "2024-01-01"}),
        ),
        "effective_to",
        "not after",
    );
}

#[test]
fn unknown_province_in_file_is_an_error() {
    let r: Result<RateCard, _> = serde_json::from_value(json!({
        "carrier": "X", "effective_from": "2025-01-01",
        "zones": [{"name": "a", "provinces": ["火星"], "pricing": {"model": "flat", "fen": 1}}]
    }));
    let e = r.unwrap_err().to_string();
    assert!(e.contains("unknown province"), "{e}");
}

#[test]
fn rate_shop_sorted_and_filtered() {
    let mk = |carrier: &str, first: i64| {
        let mut c = simple(fa(1000, first, 1000, 100), json!({}));
        c.carrier = carrier.to_string();
        c
    };
    let mut hk_only = mk("HK", 100);
    hk_only.zones[0].provinces = vec![ProvinceCode::new(81).unwrap()];
    hk_only.default_zone = None;
    hk_only.unserviceable.provinces = crate::region::provinces()
        .iter()
        .map(|p| p.code)
        .filter(|c| c.get() != 81)
        .collect();
    let b = book(vec![
        mk("ZTO", 500),
        mk("SF", 900),
        mk("YTO", 450),
        mk("STO", 500),
        hk_only,
    ]);
    let shop = b.shop(&gd(), &w(1500), at(), &[]);
    let order: Vec<(&str, i64)> = shop
        .quotes
        .iter()
        .map(|q| (q.card.carrier.as_str(), q.total_fen.0))
        .collect();
    assert_eq!(
        order,
        vec![("YTO", 550), ("STO", 600), ("ZTO", 600), ("SF", 1000)]
    );
    assert_eq!(shop.skipped.len(), 1);
    assert_eq!(shop.skipped[0].carrier, "HK");
    let only = b.quote_carrier("sf", &gd(), &w(1500), at());
    assert_eq!(only.quotes.len(), 1);
    assert_eq!(only.quotes[0].card.carrier, "SF");
    let two = b.shop(&gd(), &w(1500), at(), &["SF", "zto"]);
    assert_eq!(two.quotes.len(), 2);
}

#[test]
fn format_kg_values() {
    for (g, s) in [
        (0, "0kg"),
        (1000, "1kg"),
        (500, "0.5kg"),
        (2350, "2.35kg"),
        (1, "0.001kg"),
        (12010, "12.01kg"),
    ] {
        assert_eq!(format_kg(Grams(g)), s);
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn any_pricing() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            (1i64..5000, 0i64..5000, 1i64..2000, 0i64..2000)
                .prop_map(|(f, ff, s, sf)| fa(f, ff, s, sf)),
            (
                prop::collection::vec((1i64..3000, 0i64..3000), 1..6),
                any::<bool>(),
                prop::option::of((1i64..2000, 0i64..500, any::<bool>()))
            )
                .prop_map(|(steps, upper, above)| {
                    let mut from = 0;
                    let mut fen = 0;
                    let brackets: Vec<serde_json::Value> = steps
                        .iter()
                        .map(|(w, add)| {
                            let b = json!({"from_g": from, "to_g": from + w, "fen": fen + add});
                            from += w;
                            fen += add;
                            b
                        })
                        .collect();
                    let mut v = json!({"model": "brackets",
                        "boundary": if upper { "(a,b]" } else { "[a,b)" }, "brackets": brackets});
                    if let Some((step, price, add)) = above {
                        v["above"] = json!({"mode": if add { "add_steps" } else { "whole_weight" },
                            "step_g": step, "step_fen": price});
                    }
                    v
                }),
        ]
    }

    proptest! {
        /// Rounding never lowers a weight below the raw weight by more than the tolerance, lands
        /// on a step multiple (or the minimum), and is idempotent.
        #[test]
        fn rounding_rules(step in 1i64..2000, tol_frac in 0i64..100, min_steps in 0i64..4, w in 0i64..100_000) {
            let tol = step * tol_frac / 100;
            let min = min_steps * step;
            let r = Rounding { step_g: Grams(step), tolerance_g: Grams(tol.min(step - 1)), min_g: Grams(min) };
            let b = r.apply(Grams(w));
            prop_assert!(b.0 >= min);
            prop_assert!(b.0 + step > w, "{} vs {}", b.0, w);
            prop_assert!(b.0 % step == 0 || b.0 == min);
            prop_assert_eq!(r.apply(b), b);
        }

        /// For add-steps and first/additional pricing the fee never falls as weight rises, and
        /// the total is always base + Σ surcharges.
        #[test]
        fn fees_are_consistent(pricing in any_pricing(), a in 0i64..20_000, d in 0i64..5_000, fuel in 0u32..3000) {
            let card = simple(pricing.clone(), json!({"surcharges": [{"name": "fuel", "percent_bp": fuel}]}));
            let Ok(b) = RateBook::new(vec![card]) else { return Ok(()); };
            let q1 = b.shop(&gd(), &w(a), at(), &[]);
            let q2 = b.shop(&gd(), &w(a + d), at(), &[]);
            for q in q1.quotes.iter().chain(&q2.quotes) {
                let sum: i64 = q.surcharges.iter().map(|l| l.fen.0).sum();
                prop_assert_eq!(q.total_fen.0, q.base_fen.0 + sum);
                prop_assert!(q.billable >= q.actual);
                prop_assert!(!q.explain_zh().is_empty());
            }
            let whole = pricing["above"]["mode"] == "whole_weight";
            if let (Some(x), Some(y)) = (q1.quotes.first(), q2.quotes.first()) {
                if !whole {
                    prop_assert!(x.base_fen <= y.base_fen, "{} then {}", x.explain_zh(), y.explain_zh());
                }
            }
            // Once a weight is over the maximum, every heavier one is too.
            if q1.quotes.is_empty() {
                prop_assert!(q2.quotes.is_empty());
            }
        }
    }
}
