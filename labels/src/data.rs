//! The data a label is filled with, and the field vocabulary templates may bind.
//!
//! A template refers to fields as `{{order.no}}`, `{{receiver.address}}`, `{{weight_kg}}` …
//! Every field a template names is checked against [`FIELDS`] when the template is loaded, so a
//! typo is reported at once with the list of fields that exist. `extra.<name>` is open for
//! integrator-specific values. Numbers are integers (grams, fen); the printable forms
//! (`weight_kg`, `cost`) are derived here, never through floating point.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A person or company at one end of the shipment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Party {
    /// Name (收件人 / 寄件人).
    pub name: String,
    /// Phone number as given.
    pub phone: String,
    /// Province (省).
    pub province: String,
    /// City (市).
    pub city: String,
    /// District (区/县).
    pub district: String,
    /// Street address (detail part, without province/city/district).
    pub address: String,
    /// Postal code.
    pub postcode: String,
    /// Company name, if any.
    pub company: String,
}

/// Order identifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderData {
    /// The order center's order number (订单号).
    pub no: String,
    /// The marketplace order number (平台单号).
    pub platform_no: String,
    /// Shop name.
    pub shop: String,
    /// Buyer or seller remark printed on the label.
    pub remark: String,
}

/// Waybill (electronic waybill, 电子面单) data from the carrier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WaybillData {
    /// Waybill / tracking number (运单号).
    pub no: String,
    /// Carrier name (e.g. 中通快递).
    pub carrier: String,
    /// Routing code / 大头笔 / 三段码, printed large.
    pub routing_code: String,
    /// Consolidation point (集包地).
    pub package_center: String,
    /// Destination sort code, if the carrier gives a second one.
    pub sort_code: String,
}

/// Everything a label can show. Build it from the pack record (the station does) or read it
/// from a JSON file (`packbench label render --data`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelData {
    /// The label's own id (stable across reprints).
    pub label_id: String,
    /// Order identifiers.
    pub order: OrderData,
    /// Waybill data.
    pub waybill: WaybillData,
    /// Sender.
    pub sender: Party,
    /// Receiver.
    pub receiver: Party,
    /// Measured weight in grams.
    pub weight_g: Option<u64>,
    /// Cost in fen (分).
    pub cost_fen: Option<i64>,
    /// Number of items in the parcel.
    pub item_count: Option<u32>,
    /// Short content summary (e.g. `T恤 x2, 袜子 x1`).
    pub items: String,
    /// When it was packed, as text (the caller formats time).
    pub packed_at: String,
    /// Packer name or id.
    pub packer: String,
    /// Bench / station id.
    pub station: String,
    /// Integrator-specific values, bound as `{{extra.NAME}}`.
    pub extra: BTreeMap<String, String>,
}

/// Every field a template may bind, besides `extra.<name>`.
pub const FIELDS: &[&str] = &[
    "label_id",
    "order.no",
    "order.platform_no",
    "order.shop",
    "order.remark",
    "waybill.no",
    "waybill.carrier",
    "waybill.routing_code",
    "waybill.package_center",
    "waybill.sort_code",
    "sender.name",
    "sender.phone",
    "sender.phone_masked",
    "sender.province",
    "sender.city",
    "sender.district",
    "sender.address",
    "sender.full_address",
    "sender.postcode",
    "sender.company",
    "receiver.name",
    "receiver.phone",
    "receiver.phone_masked",
    "receiver.province",
    "receiver.city",
    "receiver.district",
    "receiver.address",
    "receiver.full_address",
    "receiver.postcode",
    "receiver.company",
    "weight_g",
    "weight_kg",
    "cost_fen",
    "cost",
    "item_count",
    "items",
    "packed_at",
    "packer",
    "station",
    "routing_code",
];

/// True if `field` names something [`LabelData::get`] can answer.
pub fn is_known_field(field: &str) -> bool {
    FIELDS.contains(&field) || field.strip_prefix("extra.").is_some_and(|n| !n.is_empty())
}

/// Formats grams as kilograms with three decimals: 1250 → `1.250`.
pub fn format_kg(grams: u64) -> String {
    format!("{}.{:03}", grams / 1000, grams % 1000)
}

/// Formats fen as yuan with two decimals: 1250 → `12.50`, -5 → `-0.05`.
pub fn format_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Masks the middle of a phone number the way Chinese waybills print it: 13812345678 →
/// `138****5678`. Short numbers are returned unchanged.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return phone.to_string();
    }
    let keep_tail = 4;
    let keep_head = 3;
    let mut out: String = chars[..keep_head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - keep_head - keep_tail));
    out.extend(&chars[chars.len() - keep_tail..]);
    out
}

fn party_field(p: &Party, name: &str) -> Option<String> {
    let v = match name {
        "name" => p.name.clone(),
        "phone" => p.phone.clone(),
        "phone_masked" => mask_phone(&p.phone),
        "province" => p.province.clone(),
        "city" => p.city.clone(),
        "district" => p.district.clone(),
        "address" => p.address.clone(),
        "full_address" => {
            let mut s = String::new();
            for part in [&p.province, &p.city, &p.district] {
                s.push_str(part);
            }
            if !s.is_empty() && !p.address.is_empty() {
                s.push(' ');
            }
            s.push_str(&p.address);
            s
        }
        "postcode" => p.postcode.clone(),
        "company" => p.company.clone(),
        _ => return None,
    };
    Some(v)
}

impl LabelData {
    /// The value of a field, or `None` if the field is unknown or has no value (an absent
    /// weight, an empty waybill number, an `extra` key not given).
    pub fn get(&self, field: &str) -> Option<String> {
        let v = match field {
            "label_id" => self.label_id.clone(),
            "order.no" => self.order.no.clone(),
            "order.platform_no" => self.order.platform_no.clone(),
            "order.shop" => self.order.shop.clone(),
            "order.remark" => self.order.remark.clone(),
            "waybill.no" => self.waybill.no.clone(),
            "waybill.carrier" => self.waybill.carrier.clone(),
            "waybill.routing_code" | "routing_code" => self.waybill.routing_code.clone(),
            "waybill.package_center" => self.waybill.package_center.clone(),
            "waybill.sort_code" => self.waybill.sort_code.clone(),
            "weight_g" => self.weight_g?.to_string(),
            "weight_kg" => format_kg(self.weight_g?),
            "cost_fen" => self.cost_fen?.to_string(),
            "cost" => format_yuan(self.cost_fen?),
            "item_count" => self.item_count?.to_string(),
            "items" => self.items.clone(),
            "packed_at" => self.packed_at.clone(),
            "packer" => self.packer.clone(),
            "station" => self.station.clone(),
            other => {
                if let Some(f) = other.strip_prefix("sender.") {
                    party_field(&self.sender, f)?
                } else if let Some(f) = other.strip_prefix("receiver.") {
                    party_field(&self.receiver, f)?
                } else if let Some(k) = other.strip_prefix("extra.") {
                    self.extra.get(k)?.clone()
                } else {
                    return None;
                }
            }
        };
        if v.is_empty() {
            None
        } else {
            Some(v)
        }
    }

    /// Reads label data from JSON text; `place` names the source in errors.
    pub fn from_json(text: &str, place: &str) -> crate::Result<Self> {
        serde_json::from_str(text).map_err(|e| crate::Error::Parse {
            place: format!("{place}:{}:{}", e.line(), e.column()),
            message: e.to_string(),
        })
    }

    /// A realistic sample (used by previews, tests and `packbench label render` without data).
    pub fn sample() -> Self {
        LabelData {
            label_id: "LBL-0001".into(),
            order: OrderData {
                no: "SO20261125000123".into(),
                platform_no: "3718294657201938".into(),
                shop: "好物旗舰店".into(),
                remark: "易碎品 轻拿轻放".into(),
            },
            waybill: WaybillData {
                no: "73100012345678".into(),
                carrier: "中通快递".into(),
                routing_code: "021 E12-03".into(),
                package_center: "上海转运中心".into(),
                sort_code: "E12".into(),
            },
            sender: Party {
                name: "好物仓".into(),
                phone: "02155556666".into(),
                province: "浙江省".into(),
                city: "杭州市".into(),
                district: "余杭区".into(),
                address: "仓前街道文一西路998号 3号库".into(),
                ..Party::default()
            },
            receiver: Party {
                name: "张三".into(),
                phone: "13812345678".into(),
                province: "上海市".into(),
                city: "上海市".into(),
                district: "浦东新区".into(),
                address: "张江镇博云路2号 浦软大厦 1201室".into(),
                ..Party::default()
            },
            weight_g: Some(1250),
            cost_fen: Some(1200),
            item_count: Some(3),
            items: "T恤 x2, 袜子 x1".into(),
            packed_at: "2026-11-25 14:03".into(),
            packer: "P07".into(),
            station: "B03".into(),
            extra: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_kg(g: u64, want: &str) {
        assert_eq!(format_kg(g), want, "{g} g");
    }

    #[test]
    fn kilograms_are_exact() {
        for (g, want) in [
            (0, "0.000"),
            (5, "0.005"),
            (1250, "1.250"),
            (20000, "20.000"),
        ] {
            check_kg(g, want);
        }
    }

    #[test]
    fn yuan_are_exact() {
        for (f, want) in [(0, "0.00"), (1200, "12.00"), (1, "0.01"), (-5, "-0.05")] {
            assert_eq!(format_yuan(f), want);
        }
    }

    #[test]
    fn phones_are_masked() {
        for (p, want) in [
            ("13812345678", "138****5678"),
            ("12345", "12345"),
            ("02155556666", "021****6666"),
        ] {
            assert_eq!(mask_phone(p), want);
        }
    }

    #[test]
    fn every_listed_field_resolves_on_the_sample() {
        let d = LabelData::sample();
        for f in FIELDS {
            if [
                "sender.postcode",
                "receiver.postcode",
                "sender.company",
                "receiver.company",
            ]
            .contains(f)
            {
                assert_eq!(d.get(f), None, "{f}");
            } else {
                assert!(d.get(f).is_some(), "{f} has no value on the sample");
            }
        }
        assert_eq!(d.get("weight_kg").as_deref(), Some("1.250"));
        assert_eq!(d.get("cost").as_deref(), Some("12.00"));
        assert_eq!(
            d.get("receiver.full_address").as_deref(),
            Some("上海市上海市浦东新区 张江镇博云路2号 浦软大厦 1201室")
        );
        assert_eq!(d.get("nope"), None);
        assert!(!is_known_field("receiver.adress"));
        assert!(is_known_field("extra.batch"));
        assert!(!is_known_field("extra."));
    }

    #[test]
    fn unknown_json_keys_are_rejected_with_place() {
        let err = LabelData::from_json("{\n \"waybil\": {}\n}", "d.json").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("d.json:2:"), "{msg}");
        assert!(msg.contains("waybil"), "{msg}");
    }
}
