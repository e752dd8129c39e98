//! The sync thread: owns its SQLite connection and the adapter, delivers the outbox, polls the
//! order feed, answers lookups, and reports events. Reached only through [`SyncWorker`].
//!
//! Time: the loop's monotonic clock is `Instant` since the thread started (backoff and rate
//! limits use it, so a wall-clock jump never stalls or floods the queue); the wall clock is
//! read only for signatures and the timestamps stored with acknowledgements.

use super::deliver::{Deliverer, Step};
use super::orders::{self, OrderSink, PollError};
use super::RequestTime;
use crate::error::{Error, Result};
use crate::outbox::{self, Flagged};
use domain::order::Order;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the loop sleeps at most when idle (other processes may enqueue too).
pub const IDLE_POLL: Duration = Duration::from_millis(1000);
/// Acknowledged outbox rows are kept this long (the pack results themselves stay forever in
/// the store); flagged rows are never pruned.
pub const RETAIN_ACKED_DAYS: i64 = 30;
/// How often old acknowledged rows are pruned.
const PRUNE_EVERY_MS: u64 = 3_600_000;

/// Something the UI or the operator should know.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// Results were settled by a request.
    Delivered {
        /// Acknowledged.
        acked: usize,
        /// Dead-lettered.
        rejected: usize,
        /// Put back for later.
        retried: usize,
    },
    /// A packed result's order was cancelled or intercepted: a loud alarm.
    Flagged(Flagged),
    /// Orders arrived from the feed.
    OrdersSynced {
        /// How many.
        upserted: usize,
    },
    /// A sync error (already recorded as the queue's last error).
    Error(String),
}

enum Cmd {
    Kick,
    Lookup(String, Sender<std::result::Result<Option<Order>, String>>),
    Shutdown,
}

/// Settings of the loop.
pub struct WorkerConfig {
    /// Database path (the thread opens its own connection).
    pub db_path: String,
    /// Order-feed poll interval; `None` disables the order download.
    pub order_poll: Option<Duration>,
}

/// Handle to the sync thread. Dropping it stops the thread.
pub struct SyncWorker {
    tx: Sender<Cmd>,
    join: Option<JoinHandle<()>>,
}

fn wall_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl SyncWorker {
    /// Starts the thread. `on_event` is called on the sync thread; keep it short (forward to
    /// a channel).
    pub fn spawn(
        cfg: WorkerConfig,
        mut deliverer: Deliverer,
        mut sink: Box<dyn OrderSink>,
        mut on_event: Box<dyn FnMut(SyncEvent) + Send>,
    ) -> Result<SyncWorker> {
        let mut conn = crate::db::open(&cfg.db_path)?;
        outbox::recover(&conn)?;
        let (tx, rx) = mpsc::channel();
        let join = std::thread::Builder::new()
            .name("packbench-sync".into())
            .spawn(move || {
                run(
                    &mut conn,
                    &mut deliverer,
                    sink.as_mut(),
                    on_event.as_mut(),
                    &rx,
                    &cfg,
                )
            })
            .map_err(|source| Error::Io {
                path: "sync thread".into(),
                source,
            })?;
        Ok(SyncWorker {
            tx,
            join: Some(join),
        })
    }

    /// Wakes the loop (call after enqueueing a result so it goes out at once).
    pub fn kick(&self) {
        let _ = self.tx.send(Cmd::Kick);
    }

    /// Looks an order up at the order center (after a cache miss), storing it when found.
    /// Blocks up to `timeout`.
    pub fn lookup(
        &self,
        no: &str,
        timeout: Duration,
    ) -> std::result::Result<Option<Order>, String> {
        let (rtx, rrx) = mpsc::channel();
        self.tx
            .send(Cmd::Lookup(no.to_string(), rtx))
            .map_err(|_| "sync thread stopped".to_string())?;
        rrx.recv_timeout(timeout)
            .map_err(|_| format!("order lookup {no}: no answer within {timeout:?}"))?
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Cmd::Shutdown);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl Drop for SyncWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    conn: &mut rusqlite::Connection,
    deliverer: &mut Deliverer,
    sink: &mut dyn OrderSink,
    on_event: &mut dyn FnMut(SyncEvent),
    rx: &Receiver<Cmd>,
    cfg: &WorkerConfig,
) {
    let epoch = Instant::now();
    let mono = || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut next_poll_ms = 0u64;
    let mut poll_failures = 0u32;
    let mut next_prune_ms = 0u64;
    loop {
        let now = mono();
        let at = RequestTime {
            mono_ms: now,
            unix_s: wall_now(),
        };
        if now >= next_prune_ms {
            next_prune_ms = now + PRUNE_EVERY_MS;
            let before = rfc3339(at.unix_s - RETAIN_ACKED_DAYS * 86_400);
            if let Err(e) = outbox::prune_acked(conn, &before) {
                on_event(SyncEvent::Error(format!("outbox prune: {e}")));
            }
        }
        if let Some(interval) = cfg.order_poll {
            if now >= next_poll_ms {
                let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
                match orders::poll(conn, deliverer.adapter_mut(), sink, at, 20) {
                    Ok(rep) => {
                        poll_failures = 0;
                        if rep.upserted > 0 {
                            on_event(SyncEvent::OrdersSynced {
                                upserted: rep.upserted,
                            });
                        }
                        for f in rep.flagged {
                            on_event(SyncEvent::Flagged(f));
                        }
                        next_poll_ms = now + interval_ms;
                    }
                    Err(PollError::Remote(super::DeliveryError::Unsupported { .. })) => {
                        next_poll_ms = u64::MAX;
                    }
                    Err(e) => {
                        poll_failures = poll_failures.saturating_add(1);
                        let msg = format!("order download: {e}");
                        let _ = outbox::record_error(conn, &rfc3339(at.unix_s), &msg);
                        on_event(SyncEvent::Error(msg));
                        // Back off up to a minute while the center is away.
                        let factor = 1u64 << poll_failures.min(5);
                        next_poll_ms = now + interval_ms.saturating_mul(factor).min(60_000);
                    }
                }
            }
        }
        let wait_until = match deliverer.step(conn, at) {
            Ok(Step::Sent {
                acked,
                rejected,
                retried,
            }) => {
                on_event(SyncEvent::Delivered {
                    acked,
                    rejected,
                    retried,
                });
                now
            }
            Ok(Step::Idle { next_due_ms }) => {
                let idle = now + u64::try_from(IDLE_POLL.as_millis()).unwrap_or(1000);
                next_due_ms.map_or(idle, |d| d.clamp(now, idle))
            }
            Ok(Step::Wait { until_ms }) => until_ms,
            Err(e) => {
                on_event(SyncEvent::Error(format!("outbox: {e}")));
                now + 1000
            }
        };
        let wake = wait_until.min(next_poll_ms);
        let timeout = Duration::from_millis(wake.saturating_sub(mono()));
        let cmd = if timeout.is_zero() {
            match rx.try_recv() {
                Ok(c) => Some(c),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match rx.recv_timeout(timeout) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        match cmd {
            None | Some(Cmd::Kick) => {}
            Some(Cmd::Shutdown) => return,
            Some(Cmd::Lookup(no, reply)) => {
                let at = RequestTime {
                    mono_ms: mono(),
                    unix_s: wall_now(),
                };
                let r = match orders::lookup(conn, deliverer.adapter_mut(), sink, &no, at) {
                    Ok(Some((o, flagged))) => {
                        for f in flagged {
                            on_event(SyncEvent::Flagged(f));
                        }
                        Ok(Some(o))
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(format!("order lookup {no}: {e}")),
                };
                let _ = reply.send(r);
            }
        }
    }
}

fn rfc3339(unix_s: i64) -> String {
    chrono::DateTime::from_timestamp(unix_s, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Starts the sync thread from the station's `[order_center]` settings: opens the secret
/// store (`secrets_dir` for the encrypted-file fallback), builds the adapter, and downloads
/// orders into the station's cache. Returns `None` when `kind = "none"` (standalone bench).
/// Call [`SyncWorker::kick`] after each recorded pack so the result leaves at once.
pub fn start_from_config(
    db_path: &str,
    cfg: &super::config::OrderCenterConfig,
    secrets_dir: &std::path::Path,
    on_event: Box<dyn FnMut(SyncEvent) + Send>,
) -> Result<Option<SyncWorker>> {
    let invalid = |message: String| Error::Invalid {
        place: "order_center".into(),
        message,
    };
    cfg.validate().map_err(invalid)?;
    let store =
        super::secrets::open(cfg.secrets, secrets_dir).map_err(|e| invalid(e.to_string()))?;
    let Some(adapter) = cfg
        .build_adapter(store.as_ref())
        .map_err(|e| invalid(e.to_string()))?
    else {
        return Ok(None);
    };
    let deliverer = Deliverer::new(
        adapter,
        cfg.deliver_config(),
        super::backoff::Jitter::from_entropy(),
    );
    let sink: Box<dyn OrderSink> =
        Box::new(|conn: &rusqlite::Connection, o: &Order| -> Result<()> {
            crate::store::orders::upsert(conn, o, chrono::Utc::now()).map(|_| ())
        });
    SyncWorker::spawn(
        WorkerConfig {
            db_path: db_path.to_string(),
            order_poll: Some(Duration::from_millis(cfg.order_poll_ms)),
        },
        deliverer,
        sink,
        on_event,
    )
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::config::{AdapterKind, OrderCenterConfig};
    use crate::sync::secrets::Backend;
    use crate::sync::test_server::{OrderCenterServer, ServerOptions};

    #[test]
    fn starts_from_config_and_delivers_kicked_results() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db").to_str().unwrap().to_string();
        let none = start_from_config(
            &db,
            &OrderCenterConfig::default(),
            dir.path(),
            Box::new(|_| {}),
        )
        .unwrap();
        assert!(none.is_none());

        let server = OrderCenterServer::start(ServerOptions::default()).unwrap();
        let cfg = OrderCenterConfig {
            kind: AdapterKind::Rest,
            url: server.url(),
            secrets: Backend::File,
            ..OrderCenterConfig::default()
        };
        let w = start_from_config(&db, &cfg, dir.path(), Box::new(|_| {}))
            .unwrap()
            .unwrap();
        let mut c = crate::db::open(&db).unwrap();
        let tx = c.transaction().unwrap();
        outbox::enqueue(
            &tx,
            "k1",
            "O1",
            r#"{"order_no":"O1"}"#,
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        tx.commit().unwrap();
        w.kick();
        let t = Instant::now();
        while server.result_count() == 0 {
            assert!(t.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(10));
        }
        w.stop();
        let st = outbox::status(&c, chrono::Utc::now()).unwrap();
        assert_eq!((st.depth, st.acked), (0, 1));

        let bad = OrderCenterConfig {
            kind: AdapterKind::Rest,
            ..OrderCenterConfig::default()
        };
        let e = start_from_config(&db, &bad, dir.path(), Box::new(|_| {}))
            .err()
            .unwrap();
        assert!(e.to_string().contains("order_center"), "{e}");
    }
}
