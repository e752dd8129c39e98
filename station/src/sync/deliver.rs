//! The delivery step: claim a batch from the outbox, map it, upload it through the adapter,
//! settle every item. Driven by a loop that supplies the time ([`RequestTime`]); one call does
//! at most one request, so the caller stays responsive.
//!
//! Rules:
//! - transient failures (network, timeout, 5xx, 429, unreadable answer) put the batch back with
//!   exponential backoff and full jitter, never shorter than `Retry-After`; the whole queue
//!   waits (it is the same server);
//! - a result the server rejects is a dead letter at once, and the rest of the batch goes on;
//! - a request refused as a whole (4xx such as 422) is split in halves until the poison result
//!   stands alone and is dead-lettered: it never blocks later results;
//! - authentication failures keep everything queued and back off (an integrator must fix the
//!   credentials; dead-lettering every result would be wrong).

use super::backoff::{Backoff, Jitter, DEFAULT_BASE, DEFAULT_CAP};
use super::mapping::{self, Rule};
use super::{Adapter, DeliveryError, ItemOutcome, Outgoing, RequestTime};
use crate::error::Result;
use crate::outbox::{self, Ack, Claimed, Settlement};
use rusqlite::Connection;
use std::collections::VecDeque;
use std::time::Duration;

/// What one [`Deliverer::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A request went out; counts of the settled items.
    Sent {
        /// Acknowledged (accepted or duplicate).
        acked: usize,
        /// Dead-lettered.
        rejected: usize,
        /// Put back for a later attempt.
        retried: usize,
    },
    /// Nothing due; the earliest pending row is due at this monotonic time (if any).
    Idle {
        /// When the next pending row is due.
        next_due_ms: Option<u64>,
    },
    /// Backing off or rate-limited until this monotonic time.
    Wait {
        /// When to try again.
        until_ms: u64,
    },
}

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct DeliverConfig {
    /// Largest batch (also capped by the adapter's).
    pub batch: usize,
    /// First backoff ceiling.
    pub backoff_base: Duration,
    /// Largest backoff ceiling.
    pub backoff_cap: Duration,
    /// Field mapping applied to each payload before upload.
    pub mapping: Vec<Rule>,
}

impl Default for DeliverConfig {
    fn default() -> Self {
        DeliverConfig {
            batch: 50,
            backoff_base: DEFAULT_BASE,
            backoff_cap: DEFAULT_CAP,
            mapping: Vec::new(),
        }
    }
}

/// Delivers the outbox through one adapter.
pub struct Deliverer {
    adapter: Box<dyn Adapter>,
    cfg: DeliverConfig,
    backoff: Backoff,
    item_jitter: Jitter,
    blocked_until_ms: u64,
    /// Halves of a batch refused as a whole, still `in_flight` in the database.
    splits: VecDeque<Vec<Claimed>>,
}

fn rfc3339(unix_s: i64) -> String {
    chrono::DateTime::from_timestamp(unix_s, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Deliverer {
    /// A deliverer; `jitter` seeds the backoff randomness (inject a fixed seed in tests).
    pub fn new(adapter: Box<dyn Adapter>, cfg: DeliverConfig, jitter: Jitter) -> Deliverer {
        let mut item_jitter = jitter.clone();
        item_jitter.next_u64();
        Deliverer {
            backoff: Backoff::new(cfg.backoff_base, cfg.backoff_cap, jitter),
            adapter,
            cfg,
            item_jitter,
            blocked_until_ms: 0,
            splits: VecDeque::new(),
        }
    }

    /// The adapter (for order download and lookups on the same connection pool).
    pub fn adapter_mut(&mut self) -> &mut dyn Adapter {
        self.adapter.as_mut()
    }

    /// Consecutive failed requests so far.
    pub fn failures(&self) -> u32 {
        self.backoff.failures()
    }

    /// Does at most one request. `conn` is the sync thread's own connection.
    pub fn step(&mut self, conn: &mut Connection, at: RequestTime) -> Result<Step> {
        let now = at.mono_ms;
        if now < self.blocked_until_ms {
            return Ok(Step::Wait {
                until_ms: self.blocked_until_ms,
            });
        }
        let ready = self.adapter.next_request_at(now);
        if ready > now {
            return Ok(Step::Wait { until_ms: ready });
        }
        let batch = match self.splits.pop_front() {
            Some(b) => b,
            None => {
                let limit = self.cfg.batch.min(self.adapter.max_batch()).max(1);
                let b = outbox::claim(conn, now, limit)?;
                if b.is_empty() {
                    return Ok(Step::Idle {
                        next_due_ms: outbox::next_due_ms(conn)?,
                    });
                }
                b
            }
        };
        self.send(conn, batch, at)
    }

    fn send(
        &mut self,
        conn: &mut Connection,
        batch: Vec<Claimed>,
        at: RequestTime,
    ) -> Result<Step> {
        let wall = rfc3339(at.unix_s);
        let mut settled: Vec<(String, Settlement)> = Vec::new();
        let mut outgoing = Vec::with_capacity(batch.len());
        for c in &batch {
            match serde_json::from_str::<serde_json::Value>(&c.payload) {
                Ok(serde_json::Value::Object(mut m)) => {
                    mapping::apply(&self.cfg.mapping, &mut m);
                    outgoing.push(Outgoing {
                        result_id: c.result_id.clone(),
                        order_no: c.order_no.clone(),
                        payload: m,
                    });
                }
                _ => settled.push((
                    c.result_id.clone(),
                    Settlement::Rejected("payload is not a JSON object".into()),
                )),
            }
        }
        if outgoing.is_empty() {
            let n = settled.len();
            outbox::settle(conn, &settled, &wall)?;
            return Ok(Step::Sent {
                acked: 0,
                rejected: n,
                retried: 0,
            });
        }
        let result = self.adapter.upload(&outgoing, at);
        let now = at.mono_ms;
        match result {
            Ok(outcomes) => {
                self.backoff.succeed();
                let base = ms(self.cfg.backoff_base);
                for (id, o) in outcomes {
                    let s = match o {
                        ItemOutcome::Accepted => Settlement::Acked(Ack::Accepted),
                        ItemOutcome::Duplicate => Settlement::Acked(Ack::Duplicate),
                        ItemOutcome::Rejected(r) => Settlement::Rejected(r),
                        ItemOutcome::Retry(e) => Settlement::Retry {
                            next_attempt_ms: now + self.item_jitter.up_to(base),
                            error: e,
                        },
                    };
                    settled.push((id, s));
                }
                // An adapter that forgot an item: retry it rather than leave it in flight.
                for o in &outgoing {
                    if !settled.iter().any(|(id, _)| *id == o.result_id) {
                        settled.push((
                            o.result_id.clone(),
                            Settlement::Retry {
                                next_attempt_ms: now + base,
                                error: "no outcome from the adapter".into(),
                            },
                        ));
                    }
                }
            }
            Err(DeliveryError::Permanent { reason }) if outgoing.len() > 1 => {
                // Refused as a whole: split to find the poison; the halves stay in flight.
                let keep: Vec<Claimed> = batch
                    .into_iter()
                    .filter(|c| outgoing.iter().any(|o| o.result_id == c.result_id))
                    .collect();
                let mid = keep.len() / 2;
                let mut first = keep;
                let second = first.split_off(mid);
                self.splits.push_front(second);
                self.splits.push_front(first);
                outbox::record_error(conn, &wall, &format!("batch refused, splitting: {reason}"))?;
                if !settled.is_empty() {
                    outbox::settle(conn, &settled, &wall)?;
                }
                return Ok(Step::Sent {
                    acked: 0,
                    rejected: settled.len(),
                    retried: 0,
                });
            }
            Err(DeliveryError::Permanent { reason }) => {
                settled.push((outgoing[0].result_id.clone(), Settlement::Rejected(reason)));
            }
            Err(e) => {
                let retry_after = match &e {
                    DeliveryError::Transient { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let wait = self.backoff.fail(retry_after);
                self.blocked_until_ms = now.saturating_add(ms(wait));
                let msg = e.to_string();
                for o in &outgoing {
                    settled.push((
                        o.result_id.clone(),
                        Settlement::Retry {
                            next_attempt_ms: self.blocked_until_ms,
                            error: msg.clone(),
                        },
                    ));
                }
            }
        }
        let (mut acked, mut rejected, mut retried) = (0, 0, 0);
        for (_, s) in &settled {
            match s {
                Settlement::Acked(_) => acked += 1,
                Settlement::Rejected(_) => rejected += 1,
                Settlement::Retry { .. } => retried += 1,
            }
        }
        outbox::settle(conn, &settled, &wall)?;
        Ok(Step::Sent {
            acked,
            rejected,
            retried,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A fake order center: a script of whole-request errors, then per-item acceptance
    /// except for poison ids, which make the whole request fail with 422.
    struct Fake {
        errors: VecDeque<DeliveryError>,
        poison: HashSet<String>,
        reject: HashSet<String>,
        requests: Vec<Vec<String>>,
    }

    impl Adapter for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn max_batch(&self) -> usize {
            8
        }
        fn upload(
            &mut self,
            items: &[Outgoing],
            _at: RequestTime,
        ) -> std::result::Result<Vec<(String, ItemOutcome)>, DeliveryError> {
            self.requests
                .push(items.iter().map(|i| i.result_id.clone()).collect());
            if let Some(e) = self.errors.pop_front() {
                return Err(e);
            }
            if items.iter().any(|i| self.poison.contains(&i.result_id)) {
                return Err(DeliveryError::Permanent {
                    reason: "HTTP 422: poison".into(),
                });
            }
            Ok(items
                .iter()
                .map(|i| {
                    let o = if self.reject.contains(&i.result_id) {
                        ItemOutcome::Rejected("bad sku".into())
                    } else {
                        ItemOutcome::Accepted
                    };
                    (i.result_id.clone(), o)
                })
                .collect())
        }
    }

    fn setup(n: usize, fake: Fake) -> (Connection, Deliverer) {
        let mut c = crate::db::open(":memory:").unwrap();
        for i in 0..n {
            let tx = c.transaction().unwrap();
            outbox::enqueue(
                &tx,
                &format!("r{i:02}"),
                "O",
                "{\"w\":1}",
                "2026-01-01T00:00:00Z",
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let d = Deliverer::new(
            Box::new(fake),
            DeliverConfig {
                backoff_base: Duration::from_millis(100),
                backoff_cap: Duration::from_millis(1000),
                ..DeliverConfig::default()
            },
            Jitter::seeded(3),
        );
        (c, d)
    }

    fn count(c: &Connection, state: &str) -> i64 {
        c.query_row(
            "SELECT count(*) FROM outbox WHERE state = ?1",
            [state],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn at(ms: u64) -> RequestTime {
        RequestTime {
            mono_ms: ms,
            unix_s: 1_767_225_600,
        }
    }

    /// Runs steps, advancing the clock to whatever the deliverer waits for.
    fn drain(c: &mut Connection, d: &mut Deliverer) -> u64 {
        let mut now = 0;
        for _ in 0..1000 {
            match d.step(c, at(now)).unwrap() {
                Step::Sent { .. } => {}
                Step::Wait { until_ms } => now = until_ms,
                Step::Idle { next_due_ms: None } => return now,
                Step::Idle {
                    next_due_ms: Some(t),
                } => now = now.max(t),
            }
        }
        panic!("did not drain");
    }

    #[test]
    fn a_poison_result_is_isolated_and_never_blocks_the_rest() {
        let fake = Fake {
            errors: VecDeque::new(),
            poison: ["r05".to_string()].into(),
            reject: ["r10".to_string()].into(),
            requests: vec![],
        };
        let (mut c, mut d) = setup(20, fake);
        drain(&mut c, &mut d);
        assert_eq!(count(&c, "acked"), 18);
        assert_eq!(count(&c, "rejected"), 2);
        let dl = outbox::dead_letters(&c).unwrap();
        assert_eq!(dl[0].result_id, "r05");
        assert!(dl[0].reason.contains("422"));
        assert_eq!(dl[0].attempts, 1);
        assert_eq!(dl[1].reason, "bad sku");
    }

    #[test]
    fn transient_failures_back_off_and_honour_retry_after() {
        let fake = Fake {
            errors: VecDeque::from([
                DeliveryError::Transient {
                    reason: "HTTP 503".into(),
                    retry_after: Some(Duration::from_secs(30)),
                },
                DeliveryError::Transient {
                    reason: "connection reset".into(),
                    retry_after: None,
                },
                DeliveryError::Auth {
                    reason: "HTTP 401".into(),
                },
            ]),
            poison: HashSet::new(),
            reject: HashSet::new(),
            requests: vec![],
        };
        let (mut c, mut d) = setup(3, fake);
        assert!(matches!(
            d.step(&mut c, at(0)).unwrap(),
            Step::Sent { retried: 3, .. }
        ));
        // Retry-After 30 s is a floor.
        match d.step(&mut c, at(1)).unwrap() {
            Step::Wait { until_ms } => assert!(until_ms >= 30_000, "{until_ms}"),
            s => panic!("{s:?}"),
        }
        let end = drain(&mut c, &mut d);
        assert!(end >= 30_000);
        assert_eq!(count(&c, "acked"), 3);
        // Nothing was dead-lettered by transient or auth failures.
        assert_eq!(count(&c, "rejected"), 0);
        let attempts: i64 = c
            .query_row("SELECT max(attempts) FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(attempts, 4);
    }

    #[test]
    fn mapping_is_applied_before_upload() {
        struct Capture(std::sync::Arc<std::sync::Mutex<Vec<Outgoing>>>);
        impl Adapter for Capture {
            fn name(&self) -> &'static str {
                "capture"
            }
            fn max_batch(&self) -> usize {
                10
            }
            fn upload(
                &mut self,
                items: &[Outgoing],
                _at: RequestTime,
            ) -> std::result::Result<Vec<(String, ItemOutcome)>, DeliveryError> {
                self.0.lock().unwrap().extend_from_slice(items);
                Ok(items
                    .iter()
                    .map(|i| (i.result_id.clone(), ItemOutcome::Accepted))
                    .collect())
            }
        }
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut c = crate::db::open(":memory:").unwrap();
        let tx = c.transaction().unwrap();
        outbox::enqueue(&tx, "r", "O", r#"{"waybill_no":"SF1"}"#, "t").unwrap();
        tx.commit().unwrap();
        let rules: Vec<Rule> =
            serde_json::from_str(r#"[{"rename":{"from":"waybill_no","to":"物流单号"}}]"#).unwrap();
        let mut d = Deliverer::new(
            Box::new(Capture(seen.clone())),
            DeliverConfig {
                mapping: rules,
                ..DeliverConfig::default()
            },
            Jitter::seeded(1),
        );
        d.step(&mut c, at(0)).unwrap();
        let got = seen.lock().unwrap();
        assert_eq!(got[0].payload["物流单号"], "SF1");
        assert!(!got[0].payload.contains_key("waybill_no"));
    }
}
