//! Configurable field mapping for uploads, so an integrator can fit a pack result to what
//! their ERP expects without code: rename a field, copy it, set a fixed value, drop one —
//! each optionally only when a simple condition holds. Rules apply in order, each seeing the
//! output of the ones before.
//!
//! Example (TOML, the seed's 聚水潭 → 金蝶 fit):
//!
//! ```toml
//! [[order_center.mapping]]
//! rename = { from = "waybill_no", to = "物流单号" }
//! [[order_center.mapping]]
//! rename = { from = "order_no", to = "单据编号" }
//! [[order_center.mapping]]
//! set = { field = "channel", value = "packbench" }
//! [[order_center.mapping]]
//! set = { field = "remote", value = true }
//! when = { field = "destination.province", one_of = ["新疆维吾尔自治区", "西藏自治区"] }
//! ```
//!
//! Conditions read dotted paths into nested objects (`destination.province`); actions work on
//! top-level fields. The mapping never touches `result_id`, which adapters add afterwards.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One mapping rule: an action and an optional condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// What to do.
    #[serde(flatten)]
    pub action: Action,
    /// Only when this holds (always when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
}

/// A mapping action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Move `from` to `to` (nothing happens when `from` is absent).
    Rename {
        /// Source field.
        from: String,
        /// Target field.
        to: String,
    },
    /// Copy `from` to `to`, keeping `from`.
    Copy {
        /// Source field.
        from: String,
        /// Target field.
        to: String,
    },
    /// Set `field` to a fixed value.
    Set {
        /// Target field.
        field: String,
        /// Value (any JSON value).
        value: Value,
    },
    /// Remove `field`.
    Drop {
        /// Field to remove.
        field: String,
    },
}

/// A simple condition on one field (dotted path). Exactly one test should be given; when
/// several are, all must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Condition {
    /// Field path, e.g. `carrier` or `destination.province`.
    pub field: String,
    /// Holds when the field equals this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// Holds when the field differs from this value (or is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Value>,
    /// Holds when the field equals one of these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// Holds when the field is present (true) or absent (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

impl Condition {
    /// Whether the condition holds for `obj`.
    pub fn holds(&self, obj: &Map<String, Value>) -> bool {
        let v = lookup(obj, &self.field);
        self.equals.as_ref().is_none_or(|e| v == Some(e))
            && self.not_equals.as_ref().is_none_or(|e| v != Some(e))
            && self
                .one_of
                .as_ref()
                .is_none_or(|list| v.is_some_and(|v| list.contains(v)))
            && self.exists.is_none_or(|x| v.is_some() == x)
    }
}

/// Checks rules for mistakes an integrator can make; the error names the rule (1-based).
pub fn validate(rules: &[Rule]) -> Result<(), String> {
    for (i, r) in rules.iter().enumerate() {
        let n = i + 1;
        let fields: Vec<&str> = match &r.action {
            Action::Rename { from, to } | Action::Copy { from, to } => vec![from, to],
            Action::Set { field, .. } | Action::Drop { field } => vec![field],
        };
        if fields.iter().any(|f| f.trim().is_empty()) {
            return Err(format!("mapping rule {n}: empty field name"));
        }
        if fields.contains(&"result_id") {
            return Err(format!(
                "mapping rule {n}: result_id is the idempotency key and cannot be mapped"
            ));
        }
        if let Some(c) = &r.when {
            if c.field.trim().is_empty() {
                return Err(format!("mapping rule {n}: condition without a field"));
            }
            if c.equals.is_none()
                && c.not_equals.is_none()
                && c.one_of.is_none()
                && c.exists.is_none()
            {
                return Err(format!(
                    "mapping rule {n}: condition on {} has no test (equals, not_equals, one_of, exists)",
                    c.field
                ));
            }
        }
    }
    Ok(())
}

/// Applies `rules` to `obj` in order.
pub fn apply(rules: &[Rule], obj: &mut Map<String, Value>) {
    for r in rules {
        if r.when.as_ref().is_some_and(|c| !c.holds(obj)) {
            continue;
        }
        match &r.action {
            Action::Rename { from, to } => {
                if let Some(v) = obj.remove(from) {
                    obj.insert(to.clone(), v);
                }
            }
            Action::Copy { from, to } => {
                if let Some(v) = obj.get(from).cloned() {
                    obj.insert(to.clone(), v);
                }
            }
            Action::Set { field, value } => {
                obj.insert(field.clone(), value.clone());
            }
            Action::Drop { field } => {
                obj.remove(field);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(toml_text: &str) -> Vec<Rule> {
        #[derive(Deserialize)]
        struct W {
            mapping: Vec<Rule>,
        }
        toml::from_str::<W>(toml_text).unwrap().mapping
    }

    fn check(rules_toml: &str, input: Value, expected: Value) {
        let r = rules(rules_toml);
        validate(&r).unwrap();
        let mut obj = input.as_object().unwrap().clone();
        apply(&r, &mut obj);
        assert_eq!(Value::Object(obj), expected);
    }

    #[test]
    fn seed_kingdee_mapping() {
        check(
            r#"
            [[mapping]]
            rename = { from = "waybill_no", to = "物流单号" }
            [[mapping]]
            rename = { from = "shipment_no", to = "单据编号" }
            [[mapping]]
            set = { field = "FBillTypeID", value = "XSCKD01_SYS" }
            "#,
            json!({"waybill_no":"SF1","shipment_no":"FH9","weight_g":1200}),
            json!({"物流单号":"SF1","单据编号":"FH9","weight_g":1200,"FBillTypeID":"XSCKD01_SYS"}),
        );
    }

    #[test]
    fn conditions() {
        let rules_toml = r#"
            [[mapping]]
            set = { field = "remote", value = true }
            when = { field = "destination.province", one_of = ["新疆维吾尔自治区", "西藏自治区"] }
            [[mapping]]
            set = { field = "type", value = 1 }
            when = { field = "carrier", equals = "SF" }
            [[mapping]]
            drop = { field = "operator" }
            when = { field = "operator", exists = true }
            [[mapping]]
            copy = { from = "carrier", to = "lc" }
            when = { field = "carrier", not_equals = "JD" }
        "#;
        check(
            rules_toml,
            json!({"carrier":"SF","destination":{"province":"西藏自治区"},"operator":"p1"}),
            json!({"carrier":"SF","destination":{"province":"西藏自治区"},"remote":true,"type":1,"lc":"SF"}),
        );
        check(
            rules_toml,
            json!({"carrier":"JD","destination":{"province":"广东省"}}),
            json!({"carrier":"JD","destination":{"province":"广东省"}}),
        );
    }

    #[test]
    fn rename_of_a_missing_field_does_nothing() {
        check(
            "[[mapping]]\nrename = { from = \"x\", to = \"y\" }",
            json!({"a":1}),
            json!({"a":1}),
        );
    }

    #[test]
    fn validation_names_the_rule() {
        let bad = [
            ("[[mapping]]\nset = { field = \"\", value = 1 }", "rule 1"),
            (
                "[[mapping]]\ndrop = { field = \"a\" }\n[[mapping]]\nrename = { from = \"result_id\", to = \"id\" }",
                "rule 2",
            ),
            (
                "[[mapping]]\ndrop = { field = \"a\" }\nwhen = { field = \"b\" }",
                "no test",
            ),
        ];
        for (t, want) in bad {
            let e = validate(&rules(t)).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }
}
