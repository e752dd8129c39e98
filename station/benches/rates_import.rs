//! Import benchmark: a 10,000-row carrier spreadsheet (CSV and XLSX) into validated rate cards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use domain::region::provinces;
use std::fmt::Write as _;

/// A long-format sheet: 承运商 / 产品 / 省份 / 首重 / 续重 columns, 34 rows per service,
/// as many whole services (34 rows each) as it takes to reach at least `rows` rows.
fn long_sheet(rows: usize) -> Vec<Vec<String>> {
    let mut out = vec![
        vec!["承运商".to_string(), "TEST".to_string()],
        vec!["生效日期".to_string(), "2025-01-01".to_string()],
        [
            "承运商",
            "产品",
            "省份",
            "首重价格",
            "续重价格",
            "偏远附加费",
        ]
        .iter()
        .map(ToString::to_string)
        .collect(),
    ];
    let ps = provinces();
    let mut i = 0usize;
    while out.len() - 3 < rows || i % ps.len() != 0 {
        let service = i / ps.len();
        let p = &ps[i % ps.len()];
        out.push(vec![
            format!("C{}", service % 10),
            format!("S{}", service / 10),
            p.full_name.to_string(),
            format!("{}.{}", 3 + i % 9, i % 10),
            format!("{}.{:02}", i % 4, i % 100),
            if p.code.get() == 65 {
                "5".into()
            } else {
                String::new()
            },
        ]);
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let rows = long_sheet(10_000);
    eprintln!("sheet: {} data rows", rows.len() - 3);
    let mut csv = String::new();
    for r in &rows {
        let _ = writeln!(csv, "{}", r.join(","));
    }
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("big.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (ri, r) in rows.iter().enumerate() {
        for (ci, v) in r.iter().enumerate() {
            let (ri, ci) = (u32::try_from(ri).unwrap(), u16::try_from(ci).unwrap());
            match v.parse::<f64>() {
                Ok(n) if ci >= 3 => ws.write_number(ri, ci, n).unwrap(),
                _ => ws.write_string(ri, ci, v).unwrap(),
            };
        }
    }
    wb.save(&xlsx).unwrap();
    let n = station::rating::import_csv(csv.as_bytes(), "big.csv")
        .unwrap()
        .cards
        .len();
    assert_eq!(n, (rows.len() - 3) / 34);
    let mut g = c.benchmark_group("import_10000_rows");
    g.sample_size(10);
    g.bench_function("csv", |b| {
        b.iter(|| station::rating::import_csv(csv.as_bytes(), "big.csv").unwrap())
    });
    g.bench_function("xlsx", |b| {
        b.iter(|| station::rating::load_file(&xlsx).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
