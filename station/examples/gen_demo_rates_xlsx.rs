//! Writes the demo carrier spreadsheet `station/demo/rates/yunda_2025.xlsx`: the layout carriers
//! send (key/value rows, then one row per province group with weight brackets and a per-kg price
//! above 3 kg), plus an instructions sheet the importer skips.
//!
//! Run: `cargo run -p packbench-station --example gen_demo_rates_xlsx [OUT.xlsx]`.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

/// Rows of the YUNDA demo table: destination, four bracket prices, per-kg above 3 kg, remote fee.
/// ILLUSTRATIVE prices (no public YUNDA contract was found), shaped like the STO table.
pub const ROWS: &[(&str, [f64; 4], f64, Option<f64>)] = &[
    ("江浙沪皖", [2.8, 3.2, 3.8, 4.5], 0.8, None),
    (
        "北京、天津、河北、山东、河南",
        [3.0, 3.5, 5.0, 6.5],
        1.5,
        None,
    ),
    (
        "湖北、湖南、江西、福建、广东、山西",
        [3.0, 3.5, 5.3, 7.0],
        1.7,
        None,
    ),
    (
        "陕西、重庆、四川、贵州、云南、广西",
        [3.2, 3.8, 6.0, 8.2],
        2.2,
        None,
    ),
    ("辽宁、吉林、黑龙江、海南", [3.2, 3.8, 6.0, 8.2], 2.2, None),
    ("青海、宁夏、甘肃、内蒙古", [4.0, 5.0, 9.0, 13.0], 4.0, None),
    ("新疆", [8.0, 10.0, 18.0, 26.0], 10.0, Some(5.0)),
    ("西藏", [9.0, 12.0, 22.0, 32.0], 12.0, Some(8.0)),
];

fn main() -> Result<(), XlsxError> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "station/demo/rates/yunda_2025.xlsx".to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("韵达报价")?;
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.write_string(0, 0, "韵达快递 2025 年电商件报价（无锡发）")?;
    ws.write_string(1, 0, "快递公司")?;
    ws.write_string(1, 1, "YUNDA")?;
    ws.write_string(2, 0, "产品")?;
    ws.write_string(2, 1, "标准快递")?;
    ws.write_string(3, 0, "生效日期")?;
    ws.write_datetime_with_format(3, 1, &ExcelDateTime::from_ymd(2025, 1, 1)?, &date)?;
    ws.write_string(4, 0, "抛比")?;
    ws.write_number(4, 1, 8000)?;
    ws.write_string(5, 0, "区间规则")?;
    ws.write_string(5, 1, "(a,b]")?;
    ws.write_string(6, 0, "保价费率：0.5%")?;
    let headers = [
        "省份",
        "0-0.5kg",
        "0.51-1kg",
        "1.01-2kg",
        "2.01-3kg",
        "3kg以上续重(元/kg)",
        "偏远附加费(元)",
        "备注",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(7, u16::try_from(c).unwrap_or(0), *h)?;
    }
    for (i, (dest, brackets, above, remote)) in ROWS.iter().enumerate() {
        let r = 8 + u32::try_from(i).unwrap_or(0);
        ws.write_string(r, 0, *dest)?;
        for (c, p) in brackets.iter().enumerate() {
            ws.write_number(r, 1 + u16::try_from(c).unwrap_or(0), *p)?;
        }
        ws.write_number(r, 5, *above)?;
        if let Some(fee) = remote {
            ws.write_number(r, 6, *fee)?;
        }
    }
    ws.write_string(8 + u32::try_from(ROWS.len()).unwrap_or(0), 0, "港澳台")?;
    ws.write_string(8 + u32::try_from(ROWS.len()).unwrap_or(0), 1, "不配送")?;
    let notes = wb.add_worksheet();
    notes.set_name("说明")?;
    notes.write_string(0, 0, "续重按每公斤计，不足1公斤按1公斤计。")?;
    wb.save(&out)?;
    println!("wrote {out}");
    Ok(())
}
