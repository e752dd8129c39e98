//! Order-center sync: outbox delivery, order download, adapters (reference REST, 聚水潭, 旺店通).
//!
//! Shape:
//! - [`Adapter`] is the one trait every order center implements: upload a batch of results
//!   with a per-item outcome, and (where the center offers it) download orders incrementally
//!   and look one up. Adapters build requests and parse responses; the bytes travel through a
//!   [`http::Transport`] (blocking `ureq` with rustls in production, a script in unit tests).
//! - [`deliver::Deliverer`] claims batches from the [`crate::outbox`], calls the adapter,
//!   settles every item (ack, dead letter, retry), splits a batch that the server refused as a
//!   whole to isolate a poison result, and backs off with full jitter on the monotonic clock,
//!   honouring `Retry-After`.
//! - [`orders::OrderSync`] pulls orders by cursor into the orders cache, applies cancellations
//!   and interceptions and flags results packed for such orders.
//! - [`worker::SyncWorker`] runs both on their own thread with their own SQLite connection.
//! - [`test_server`] is a real HTTP/1.1 implementation of the reference contract with fault
//!   injection, used by tests, benchmarks and `packbench order-center serve`.
//!
//! Architecture invariant: nothing here runs on an async runtime; HTTP is blocking and lives
//! on the sync thread. Secrets ([`secrets`]) never appear in logs, errors or `Debug` output.

pub mod backoff;
pub mod config;
pub mod deliver;
pub mod http;
pub mod jst;
pub mod mapping;
pub mod orders;
pub mod rest;
pub mod secrets;
pub mod test_server;
pub mod wdt;
pub mod worker;

use domain::order::Order;
use std::time::Duration;

/// One result on its way out: the committed payload (a JSON object, after field mapping)
/// and its idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Idempotency key (UUIDv7 minted by the station).
    pub result_id: String,
    /// Order the result belongs to.
    pub order_no: String,
    /// The result as a JSON object (already mapped for the target).
    pub payload: serde_json::Map<String, serde_json::Value>,
}

impl Outgoing {
    /// The waybill number and the integer weight in grams that the vendor weigh uploads need,
    /// read from the (mapped) payload fields named by the adapter's configuration; or why the
    /// result cannot be sent.
    pub fn waybill_and_grams(
        &self,
        waybill_field: &str,
        weight_field: &str,
    ) -> Result<(&str, i64), String> {
        let waybill = self
            .payload
            .get(waybill_field)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("no waybill number ({waybill_field}) in the result"))?;
        let grams = self
            .payload
            .get(weight_field)
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| format!("no integer weight ({weight_field}) in the result"))?;
        Ok((waybill, grams))
    }
}

/// What the order center said about one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Stored.
    Accepted,
    /// Already stored earlier under the same key.
    Duplicate,
    /// Refused for good, with the server's reason: becomes a dead letter.
    Rejected(String),
    /// Not processed this time (rate limit per item, missing in the response …): retry.
    Retry(String),
}

/// A failure of a whole request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later: network error, timeout, 5xx, 429, a response we could not read.
    #[error("transient: {reason}")]
    Transient {
        /// What happened (never contains a secret).
        reason: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The server refused the request as a whole (4xx such as 400/422, or an application
    /// error code): not worth repeating as is.
    #[error("refused: {reason}")]
    Permanent {
        /// The server's reason.
        reason: String,
    },
    /// Credentials or signature refused (401/403, bad sign, expired token, IP not allowed):
    /// an integrator must act; results stay queued.
    #[error("authentication refused: {reason}")]
    Auth {
        /// The server's reason.
        reason: String,
    },
    /// This order center does not offer the operation.
    #[error("{adapter} does not support {what}")]
    Unsupported {
        /// Adapter name.
        adapter: &'static str,
        /// Operation.
        what: &'static str,
    },
    /// The adapter is misconfigured (missing secret, bad URL …).
    #[error("configuration: {0}")]
    Config(String),
}

/// The clocks a request may need: the monotonic one for pacing, the wall one for signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTime {
    /// Milliseconds on the loop's monotonic clock.
    pub mono_ms: u64,
    /// Unix seconds (wall clock), for timestamps that servers check.
    pub unix_s: i64,
}

/// A page of the incremental order feed.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPage {
    /// Orders new or changed since the cursor (status changes included).
    pub orders: Vec<Order>,
    /// Cursor to ask from next time.
    pub next: Option<String>,
    /// Orders in the page that could not be read, each with what was wrong (skipped, so one
    /// bad record never stalls the feed).
    pub unreadable: Vec<String>,
}

/// An order center, as the delivery loop and the order download see it.
pub trait Adapter: Send {
    /// Short name for logs and status (`rest`, `jushuitan`, `wdt`).
    fn name(&self) -> &'static str;
    /// Largest batch one request may carry.
    fn max_batch(&self) -> usize;
    /// Earliest monotonic time at which the next request may go (rate limits).
    fn next_request_at(&self, now_ms: u64) -> u64 {
        now_ms
    }
    /// Uploads a batch; on success returns one outcome per item (by `result_id`). Items the
    /// response does not mention should come back as [`ItemOutcome::Retry`].
    fn upload(
        &mut self,
        items: &[Outgoing],
        at: RequestTime,
    ) -> Result<Vec<(String, ItemOutcome)>, DeliveryError>;
    /// One page of orders changed since `cursor`.
    fn fetch_orders(
        &mut self,
        _cursor: Option<&str>,
        _limit: u32,
        _at: RequestTime,
    ) -> Result<OrderPage, DeliveryError> {
        Err(DeliveryError::Unsupported {
            adapter: self.name(),
            what: "order download",
        })
    }
    /// Looks one order up by order number or waybill number.
    fn lookup_order(
        &mut self,
        _no: &str,
        _at: RequestTime,
    ) -> Result<Option<Order>, DeliveryError> {
        Err(DeliveryError::Unsupported {
            adapter: self.name(),
            what: "order lookup",
        })
    }
}

/// Grams as kilograms with three decimals (`1250` → `1.250`), exact, for centers that want kg.
pub fn grams_to_kg_text(g: i64) -> String {
    domain::units::Grams(g).kg_string()
}
