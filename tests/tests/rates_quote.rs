//! Quoting end to end: the `packbench quote` computation over the demo cards, order
//! destinations (province/city fields and free-text addresses with the known traps), and the
//! station recording the rating quote with a pack.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use domain::region::Region;
use domain::{Destination, Grams, Order};
use station::cli::rates::{quote_records, QuoteArgs};
use station::rating::{order_region, RatesConfig, Rating};
use station::station::{Intent, Quoter, Station};
use std::path::PathBuf;
use std::sync::Arc;

fn demo(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../station/demo/rates")
        .join(name)
}

fn all_demo_cards() -> Vec<PathBuf> {
    [
        "sf.toml",
        "sto.toml",
        "zto.toml",
        "yto.json",
        "jd.toml",
        "yunda_2025.xlsx",
        "sto_sheet.csv",
    ]
    .iter()
    .map(|n| demo(n))
    .collect()
}

fn args(to: &str, weight: &str) -> QuoteArgs {
    QuoteArgs {
        cards: all_demo_cards(),
        to: to.to_string(),
        weight: weight.to_string(),
        dims: None,
        declared: None,
        carrier: Vec::new(),
        at: Some("2025-06-01T10:00:00+08:00".to_string()),
    }
}

#[test]
fn quote_command_output_is_sorted_and_complete() {
    let mut a = args("新疆维吾尔自治区乌鲁木齐市天山区", "2350g");
    a.dims = Some("40x30x20cm".into());
    a.declared = Some("1999.00".into());
    let out = quote_records(&a).unwrap();
    assert_eq!(out.destination.province.get(), 65);
    assert_eq!(out.destination.city.map(|c| c.get()), Some(6501));
    assert!(out.records.len() >= 6, "{:?}", out.skipped);
    let totals: Vec<i64> = out.records.iter().map(|r| r.total_fen.0).collect();
    assert!(totals.windows(2).all(|w| w[0] <= w[1]), "{totals:?}");
    let sf = out.records.iter().find(|r| r.carrier == "SF").unwrap();
    // 40×30×20 cm / 6000 = 4 kg > 2.35 kg; 四区 12.00 + 6 × 4.00 = 36.00; 保价 0.5 % of 1999.00 = 10.00.
    assert_eq!(
        (sf.volumetric_g, sf.billable_g),
        (Some(Grams(4000)), Grams(4000))
    );
    assert_eq!((sf.base_fen.0, sf.total_fen.0), (3600, 4600));
    assert_eq!(sf.zone, "四区");
    assert_eq!(
        sf.explain,
        "新疆乌鲁木齐市 四区：首重1kg 12.00元 + 续重6×0.5kg×4.00元 = 36.00元；保价 10.00元；合计 46.00元（计费4kg：实重2.35kg，体积重4kg）"
    );
    let v = serde_json::to_value(&out.records).unwrap();
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
        assert!(v[0].get(key).is_some(), "{key}");
    }
    assert!(v[0]["surcharges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s.get("name").is_some() && s.get("fen").is_some()));
}

#[test]
fn quote_command_inputs() {
    // Codes, kg, carrier filter.
    let mut a = args("440300", "2.35kg");
    a.carrier = vec!["sf".into(), "ZTO".into()];
    let out = quote_records(&a).unwrap();
    let carriers: Vec<&str> = out.records.iter().map(|r| r.carrier.as_str()).collect();
    assert_eq!(carriers.len(), 2);
    assert!(carriers.contains(&"SF") && carriers.contains(&"ZTO"));
    assert!(out.records.iter().all(|r| r.actual_g == Grams(2350)));
    // Bad inputs say which flag.
    for (to, w, dims, msg) in [
        ("火星", "1kg", None, "--to"),
        ("65", "1.2345kg", None, "--weight"),
        ("65", "1kg", Some("40x30"), "--dims"),
    ] {
        let mut a = args(to, w);
        a.dims = dims.map(String::from);
        let e = quote_records(&a).unwrap_err().to_string();
        assert!(e.contains(msg), "{e}");
    }
    let mut a = args("65", "1kg");
    a.at = Some("yesterday".into());
    assert!(quote_records(&a).is_err());
}

fn order(province: &str, city: &str, address: &str, carrier: &str) -> Order {
    Order {
        order_no: "O1".into(),
        platform_order_nos: vec![],
        waybill_nos: vec![],
        carrier: carrier.into(),
        status: Default::default(),
        destination: Destination {
            province: province.into(),
            city: city.into(),
            district: String::new(),
            address: address.into(),
            name: None,
            phone: None,
        },
        lines: vec![],
        shop: None,
        routing_code: None,
        declared_value_fen: None,
    }
}

#[test]
fn order_destinations_including_traps() {
    fn check(province: &str, city: &str, address: &str, expected: Option<(u8, Option<u16>)>) {
        let got = order_region(&order(province, city, address, "SF"))
            .map(|r: Region| (r.province.get(), r.city.map(|c| c.get())));
        assert_eq!(got, expected, "{province}|{city}|{address}");
    }
    check("广东省", "深圳市", "", Some((44, Some(4403))));
    check("广东", "深圳", "", Some((44, Some(4403))));
    check("440000", "440300", "", Some((44, Some(4403))));
    check("青海省", "海南藏族自治州", "", Some((63, Some(6325))));
    check("", "", "海南藏族自治州共和县", Some((63, Some(6325))));
    check("", "", "吉林市船营区", Some((22, Some(2202))));
    check("", "", "新疆乌鲁木齐市", Some((65, Some(6501))));
    check("北京", "北京市", "", Some((11, Some(1101))));
    check("新疆", "", "", Some((65, None)));
    check("", "", "不知道哪里", None);
}

#[test]
fn rating_quoter_uses_the_assigned_carrier_and_shops_the_allowed_ones() {
    let rating = Rating::load(RatesConfig {
        cards: all_demo_cards(),
        allowed_carriers: vec!["STO".into(), "YTO".into()],
    })
    .unwrap();
    let at: DateTime<Utc> = "2025-06-01T02:00:00Z".parse().unwrap();
    let o = order("广东省", "深圳市", "", "SF");
    let q = rating.quote(&o, Grams(905), at).unwrap();
    assert_eq!(q["basis"], "assigned");
    assert_eq!(q["carrier"], "SF");
    assert_eq!(q["total_fen"], 700);
    let shop: Vec<&str> = q["shop"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["carrier"].as_str().unwrap())
        .collect();
    assert!(shop.iter().all(|c| *c == "STO" || *c == "YTO"), "{shop:?}");
    assert_eq!(q["cheapest"]["total_fen"], q["shop"][0]["total_fen"]);
    // An order whose carrier has no card: the cheapest allowed quote stands in.
    let q = rating
        .quote(&order("浙江", "杭州", "", "EMS"), Grams(905), at)
        .unwrap();
    assert_eq!(q["basis"], "cheapest");
    // Unknown destination: no quote.
    assert!(rating
        .quote(&order("", "", "火星基地", "SF"), Grams(905), at)
        .is_none());
}

#[test]
fn station_records_the_rating_quote_with_the_pack() {
    let t0: DateTime<Utc> = "2026-11-25T09:00:00+08:00".parse().unwrap();
    let station = Station::open_demo(t0).unwrap();
    let rating = Rating::load(RatesConfig {
        cards: all_demo_cards(),
        allowed_carriers: vec![],
    })
    .unwrap();
    station.set_quoter(Arc::new(rating));
    let mut now = t0;
    let weigh = Intent::Weight {
        grams: 905,
        stable: true,
        raw: None,
    };
    for i in packbench_tests::app_support::demo0001_scans()
        .into_iter()
        .chain([weigh])
    {
        now += Duration::seconds(1);
        station.handle(i, now).unwrap();
    }
    let view = station.view();
    let q = view.quote.as_ref().unwrap();
    // DEMO0001: SF to 广东深圳, 905 g → 1 kg minimum → 二区 7.00.
    assert_eq!(q["carrier"], "SF");
    assert_eq!(q["zone"], "二区");
    assert_eq!(q["total_fen"], 700);
    assert!(
        q["explain"].as_str().unwrap().contains("首重1kg 7.00元"),
        "{q}"
    );
    assert!(q["shop"].as_array().unwrap().len() >= 6);
}

#[test]
fn embedded_demo_cards_quote_without_files() {
    let rating = Rating::demo().unwrap();
    let book = rating.book();
    assert_eq!(book.len(), 7);
    let at: DateTime<Utc> = "2026-11-25T01:00:00Z".parse().unwrap();
    let q = rating
        .quote(&order("广东省", "深圳市", "", "SF"), Grams(905), at)
        .unwrap();
    assert_eq!(
        (q["carrier"].as_str(), q["total_fen"].as_i64()),
        (Some("SF"), Some(700))
    );
}
