//! Rate-shop benchmark: one parcel quoted by 10 carriers, for every one of the 34 provinces.
//! The goal is ≤ 2 µs per parcel (a 10-carrier shop) without explanations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chrono::{DateTime, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use domain::rates::{Parcel, RateBook, RateCard};
use domain::region::{provinces, Region};
use domain::{Fen, Grams};
use serde_json::json;

/// Ten cards shaped like the demo cards: five zones by province, a default zone, volumetric
/// weight, SF-style rounding, a remote surcharge for 新疆/西藏, fuel on some, insurance.
fn cards() -> Vec<RateCard> {
    (0..10i64)
        .map(|i| {
            let fa = |first: i64, step: i64| {
                json!({"model": "first_additional", "first_g": 1000, "first_fen": first + i * 10,
                       "step_g": 500, "step_fen": step})
            };
            let mut surcharges = vec![json!({"name": "偏远附加费", "fixed_fen": 500, "provinces": [65, 54]})];
            if i % 2 == 0 {
                surcharges.push(json!({"name": "燃油附加费", "percent_bp": 800}));
            }
            serde_json::from_value(json!({
                "carrier": format!("C{i}"), "service": "standard", "effective_from": "2025-01-01",
                "volumetric": {"divisor": 6000 + i * 1000},
                "rounding": {"step_g": 500, "tolerance_g": 50, "min_g": 1000},
                "zones": [
                    {"name": "一区", "provinces": [31, 32, 33, 34], "pricing": fa(600, 45)},
                    {"name": "二区", "provinces": [11, 12, 13, 14, 35, 36, 37, 41, 42, 43, 44], "pricing": fa(700, 90)},
                    {"name": "三区", "provinces": [15, 21, 22, 23, 45, 46, 50, 51, 52, 53, 61, 62, 63, 64], "pricing": fa(800, 110)},
                    {"name": "四区", "provinces": [65, 54], "pricing": fa(1200, 400)},
                    {"name": "深圳", "cities": [4403], "pricing": fa(500, 40)},
                    {"name": "其他", "pricing": fa(900, 150)}
                ],
                "default_zone": "其他",
                "surcharges": surcharges,
                "insurance": {"rate_bp": 50, "min_fen": 100}
            }))
            .unwrap()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let book = RateBook::new(cards()).unwrap();
    let regions: Vec<Region> = provinces()
        .iter()
        .map(|p| Region::province(p.code))
        .collect();
    let at: DateTime<Utc> = "2025-06-01T02:00:00Z".parse().unwrap();
    let parcel = Parcel {
        actual: Grams(2350),
        dims_mm: Some([400, 300, 200]),
        declared: Some(Fen(199_900)),
    };
    let mut g = c.benchmark_group("rate_shop_10_carriers");
    g.throughput(Throughput::Elements(u64::try_from(regions.len()).unwrap()));
    g.bench_function("all_provinces", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            for r in &regions {
                let shop = book.shop(black_box(r), black_box(&parcel), at, &[]);
                sum += shop.quotes.first().map_or(0, |q| q.total_fen.0);
            }
            sum
        })
    });
    g.bench_function("all_provinces_with_explanations", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for r in &regions {
                let shop = book.shop(black_box(r), black_box(&parcel), at, &[]);
                n += shop
                    .quotes
                    .iter()
                    .map(|q| q.record().explain.len())
                    .sum::<usize>();
            }
            n
        })
    });
    g.finish();
    c.bench_function("address_match", |b| {
        b.iter(|| {
            domain::region::match_address(black_box("新疆维吾尔自治区乌鲁木齐市天山区光明路1号"))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
