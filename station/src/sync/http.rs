//! Blocking HTTP for the adapters: a request/response value pair, the [`Transport`] trait,
//! its production implementation over `ureq` (rustls for TLS, connection pooling) and a
//! scripted one for tests.
//!
//! Never log a request: headers and bodies carry tokens and signatures.

use super::DeliveryError;
use std::collections::VecDeque;
use std::time::Duration;

/// Default time allowed to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default time allowed for a whole request, response body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read (a page of orders fits easily).
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// A request to send.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL including the query string.
    pub url: String,
    /// Headers (name, value).
    pub headers: Vec<(String, String)>,
    /// Body (empty for GET).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    // Headers and body may carry secrets: show only what is safe.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.url.split('?').next().unwrap_or("");
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &path)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A response received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (lower-case name, value).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header of that (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A short, printable excerpt of the body for error messages.
    pub fn body_excerpt(&self) -> String {
        let s = String::from_utf8_lossy(&self.body);
        let mut out: String = s.chars().take(200).collect();
        if s.chars().count() > 200 {
            out.push('…');
        }
        out
    }
}

/// Something that carries requests: blocking, one at a time, owned by the sync thread.
pub trait Transport: Send {
    /// Sends `req` and returns the response, whatever its status. `Err` means no response
    /// (connection refused or dropped, timeout, TLS error) and is always transient.
    fn send(&mut self, req: &HttpRequest) -> Result<HttpResponse, DeliveryError>;
}

/// The production transport: `ureq` with rustls and a connection pool.
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport with the given whole-request timeout.
    pub fn new(timeout: Duration) -> UreqTransport {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT.min(timeout)))
            .timeout_global(Some(timeout))
            .user_agent(concat!("packbench/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(4)
            .build();
        UreqTransport {
            agent: config.into(),
        }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new(REQUEST_TIMEOUT)
    }
}

impl Transport for UreqTransport {
    fn send(&mut self, req: &HttpRequest) -> Result<HttpResponse, DeliveryError> {
        let path = req.url.split('?').next().unwrap_or("").to_string();
        let net = |e: ureq::Error| DeliveryError::Transient {
            reason: format!("{path}: {e}"),
            retry_after: None,
        };
        let result = match req.method {
            Method::Get => {
                let mut b = self.agent.get(&req.url);
                for (k, v) in &req.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                b.call()
            }
            Method::Post => {
                let mut b = self.agent.post(&req.url);
                for (k, v) in &req.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                b.send(&req.body[..])
            }
        };
        let mut resp = result.map_err(net)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(net)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// A transport that answers from a script and records what was sent (tests, dry runs).
#[derive(Debug, Default)]
pub struct ScriptedTransport {
    /// Responses (or failures) to hand out, in order.
    pub script: VecDeque<Result<HttpResponse, DeliveryError>>,
    /// Requests received, in order.
    pub sent: Vec<HttpRequest>,
}

impl ScriptedTransport {
    /// A transport that will answer `script` in order.
    pub fn new(script: Vec<Result<HttpResponse, DeliveryError>>) -> ScriptedTransport {
        ScriptedTransport {
            script: script.into(),
            sent: Vec::new(),
        }
    }

    /// A JSON response with that status.
    pub fn json(status: u16, body: &str) -> Result<HttpResponse, DeliveryError> {
        Ok(HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        })
    }
}

impl Transport for ScriptedTransport {
    fn send(&mut self, req: &HttpRequest) -> Result<HttpResponse, DeliveryError> {
        self.sent.push(req.clone());
        self.script.pop_front().unwrap_or_else(|| {
            Err(DeliveryError::Transient {
                reason: "script exhausted".into(),
                retry_after: None,
            })
        })
    }
}

/// Percent-encodes a query or form component (RFC 3986 unreserved characters kept).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Joins pairs as `k=v&k=v`, both percent-encoded.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses `Retry-After`: delta seconds, or an HTTP date compared with `now_unix_s`.
/// Capped at one hour so a wrong header cannot park the queue for days.
pub fn parse_retry_after(value: &str, now_unix_s: i64) -> Option<Duration> {
    const CAP: u64 = 3600;
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(CAP)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp();
    let d = u64::try_from(when.saturating_sub(now_unix_s)).unwrap_or(0);
    Some(Duration::from_secs(d.min(CAP)))
}

/// Classifies a non-2xx status the same way for every adapter: 408/429/5xx transient (with
/// `Retry-After`), 401/403 authentication, other 4xx permanent.
pub fn classify_status(resp: &HttpResponse, now_unix_s: i64) -> DeliveryError {
    let reason = format!("HTTP {}: {}", resp.status, resp.body_excerpt());
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| parse_retry_after(v, now_unix_s));
    match resp.status {
        408 | 425 | 429 | 500..=599 => DeliveryError::Transient {
            reason,
            retry_after,
        },
        401 | 403 => DeliveryError::Auth { reason },
        _ => DeliveryError::Permanent { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let check = |v: &str, want: Option<u64>| {
            assert_eq!(
                parse_retry_after(v, 1_700_000_000).map(|d| d.as_secs()),
                want,
                "{v}"
            )
        };
        check("3", Some(3));
        check(" 120 ", Some(120));
        check("999999", Some(3600));
        check("soon", None);
        check("-1", None);
        // 2023-11-14T22:13:20Z is 1_700_000_000; ten seconds later:
        check("Tue, 14 Nov 2023 22:13:30 GMT", Some(10));
        check("Tue, 14 Nov 2023 22:13:00 GMT", Some(0));
    }

    #[test]
    fn status_classes() {
        let r = |status: u16, ra: Option<&str>| HttpResponse {
            status,
            headers: ra
                .map(|v| vec![("retry-after".to_string(), v.to_string())])
                .unwrap_or_default(),
            body: b"nope".to_vec(),
        };
        let check = |status, ra, want: &str| {
            let got = match classify_status(&r(status, ra), 0) {
                DeliveryError::Transient { retry_after, .. } => {
                    format!("transient {:?}", retry_after.map(|d| d.as_secs()))
                }
                DeliveryError::Auth { .. } => "auth".into(),
                DeliveryError::Permanent { reason } => {
                    assert!(reason.contains("nope"));
                    "permanent".into()
                }
                other => format!("{other:?}"),
            };
            assert_eq!(got, want, "{status}");
        };
        check(500, None, "transient None");
        check(502, None, "transient None");
        check(503, Some("7"), "transient Some(7)");
        check(429, Some("2"), "transient Some(2)");
        check(408, None, "transient None");
        check(401, None, "auth");
        check(403, None, "auth");
        check(400, None, "permanent");
        check(422, None, "permanent");
        check(404, None, "permanent");
    }

    #[test]
    fn encodes_like_a_form() {
        assert_eq!(urlencode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            form_encode(&[("k".into(), "v 1".into()), ("x".into(), "".into())]),
            "k=v%201&x="
        );
    }

    #[test]
    fn debug_never_shows_headers_or_query() {
        let r = HttpRequest {
            method: Method::Post,
            url: "https://oc.example/v1/x?access_token=SECRET".into(),
            headers: vec![("authorization".into(), "Bearer SECRET".into())],
            body: b"SECRET".to_vec(),
        };
        let d = format!("{r:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(d.contains("/v1/x"));
    }
}
