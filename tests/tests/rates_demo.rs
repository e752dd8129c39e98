//! The demo rate cards shipped in `station/demo/rates/`: they load, cover every mainland
//! province, keep Hong Kong/Macao/Taiwan out, version by date, and the cards derived from the
//! public shipper tables (SF from 无锡, STO) reproduce those tables exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use domain::rates::{NoQuote, Parcel, RateBook};
use domain::region::{provinces, ProvinceCode, ProvinceKind, Region};
use domain::{Fen, Grams};
use std::path::PathBuf;

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../station/demo/rates")
}

fn demo_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(demo_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("toml" | "json" | "csv" | "xlsx")
            )
        })
        .collect();
    v.sort();
    v
}

fn book() -> RateBook {
    station::rating::load_book(&demo_files()).unwrap().0
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn weight(g: i64) -> Parcel {
    Parcel {
        actual: Grams(g),
        dims_mm: None,
        declared: None,
    }
}

#[test]
fn every_demo_file_loads() {
    let files = demo_files();
    assert!(files.len() >= 7, "{files:?}");
    let (book, loaded) = station::rating::load_book(&files).unwrap();
    let carriers: std::collections::BTreeSet<&str> =
        book.cards().map(|c| c.carrier.as_str()).collect();
    for c in ["SF", "ZTO", "YTO", "STO", "YUNDA", "JD"] {
        assert!(carriers.contains(c), "{c} missing from {carriers:?}");
    }
    assert_eq!(loaded.len(), files.len());
}

#[test]
fn all_carriers_cover_the_mainland_and_not_hk_mo_tw() {
    let book = book();
    let at = t("2025-06-01T10:00:00+08:00");
    let n_products = book.cards().filter(|c| c.in_force(at)).count();
    for p in provinces() {
        let shop = book.shop(&Region::province(p.code), &weight(1200), at, &[]);
        let outside = p.kind == ProvinceKind::SpecialAdministrativeRegion || p.code.get() == 71;
        if outside {
            assert!(
                shop.quotes.is_empty(),
                "{} quoted: {:?}",
                p.short_name,
                shop.quotes.len()
            );
            assert!(shop
                .skipped
                .iter()
                .all(|s| s.reason == NoQuote::Unserviceable));
        } else {
            assert_eq!(
                shop.quotes.len(),
                n_products,
                "{}: {:?}",
                p.short_name,
                shop.skipped
            );
            let totals: Vec<i64> = shop.quotes.iter().map(|q| q.total_fen.0).collect();
            assert!(
                totals.windows(2).all(|w| w[0] <= w[1]),
                "not sorted: {totals:?}"
            );
        }
    }
}

#[test]
fn zto_versions_by_pack_time() {
    let book = book();
    let gd = Region::province(ProvinceCode::new(44).unwrap());
    let check = |at: &str, version: &str| {
        let shop = book.quote_carrier("ZTO", &gd, &weight(1000), t(at));
        assert_eq!(shop.quotes[0].card.version, version, "{at}");
        assert_eq!(shop.quotes[0].record().card_version, version);
    };
    check("2024-06-01T10:00:00+08:00", "2024-01");
    check("2024-12-31T23:59:59+08:00", "2024-01");
    check("2025-01-01T00:00:00+08:00", "2025-01");
    // Before any SF card: not in force.
    let shop = book.quote_carrier("SF", &gd, &weight(1000), t("2024-06-01T00:00:00Z"));
    assert_eq!(shop.skipped[0].reason, NoQuote::NotInForce);
}

/// Rows of a reference CSV: (province key, first price in fen, per-kg price in fen).
fn reference(name: &str) -> Vec<(String, i64, i64)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/rates_data")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("province_key"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                Fen::parse_yuan(f[1]).unwrap().0,
                Fen::parse_yuan(f[2]).unwrap().0,
            )
        })
        .collect()
}

/// The shipper tables price `first + (w − 1 kg) × per_kg` continuously; the cards round the
/// weight first (SF to 0.5 kg, STO to 1 kg), so at rounded weights both agree exactly.
fn check_reference(
    carrier: &str,
    service: &str,
    file: &str,
    weights_g: &[i64],
    expected_rows: usize,
) {
    let book = book();
    let at = t("2025-06-01T10:00:00+08:00");
    let rows = reference(file);
    assert_eq!(rows.len(), expected_rows);
    for (key, first, per_kg) in rows {
        let p = ProvinceCode::parse(&key).unwrap_or_else(|| panic!("{key}"));
        for &w in weights_g {
            let shop = book.quote_carrier(carrier, &Region::province(p), &weight(w), at);
            let q = shop
                .quotes
                .iter()
                .find(|q| q.card.service == service)
                .unwrap_or_else(|| panic!("{carrier} {key} {w}: {:?}", shop.skipped));
            let over_g = (w - 1000).max(0);
            let expected = first + over_g * per_kg / 1000;
            assert_eq!(
                q.total_fen.0,
                expected,
                "{carrier}/{service} {key} {w} g: {}",
                q.explain_zh()
            );
        }
    }
}

#[test]
fn sf_card_reproduces_the_wuxi_table() {
    check_reference(
        "SF",
        "标快",
        "cn_sf_from_wuxi_cocoozhong.csv",
        &[500, 1000, 1500, 2000, 3000, 5500, 10000],
        31,
    );
}

#[test]
fn sto_card_and_sheet_reproduce_the_sto_table() {
    check_reference(
        "STO",
        "标准快递",
        "cn_sto_cocoozhong.csv",
        &[1000, 2000, 3000, 7000],
        31,
    );
    check_reference(
        "STO",
        "电商件(表格)",
        "cn_sto_cocoozhong.csv",
        &[1000, 2000, 3000, 7000],
        31,
    );
}

#[test]
fn sf_rounding_and_volumetric_in_practice() {
    let book = book();
    let at = t("2025-06-01T10:00:00+08:00");
    let gd = Region::province(ProvinceCode::new(44).unwrap());
    let check = |actual: i64, dims: Option<[u32; 3]>, billable: i64, total: i64| {
        let p = Parcel {
            actual: Grams(actual),
            dims_mm: dims,
            declared: None,
        };
        let q = &book.quote_carrier("SF", &gd, &p, at).quotes[0];
        assert_eq!(
            (q.billable.0, q.total_fen.0),
            (billable, total),
            "{}",
            q.explain_zh()
        );
    };
    // 广东 二区: 7.00 first kg, 0.90 per 0.5 kg.
    check(200, None, 1000, 700);
    check(1040, None, 1000, 700);
    check(1050, None, 1500, 790);
    check(1549, None, 1500, 790);
    check(1550, None, 2000, 880);
    // 40×30×20 cm / 6000 = 4 kg beats 2.35 kg.
    check(2350, Some([400, 300, 200]), 4000, 700 + 6 * 90);
}

#[test]
fn yunda_xlsx_reads_date_cells_percent_cells_and_brackets() {
    let f = station::rating::load_file(&demo_dir().join("yunda_2025.xlsx")).unwrap();
    let c = &f.cards[0];
    assert_eq!(
        (c.carrier.as_str(), c.service.as_str()),
        ("YUNDA", "标准快递")
    );
    // The 生效日期 cell is an Excel date: 2025-01-01 00:00 China time.
    assert_eq!(c.effective_from, t("2025-01-01T00:00:00+08:00"));
    assert_eq!(c.volumetric.divisor, Some(8000));
    assert_eq!(c.insurance.map(|i| i.rate_bp), Some(50));
    // 新疆 2.5 kg: bracket (2,3kg] 26.00 + remote 5.00.
    let xj = Region::province(ProvinceCode::new(65).unwrap());
    let b = RateBook::new(f.cards.clone()).unwrap();
    let q = &b
        .shop(&xj, &weight(2500), t("2025-06-01T00:00:00Z"), &[])
        .quotes[0];
    assert_eq!(q.total_fen, Fen(3100), "{}", q.explain_zh());
    // Above 3 kg: 26.00 + 2 started kg × 10.00.
    let q = &b
        .shop(&xj, &weight(4200), t("2025-06-01T00:00:00Z"), &[])
        .quotes[0];
    assert_eq!(q.base_fen, Fen(4600), "{}", q.explain_zh());
}
