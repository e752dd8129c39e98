//! 旺店通 ERP 旗舰版 (WDT "qjb", `wdt.wangdian.cn/openapi`): weight write-back with
//! `wms.stockout.Sales.weighingExt` or `wms.stockout.Sales.salesWeighing`.
//!
//! Protocol (official `WdtErpClient.php` as ported in ShopeX's Java `WdtErpOpenApiClient`, and
//! the vendor's API pages mirrored in cunsheng/wangdiantong-api-qjb; see
//! `freight-and-order-centers.md` §5.2):
//! - query string `sid, key, salt, method, v=1.0, timestamp, sign`; the POST body is a JSON
//!   **array of positional arguments**;
//! - the `appsecret` handed out is `"secret:salt"`: `salt` goes on the wire, `secret` never;
//! - `timestamp = unix seconds − 1325347200` (2012-01-01 00:00:00), accepted within 120 s;
//! - `sign = lower(hex(md5(secret + concat(k + v for k in sorted(params ∪ {body})) + secret)))`
//!   where `body` is the JSON body text exactly as sent.
//!
//! No signing test vector is published by the vendor; the unit test's vector was computed
//! independently (Python `hashlib`, see the test) from that algorithm.
//! Both weigh methods take one parcel per call, so the batch is 1; rate limits are not in the
//! public docs ("超过每分钟最大调用频率限制" exists), so they are configurable.

use super::backoff::RateLimiter;
use super::http::{classify_status, form_encode, HttpRequest, Method, Transport};
use super::secrets::Secret;
use super::{grams_to_kg_text, Adapter, DeliveryError, ItemOutcome, Outgoing, RequestTime};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// 2012-01-01T00:00:00Z, the epoch of WDT 旗舰版 timestamps.
pub const WDT_EPOCH: i64 = 1_325_347_200;
/// Production gateway.
pub const DEFAULT_BASE: &str = "https://wdt.wangdian.cn/openapi";

/// `sign` over the request params (including `body`, excluding `sign`).
pub fn sign(secret: &str, params: &BTreeMap<String, String>) -> String {
    let mut h = Md5::new();
    h.update(secret.as_bytes());
    for (k, v) in params {
        if k == "sign" {
            continue;
        }
        h.update(k.as_bytes());
        h.update(v.as_bytes());
    }
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// Splits an `appsecret` of the form `secret:salt`.
pub fn split_appsecret(appsecret: &str) -> (&str, &str) {
    appsecret.split_once(':').unwrap_or((appsecret, ""))
}

/// Which weigh method to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeighMethod {
    /// `wms.stockout.Sales.weighingExt` `[logisticsOrTradeNo, packageBarcode, weight, packagerId, force]`.
    #[default]
    WeighingExt,
    /// `wms.stockout.Sales.salesWeighing` `[{order_no, weight, package_barcode, packager_no,
    /// operator_table_name, force, length, width, height}]` (client ≥ V1.5.7.2).
    SalesWeighing,
}

impl WeighMethod {
    /// The method name on the wire.
    pub fn method(self) -> &'static str {
        match self {
            WeighMethod::WeighingExt => "wms.stockout.Sales.weighingExt",
            WeighMethod::SalesWeighing => "wms.stockout.Sales.salesWeighing",
        }
    }
}

/// Settings of the 旺店通 adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WdtConfig {
    /// Gateway URL.
    pub base_url: String,
    /// Seller account (`sid`).
    pub sid: String,
    /// App key (`key`).
    pub app_key: String,
    /// Method.
    pub method: WeighMethod,
    /// Force weighing even when far from WDT's estimate (the bench has its own check).
    pub force: bool,
    /// Packer id sent with `weighingExt` (0 = none).
    pub packager_id: i64,
    /// Packer number sent with `salesWeighing` (empty = none).
    pub packager_no: String,
    /// Bench name (`operator_table_name`).
    pub table_name: String,
    /// Requests allowed per second.
    pub per_second: usize,
    /// Payload field with the waybill or outbound/trade number.
    pub waybill_field: String,
    /// Payload field with the weight in grams.
    pub weight_field: String,
    /// Payload fields with the box dimensions in whole cm (optional).
    pub dims_fields: [String; 3],
}

impl Default for WdtConfig {
    fn default() -> Self {
        WdtConfig {
            base_url: DEFAULT_BASE.into(),
            sid: String::new(),
            app_key: String::new(),
            method: WeighMethod::WeighingExt,
            force: false,
            packager_id: 0,
            packager_no: String::new(),
            table_name: String::new(),
            per_second: 10,
            waybill_field: "waybill_no".into(),
            weight_field: "weight_g".into(),
            dims_fields: ["length_cm".into(), "width_cm".into(), "height_cm".into()],
        }
    }
}

/// The 旺店通 旗舰版 weigh adapter.
pub struct WdtAdapter {
    cfg: WdtConfig,
    appsecret: Secret,
    limiter: RateLimiter,
    transport: Box<dyn Transport>,
}

#[derive(Deserialize)]
struct Resp {
    status: i64,
    #[serde(default)]
    message: Option<String>,
}

impl WdtAdapter {
    /// A 旺店通 adapter; `appsecret` is the `secret:salt` pair as WDT hands it out.
    pub fn new(
        cfg: WdtConfig,
        appsecret: Secret,
        transport: Box<dyn Transport>,
    ) -> Result<WdtAdapter, DeliveryError> {
        if cfg.sid.is_empty() || cfg.app_key.is_empty() {
            return Err(DeliveryError::Config(
                "旺店通 sid and app_key are required".into(),
            ));
        }
        if !appsecret.expose().contains(':') {
            return Err(DeliveryError::Config(
                "旺店通 appsecret must have the form secret:salt".into(),
            ));
        }
        let per_s = cfg.per_second.max(1);
        Ok(WdtAdapter {
            cfg,
            appsecret,
            limiter: RateLimiter::new(&[(Duration::from_secs(1), per_s)]),
            transport,
        })
    }

    /// The JSON body (positional arguments) for one result.
    pub fn body(&self, it: &Outgoing) -> Result<String, String> {
        let (no, grams) = it.waybill_and_grams(&self.cfg.waybill_field, &self.cfg.weight_field)?;
        let kg = grams_to_kg_text(grams);
        let s = |v: &str| Value::String(v.to_string()).to_string();
        Ok(match self.cfg.method {
            WeighMethod::WeighingExt => format!(
                "[{},\"\",{kg},{},{}]",
                s(no),
                self.cfg.packager_id,
                self.cfg.force
            ),
            WeighMethod::SalesWeighing => {
                let mut o = format!(
                    "[{{\"order_no\":{},\"weight\":{kg},\"package_barcode\":\"\",\"force\":{}",
                    s(no),
                    self.cfg.force
                );
                if !self.cfg.packager_no.is_empty() {
                    o.push_str(&format!(",\"packager_no\":{}", s(&self.cfg.packager_no)));
                }
                if !self.cfg.table_name.is_empty() {
                    o.push_str(&format!(
                        ",\"operator_table_name\":{}",
                        s(&self.cfg.table_name)
                    ));
                }
                for (f, key) in self
                    .cfg
                    .dims_fields
                    .iter()
                    .zip(["length", "width", "height"])
                {
                    if let Some(v) = it.payload.get(f).and_then(Value::as_i64) {
                        o.push_str(&format!(",\"{key}\":{v}"));
                    }
                }
                o.push_str("}]");
                o
            }
        })
    }

    /// The signed query params for `body` at `unix_s`.
    pub fn signed_query(&self, body: &str, unix_s: i64) -> Vec<(String, String)> {
        let (secret, salt) = split_appsecret(self.appsecret.expose());
        let mut p = BTreeMap::new();
        p.insert("sid".to_string(), self.cfg.sid.clone());
        p.insert("key".into(), self.cfg.app_key.clone());
        p.insert("salt".into(), salt.to_string());
        p.insert("method".into(), self.cfg.method.method().to_string());
        p.insert("v".into(), "1.0".into());
        p.insert("timestamp".into(), (unix_s - WDT_EPOCH).to_string());
        p.insert("body".into(), body.to_string());
        let sg = sign(secret, &p);
        p.remove("body");
        p.insert("sign".into(), sg);
        p.into_iter().collect()
    }
}

impl Adapter for WdtAdapter {
    fn name(&self) -> &'static str {
        "wdt"
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn next_request_at(&self, now_ms: u64) -> u64 {
        self.limiter.next_allowed(now_ms)
    }

    fn upload(
        &mut self,
        items: &[Outgoing],
        at: RequestTime,
    ) -> Result<Vec<(String, ItemOutcome)>, DeliveryError> {
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let body = match self.body(it) {
                Ok(b) => b,
                Err(why) => {
                    out.push((it.result_id.clone(), ItemOutcome::Rejected(why)));
                    continue;
                }
            };
            let url = format!(
                "{}?{}",
                self.cfg.base_url.trim_end_matches('/'),
                form_encode(&self.signed_query(&body, at.unix_s))
            );
            let req = HttpRequest {
                method: Method::Post,
                url,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.into_bytes(),
            };
            self.limiter.record(at.mono_ms);
            let resp = self.transport.send(&req)?;
            if !(200..300).contains(&resp.status) {
                return Err(classify_status(&resp, at.unix_s));
            }
            let r: Resp =
                serde_json::from_slice(&resp.body).map_err(|e| DeliveryError::Transient {
                    reason: format!("旺店通: unreadable response ({e}): {}", resp.body_excerpt()),
                    retry_after: None,
                })?;
            let msg = r.message.unwrap_or_default();
            let outcome = match r.status {
                0 => ItemOutcome::Accepted,
                6 | 7 => {
                    return Err(DeliveryError::Auth {
                        reason: format!("旺店通 {}: {msg}", r.status),
                    })
                }
                1 if msg.contains("签名") || msg.contains("sign") || msg.contains("key") => {
                    return Err(DeliveryError::Auth {
                        reason: format!("旺店通 1: {msg}"),
                    })
                }
                _ if msg.contains("频率") || msg.contains("并发") => {
                    return Err(DeliveryError::Transient {
                        reason: format!("旺店通 {}: {msg}", r.status),
                        retry_after: Some(Duration::from_secs(60)),
                    })
                }
                s => ItemOutcome::Rejected(format!("旺店通 {s}: {msg}")),
            };
            out.push((it.result_id.clone(), outcome));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::http::ScriptedTransport;

    /// Independently computed with Python:
    /// `hashlib.md5(("testsecret" + "".join(k + v for k, v in sorted(p.items())) + "testsecret").encode()).hexdigest()`
    /// with p = {sid: "mytest", key: "mytest2-test", salt: "testsalt",
    /// method: "wms.stockout.Sales.weighingExt", v: "1.0", timestamp: "464000000",
    /// body: '["SF1234567890","",1.250,0,false]'}.
    const VECTOR: &str = "e87da81a0c544a78dc1a3e3c671ea9bf";

    fn adapter(
        method: WeighMethod,
        script: Vec<Result<crate::sync::http::HttpResponse, DeliveryError>>,
    ) -> WdtAdapter {
        WdtAdapter::new(
            WdtConfig {
                sid: "mytest".into(),
                app_key: "mytest2-test".into(),
                method,
                ..WdtConfig::default()
            },
            Secret::new("testsecret:testsalt"),
            Box::new(ScriptedTransport::new(script)),
        )
        .unwrap()
    }

    fn item(no: &str) -> Outgoing {
        Outgoing {
            result_id: "r1".into(),
            order_no: "O1".into(),
            payload: serde_json::json!({"waybill_no": no, "weight_g": 1250, "length_cm": 30, "width_cm": 20, "height_cm": 10})
                .as_object()
                .cloned()
                .unwrap(),
        }
    }

    #[test]
    fn sign_matches_the_independent_vector() {
        let a = adapter(WeighMethod::WeighingExt, vec![]);
        let body = a.body(&item("SF1234567890")).unwrap();
        assert_eq!(body, r#"["SF1234567890","",1.250,0,false]"#);
        let q: BTreeMap<_, _> = a
            .signed_query(&body, WDT_EPOCH + 464_000_000)
            .into_iter()
            .collect();
        assert_eq!(q["timestamp"], "464000000");
        assert_eq!(q["salt"], "testsalt");
        assert!(!q.contains_key("body"));
        assert!(q.values().all(|v| !v.contains("testsecret")));
        assert_eq!(q["sign"], VECTOR);
    }

    #[test]
    fn sales_weighing_body_carries_dimensions() {
        let a = adapter(WeighMethod::SalesWeighing, vec![]);
        assert_eq!(
            a.body(&item("SF1")).unwrap(),
            r#"[{"order_no":"SF1","weight":1.250,"package_barcode":"","force":false,"length":30,"width":20,"height":10}]"#
        );
    }

    #[test]
    fn status_handling() {
        let check = |body: &str, want: &str| {
            let mut a = adapter(
                WeighMethod::WeighingExt,
                vec![ScriptedTransport::json(200, body)],
            );
            let got = match a.upload(
                &[item("SF1")],
                RequestTime {
                    mono_ms: 0,
                    unix_s: WDT_EPOCH + 10,
                },
            ) {
                Ok(v) => format!("{:?}", v[0].1),
                Err(DeliveryError::Transient { .. }) => "transient".into(),
                Err(DeliveryError::Auth { .. }) => "auth".into(),
                Err(e) => format!("{e:?}"),
            };
            assert!(got.starts_with(want), "{body}: {got}");
        };
        check(
            r#"{"status":0,"data":{"logistics_name":"顺丰"}}"#,
            "Accepted",
        );
        check(
            r#"{"status":100,"message":"单据不存在"}"#,
            "Rejected(\"旺店通 100: 单据不存在",
        );
        check(
            r#"{"status":100,"message":"超过每分钟最大调用频率限制"}"#,
            "transient",
        );
        check(r#"{"status":7,"message":"timestamp"}"#, "auth");
        check(r#"{"status":1,"message":"签名错误"}"#, "auth");
    }

    #[test]
    fn appsecret_without_salt_is_refused() {
        let e = WdtAdapter::new(
            WdtConfig {
                sid: "s".into(),
                app_key: "k".into(),
                ..WdtConfig::default()
            },
            Secret::new("nosalt"),
            Box::new(ScriptedTransport::default()),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("secret:salt"));
        assert!(!e.to_string().contains("nosalt"));
    }
}
