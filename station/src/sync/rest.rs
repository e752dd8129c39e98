//! The reference REST contract (`docs/order-center.openapi.yaml`): bearer auth,
//! `POST /v1/pack-results`, `GET /v1/orders?since=&limit=`, `GET /v1/orders/{no}`.

use super::http::{classify_status, urlencode, HttpRequest, Method, Transport};
use super::secrets::Secret;
use super::{Adapter, DeliveryError, ItemOutcome, OrderPage, Outgoing, RequestTime};
use domain::order::Order;
use serde::Deserialize;
use serde_json::Value;

/// Default batch size for the reference contract.
pub const DEFAULT_BATCH: usize = 50;

/// Client of the reference contract.
pub struct RestAdapter {
    base: String,
    token: Option<Secret>,
    batch: usize,
    transport: Box<dyn Transport>,
}

#[derive(Deserialize)]
struct AckBody {
    results: Vec<AckItem>,
}

#[derive(Deserialize)]
struct AckItem {
    result_id: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct OrdersBody {
    orders: Vec<Value>,
    #[serde(default)]
    next: Option<String>,
}

impl RestAdapter {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8080`), with an optional
    /// bearer token, batches of `batch` results, over `transport`.
    pub fn new(
        base: &str,
        token: Option<Secret>,
        batch: usize,
        transport: Box<dyn Transport>,
    ) -> Result<RestAdapter, DeliveryError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(DeliveryError::Config(format!(
                "order-center URL {base:?} must start with http:// or https://"
            )));
        }
        Ok(RestAdapter {
            base,
            token,
            batch: batch.max(1),
            transport,
        })
    }

    fn headers(&self, json_body: bool) -> Vec<(String, String)> {
        let mut h = vec![("accept".to_string(), "application/json".to_string())];
        if json_body {
            h.push(("content-type".into(), "application/json".into()));
        }
        if let Some(t) = &self.token {
            h.push(("authorization".into(), format!("Bearer {}", t.expose())));
        }
        h
    }

    fn get(
        &mut self,
        url: String,
        at: RequestTime,
    ) -> Result<super::http::HttpResponse, DeliveryError> {
        let req = HttpRequest {
            method: Method::Get,
            url,
            headers: self.headers(false),
            body: Vec::new(),
        };
        let resp = self.transport.send(&req)?;
        let _ = at;
        Ok(resp)
    }
}

/// Parses a list of orders leniently: good ones are kept, bad ones reported by position.
pub fn parse_orders(values: Vec<Value>) -> (Vec<Order>, Vec<String>) {
    let mut ok = Vec::with_capacity(values.len());
    let mut bad = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        let no = v
            .get("order_no")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        match serde_json::from_value::<Order>(v) {
            Ok(o) => ok.push(o),
            Err(e) => bad.push(format!("order #{i} ({no}): {e}")),
        }
    }
    (ok, bad)
}

impl Adapter for RestAdapter {
    fn name(&self) -> &'static str {
        "rest"
    }

    fn max_batch(&self) -> usize {
        self.batch
    }

    fn upload(
        &mut self,
        items: &[Outgoing],
        at: RequestTime,
    ) -> Result<Vec<(String, ItemOutcome)>, DeliveryError> {
        let results: Vec<Value> = items
            .iter()
            .map(|it| {
                let mut m = it.payload.clone();
                m.insert("result_id".into(), Value::String(it.result_id.clone()));
                Value::Object(m)
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "results": results }))
            .map_err(|e| DeliveryError::Config(format!("cannot encode batch: {e}")))?;
        let req = HttpRequest {
            method: Method::Post,
            url: format!("{}/v1/pack-results", self.base),
            headers: self.headers(true),
            body,
        };
        let resp = self.transport.send(&req)?;
        if !(200..300).contains(&resp.status) {
            return Err(classify_status(&resp, at.unix_s));
        }
        // The server may have committed even if we cannot read its answer: resending is safe.
        let parsed: AckBody =
            serde_json::from_slice(&resp.body).map_err(|e| DeliveryError::Transient {
                reason: format!("unreadable acknowledgement ({e}): {}", resp.body_excerpt()),
                retry_after: None,
            })?;
        let mut by_id: std::collections::HashMap<String, AckItem> = parsed
            .results
            .into_iter()
            .map(|a| (a.result_id.clone(), a))
            .collect();
        Ok(items
            .iter()
            .map(|it| {
                let outcome = match by_id.remove(&it.result_id) {
                    None => ItemOutcome::Retry("not in the acknowledgement".into()),
                    Some(a) => match a.status.as_str() {
                        "accepted" => ItemOutcome::Accepted,
                        "duplicate" => ItemOutcome::Duplicate,
                        "rejected" => ItemOutcome::Rejected(
                            a.reason
                                .unwrap_or_else(|| "rejected without a reason".into()),
                        ),
                        other => ItemOutcome::Retry(format!("unknown status {other:?}")),
                    },
                };
                (it.result_id.clone(), outcome)
            })
            .collect())
    }

    fn fetch_orders(
        &mut self,
        cursor: Option<&str>,
        limit: u32,
        at: RequestTime,
    ) -> Result<OrderPage, DeliveryError> {
        let mut url = format!("{}/v1/orders?limit={limit}", self.base);
        if let Some(c) = cursor {
            url.push_str(&format!("&since={}", urlencode(c)));
        }
        let resp = self.get(url, at)?;
        if !(200..300).contains(&resp.status) {
            return Err(classify_status(&resp, at.unix_s));
        }
        let body: OrdersBody =
            serde_json::from_slice(&resp.body).map_err(|e| DeliveryError::Transient {
                reason: format!("unreadable order page ({e}): {}", resp.body_excerpt()),
                retry_after: None,
            })?;
        let (orders, unreadable) = parse_orders(body.orders);
        Ok(OrderPage {
            orders,
            next: body.next,
            unreadable,
        })
    }

    fn lookup_order(&mut self, no: &str, at: RequestTime) -> Result<Option<Order>, DeliveryError> {
        let url = format!("{}/v1/orders/{}", self.base, urlencode(no));
        let resp = self.get(url, at)?;
        if resp.status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&resp.status) {
            return Err(classify_status(&resp, at.unix_s));
        }
        serde_json::from_slice::<Order>(&resp.body)
            .map(Some)
            .map_err(|e| DeliveryError::Permanent {
                reason: format!("order {no}: unreadable ({e})"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::http::ScriptedTransport;

    fn item(id: &str) -> Outgoing {
        Outgoing {
            result_id: id.into(),
            order_no: "O1".into(),
            payload: serde_json::json!({"order_no":"O1","weight_g":1200})
                .as_object()
                .cloned()
                .unwrap(),
        }
    }

    const AT: RequestTime = RequestTime {
        mono_ms: 0,
        unix_s: 1_700_000_000,
    };

    #[test]
    fn upload_sends_bearer_and_reads_per_item_acks() {
        let t = ScriptedTransport::new(vec![ScriptedTransport::json(
            200,
            r#"{"results":[{"result_id":"a","status":"accepted"},{"result_id":"b","status":"duplicate"},{"result_id":"c","status":"rejected","reason":"bad sku"}]}"#,
        )]);
        let mut a = RestAdapter::new(
            "http://127.0.0.1:1/",
            Some(Secret::new("tok")),
            50,
            Box::new(t),
        )
        .unwrap();
        let out = a
            .upload(&[item("a"), item("b"), item("c"), item("d")], AT)
            .unwrap();
        assert_eq!(
            out,
            vec![
                ("a".into(), ItemOutcome::Accepted),
                ("b".into(), ItemOutcome::Duplicate),
                ("c".into(), ItemOutcome::Rejected("bad sku".into())),
                (
                    "d".into(),
                    ItemOutcome::Retry("not in the acknowledgement".into())
                ),
            ]
        );
    }

    #[test]
    fn upload_error_classes() {
        let check = |resp, want: &str| {
            let t = ScriptedTransport::new(vec![resp]);
            let mut a = RestAdapter::new("http://127.0.0.1:1", None, 50, Box::new(t)).unwrap();
            let e = a.upload(&[item("a")], AT).unwrap_err();
            let got = match e {
                DeliveryError::Transient { .. } => "transient",
                DeliveryError::Permanent { .. } => "permanent",
                DeliveryError::Auth { .. } => "auth",
                _ => "other",
            };
            assert_eq!(got, want);
        };
        check(ScriptedTransport::json(200, "{not json"), "transient");
        check(ScriptedTransport::json(503, ""), "transient");
        check(ScriptedTransport::json(422, "{}"), "permanent");
        check(ScriptedTransport::json(401, ""), "auth");
    }

    #[test]
    fn bad_url_is_a_config_error() {
        let e = RestAdapter::new("ftp://x", None, 1, Box::new(ScriptedTransport::default()))
            .err()
            .unwrap();
        assert!(e.to_string().contains("ftp://x"));
    }

    #[test]
    fn order_page_keeps_good_orders_and_reports_bad_ones() {
        let t = ScriptedTransport::new(vec![ScriptedTransport::json(
            200,
            r#"{"orders":[{"order_no":"O1","status":"cancelled"},{"order_no":"O2","lines":"oops"}],"next":"7"}"#,
        )]);
        let mut a = RestAdapter::new("http://127.0.0.1:1", None, 50, Box::new(t)).unwrap();
        let p = a.fetch_orders(Some("3"), 100, AT).unwrap();
        assert_eq!(p.orders.len(), 1);
        assert_eq!(p.next.as_deref(), Some("7"));
        assert_eq!(p.unreadable.len(), 1);
        assert!(p.unreadable[0].contains("O2"));
    }
}
