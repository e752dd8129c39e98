//! The order as the bench sees it, in the import format of the order center.
//!
//! Shape (JSON array or one object per line):
//! `{"order_no":"…","platform_order_nos":["…"],"waybill_nos":["…"],"carrier":"SF","status":"open",
//!   "destination":{"province":"广东省","city":"深圳市","district":"南山区","address":"…"},
//!   "lines":[{"sku":"…","name":"…","qty":2,"unit_weight_g":350,"serial_required":false,
//!             "barcodes":[{"code":"6901234567892","units":1}]}]}`

use crate::units::Grams;
use serde::{Deserialize, Serialize};

/// Where an order stands for packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Released to the warehouse and packable.
    #[default]
    Open,
    /// Held by the order center (审单 hold, stock issue…); not packable.
    OnHold,
    /// Cancelled by buyer or shop.
    Cancelled,
    /// Intercepted (拦截) after release.
    Intercepted,
    /// Already packed.
    Packed,
}

impl OrderStatus {
    /// The snake_case name used in files and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::OnHold => "on_hold",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Intercepted => "intercepted",
            OrderStatus::Packed => "packed",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<OrderStatus> {
        Some(match s {
            "open" => OrderStatus::Open,
            "on_hold" => OrderStatus::OnHold,
            "cancelled" => OrderStatus::Cancelled,
            "intercepted" => OrderStatus::Intercepted,
            "packed" => OrderStatus::Packed,
            _ => return None,
        })
    }
}

/// The receiver's address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Destination {
    /// Province name as the order center sends it (e.g. 广东省).
    #[serde(default)]
    pub province: String,
    /// City (e.g. 深圳市).
    #[serde(default)]
    pub city: String,
    /// District (e.g. 南山区).
    #[serde(default)]
    pub district: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Receiver name, when the order center sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Receiver phone (usually masked), when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A barcode of a SKU and how many units one scan of it stands for (a case barcode counts N).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barcode {
    /// The code as printed.
    pub code: String,
    /// Units per scan (1 for the unit barcode, N for a case/inner pack).
    #[serde(default = "one")]
    pub units: u32,
}

fn one() -> u32 {
    1
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Stock-keeping unit code.
    pub sku: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Units ordered.
    pub qty: u32,
    /// Weight of one unit in grams.
    #[serde(default)]
    pub unit_weight_g: i64,
    /// Whether a serial number must be captured per unit.
    #[serde(default)]
    pub serial_required: bool,
    /// All barcodes that identify this SKU.
    #[serde(default)]
    pub barcodes: Vec<Barcode>,
}

impl OrderLine {
    /// Expected weight of the whole line.
    pub fn line_weight(&self) -> Grams {
        Grams(self.unit_weight_g.saturating_mul(i64::from(self.qty)))
    }
}

/// An order to pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order center's order number (订单号).
    pub order_no: String,
    /// Marketplace order numbers (线上单号).
    #[serde(default)]
    pub platform_order_nos: Vec<String>,
    /// Carrier waybill numbers (快递单号).
    #[serde(default)]
    pub waybill_nos: Vec<String>,
    /// Carrier code (SF, ZTO, YTO, YUNDA, STO, JD, EMS, JT, DBL …).
    #[serde(default)]
    pub carrier: String,
    /// Packability status.
    #[serde(default)]
    pub status: OrderStatus,
    /// Receiver.
    #[serde(default)]
    pub destination: Destination,
    /// Lines.
    #[serde(default)]
    pub lines: Vec<OrderLine>,
    /// Shop name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<String>,
    /// Routing code (大头笔/三段码) from the electronic waybill, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_code: Option<String>,
    /// Declared value for insurance (保价), in fen, when the order asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_value_fen: Option<i64>,
}

impl Order {
    /// Σ unit weight × quantity over all lines (packaging not included).
    pub fn items_weight(&self) -> Grams {
        self.lines
            .iter()
            .fold(Grams::ZERO, |acc, l| acc + l.line_weight())
    }

    /// Total units ordered.
    pub fn total_units(&self) -> u64 {
        self.lines.iter().map(|l| u64::from(l.qty)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_issue_example() {
        let j = r#"{"order_no":"O1","platform_order_nos":["P1"],"waybill_nos":["SF1"],"carrier":"SF","status":"open","destination":{"province":"广东省","city":"深圳市","district":"南山区","address":"x"},"lines":[{"sku":"A","name":"a","qty":2,"unit_weight_g":350,"serial_required":false,"barcodes":[{"code":"6901234567892","units":1},{"code":"16901234567899","units":12}]}]}"#;
        let o: Order = serde_json::from_str(j).unwrap();
        assert_eq!(o.items_weight(), Grams(700));
        assert_eq!(o.lines[0].barcodes[1].units, 12);
        assert_eq!(o.status, OrderStatus::Open);
    }
}
