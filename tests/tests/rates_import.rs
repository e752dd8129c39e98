//! Importing carrier spreadsheets (CSV, XLSX) and card files: header mapping, province groups,
//! brackets, key/value settings, and errors that name file, sheet, row and column. A bad file
//! changes nothing already loaded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use domain::rates::{Pricing, RateCard};
use domain::region::{ProvinceCode, Region};
use domain::{Fen, Grams};
use station::rating::{import_csv, load_file, RatesConfig, Rating, RatingError};
use std::path::{Path, PathBuf};

const HEAD: &str = "承运商,TST\n生效日期,2025-01-01\n";

fn csv(body: &str) -> Result<Vec<RateCard>, RatingError> {
    import_csv(format!("{HEAD}{body}").as_bytes(), "t.csv").map(|f| f.cards)
}

/// Every mainland province in rows after the first, so coverage is complete.
const REST: &str = "其他,5,2\n";

fn cell_error(r: Result<Vec<RateCard>, RatingError>) -> (usize, String, String) {
    match r {
        Err(RatingError::Cell(c)) => {
            assert_eq!(c.file, "t.csv");
            assert_eq!(c.sheet, "csv");
            (c.row, c.column.clone(), c.message.clone())
        }
        other => panic!("expected a cell error, got {other:?}"),
    }
}

#[test]
fn first_additional_sheet_with_groups_and_defaults() {
    let cards = csv(&format!(
        "省份,首重价格,续重价格\n江浙沪,3.5,0.8\n新疆、西藏,8,12\n深圳市,3,1\n{REST}港澳台,不配送,\n"
    ))
    .unwrap();
    assert_eq!(cards.len(), 1);
    let c = &cards[0];
    assert_eq!(c.carrier, "TST");
    assert_eq!(c.zones.len(), 4);
    assert_eq!(c.default_zone.as_deref(), Some("其他"));
    let codes: Vec<u8> = c.zones[0].provinces.iter().map(|p| p.get()).collect();
    assert_eq!(codes, vec![32, 33, 31]);
    assert_eq!(c.zones[2].cities[0].get(), 4403);
    assert_eq!(
        c.zones[1].pricing,
        Pricing::FirstAdditional {
            first_g: Grams(1000),
            first_fen: Fen(800),
            step_g: Grams(1000),
            step_fen: Fen(1200)
        }
    );
    assert_eq!(c.unserviceable.provinces.len(), 3);
}

#[test]
fn header_variants_are_recognised() {
    fn check(header: &str, row: &str, expected: Pricing) {
        let cards = csv(&format!(
            "{header}\n{row}\n其他,{}\n",
            row.split_once(',').unwrap().1
        ))
        .unwrap_or_else(|e| panic!("{header}: {e}"));
        assert_eq!(cards[0].zones[0].pricing, expected, "{header}");
    }
    let fa = |first_g, first_fen, step_g, step_fen| Pricing::FirstAdditional {
        first_g: Grams(first_g),
        first_fen: Fen(first_fen),
        step_g: Grams(step_g),
        step_fen: Fen(step_fen),
    };
    check(
        "省份,首重(1kg),续重(元/kg)",
        "广东,3.5,1.8",
        fa(1000, 350, 1000, 180),
    );
    check(
        "目的地,首重,首重价格,续重,续重价格",
        "广东,3,6,0.5,1.2",
        fa(3000, 600, 500, 120),
    );
    check(
        "Province,First weight (kg),First price,Additional weight (kg),Additional price",
        "广东省,1,12,1,8",
        fa(1000, 1200, 1000, 800),
    );
    check(
        "到达省份,首重（元）,续重（元）",
        "广东,12.00,8.00",
        fa(1000, 1200, 1000, 800),
    );
    check("省份,运费", "广东,9.9", Pricing::Flat { fen: Fen(990) });
}

#[test]
fn bracket_sheets_snap_chinese_boundaries() {
    let cards = csv("区间规则,\"(a,b]\"\n省份,0-1kg,1.01-2kg,2.01-3kg,3kg以上续重(元/kg)\n广东,3.5,4,4.5,1\n其他,5,6,7,2\n").unwrap();
    match &cards[0].zones[0].pricing {
        Pricing::Brackets {
            brackets, above, ..
        } => {
            let b: Vec<(i64, i64, i64)> = brackets
                .iter()
                .map(|b| (b.from_g.0, b.to_g.0, b.fen.0))
                .collect();
            assert_eq!(
                b,
                vec![(0, 1000, 350), (1000, 2000, 400), (2000, 3000, 450)]
            );
            assert_eq!(above.unwrap().step_fen, Fen(100));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_name_row_and_column() {
    // Unknown province in A4 (rows: 2 key rows, header in 3).
    assert_eq!(
        cell_error(csv("省份,首重价格,续重价格\n火星,3,1\n其他,5,2\n")),
        (4, "A".to_string(), "unknown province \"火星\" (expected a province name such as 广东/广东省, a group such as 江浙沪, a city, or 其他)".to_string())
    );
    // Negative price in C5.
    let (row, col, msg) = cell_error(csv(
        "省份,首重价格,续重价格\n广东,3,1\n江苏,3,-1\n其他,5,2\n",
    ));
    assert_eq!((row, col.as_str()), (5, "C"));
    assert!(msg.contains("negative price"), "{msg}");
    // Not a number.
    let (row, col, msg) = cell_error(csv("省份,首重价格,续重价格\n广东,abc,1\n其他,5,2\n"));
    assert_eq!((row, col.as_str()), (4, "B"));
    assert!(msg.contains("not a price \"abc\""), "{msg}");
    // Gapped brackets: the header cell D3.
    let (row, col, msg) = cell_error(csv("省份,0-1kg,1-1.5kg,2-3kg\n广东,1,2,3\n其他,1,2,3\n"));
    assert_eq!((row, col.as_str()), (3, "D"));
    assert!(msg.contains("gapped brackets"), "{msg}");
    // Overlapping brackets.
    let (row, col, msg) = cell_error(csv("省份,0-1kg,0.5-2kg\n广东,1,2\n其他,1,2\n"));
    assert_eq!((row, col.as_str()), (3, "C"));
    assert!(msg.contains("overlapping brackets"), "{msg}");
    // A province listed twice.
    let (row, _, msg) = cell_error(csv(
        "省份,首重价格,续重价格\n江浙沪,3,1\n江苏,3,1\n其他,5,2\n",
    ));
    assert_eq!(row, 5);
    assert!(msg.contains("江苏 already listed in row 4"), "{msg}");
    // Missing price in one column of a priced row.
    let (row, col, msg) = cell_error(csv("省份,首重价格,续重价格\n广东,3,\n其他,5,2\n"));
    assert_eq!((row, col.as_str(), msg.as_str()), (4, "C", "missing price"));
}

#[test]
fn missing_default_zone_names_the_provinces() {
    let e = csv("省份,首重价格,续重价格\n江浙沪,3,1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.csv sheet \"csv\""), "{e}");
    assert!(
        e.contains("missing default zone: no zone for 北京、天津、河北"),
        "{e}"
    );
}

#[test]
fn structural_errors() {
    let e = import_csv("省份,首重价格,续重价格\n其他,5,2\n".as_bytes(), "x.csv")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no carrier"), "{e}");
    let e = import_csv(
        "承运商,X\n省份,首重价格,续重价格\n其他,5,2\n".as_bytes(),
        "x.csv",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no effective date"), "{e}");
    let e = import_csv("承运商,X\n生效日期,2025-13-01\n".as_bytes(), "x.csv")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("row 2 column B") && e.contains("bad date"),
        "{e}"
    );
    let e = import_csv("a,b\n1,2\n".as_bytes(), "x.csv")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no header row"), "{e}");
    let e = csv("省份,首重价格\n其他,5\n").unwrap_err().to_string();
    assert!(e.contains("needs a 续重 price column"), "{e}");
}

#[test]
fn gb18030_csv_as_excel_saves_it() {
    let text = format!("{HEAD}省份,首重价格,续重价格\n广东,3.5,1.8\n其他,5,2\n");
    let (bytes, _, bad) = encoding_rs::GB18030.encode(&text);
    assert!(!bad);
    let cards = import_csv(&bytes, "gbk.csv").unwrap().cards;
    assert_eq!(cards[0].zones[0].name, "广东");
}

#[test]
fn long_format_makes_one_card_per_carrier_and_service() {
    let mut body = String::from("生效日期,2025-01-01\n承运商,产品,省份,首重价格,续重价格\n");
    for (c, s) in [("SF", "标快"), ("SF", "特快"), ("ZTO", "标准")] {
        body.push_str(&format!("{c},{s},江浙沪,5,1\n{c},{s},其他,8,2\n"));
    }
    let cards = import_csv(body.as_bytes(), "long.csv").unwrap().cards;
    let keys: Vec<(String, String)> = cards
        .iter()
        .map(|c| (c.carrier.clone(), c.service.clone()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("SF".into(), "标快".into()),
            ("SF".into(), "特快".into()),
            ("ZTO".into(), "标准".into())
        ]
    );
}

fn write_xlsx(path: &Path, rows: &[&[&str]]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("报价").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (u32::try_from(r).unwrap(), u16::try_from(c).unwrap());
            // Numbers as number cells, like a carrier's sheet.
            if let Ok(n) = v.parse::<f64>() {
                if c > 0 {
                    ws.write_number(r, c, n).unwrap();
                    continue;
                }
            }
            ws.write_string(r, c, *v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

#[test]
fn xlsx_sheet_imports_with_exact_decimals_and_places_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.xlsx");
    write_xlsx(
        &good,
        &[
            &["XX快递 2025 报价"],
            &["快递公司", "YD"],
            &["生效日期", "2025-03-01"],
            &["抛比", "8000"],
            &["进位", "0.5"],
            &["省份", "首重价格", "续重价格", "偏远附加费"],
            &["江浙沪皖", "2.8", "0.9", ""],
            &["新疆", "8", "10.1", "5"],
            &["其他", "3.3", "2.2", ""],
        ],
    );
    let f = load_file(&good).unwrap();
    let c = &f.cards[0];
    assert_eq!(c.carrier, "YD");
    assert_eq!(c.volumetric.divisor, Some(8000));
    assert_eq!(c.rounding.step_g, Grams(500));
    assert_eq!(c.surcharges[0].fixed_fen, Some(Fen(500)));
    assert_eq!(
        c.zones[1].pricing,
        Pricing::FirstAdditional {
            first_g: Grams(1000),
            first_fen: Fen(800),
            step_g: Grams(1000),
            step_fen: Fen(1010)
        }
    );
    let bad = dir.path().join("bad.xlsx");
    write_xlsx(
        &bad,
        &[
            &["快递公司", "YD"],
            &["生效日期", "2025-03-01"],
            &["省份", "首重价格", "续重价格"],
            &["广东", "3", "1"],
            &["江苏", "3", "-2"],
            &["其他", "3", "2"],
        ],
    );
    match load_file(&bad) {
        Err(RatingError::Cell(c)) => {
            assert_eq!(
                (
                    c.sheet.as_str(),
                    c.row,
                    c.column.as_str(),
                    c.header.as_str()
                ),
                ("报价", 5, "C", "续重价格")
            );
            assert!(c.file.ends_with("bad.xlsx"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn toml_errors_carry_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(
        &p,
        "carrier = \"X\"\neffective_from = \"2025-01-01\"\ndefault_zone = \"a\"\n\n[[zones]]\nname = \"a\"\nprovinces = [\"火星\"]\npricing = { model = \"flat\", fen = 1 }\n",
    )
    .unwrap();
    let e = load_file(&p).unwrap_err().to_string();
    assert!(e.contains("c.toml:7:"), "{e}");
    assert!(e.contains("unknown province"), "{e}");
    std::fs::write(
        &p,
        "carrier = \"X\"\neffective_from = \"2025-01-01\"\nzones = []\n",
    )
    .unwrap();
    let e = load_file(&p).unwrap_err().to_string();
    assert!(e.contains("zones: no zones"), "{e}");
}

#[test]
fn a_bad_file_changes_nothing_already_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, format!("{HEAD}省份,首重价格,续重价格\n其他,5,2\n")).unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{HEAD}省份,首重价格,续重价格\n火星,5,2\n")).unwrap();
    let rating = Rating::load(RatesConfig {
        cards: vec![good.clone()],
        allowed_carriers: vec![],
    })
    .unwrap();
    let gd = Region::province(ProvinceCode::new(44).unwrap());
    let at = "2025-06-01T00:00:00Z".parse().unwrap();
    let before = rating.book();
    let err = rating
        .replace_files(&[good.clone(), bad.clone()])
        .unwrap_err();
    assert!(err.to_string().contains("bad.csv"), "{err}");
    let after = rating.book();
    assert!(std::sync::Arc::ptr_eq(&before, &after));
    let parcel = domain::rates::Parcel {
        actual: Grams(1000),
        dims_mm: None,
        declared: None,
    };
    assert_eq!(
        after.shop(&gd, &parcel, at, &[]).quotes[0].total_fen,
        Fen(500)
    );
    // A good set replaces it.
    let summary = rating.replace_files(&[good]).unwrap();
    assert_eq!((summary.files, summary.cards), (1, 1));
    assert!(!std::sync::Arc::ptr_eq(&before, &rating.book()));
}

#[test]
fn unsupported_and_missing_files() {
    let e = load_file(&PathBuf::from("cards.txt")).unwrap_err();
    assert_eq!(e.code(), "rate_card_type");
    let e = load_file(&PathBuf::from("/nonexistent/cards.toml")).unwrap_err();
    assert_eq!(e.code(), "io");
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("省份".to_string()),
            Just("首重价格".to_string()),
            Just("续重(元/kg)".to_string()),
            Just("0-1kg".to_string()),
            Just("1.01-2kg".to_string()),
            Just("3kg以上".to_string()),
            Just("江浙沪".to_string()),
            Just("其他".to_string()),
            Just("不配送".to_string()),
            Just("生效日期".to_string()),
            Just("承运商".to_string()),
            "-?[0-9]{1,4}(\\.[0-9]{1,4})?",
            "\\PC{0,6}",
        ]
    }

    proptest! {
        /// Whatever a sheet holds, the importer returns cards or a placed error; it never panics,
        /// and every card it returns validates.
        #[test]
        fn importer_never_panics(rows in prop::collection::vec(prop::collection::vec(cell(), 0..6), 0..12)) {
            let mut text = String::from(HEAD);
            for r in &rows {
                text.push_str(&r.iter().map(|c| format!("\"{}\"", c.replace('"', "'"))).collect::<Vec<_>>().join(","));
                text.push('\n');
            }
            if let Ok(f) = import_csv(text.as_bytes(), "p.csv") {
                prop_assert!(domain::rates::RateBook::new(f.cards).is_ok());
            }
        }
    }
}

#[test]
fn footnotes_under_the_table_are_skipped_with_a_note() {
    let f = import_csv(
        format!("{HEAD}省份,首重价格,续重价格\n广东,3,1\n{REST}\n注：以上价格不含税,,\n")
            .as_bytes(),
        "t.csv",
    )
    .unwrap();
    assert_eq!(f.cards[0].zones.len(), 2);
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("row 7 skipped") && n.contains("注：以上价格不含税")),
        "{:?}",
        f.notes
    );
    // With prices, an unknown destination is an error, not a note.
    let (row, _, _) = cell_error(csv(
        "省份,首重价格,续重价格\n广东,3,1\n注：另计,3,1\n其他,5,2\n",
    ));
    assert_eq!(row, 5);
}

#[test]
fn a_directory_stands_for_its_card_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../station/demo/rates");
    let (book, files) = station::rating::load_book(&[dir]).unwrap();
    assert!(files.len() >= 7);
    assert!(book.len() >= 8);
}
