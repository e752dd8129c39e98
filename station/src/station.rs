//! The headless application: the [`Station`] handle that the Tauri shell, the replay tool and
//! the tests drive.
//!
//! Intents go in ([`Station::handle`]), outcomes come out and a [`PackView`] describes what the
//! screen shows. The verification engine ([`domain::verify::Engine`]) decides; the station
//! resolves scans against the store, verifies supervisor PINs (Argon2id), records packs in one
//! SQLite transaction (result, order status, audit entries, outbox row) and only then says
//! `pack_recorded`. Every outcome is appended to the hash-chained audit log.
//!
//! Architecture invariant: `Station` methods block (SQLite); call them from a plain thread or
//! `spawn_blocking`, never directly on an async runtime. The connection sits behind a
//! `std::sync::Mutex` that is never held while a hook ([`LabelService`]) runs.

use crate::config::StationConfig;
use crate::error::{Error, Result};
use crate::store::results::{PackRecord, PackResult, SessionEnd};
use crate::store::{audit, import, orders, results};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use chrono::{DateTime, Utc};
use domain::barcode::normalize_for_match;
use domain::verify::{
    AlarmClass, Blocker, Engine, Event, LineProgress, OrderMatch, Outcome, OutcomeKind,
    OverrideScope, PackDraft, Packaging, Role, ScanLookup,
};
use domain::{Destination, Grams, Order, OrderStatus};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

/// The demo configuration (supervisor `sup1`, PIN `1234`; packer `p1`).
pub const DEMO_CONFIG: &str = include_str!("../demo/station.toml");
/// The demo orders (JSON lines).
pub const DEMO_ORDERS: &str = include_str!("../demo/orders.jsonl");
/// The demo PIN of supervisor `sup1`.
pub const DEMO_SUPERVISOR_PIN: &str = "1234";

/// Computes a rate quote for a parcel; implemented by the rating module.
///
/// Called with the station lock held: it must not call back into the [`Station`].
pub trait Quoter: Send + Sync {
    /// The quote for this order at this weight (JSON recorded with the pack result), or `None`.
    fn quote(&self, order: &Order, weight: Grams, at: DateTime<Utc>) -> Option<serde_json::Value>;
}

/// Prints the label after a pack is committed; implemented by the printing module.
///
/// Called without the station lock, on the thread that called [`Station::handle`].
pub trait LabelService: Send + Sync {
    /// Prints (or queues) the label; the returned JSON becomes the view's label status.
    fn on_pack_recorded(
        &self,
        record: &PackRecord,
    ) -> std::result::Result<serde_json::Value, String>;
}

/// What the operator (or a device) asks the station to do. JSON: `{"type":"scan","code":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Intent {
    /// A scanned code (order no, waybill no, platform order no, item barcode or serial).
    Scan {
        /// The code.
        code: String,
    },
    /// A weight from the scale.
    Weight {
        /// Grams.
        grams: i64,
        /// Whether the scale reported it stable.
        stable: bool,
        /// The raw frame, for the audit log.
        #[serde(default)]
        raw: Option<String>,
    },
    /// A supervisor override of whatever blocks the order.
    Override {
        /// The supervisor's PIN.
        pin: String,
        /// Reason code from the configured list.
        reason: String,
        /// What it is for (default: what blocks).
        #[serde(default)]
        scope: OverrideScope,
    },
    /// Take back the last counted scan.
    Undo,
    /// Set a line's count by hand (supervisor or admin signed in).
    Quantity {
        /// SKU.
        sku: String,
        /// Units.
        qty: u32,
    },
    /// Authorise a short pack (missing items) with a supervisor PIN.
    ShortPack {
        /// The supervisor's PIN.
        pin: String,
        /// Reason code.
        reason: String,
    },
    /// Choose the packaging type.
    SetPackaging {
        /// Packaging id from the configuration.
        id: String,
    },
    /// Acknowledge the alarm on screen.
    Acknowledge,
    /// Sign in.
    SignIn {
        /// Operator id.
        operator: String,
        /// Role asked for (checked against the configuration).
        #[serde(default)]
        role: Option<Role>,
        /// PIN, required for operators that have one.
        #[serde(default)]
        pin: Option<String>,
    },
    /// Sign out.
    SignOut,
    /// Put the open order aside without recording it.
    Close,
}

/// The open order as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// Order no.
    pub order_no: String,
    /// Status.
    pub status: OrderStatus,
    /// Carrier code.
    pub carrier: String,
    /// Receiver.
    pub destination: Destination,
    /// Waybill nos.
    pub waybill_nos: Vec<String>,
    /// Platform order nos.
    pub platform_order_nos: Vec<String>,
    /// Shop.
    pub shop: Option<String>,
}

/// The last recorded pack, for the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedView {
    /// Order no.
    pub order_no: String,
    /// Result id.
    pub result_id: String,
    /// Weight recorded.
    pub weight_g: Grams,
    /// Short pack.
    pub partial: bool,
}

/// Everything the pack screen renders. The UI holds no business rules: it shows this.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackView {
    /// This bench.
    pub station_id: String,
    /// Operator signed in and role.
    pub operator: Option<(String, Role)>,
    /// The open order.
    pub order: Option<OrderView>,
    /// Line progress.
    pub lines: Vec<LineProgress>,
    /// The last outcome (verdict).
    pub last: Option<Outcome>,
    /// The alarm on screen (rejected scan or stop state) until cleared.
    pub alarm: Option<Outcome>,
    /// Alarm class for lights and sound (ok when nothing is on screen).
    pub alarm_class: AlarmClass,
    /// Expected weight (counted items + packaging).
    pub expected_g: Option<Grams>,
    /// Tolerance.
    pub tolerance_g: Option<Grams>,
    /// Lowest accepted weight.
    pub band_low_g: Option<Grams>,
    /// Highest accepted weight.
    pub band_high_g: Option<Grams>,
    /// Captured weight.
    pub weight_g: Option<Grams>,
    /// What keeps the order from being recorded.
    pub blockers: Vec<Blocker>,
    /// SKU and number of serials awaited.
    pub awaiting_serial: Option<(String, u32)>,
    /// Short pack authorised.
    pub partial: bool,
    /// Packaging chosen.
    pub packaging: Option<Packaging>,
    /// Packaging types to choose from.
    pub packaging_options: Vec<crate::config::PackagingType>,
    /// Rate quote of the last recorded pack.
    pub quote: Option<serde_json::Value>,
    /// Label status of the last recorded pack (from the label service).
    pub label: Option<serde_json::Value>,
    /// The last recorded pack.
    pub last_recorded: Option<RecordedView>,
}

/// Everything the station tells its subscribers (the Tauri shell maps these to typed events in
/// one place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StationEvent {
    /// An outcome of an intent.
    Outcome {
        /// The outcome.
        outcome: Outcome,
    },
    /// The view changed.
    ViewChanged {
        /// The new view.
        view: Box<PackView>,
    },
    /// A pack was committed.
    PackRecorded {
        /// Result id.
        result_id: String,
        /// Order no.
        order_no: String,
    },
    /// The label service reported on a recorded pack.
    LabelStatus {
        /// Result id.
        result_id: String,
        /// What the label service returned (`{"error":…}` on failure).
        status: serde_json::Value,
    },
}

struct Core {
    conn: Connection,
    engine: Engine,
    session: Option<(String, String)>,
    quote: Option<serde_json::Value>,
    label: Option<serde_json::Value>,
    last_record: Option<RecordedView>,
    /// The `synchronous` mode last set (None: as opened, FULL).
    sync_full: Option<bool>,
    /// The raw scale frame of the weight being handled, for the audit entry.
    raw_weight: Option<String>,
}

struct Inner {
    config: StationConfig,
    core: Mutex<Core>,
    subscribers: Mutex<Vec<Sender<StationEvent>>>,
    quoter: RwLock<Option<Arc<dyn Quoter>>>,
    labels: RwLock<Option<Arc<dyn LabelService>>>,
}

/// The station handle: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Station {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Station {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Station")
            .field("station_id", &self.inner.config.station_id)
            .field("db_path", &self.inner.config.db_path)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Station {
    /// Opens the database named in the configuration (created and migrated if needed).
    pub fn open(config: StationConfig) -> Result<Station> {
        config.validate("configuration")?;
        let conn = crate::db::open(&config.db_path)?;
        Station::with_connection(config, conn)
    }

    /// A station on an already opened (and migrated) connection.
    pub fn with_connection(config: StationConfig, conn: Connection) -> Result<Station> {
        // Checkpoints run after pack records (see `record`), not in the middle of a scan; the
        // automatic one stays as a safety net for a bench that scans for hours without packing.
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)
            .map_err(|source| Error::Sqlite {
                op: "set auto-checkpoint",
                source,
            })?;
        let mut engine = Engine::new(config.engine_config());
        if let Some(p) = config
            .default_packaging
            .as_deref()
            .and_then(|id| config.packaging_type(id))
        {
            engine.handle(
                Event::SetPackaging(Packaging {
                    id: p.id.clone(),
                    weight_g: Grams(p.weight_g),
                }),
                DateTime::<Utc>::UNIX_EPOCH,
            );
        }
        Ok(Station {
            inner: Arc::new(Inner {
                config,
                core: Mutex::new(Core {
                    conn,
                    engine,
                    session: None,
                    quote: None,
                    label: None,
                    last_record: None,
                    sync_full: None,
                    raw_weight: None,
                }),
                subscribers: Mutex::new(Vec::new()),
                quoter: RwLock::new(None),
                labels: RwLock::new(None),
            }),
        })
    }

    /// The demo configuration with the given database path.
    pub fn demo_config(db_path: &str) -> Result<StationConfig> {
        let mut config = StationConfig::from_toml(DEMO_CONFIG, "station/demo/station.toml")?;
        config.db_path = db_path.to_string();
        Ok(config)
    }

    /// An in-memory station seeded with the demo orders (supervisor PIN [`DEMO_SUPERVISOR_PIN`]).
    pub fn open_demo(now: DateTime<Utc>) -> Result<Station> {
        let station = Station::open(Station::demo_config(":memory:")?)?;
        station.with_db(|conn| seed_demo(conn, now))??;
        Ok(station)
    }

    /// The configuration.
    pub fn config(&self) -> &StationConfig {
        &self.inner.config
    }

    /// Sets the rate quoter.
    pub fn set_quoter(&self, q: Arc<dyn Quoter>) {
        *self
            .inner
            .quoter
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(q);
    }

    /// Sets the label service.
    pub fn set_label_service(&self, l: Arc<dyn LabelService>) {
        *self
            .inner
            .labels
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(l);
    }

    /// Runs `f` with the station's connection (the same lock as intents: keep it short, no
    /// network calls inside).
    /// The connection is in `synchronous=FULL` mode while `f` runs.
    pub fn with_db<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> Result<R> {
        let mut core = lock(&self.inner.core);
        set_durability(&mut core, true)?;
        Ok(f(&mut core.conn))
    }

    /// Subscribes to events. A dropped receiver is forgotten at the next event.
    pub fn subscribe(&self) -> Receiver<StationEvent> {
        let (tx, rx) = channel();
        lock(&self.inner.subscribers).push(tx);
        rx
    }

    fn emit(&self, e: StationEvent) {
        lock(&self.inner.subscribers).retain(|s| s.send(e.clone()).is_ok());
    }

    /// The view model.
    pub fn view(&self) -> PackView {
        let core = lock(&self.inner.core);
        self.build_view(&core)
    }

    fn build_view(&self, core: &Core) -> PackView {
        let s = core.engine.snapshot();
        let band = s.expected_g.zip(s.tolerance_g);
        PackView {
            station_id: self.inner.config.station_id.clone(),
            operator: s.operator,
            order: s.order.map(|o| OrderView {
                order_no: o.order_no,
                status: o.status,
                carrier: o.carrier,
                destination: o.destination,
                waybill_nos: o.waybill_nos,
                platform_order_nos: o.platform_order_nos,
                shop: o.shop,
            }),
            lines: s.lines,
            alarm_class: s.alarm.as_ref().map_or(AlarmClass::Ok, |a| a.alarm),
            last: s.last,
            alarm: s.alarm,
            expected_g: s.expected_g,
            tolerance_g: s.tolerance_g,
            band_low_g: band.map(|(e, t)| e - t),
            band_high_g: band.map(|(e, t)| e + t),
            weight_g: s.weight_g,
            blockers: s.blockers,
            awaiting_serial: s.awaiting_serial,
            partial: s.partial,
            packaging: s.packaging,
            packaging_options: self.inner.config.packaging.clone(),
            quote: core.quote.clone(),
            label: core.label.clone(),
            last_recorded: core.last_record.clone(),
        }
    }

    /// Feeds one intent at `now`; returns its outcomes (after the pack is committed, when it
    /// is). Errors are database failures; a rejected scan is an outcome, not an error.
    pub fn handle(&self, intent: Intent, now: DateTime<Utc>) -> Result<Vec<Outcome>> {
        self.drive(now, |this, core| {
            if let Intent::Weight { raw, .. } = &intent {
                core.raw_weight.clone_from(raw);
            }
            this.to_event(core, intent, now).map(Some)
        })
    }

    /// Reports an input that could not be turned into an intent (bad JSON, wrong field type);
    /// it becomes an audited `invalid_input` outcome.
    pub fn report_invalid(&self, message: &str, now: DateTime<Utc>) -> Result<Vec<Outcome>> {
        self.drive(now, |_, _| {
            Ok(Some(Event::Invalid {
                message: message.to_string(),
            }))
        })
    }

    /// Re-reads the open order's status from the store (call after a sync changed orders) and
    /// tells the engine: a cancellation or interception blocks it, a lifted hold lets a ready
    /// pack be recorded.
    pub fn refresh_order(&self, now: DateTime<Utc>) -> Result<Vec<Outcome>> {
        self.drive(now, |_, core| {
            let Some(no) = core.engine.current_order_no().map(str::to_string) else {
                return Ok(None);
            };
            Ok(orders::get(&core.conn, &no)?.map(|s| Event::StatusChanged {
                order_no: no,
                status: if s.packed.is_some() {
                    OrderStatus::Packed
                } else {
                    s.order.status
                },
                packed: s.packed,
            }))
        })
    }

    /// One step: build the event under the lock, feed it, audit, record a ready pack, then
    /// (without the lock) tell subscribers and print the label.
    fn drive(
        &self,
        now: DateTime<Utc>,
        make: impl FnOnce(&Self, &mut Core) -> Result<Option<Event>>,
    ) -> Result<Vec<Outcome>> {
        let (outcomes, record, view) = {
            let mut core = lock(&self.inner.core);
            let quoter = self
                .inner
                .quoter
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let event = make(self, &mut core)?;
            let (outcomes, record) = self.apply(&mut core, event, now, quoter.as_deref())?;
            (outcomes, record, self.build_view(&core))
        };
        for o in &outcomes {
            self.emit(StationEvent::Outcome { outcome: o.clone() });
        }
        let mut view = view;
        if let Some(record) = record {
            self.emit(StationEvent::PackRecorded {
                result_id: record.result.result_id.clone(),
                order_no: record.result.order_no.clone(),
            });
            let service = self
                .inner
                .labels
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(service) = service {
                let status = match service.on_pack_recorded(&record) {
                    Ok(v) => v,
                    Err(e) => serde_json::json!({ "error": e }),
                };
                view = {
                    let mut core = lock(&self.inner.core);
                    core.label = Some(status.clone());
                    self.build_view(&core)
                };
                self.emit(StationEvent::LabelStatus {
                    result_id: record.result.result_id.clone(),
                    status,
                });
            }
        }
        self.emit(StationEvent::ViewChanged {
            view: Box::new(view),
        });
        Ok(outcomes)
    }

    fn verify_pin(&self, pin: &str) -> Option<String> {
        if pin.is_empty() || pin.len() > 64 {
            return None;
        }
        let argon = Argon2::default();
        self.inner
            .config
            .operators
            .iter()
            .filter(|o| matches!(o.role, Role::Supervisor | Role::Admin))
            .find(|o| {
                o.pin_hash.as_deref().is_some_and(|h| {
                    PasswordHash::new(h)
                        .is_ok_and(|ph| argon.verify_password(pin.as_bytes(), &ph).is_ok())
                })
            })
            .map(|o| o.id.clone())
    }

    fn to_event(&self, core: &Core, intent: Intent, now: DateTime<Utc>) -> Result<Event> {
        let cfg = &self.inner.config;
        Ok(match intent {
            Intent::Scan { code } => {
                let lookup = Box::new(lookup(&core.conn, &core.engine, &code)?);
                Event::Scan { code, lookup }
            }
            Intent::Weight { grams, stable, .. } => Event::Weight {
                grams: Grams(grams),
                stable,
            },
            Intent::Override { pin, reason, scope } => {
                self.override_event(core, &pin, reason, scope, now)
            }
            Intent::ShortPack { pin, reason } => {
                self.override_event(core, &pin, reason, OverrideScope::ShortPack, now)
            }
            Intent::Undo => Event::Undo,
            Intent::Quantity { sku, qty } => Event::Quantity { sku, qty },
            Intent::SetPackaging { id } => match cfg.packaging_type(&id) {
                Some(p) => Event::SetPackaging(Packaging {
                    id: p.id.clone(),
                    weight_g: Grams(p.weight_g),
                }),
                None => Event::Invalid {
                    message: format!("no packaging type {id:?} in the configuration"),
                },
            },
            Intent::Acknowledge => Event::Acknowledge,
            Intent::SignIn {
                operator,
                role,
                pin,
            } => self.sign_in_event(operator, role, pin),
            Intent::SignOut => Event::SignOut,
            Intent::Close => Event::Close,
        })
    }

    fn override_event(
        &self,
        core: &Core,
        pin: &str,
        reason: String,
        scope: OverrideScope,
        now: DateTime<Utc>,
    ) -> Event {
        // During a lockout the PIN is not even checked.
        let supervisor = if core.engine.pin_locked_until(now).is_some() {
            None
        } else {
            self.verify_pin(pin)
        };
        Event::Override {
            supervisor,
            reason,
            scope,
        }
    }

    fn sign_in_event(&self, operator: String, role: Option<Role>, pin: Option<String>) -> Event {
        let cfg = &self.inner.config;
        if cfg.operators.is_empty() {
            // Without configured operators nobody can prove a role: everyone is a packer.
            return match role {
                Some(r) if r != Role::Packer => Event::Invalid {
                    message: format!(
                        "role {} needs an operator entry in the configuration",
                        r.as_str()
                    ),
                },
                _ if operator.trim().is_empty() => Event::Invalid {
                    message: "operator id is empty".to_string(),
                },
                _ => Event::SignIn {
                    operator,
                    role: Role::Packer,
                },
            };
        }
        let Some(op) = cfg.operator(&operator) else {
            return Event::Invalid {
                message: format!("unknown operator {operator:?}"),
            };
        };
        if let Some(r) = role {
            if r != op.role {
                return Event::Invalid {
                    message: format!(
                        "operator {operator:?} is a {}, not a {}",
                        op.role.as_str(),
                        r.as_str()
                    ),
                };
            }
        }
        if let Some(h) = &op.pin_hash {
            let ok = pin.as_deref().is_some_and(|p| {
                PasswordHash::new(h)
                    .is_ok_and(|ph| Argon2::default().verify_password(p.as_bytes(), &ph).is_ok())
            });
            if !ok {
                return Event::Invalid {
                    message: format!("wrong or missing PIN for operator {operator:?}"),
                };
            }
        }
        Event::SignIn {
            operator,
            role: op.role,
        }
    }

    fn apply(
        &self,
        core: &mut Core,
        event: Option<Event>,
        now: DateTime<Utc>,
        quoter: Option<&dyn Quoter>,
    ) -> Result<(Vec<Outcome>, Option<PackRecord>)> {
        let mut outcomes = match event {
            Some(e) => core.engine.handle(e, now),
            None => Vec::new(),
        };
        self.persist(core, &outcomes, now)?;
        let mut record = None;
        // A second round when the first draft was stale (the order's status changed meanwhile).
        for _ in 0..2 {
            let Some(draft) = core.engine.poll_record() else {
                break;
            };
            if self.inner.config.require_sign_in && draft.operator.is_none() {
                let more = core.engine.handle(
                    Event::RecordFailed {
                        message: "sign in before recording a pack".to_string(),
                    },
                    now,
                );
                self.persist(core, &more, now)?;
                outcomes.extend(more);
                break;
            }
            let (more, rec) = self.record(core, draft, now, quoter)?;
            let failed = more
                .iter()
                .any(|o| matches!(o.kind, OutcomeKind::RecordFailed { .. }));
            outcomes.extend(more);
            if rec.is_some() || failed {
                record = rec;
                break;
            }
        }
        Ok((outcomes, record))
    }

    /// Writes the audit entries of `outcomes` and any pack-session change in one transaction.
    ///
    /// Durability: overrides are committed with `synchronous=FULL` (fsync); plain scan outcomes
    /// with `NORMAL`, which in WAL mode is atomic and survives a crash of the application, and
    /// whose WAL frames the next FULL commit (every pack record) makes durable too. A power cut
    /// can therefore lose at most the last scans of an order that was not recorded yet.
    fn persist(&self, core: &mut Core, outcomes: &[Outcome], now: DateTime<Utc>) -> Result<()> {
        let current = core.engine.current_order_no().map(str::to_string);
        let session_same = match (&core.session, &current) {
            (Some((_, a)), Some(b)) => a == b,
            (None, None) => true,
            _ => false,
        };
        if outcomes.is_empty() && session_same {
            return Ok(());
        }
        let durable = outcomes.iter().any(|o| {
            matches!(
                o.kind,
                OutcomeKind::OverrideAccepted { .. } | OutcomeKind::OverrideRejected { .. }
            )
        });
        set_durability(core, durable)?;
        let operator = core.engine.operator().map(|(o, _)| o.to_string());
        let tx = core.conn.transaction().map_err(|source| Error::Sqlite {
            op: "begin audit",
            source,
        })?;
        if !session_same {
            if let Some((sid, _)) = core.session.take() {
                let end = if current.is_some() {
                    SessionEnd::Replaced
                } else {
                    SessionEnd::Closed
                };
                results::session_close(&tx, &sid, end, None, now)?;
            }
            if let Some(no) = current {
                let sid = uuid::Uuid::now_v7().to_string();
                results::session_open(&tx, &sid, &no, operator.as_deref(), now)?;
                core.session = Some((sid, no));
            }
        }
        let raw = core.raw_weight.take();
        for o in outcomes {
            audit_outcome(&tx, o, operator.as_deref(), raw.as_deref())?;
        }
        tx.commit().map_err(|source| Error::Sqlite {
            op: "commit audit",
            source,
        })
    }

    fn record(
        &self,
        core: &mut Core,
        draft: PackDraft,
        now: DateTime<Utc>,
        quoter: Option<&dyn Quoter>,
    ) -> Result<(Vec<Outcome>, Option<PackRecord>)> {
        let order_no = draft.order.order_no.clone();
        // The order center may have cancelled or intercepted the order while it was packed.
        if let Some(stored) = orders::get(&core.conn, &order_no)? {
            let status = if stored.packed.is_some() {
                OrderStatus::Packed
            } else {
                stored.order.status
            };
            if status != draft.order.status {
                let out = core.engine.handle(
                    Event::StatusChanged {
                        order_no: order_no.clone(),
                        status,
                        packed: stored.packed,
                    },
                    now,
                );
                // The draft is stale either way: the engine offers a new one if still ready.
                self.persist(core, &out, now)?;
                return Ok((out, None));
            }
        }
        let quote = quoter.and_then(|q| q.quote(&draft.order, draft.weight_g, now));
        let result = PackResult {
            result_id: uuid::Uuid::now_v7().to_string(),
            station_id: self.inner.config.station_id.clone(),
            operator: draft.operator.clone(),
            order_no: order_no.clone(),
            platform_order_nos: draft.order.platform_order_nos.clone(),
            waybill_nos: draft.order.waybill_nos.clone(),
            waybill_no: draft.order.waybill_nos.first().cloned(),
            carrier: draft.order.carrier.clone(),
            lines: draft.lines.clone(),
            weight_g: draft.weight_g,
            expected_g: draft.expected_g,
            tolerance_g: draft.tolerance_g,
            packaging: draft.packaging.clone(),
            overrides: draft.overrides.clone(),
            partial: draft.partial,
            quote: quote.clone(),
            started_at: draft.started_at,
            packed_at: now,
        };
        let session = core.session.clone();
        set_durability(core, true)?;
        match commit_result(
            &mut core.conn,
            &result,
            session.as_ref().map(|s| s.0.as_str()),
            draft.order.status,
        ) {
            Ok(()) => {
                // Checkpoint here, where the packer is lifting the parcel anyway, instead of
                // letting SQLite's auto-checkpoint land on a scan (its threshold is raised on this
                // connection). A busy reader just postpones it; that is not an error.
                // The first commit after a checkpoint restarts the WAL and syncs its header;
                // a small write here pays that too, so the next scan does not.
                let _ = core
                    .conn
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                let _ = core.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('last_pack_result', ?1)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [&result.result_id],
                );
                let out = core.engine.handle(
                    Event::Recorded {
                        result_id: result.result_id.clone(),
                    },
                    now,
                );
                core.session = None;
                core.quote = quote;
                core.label = None;
                core.last_record = Some(RecordedView {
                    order_no: order_no.clone(),
                    result_id: result.result_id.clone(),
                    weight_g: result.weight_g,
                    partial: result.partial,
                });
                Ok((
                    out,
                    Some(PackRecord {
                        order: draft.order,
                        result,
                    }),
                ))
            }
            Err(e) => {
                let out = core.engine.handle(
                    Event::RecordFailed {
                        message: e.to_string(),
                    },
                    now,
                );
                // Best effort: the database may be the problem.
                let _ = self.persist(core, &out, now);
                Ok((out, None))
            }
        }
    }
}

/// Sets `synchronous` to FULL (fsync at commit) or NORMAL for the next commits.
fn set_durability(core: &mut Core, full: bool) -> Result<()> {
    if core.sync_full != Some(full) {
        let mode = if full { "FULL" } else { "NORMAL" };
        core.conn
            .pragma_update(None, "synchronous", mode)
            .map_err(|source| Error::Sqlite {
                op: "set synchronous",
                source,
            })?;
        core.sync_full = Some(full);
    }
    Ok(())
}

/// Writes the result, its outbox row, the audit entry and the session end in one transaction.
///
/// The transaction takes the write lock first (IMMEDIATE) and re-reads the order's status: if
/// the sync thread changed it since the check in `record`, nothing is written and the error
/// makes the engine offer the pack again, when the new status is seen.
fn commit_result(
    conn: &mut Connection,
    result: &PackResult,
    session: Option<&str>,
    expected: OrderStatus,
) -> Result<()> {
    let payload = serde_json::to_string(result).map_err(|e| Error::Invalid {
        place: format!("pack result for order {}", result.order_no),
        message: format!("cannot serialise: {e}"),
    })?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|source| Error::Sqlite {
            op: "begin pack record",
            source,
        })?;
    if let Some(stored) = orders::get(&tx, &result.order_no)? {
        let now_status = if stored.packed.is_some() {
            OrderStatus::Packed
        } else {
            stored.order.status
        };
        if now_status != expected {
            return Err(Error::Invalid {
                place: format!("order {}", result.order_no),
                message: format!(
                    "status changed to {} while recording; not recorded",
                    now_status.as_str()
                ),
            });
        }
    }
    results::insert(&tx, result, &payload)?;
    crate::outbox::enqueue(
        &tx,
        &result.result_id,
        &result.order_no,
        &payload,
        &result.packed_at.to_rfc3339(),
    )
    .map_err(|source| Error::Sqlite {
        op: "enqueue pack result",
        source,
    })?;
    let data = serde_json::json!({
        "result_id": result.result_id,
        "weight_g": result.weight_g,
        "expected_g": result.expected_g,
        "partial": result.partial,
        "overrides": result.overrides.len(),
    })
    .to_string();
    audit::append(
        &tx,
        &audit::Entry {
            at: result.packed_at,
            kind: "pack_recorded",
            order_no: Some(&result.order_no),
            operator: result.operator.as_deref(),
            data: &data,
        },
    )?;
    if let Some(sid) = session {
        results::session_close(
            &tx,
            sid,
            SessionEnd::Recorded,
            Some(&result.result_id),
            result.packed_at,
        )?;
    }
    tx.commit().map_err(|source| Error::Sqlite {
        op: "commit pack record",
        source,
    })
}

fn audit_outcome(
    conn: &Connection,
    o: &Outcome,
    operator: Option<&str>,
    raw_weight: Option<&str>,
) -> Result<()> {
    if matches!(o.kind, OutcomeKind::PackRecorded { .. }) {
        // Written inside the recording transaction.
        return Ok(());
    }
    let mut value = serde_json::to_value(o).map_err(|e| Error::Invalid {
        place: "audit".to_string(),
        message: format!("cannot serialise outcome: {e}"),
    })?;
    // The scale's own frame is the evidence in a weight dispute with the carrier.
    if let (Some(raw), Some(obj)) = (raw_weight, value.as_object_mut()) {
        if matches!(
            o.kind,
            OutcomeKind::WeightOk { .. }
                | OutcomeKind::WeightOutOfTolerance { .. }
                | OutcomeKind::WeightCaptured { .. }
        ) {
            obj.insert("raw".into(), serde_json::Value::String(raw.to_string()));
        }
    }
    let data = value.to_string();
    audit::append(
        conn,
        &audit::Entry {
            at: o.at,
            kind: o.name(),
            order_no: o.order_no.as_deref(),
            operator,
            data: &data,
        },
    )?;
    Ok(())
}

fn strip_aim(code: &str) -> &str {
    domain::barcode::split_aim(code).1
}

/// Resolves a scanned code against the store: order codes, the barcode → SKU index and, when a
/// serial is awaited, serials recorded before.
fn lookup(conn: &Connection, engine: &Engine, code: &str) -> Result<ScanLookup> {
    let Ok(normalized) = normalize_for_match(code) else {
        // The engine rejects it with the reason.
        return Ok(ScanLookup::default());
    };
    if code.chars().count() > domain::verify::MAX_SCAN_LEN {
        return Ok(ScanLookup::default());
    }
    let bare = strip_aim(code);
    let mut order = orders::find_by_code(conn, bare)?;
    if order.is_none() && normalized != bare {
        order = orders::find_by_code(conn, &normalized)?;
    }
    let sku = orders::sku_for_barcode(conn, &normalized)?;
    let serial_used_in = match engine.awaiting_serial_sku() {
        Some(s) => results::serial_used(conn, s, bare)?,
        None => None,
    };
    Ok(ScanLookup {
        order: order.map(|s| OrderMatch {
            order: s.order,
            packed: s.packed,
        }),
        sku,
        serial_used_in,
    })
}

/// Imports the bundled demo orders.
pub fn seed_demo(conn: &mut Connection, now: DateTime<Utc>) -> Result<import::Summary> {
    import::import_reader(
        conn,
        DEMO_ORDERS.as_bytes(),
        import::Format::JsonLines,
        "station/demo/orders.jsonl",
        now,
        &mut |_| {},
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_pins_verify_and_wrong_ones_do_not() {
        let s = Station::open(Station::demo_config(":memory:").unwrap()).unwrap();
        assert_eq!(s.verify_pin(DEMO_SUPERVISOR_PIN).as_deref(), Some("sup1"));
        assert_eq!(s.verify_pin("9999").as_deref(), Some("adm1"));
        for bad in ["", "0000", "12345", "1234 ", &"1".repeat(100)] {
            assert_eq!(s.verify_pin(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn station_is_a_cheap_send_sync_handle() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Station>();
        let s = Station::open_demo(DateTime::<Utc>::UNIX_EPOCH).unwrap();
        let t = s.clone();
        let h = std::thread::spawn(move || {
            t.handle(
                Intent::Scan {
                    code: "DEMO0001".into(),
                },
                DateTime::<Utc>::UNIX_EPOCH,
            )
            .unwrap()
        });
        assert_eq!(h.join().unwrap()[0].name(), "order_opened");
        assert_eq!(s.view().order.unwrap().order_no, "DEMO0001");
    }

    #[test]
    fn intents_round_trip_as_tagged_json() {
        let cases = [
            (
                r#"{"type":"scan","code":"SF1"}"#,
                Intent::Scan { code: "SF1".into() },
            ),
            (
                r#"{"type":"weight","grams":1200,"stable":true}"#,
                Intent::Weight {
                    grams: 1200,
                    stable: true,
                    raw: None,
                },
            ),
            (
                r#"{"type":"override","pin":"1234","reason":"scale_fault"}"#,
                Intent::Override {
                    pin: "1234".into(),
                    reason: "scale_fault".into(),
                    scope: OverrideScope::Blocking,
                },
            ),
            (
                r#"{"type":"set_packaging","id":"bag"}"#,
                Intent::SetPackaging { id: "bag".into() },
            ),
            (r#"{"type":"close"}"#, Intent::Close),
        ];
        for (json, intent) in cases {
            assert_eq!(
                serde_json::from_str::<Intent>(json).unwrap(),
                intent,
                "{json}"
            );
        }
        assert!(serde_json::from_str::<Intent>(r#"{"type":"weight","grams":"1"}"#).is_err());
    }

    #[test]
    fn demo_data_loads() {
        let s = Station::open_demo(DateTime::<Utc>::UNIX_EPOCH).unwrap();
        let n = s.with_db(|c| orders::count(c).unwrap()).unwrap();
        assert!(n >= 50, "{n} demo orders");
        assert_eq!(s.view().packaging.unwrap().id, "none");
    }
}
