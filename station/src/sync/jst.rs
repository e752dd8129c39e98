//! 聚水潭 (Jushuitan) open platform: weigh-and-ship upload
//! (`POST /open/orders/weight/send/upload`), request signing, rate limits.
//!
//! Facts (see `freight-and-order-centers.md` §5.1): form POST of `app_key, access_token,
//! timestamp (unix s), version=2, charset=utf-8, biz (JSON), sign`;
//! `sign = lower(hex(md5(app_secret + concat(k + v for k in sorted(params)))))` over every
//! param but `sign`. `biz` is a JSON **array** of `{l_id, weight (kg), type, channel,
//! f_volume (m³)}`. Limits: 5 requests/s (error 199) and 100/min (error 200). A top-level
//! `code == 0` only means the request was processed: each item in `data.datas[]` is checked
//! (`code`/`msg`/`is_success` where present).
//!
//! The legacy API (`open.erp321.com`) signs `md5(method + partnerid + "token" + token + "ts" +
//! ts + partnerkey)`; [`legacy_sign`] implements it for integrations still on it.

use super::backoff::RateLimiter;
use super::http::{classify_status, form_encode, HttpRequest, Method, Transport};
use super::secrets::Secret;
use super::{grams_to_kg_text, Adapter, DeliveryError, ItemOutcome, Outgoing, RequestTime};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Production host.
pub const DEFAULT_BASE: &str = "https://openapi.jushuitan.com";
/// Weigh-and-ship path.
pub const WEIGH_PATH: &str = "/open/orders/weight/send/upload";
/// 聚水潭's documented limits: 5 per second, 100 per minute.
pub const LIMITS: [(Duration, usize); 2] =
    [(Duration::from_secs(1), 5), (Duration::from_secs(60), 100)];

/// `sign` of the current open platform over `params` (every request param except `sign`).
pub fn sign(app_secret: &str, params: &BTreeMap<String, String>) -> String {
    let mut h = Md5::new();
    h.update(app_secret.as_bytes());
    for (k, v) in params {
        if k == "sign" {
            continue;
        }
        h.update(k.as_bytes());
        h.update(v.as_bytes());
    }
    hex::encode(h.finalize())
}

/// `sign` of the legacy partner API.
pub fn legacy_sign(
    method: &str,
    partner_id: &str,
    token: &str,
    ts: &str,
    partner_key: &str,
) -> String {
    let mut h = Md5::new();
    for part in [method, partner_id, "token", token, "ts", ts, partner_key] {
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Settings of the 聚水潭 adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JstConfig {
    /// API host (production or `https://dev-api.jushuitan.com`).
    pub base_url: String,
    /// App key (not secret).
    pub app_key: String,
    /// `type`: 0 验货后称重, 1 验货后称重并发货 (default: the bench verified the items),
    /// 2/3 无须验货…, 4 发货后称重, 5 自动判断.
    pub weigh_type: u8,
    /// `channel` shown in the order log.
    pub channel: String,
    /// Results per request.
    pub batch: usize,
    /// Payload field holding the waybill number (`l_id`).
    pub waybill_field: String,
    /// Payload field holding the weight in grams.
    pub weight_field: String,
    /// Payload field holding the volume in cm³ (optional).
    pub volume_field: String,
}

impl Default for JstConfig {
    fn default() -> Self {
        JstConfig {
            base_url: DEFAULT_BASE.into(),
            app_key: String::new(),
            weigh_type: 1,
            channel: "packbench".into(),
            batch: 20,
            waybill_field: "waybill_no".into(),
            weight_field: "weight_g".into(),
            volume_field: "volume_cm3".into(),
        }
    }
}

/// The 聚水潭 weigh-upload adapter.
pub struct JstAdapter {
    cfg: JstConfig,
    app_secret: Secret,
    access_token: Secret,
    limiter: RateLimiter,
    transport: Box<dyn Transport>,
}

#[derive(Deserialize)]
struct Resp {
    code: i64,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    data: Option<RespData>,
}

#[derive(Deserialize)]
struct RespData {
    #[serde(default)]
    datas: Vec<Value>,
}

/// cm³ as m³ with six decimals, exact.
fn cm3_to_m3_text(cm3: i64) -> String {
    let sign = if cm3 < 0 { "-" } else { "" };
    let a = cm3.unsigned_abs();
    format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
}

impl JstAdapter {
    /// A 聚水潭 adapter.
    pub fn new(
        cfg: JstConfig,
        app_secret: Secret,
        access_token: Secret,
        transport: Box<dyn Transport>,
    ) -> Result<JstAdapter, DeliveryError> {
        if cfg.app_key.is_empty() {
            return Err(DeliveryError::Config("聚水潭 app_key is empty".into()));
        }
        Ok(JstAdapter {
            cfg,
            app_secret,
            access_token,
            limiter: RateLimiter::new(&LIMITS),
            transport,
        })
    }

    /// The `biz` element for one result, or why it cannot be sent.
    fn biz_item(&self, it: &Outgoing) -> Result<(String, String), String> {
        let (l_id, grams) =
            it.waybill_and_grams(&self.cfg.waybill_field, &self.cfg.weight_field)?;
        let mut s = format!(
            "{{\"l_id\":{},\"weight\":{},\"type\":{},\"channel\":{}",
            Value::String(l_id.to_string()),
            grams_to_kg_text(grams),
            self.cfg.weigh_type,
            Value::String(self.cfg.channel.clone()),
        );
        if let Some(v) = it
            .payload
            .get(&self.cfg.volume_field)
            .and_then(Value::as_i64)
        {
            s.push_str(&format!(",\"f_volume\":{}", cm3_to_m3_text(v)));
        }
        s.push('}');
        Ok((l_id.to_string(), s))
    }

    /// The signed form for `biz` at `unix_s`.
    pub fn signed_form(&self, biz: &str, unix_s: i64) -> Vec<(String, String)> {
        let mut p = BTreeMap::new();
        p.insert("app_key".to_string(), self.cfg.app_key.clone());
        p.insert(
            "access_token".into(),
            self.access_token.expose().to_string(),
        );
        p.insert("timestamp".into(), unix_s.to_string());
        p.insert("version".into(), "2".into());
        p.insert("charset".into(), "utf-8".into());
        p.insert("biz".into(), biz.to_string());
        let s = sign(self.app_secret.expose(), &p);
        p.insert("sign".into(), s);
        p.into_iter().collect()
    }
}

fn item_error(v: &Value) -> Option<String> {
    let code = v.get("code").and_then(Value::as_i64);
    let ok = v.get("is_success").and_then(Value::as_bool);
    let msg = v
        .get("msg")
        .or_else(|| v.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if ok == Some(false) || code.is_some_and(|c| c != 0) {
        Some(format!(
            "聚水潭 item error {}: {msg}",
            code.map_or("-".to_string(), |c| c.to_string())
        ))
    } else {
        None
    }
}

impl Adapter for JstAdapter {
    fn name(&self) -> &'static str {
        "jushuitan"
    }

    fn max_batch(&self) -> usize {
        self.cfg.batch.max(1)
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
        let mut sendable: Vec<(&Outgoing, String)> = Vec::new();
        let mut biz = String::from("[");
        for it in items {
            match self.biz_item(it) {
                Ok((l_id, s)) => {
                    if !sendable.is_empty() {
                        biz.push(',');
                    }
                    biz.push_str(&s);
                    sendable.push((it, l_id));
                }
                Err(why) => out.push((it.result_id.clone(), ItemOutcome::Rejected(why))),
            }
        }
        biz.push(']');
        if sendable.is_empty() {
            return Ok(out);
        }
        let body = form_encode(&self.signed_form(&biz, at.unix_s)).into_bytes();
        let req = HttpRequest {
            method: Method::Post,
            url: format!("{}{}", self.cfg.base_url.trim_end_matches('/'), WEIGH_PATH),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded;charset=utf-8".into(),
            )],
            body,
        };
        self.limiter.record(at.mono_ms);
        let resp = self.transport.send(&req)?;
        if !(200..300).contains(&resp.status) {
            return Err(classify_status(&resp, at.unix_s));
        }
        let r: Resp = serde_json::from_slice(&resp.body).map_err(|e| DeliveryError::Transient {
            reason: format!("聚水潭: unreadable response ({e}): {}", resp.body_excerpt()),
            retry_after: None,
        })?;
        let msg = r.msg.unwrap_or_default();
        match r.code {
            0 => {}
            199 => {
                return Err(DeliveryError::Transient {
                    reason: format!("聚水潭 199 (over 5 requests/s): {msg}"),
                    retry_after: Some(Duration::from_secs(1)),
                })
            }
            200 => {
                return Err(DeliveryError::Transient {
                    reason: format!("聚水潭 200 (over 100 requests/min): {msg}"),
                    retry_after: Some(Duration::from_secs(60)),
                })
            }
            10 | 100 | 110 | 140 | 150 | 190 => {
                return Err(DeliveryError::Auth {
                    reason: format!("聚水潭 {}: {msg}", r.code),
                })
            }
            c => {
                return Err(DeliveryError::Permanent {
                    reason: format!("聚水潭 {c}: {msg}"),
                })
            }
        }
        let datas = r.data.map(|d| d.datas).unwrap_or_default();
        for (it, l_id) in sendable {
            let found = datas
                .iter()
                .find(|d| d.get("l_id").and_then(Value::as_str) == Some(l_id.as_str()));
            let outcome = match found {
                Some(d) => match item_error(d) {
                    Some(e) => ItemOutcome::Rejected(e),
                    None => ItemOutcome::Accepted,
                },
                // An older response shape carries no per-item list at all: code 0 is all we get.
                None if datas.is_empty() => ItemOutcome::Accepted,
                None => ItemOutcome::Retry(format!("waybill {l_id} missing from 聚水潭's answer")),
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

    const VECTORS: &str =
        include_str!("../../../tests/fixtures/order-centers/jst_sign_test_vectors.csv");
    const LEGACY: &str =
        include_str!("../../../tests/fixtures/order-centers/jst_legacy_sign_test_vectors.csv");

    fn rows(text: &str) -> Vec<csv::StringRecord> {
        let data: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        csv::Reader::from_reader(data.as_bytes())
            .records()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn sign_matches_published_sdk_vectors() {
        let rs = rows(VECTORS);
        assert!(rs.len() >= 3);
        for r in rs {
            let params: BTreeMap<String, String> = serde_json::from_str(&r[2]).unwrap();
            assert_eq!(sign(&r[1], &params), &r[3], "case {}", &r[0]);
        }
    }

    #[test]
    fn legacy_sign_matches_published_vector() {
        let rs = rows(LEGACY);
        assert!(!rs.is_empty());
        for r in rs {
            assert_eq!(legacy_sign(&r[0], &r[1], &r[3], &r[4], &r[2]), &r[5]);
        }
    }

    fn item(id: &str, waybill: &str, g: i64) -> Outgoing {
        Outgoing {
            result_id: id.into(),
            order_no: "O".into(),
            payload:
                serde_json::json!({"waybill_no": waybill, "weight_g": g, "volume_cm3": 12_500})
                    .as_object()
                    .cloned()
                    .unwrap(),
        }
    }

    fn adapter(script: Vec<Result<crate::sync::http::HttpResponse, DeliveryError>>) -> JstAdapter {
        JstAdapter::new(
            JstConfig {
                app_key: "ak".into(),
                ..JstConfig::default()
            },
            Secret::new("sec"),
            Secret::new("tok"),
            Box::new(ScriptedTransport::new(script)),
        )
        .unwrap()
    }

    const AT: RequestTime = RequestTime {
        mono_ms: 0,
        unix_s: 1_639_128_407,
    };

    #[test]
    fn builds_a_signed_form_with_a_biz_array_in_kilograms() {
        let a = adapter(vec![]);
        let (_, biz) = a.biz_item(&item("r", "SF1", 1250)).unwrap();
        assert_eq!(
            biz,
            r#"{"l_id":"SF1","weight":1.250,"type":1,"channel":"packbench","f_volume":0.012500}"#
        );
        let form = a.signed_form(&format!("[{biz}]"), AT.unix_s);
        let m: BTreeMap<_, _> = form.into_iter().collect();
        assert_eq!(m["timestamp"], "1639128407");
        assert_eq!(m["version"], "2");
        let mut unsigned = m.clone();
        unsigned.remove("sign");
        assert_eq!(m["sign"], sign("sec", &unsigned));
    }

    #[test]
    fn per_item_results_are_checked() {
        let mut a = adapter(vec![ScriptedTransport::json(
            200,
            r#"{"code":0,"msg":"执行成功","data":{"datas":[{"l_id":"SF1","weight":1.2},{"l_id":"SF2","code":1,"msg":"快递单号不存在"},{"l_id":"SF4","is_success":false,"msg":"已发货"}]}}"#,
        )]);
        let out = a
            .upload(
                &[
                    item("a", "SF1", 1000),
                    item("b", "SF2", 1000),
                    item("c", "SF3", 1000),
                    item("d", "SF4", 1000),
                    item("e", "", 1000),
                ],
                AT,
            )
            .unwrap();
        let get = |id: &str| out.iter().find(|(i, _)| i == id).unwrap().1.clone();
        assert_eq!(get("a"), ItemOutcome::Accepted);
        assert!(matches!(get("b"), ItemOutcome::Rejected(m) if m.contains("快递单号不存在")));
        assert!(matches!(get("c"), ItemOutcome::Retry(_)));
        assert!(matches!(get("d"), ItemOutcome::Rejected(m) if m.contains("已发货")));
        assert!(matches!(get("e"), ItemOutcome::Rejected(m) if m.contains("waybill")));
    }

    #[test]
    fn top_level_codes() {
        let check = |body: &str, want: &str| {
            let mut a = adapter(vec![ScriptedTransport::json(200, body)]);
            let e = a.upload(&[item("a", "SF1", 1)], AT).unwrap_err();
            let got = match e {
                DeliveryError::Transient { retry_after, .. } => {
                    format!("transient {:?}", retry_after.map(|d| d.as_secs()))
                }
                DeliveryError::Auth { .. } => "auth".into(),
                DeliveryError::Permanent { .. } => "permanent".into(),
                _ => "other".into(),
            };
            assert_eq!(got, want, "{body}");
        };
        check(r#"{"code":199,"msg":"too fast"}"#, "transient Some(1)");
        check(r#"{"code":200,"msg":"too many"}"#, "transient Some(60)");
        check(r#"{"code":10,"msg":"sign"}"#, "auth");
        check(r#"{"code":100,"msg":"token"}"#, "auth");
        check(r#"{"code":140,"msg":"ts"}"#, "auth");
        check(r#"{"code":9999,"msg":"?"}"#, "permanent");
        check("<html>", "transient None");
    }

    #[test]
    fn respects_rate_limits() {
        let script = (0..200)
            .map(|_| ScriptedTransport::json(200, r#"{"code":0,"data":{"datas":[]}}"#))
            .collect();
        let mut a = adapter(script);
        let mut now = 0u64;
        let mut sent = Vec::new();
        for i in 0..110 {
            now = a.next_request_at(now);
            a.upload(
                &[item(&format!("r{i}"), "SF1", 1)],
                RequestTime {
                    mono_ms: now,
                    unix_s: 0,
                },
            )
            .unwrap();
            sent.push(now);
        }
        assert_eq!(sent.iter().filter(|&&t| t < 1000).count(), 5);
        assert_eq!(sent.iter().filter(|&&t| t < 60_000).count(), 100);
    }
}
