//! The engine proper: one bench, at most one open order, events in and outcomes out.

use super::outcome::{AlarmClass, Blocker, Outcome, OutcomeKind, OverrideRefusal};
use super::policy::{OverridePolicy, PinGuard};
use super::weight::{Tolerance, WeightVerdict};
use super::Role;
use crate::barcode::normalize_for_match;
use crate::order::{Order, OrderStatus};
use crate::units::Grams;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Default debounce window for identical scans (scanner double reads): 100 ms.
pub const DEFAULT_DEBOUNCE_MS: i64 = 100;
/// Longest scan accepted, in characters (a 2D waybill code with a URL fits; a runaway wedge
/// buffer does not).
pub const MAX_SCAN_LEN: usize = 512;

/// Engine settings (from the station configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Weight tolerance.
    pub tolerance: Tolerance,
    /// Identical scans closer than this are ignored (milliseconds).
    pub debounce_ms: i64,
    /// Override rules.
    pub policy: OverridePolicy,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            tolerance: Tolerance::default(),
            debounce_ms: DEFAULT_DEBOUNCE_MS,
            policy: OverridePolicy::default(),
        }
    }
}

/// When and by whom an order was packed (from the store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedInfo {
    /// When.
    pub at: Option<DateTime<Utc>>,
    /// By whom.
    pub by: Option<String>,
}

/// A scanned code matched this order (by order no, waybill no or platform order no).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderMatch {
    /// The order.
    pub order: Order,
    /// Set when a pack result exists for it.
    pub packed: Option<PackedInfo>,
}

/// What the store knows about a scanned code, resolved by the station before the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanLookup {
    /// The order this code opens, if it is an order code.
    pub order: Option<OrderMatch>,
    /// The SKU whose barcode this is (normalised match in the barcode → SKU index), if any.
    pub sku: Option<String>,
    /// If a serial is awaited: the order where this code was already recorded as a serial of
    /// the awaited SKU.
    pub serial_used_in: Option<String>,
}

/// Which blocker a supervisor override is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideScope {
    /// The most important overridable blocker: the order status first, then the weight, then
    /// the missing items (short pack).
    #[default]
    Blocking,
    /// Only a short pack (missing items).
    ShortPack,
}

/// The packaging (包材) chosen at the bench.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packaging {
    /// Packaging id from the configuration.
    pub id: String,
    /// Its weight.
    pub weight_g: Grams,
}

/// Events fed to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A scanned code with what the store knows about it.
    Scan {
        /// The code as received (an AIM prefix is allowed).
        code: String,
        /// The store's answer.
        lookup: Box<ScanLookup>,
    },
    /// A weight reading.
    Weight {
        /// The weight.
        grams: Grams,
        /// Whether the scale reported it stable.
        stable: bool,
    },
    /// A supervisor override; the station has verified the PIN.
    Override {
        /// The supervisor whose PIN matched, or `None` when it matched nobody.
        supervisor: Option<String>,
        /// Reason code.
        reason: String,
        /// What it is for.
        scope: OverrideScope,
    },
    /// Take back the last counted step.
    Undo,
    /// Set a line's count by hand (supervisor/admin).
    Quantity {
        /// The line's SKU.
        sku: String,
        /// Units to count.
        qty: u32,
    },
    /// Choose the packaging.
    SetPackaging(Packaging),
    /// Acknowledge the current alarm.
    Acknowledge,
    /// An operator signs in.
    SignIn {
        /// Operator id.
        operator: String,
        /// Their role.
        role: Role,
    },
    /// The operator signs out.
    SignOut,
    /// Put the open order aside without recording.
    Close,
    /// The order center changed an order's status (sync) or the store found it changed.
    StatusChanged {
        /// Order no.
        order_no: String,
        /// New status.
        status: OrderStatus,
        /// Pack info when the new status is packed.
        packed: Option<PackedInfo>,
    },
    /// The station committed the draft from [`Engine::poll_record`].
    Recorded {
        /// The result id.
        result_id: String,
    },
    /// The station could not commit the draft.
    RecordFailed {
        /// Why.
        message: String,
    },
    /// An input that could not be turned into an event (bad JSON, wrong type…).
    Invalid {
        /// What and where.
        message: String,
    },
}

impl Event {
    /// Shorthand for a scan event.
    pub fn scan(code: &str, lookup: ScanLookup) -> Event {
        Event::Scan {
            code: code.to_string(),
            lookup: Box::new(lookup),
        }
    }
}

/// One override as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// Supervisor.
    pub supervisor: String,
    /// Reason code.
    pub reason: String,
    /// What it cleared.
    pub cleared: Vec<Blocker>,
}

/// A line as packed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedLine {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Units ordered.
    pub ordered: u32,
    /// Units counted.
    pub scanned: u32,
    /// Serial numbers captured.
    pub serials: Vec<String>,
    /// Entered by hand at least once.
    pub manual: bool,
}

/// Everything needed to record a pack: offered by [`Engine::poll_record`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackDraft {
    /// The order.
    pub order: Order,
    /// Operator (signed in), if any.
    pub operator: Option<String>,
    /// When the order was opened.
    pub started_at: DateTime<Utc>,
    /// When it became ready.
    pub ready_at: DateTime<Utc>,
    /// Lines as packed.
    pub lines: Vec<PackedLine>,
    /// Captured weight.
    pub weight_g: Grams,
    /// Expected weight.
    pub expected_g: Grams,
    /// Allowed deviation.
    pub tolerance_g: Grams,
    /// Packaging chosen.
    pub packaging: Option<Packaging>,
    /// Overrides given for this order.
    pub overrides: Vec<OverrideRecord>,
    /// Short pack.
    pub partial: bool,
}

/// Progress of one line, for the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProgress {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Units ordered.
    pub ordered: u32,
    /// Units counted.
    pub scanned: u32,
    /// Unit weight.
    pub unit_weight_g: Grams,
    /// Serials required.
    pub serial_required: bool,
    /// Serials captured.
    pub serials: Vec<String>,
}

/// A copy of the engine state for the view model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The open order, if any.
    pub order: Option<Order>,
    /// Line progress of the open order.
    pub lines: Vec<LineProgress>,
    /// What keeps the order from being recorded.
    pub blockers: Vec<Blocker>,
    /// SKU and count of serials awaited.
    pub awaiting_serial: Option<(String, u32)>,
    /// Expected parcel weight (counted items + packaging).
    pub expected_g: Option<Grams>,
    /// Tolerance band for the expected weight.
    pub tolerance_g: Option<Grams>,
    /// Captured weight.
    pub weight_g: Option<Grams>,
    /// Last weight verdict.
    pub verdict: Option<WeightVerdict>,
    /// Short pack authorised.
    pub partial: bool,
    /// Current alarm (a rejected scan or a stop state), until accepted scan or acknowledgement.
    pub alarm: Option<Outcome>,
    /// Last outcome.
    pub last: Option<Outcome>,
    /// Packaging chosen.
    pub packaging: Option<Packaging>,
    /// Operator and role.
    pub operator: Option<(String, Role)>,
    /// Overrides given for the open order.
    pub overrides: Vec<OverrideRecord>,
    /// The last order recorded and its result id.
    pub last_recorded: Option<(String, String)>,
}

#[derive(Debug, Clone)]
enum Step {
    Scan { line: usize, units: u32 },
    Serial { line: usize },
    Manual { line: usize, previous: u32 },
}

#[derive(Debug, Clone)]
struct PendingSerial {
    line: usize,
    remaining: u32,
}

#[derive(Debug, Clone)]
struct Current {
    order: Order,
    opened_at: DateTime<Utc>,
    /// Normalised barcode → (line, units per scan).
    codes: HashMap<String, (usize, u32)>,
    scanned: Vec<u32>,
    serials: Vec<Vec<String>>,
    manual: Vec<bool>,
    steps: Vec<Step>,
    pending: Option<PendingSerial>,
    status_block: Option<Blocker>,
    status_overridden: bool,
    short: bool,
    weight: Option<Grams>,
    verdict: Option<WeightVerdict>,
    weight_overridden: bool,
    overrides: Vec<OverrideRecord>,
    complete_announced: bool,
    offered: bool,
    ready_at: Option<DateTime<Utc>>,
}

impl Current {
    fn new(order: Order, now: DateTime<Utc>) -> Current {
        let mut codes = HashMap::new();
        for (i, line) in order.lines.iter().enumerate() {
            for b in &line.barcodes {
                if let Ok(n) = normalize_for_match(&b.code) {
                    codes.entry(n).or_insert((i, b.units.max(1)));
                }
            }
        }
        let n = order.lines.len();
        let status_block = status_blocker(order.status);
        Current {
            order,
            opened_at: now,
            codes,
            scanned: vec![0; n],
            serials: vec![Vec::new(); n],
            manual: vec![false; n],
            steps: Vec::new(),
            pending: None,
            status_block,
            status_overridden: false,
            short: false,
            weight: None,
            verdict: None,
            weight_overridden: false,
            overrides: Vec::new(),
            complete_announced: false,
            offered: false,
            ready_at: None,
        }
    }

    fn all_complete(&self) -> bool {
        self.order
            .lines
            .iter()
            .zip(&self.scanned)
            .all(|(l, s)| *s >= l.qty)
    }

    fn counted_units(&self) -> u64 {
        self.scanned.iter().map(|s| u64::from(*s)).sum()
    }

    fn items_weight(&self) -> Grams {
        self.order
            .lines
            .iter()
            .zip(&self.scanned)
            .fold(Grams::ZERO, |acc, (l, s)| {
                acc + Grams(l.unit_weight_g.saturating_mul(i64::from(*s)))
            })
    }

    fn status_blocking(&self) -> Option<Blocker> {
        self.status_block.filter(|_| !self.status_overridden)
    }

    fn blockers(&self) -> Vec<Blocker> {
        let mut v = Vec::new();
        if let Some(b) = self.status_blocking() {
            v.push(b);
        }
        if !self.all_complete() && !self.short {
            v.push(Blocker::Incomplete);
        }
        if self.pending.is_some() {
            v.push(Blocker::SerialPending);
        }
        match (&self.weight, &self.verdict) {
            (None, _) => v.push(Blocker::NoWeight),
            (Some(_), Some(verdict)) if !verdict.ok && !self.weight_overridden => {
                v.push(Blocker::WeightOutOfTolerance)
            }
            _ => {}
        }
        v
    }

    fn invalidate_weight(&mut self) {
        self.verdict = None;
        self.weight_overridden = false;
        self.offered = false;
        self.ready_at = None;
    }
}

fn status_blocker(status: OrderStatus) -> Option<Blocker> {
    match status {
        OrderStatus::Cancelled => Some(Blocker::Cancelled),
        OrderStatus::Intercepted => Some(Blocker::Intercepted),
        OrderStatus::OnHold => Some(Blocker::OnHold),
        OrderStatus::Open | OrderStatus::Packed => None,
    }
}

fn status_outcome(b: Blocker) -> OutcomeKind {
    match b {
        Blocker::Intercepted => OutcomeKind::OrderIntercepted,
        Blocker::OnHold => OutcomeKind::OrderOnHold,
        _ => OutcomeKind::OrderCancelled,
    }
}

/// The code without a leading AIM symbology identifier (serials are kept as printed).
fn strip_aim(code: &str) -> &str {
    crate::barcode::split_aim(code).1
}

/// Checks a raw scan and returns its normalised form, or what is wrong with it.
fn validate_scan(code: &str) -> Result<String, String> {
    let len = code.chars().count();
    if len == 0 {
        return Err("empty scan".to_string());
    }
    if len > MAX_SCAN_LEN {
        return Err(format!(
            "scan of {len} characters is longer than the {MAX_SCAN_LEN} allowed"
        ));
    }
    if let Some(pos) = code.chars().position(|c| c == '\u{fffd}') {
        return Err(format!(
            "scan is not text (binary data, invalid UTF-8 at character {pos})"
        ));
    }
    normalize_for_match(code).map_err(|e| format!("scan rejected: {e}"))
}

/// The verification engine of one bench.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    guard: PinGuard,
    operator: Option<(String, Role)>,
    current: Option<Current>,
    last_scan: Option<(String, DateTime<Utc>)>,
    alarm: Option<Outcome>,
    last: Option<Outcome>,
    packaging: Option<Packaging>,
    last_recorded: Option<(String, String)>,
}

impl Engine {
    /// A fresh engine with no order open.
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config,
            guard: PinGuard::default(),
            operator: None,
            current: None,
            last_scan: None,
            alarm: None,
            last: None,
            packaging: None,
            last_recorded: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The order no of the open order.
    pub fn current_order_no(&self) -> Option<&str> {
        self.current.as_ref().map(|c| c.order.order_no.as_str())
    }

    /// The open order.
    pub fn current_order(&self) -> Option<&Order> {
        self.current.as_ref().map(|c| &c.order)
    }

    /// The SKU whose serial number is awaited, if any (the station looks the next scan up as a
    /// serial of this SKU).
    pub fn awaiting_serial_sku(&self) -> Option<&str> {
        let c = self.current.as_ref()?;
        let p = c.pending.as_ref()?;
        c.order.lines.get(p.line).map(|l| l.sku.as_str())
    }

    /// The end of a PIN lockout in force at `now`: the station skips the hash check then.
    pub fn pin_locked_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.guard.locked_until(now)
    }

    /// The signed-in operator.
    pub fn operator(&self) -> Option<(&str, Role)> {
        self.operator.as_ref().map(|(o, r)| (o.as_str(), *r))
    }

    /// A copy of the state for the view.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot {
            alarm: self.alarm.clone(),
            last: self.last.clone(),
            packaging: self.packaging.clone(),
            operator: self.operator.clone(),
            last_recorded: self.last_recorded.clone(),
            ..Snapshot::default()
        };
        if let Some(c) = &self.current {
            s.lines = c
                .order
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| LineProgress {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    ordered: l.qty,
                    scanned: c.scanned.get(i).copied().unwrap_or(0),
                    unit_weight_g: Grams(l.unit_weight_g),
                    serial_required: l.serial_required,
                    serials: c.serials.get(i).cloned().unwrap_or_default(),
                })
                .collect();
            s.blockers = c.blockers();
            s.awaiting_serial = c.pending.as_ref().and_then(|p| {
                c.order
                    .lines
                    .get(p.line)
                    .map(|l| (l.sku.clone(), p.remaining))
            });
            let expected = self.expected(c);
            s.expected_g = Some(expected);
            s.tolerance_g = Some(self.config.tolerance.allowed(expected));
            s.weight_g = c.weight;
            s.verdict = c.verdict;
            s.partial = c.short && !c.all_complete();
            s.overrides = c.overrides.clone();
            s.order = Some(c.order.clone());
        }
        s
    }

    fn expected(&self, c: &Current) -> Grams {
        c.items_weight()
            + self
                .packaging
                .as_ref()
                .map(|p| p.weight_g)
                .unwrap_or(Grams::ZERO)
    }

    /// Feeds one event; returns what it caused (at least one outcome, except for a status
    /// change of an order that is not open).
    pub fn handle(&mut self, event: Event, now: DateTime<Utc>) -> Vec<Outcome> {
        let mut out = Vec::new();
        match event {
            Event::Scan { code, lookup } => self.scan(&code, *lookup, now, &mut out),
            Event::Weight { grams, stable } => self.weight(grams, stable, now, &mut out),
            Event::Override {
                supervisor,
                reason,
                scope,
            } => self.override_(supervisor, &reason, scope, now, &mut out),
            Event::Undo => self.undo(now, &mut out),
            Event::Quantity { sku, qty } => self.quantity(&sku, qty, now, &mut out),
            Event::SetPackaging(p) => {
                let kind = OutcomeKind::PackagingSet {
                    id: p.id.clone(),
                    weight_g: p.weight_g,
                };
                self.packaging = Some(p);
                self.push(&mut out, kind, now);
                if let Some(c) = self.current.as_mut() {
                    c.invalidate_weight();
                }
                self.settle(now, &mut out);
            }
            Event::Acknowledge => {
                self.alarm = None;
                self.push(&mut out, OutcomeKind::Acknowledged, now);
            }
            Event::SignIn { operator, role } => {
                self.operator = Some((operator.clone(), role));
                self.push(&mut out, OutcomeKind::SignedIn { operator, role }, now);
            }
            Event::SignOut => match self.operator.take() {
                Some((operator, _)) => {
                    self.push(&mut out, OutcomeKind::SignedOut { operator }, now)
                }
                None => self.invalid(&mut out, "nobody is signed in", now),
            },
            Event::Close => {
                if self.current.is_some() {
                    self.push(&mut out, OutcomeKind::OrderClosed, now);
                    self.current = None;
                    self.alarm = None;
                } else {
                    self.invalid(&mut out, "no order is open", now);
                }
            }
            Event::StatusChanged {
                order_no,
                status,
                packed,
            } => self.status_changed(&order_no, status, packed, now, &mut out),
            Event::Recorded { result_id } => self.recorded(result_id, now, &mut out),
            Event::RecordFailed { message } => {
                if let Some(c) = self.current.as_mut() {
                    c.offered = false;
                }
                self.push(&mut out, OutcomeKind::RecordFailed { message }, now);
            }
            Event::Invalid { message } => self.invalid(&mut out, &message, now),
        }
        out
    }

    /// The draft to record, once everything is satisfied. Offered once per ready state; after
    /// [`Event::RecordFailed`] it is offered again.
    pub fn poll_record(&mut self) -> Option<PackDraft> {
        let packaging = self.packaging.clone();
        let operator = self.operator.as_ref().map(|(o, _)| o.clone());
        let tolerance = self.config.tolerance;
        let c = self.current.as_mut()?;
        if c.offered || !c.blockers().is_empty() {
            return None;
        }
        let (Some(weight), Some(ready_at)) = (c.weight, c.ready_at) else {
            return None;
        };
        c.offered = true;
        let expected = c.items_weight() + packaging.as_ref().map_or(Grams::ZERO, |p| p.weight_g);
        let lines = c
            .order
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| PackedLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                ordered: l.qty,
                scanned: c.scanned.get(i).copied().unwrap_or(0),
                serials: c.serials.get(i).cloned().unwrap_or_default(),
                manual: c.manual.get(i).copied().unwrap_or(false),
            })
            .collect();
        Some(PackDraft {
            order: c.order.clone(),
            operator,
            started_at: c.opened_at,
            ready_at,
            lines,
            weight_g: weight,
            expected_g: expected,
            tolerance_g: tolerance.allowed(expected),
            packaging,
            overrides: c.overrides.clone(),
            partial: !c.all_complete(),
        })
    }

    fn push(&mut self, out: &mut Vec<Outcome>, kind: OutcomeKind, now: DateTime<Utc>) {
        let order_no = self.current.as_ref().map(|c| c.order.order_no.clone());
        self.push_for(out, kind, order_no, now);
    }

    fn push_for(
        &mut self,
        out: &mut Vec<Outcome>,
        kind: OutcomeKind,
        order_no: Option<String>,
        now: DateTime<Utc>,
    ) {
        let o = Outcome::new(kind, order_no, now);
        if o.kind.is_rejected_scan() || o.alarm == AlarmClass::Stop {
            self.alarm = Some(o.clone());
        }
        self.last = Some(o.clone());
        out.push(o);
    }

    fn invalid(&mut self, out: &mut Vec<Outcome>, message: &str, now: DateTime<Utc>) {
        self.push(
            out,
            OutcomeKind::InvalidInput {
                message: message.to_string(),
            },
            now,
        );
    }

    fn accepted(&mut self) {
        self.alarm = None;
    }

    fn scan(&mut self, raw: &str, lookup: ScanLookup, now: DateTime<Utc>, out: &mut Vec<Outcome>) {
        let normalized = match validate_scan(raw) {
            Ok(n) => n,
            Err(message) => return self.invalid(out, &message, now),
        };
        if let Some((prev, at)) = &self.last_scan {
            let after_ms = (now - *at).num_milliseconds();
            if prev == raw && (0..self.config.debounce_ms).contains(&after_ms) {
                self.last_scan = Some((raw.to_string(), now));
                let kind = OutcomeKind::DuplicateScanIgnored {
                    code: raw.to_string(),
                    after_ms,
                };
                return self.push(out, kind, now);
            }
        }
        self.last_scan = Some((raw.to_string(), now));

        let Some(cur) = self.current.as_ref() else {
            return match lookup.order {
                Some(m) => self.open(m, raw, now, out),
                None => self.push_for(
                    out,
                    OutcomeKind::UnknownOrder {
                        code: raw.to_string(),
                    },
                    None,
                    now,
                ),
            };
        };

        let hit = cur.codes.get(&normalized).copied();
        if let Some(p) = cur.pending.clone() {
            let sku = cur
                .order
                .lines
                .get(p.line)
                .map(|l| l.sku.clone())
                .unwrap_or_default();
            if hit.is_some() || lookup.order.is_some() || lookup.sku.is_some() {
                let kind = OutcomeKind::SerialMissing {
                    sku,
                    code: Some(raw.to_string()),
                };
                return self.push(out, kind, now);
            }
            let serial = strip_aim(raw).to_string();
            let in_this = cur.order.lines.iter().enumerate().any(|(i, l)| {
                l.sku == sku && cur.serials.get(i).is_some_and(|s| s.contains(&serial))
            });
            let first = if in_this {
                Some(cur.order.order_no.clone())
            } else {
                lookup.serial_used_in
            };
            if let Some(first_order_no) = first {
                let kind = OutcomeKind::SerialDuplicate {
                    sku,
                    serial,
                    first_order_no,
                };
                return self.push(out, kind, now);
            }
            return self.capture_serial(p, sku, serial, now, out);
        }

        if let Some((line, units)) = hit {
            return self.item(line, units, now, out);
        }
        if let Some(m) = lookup.order {
            if m.order.order_no == cur.order.order_no {
                // Re-scanning the open order's own code picks up a status the order center
                // changed meanwhile (a hold lifted, an interception).
                let status = if m.packed.is_some() {
                    OrderStatus::Packed
                } else {
                    m.order.status
                };
                if status != cur.order.status {
                    let order_no = cur.order.order_no.clone();
                    let before = out.len();
                    self.status_changed(&order_no, status, m.packed, now, out);
                    if out.len() > before {
                        return;
                    }
                }
                let Some(cur) = self.current.as_ref() else {
                    return;
                };
                let kind = OutcomeKind::OrderOpened {
                    code: raw.to_string(),
                    lines: cur.order.lines.len(),
                    units: cur.order.total_units(),
                };
                return self.push(out, kind, now);
            }
            // An order that cannot be packed anyway (status stop, nothing counted) gives way.
            if cur.status_blocking().is_some() && cur.counted_units() == 0 {
                self.current = None;
                return self.open(m, raw, now, out);
            }
            let kind = OutcomeKind::OtherOrderScanned {
                code: raw.to_string(),
                other_order_no: m.order.order_no,
            };
            return self.push(out, kind, now);
        }
        if let Some(sku) = lookup.sku {
            let kind = OutcomeKind::WrongItem {
                code: raw.to_string(),
                sku,
            };
            return self.push(out, kind, now);
        }
        let kind = OutcomeKind::UnknownBarcode {
            code: raw.to_string(),
        };
        self.push(out, kind, now)
    }

    fn open(&mut self, m: OrderMatch, code: &str, now: DateTime<Utc>, out: &mut Vec<Outcome>) {
        let order_no = Some(m.order.order_no.clone());
        if m.packed.is_some() || m.order.status == OrderStatus::Packed {
            let p = m.packed.unwrap_or_default();
            let kind = OutcomeKind::AlreadyPacked {
                packed_at: p.at,
                packed_by: p.by,
            };
            return self.push_for(out, kind, order_no, now);
        }
        let cur = Current::new(m.order, now);
        let kind = match cur.status_block {
            Some(b) => status_outcome(b),
            None => OutcomeKind::OrderOpened {
                code: code.to_string(),
                lines: cur.order.lines.len(),
                units: cur.order.total_units(),
            },
        };
        let stop = cur.status_block.is_some();
        self.current = Some(cur);
        if !stop {
            self.accepted();
        }
        self.push(out, kind, now);
        // An order with no lines (or only zero quantities) is complete at once.
        self.settle(now, out);
    }

    fn item(&mut self, line: usize, units: u32, now: DateTime<Utc>, out: &mut Vec<Outcome>) {
        let Some(c) = self.current.as_mut() else {
            return;
        };
        let Some(l) = c.order.lines.get(line) else {
            return;
        };
        let scanned = c.scanned.get(line).copied().unwrap_or(0);
        let (sku, ordered, serial_required) = (l.sku.clone(), l.qty, l.serial_required);
        if scanned.saturating_add(units) > ordered {
            let kind = OutcomeKind::OverScan {
                sku,
                units,
                scanned,
                ordered,
            };
            return self.push(out, kind, now);
        }
        let case_pack = units > 1;
        if serial_required {
            c.pending = Some(PendingSerial {
                line,
                remaining: units,
            });
            c.invalidate_weight();
            self.accepted();
            let kind = OutcomeKind::ItemAccepted {
                sku,
                units,
                scanned,
                ordered,
                case_pack,
                awaiting_serials: units,
                manual: false,
            };
            return self.push(out, kind, now);
        }
        if let Some(s) = c.scanned.get_mut(line) {
            *s = scanned + units;
        }
        c.steps.push(Step::Scan { line, units });
        c.invalidate_weight();
        self.accepted();
        let kind = OutcomeKind::ItemAccepted {
            sku,
            units,
            scanned: scanned + units,
            ordered,
            case_pack,
            awaiting_serials: 0,
            manual: false,
        };
        self.push(out, kind, now);
        self.settle(now, out);
    }

    fn capture_serial(
        &mut self,
        p: PendingSerial,
        sku: String,
        serial: String,
        now: DateTime<Utc>,
        out: &mut Vec<Outcome>,
    ) {
        let Some(c) = self.current.as_mut() else {
            return;
        };
        let ordered = c.order.lines.get(p.line).map_or(0, |l| l.qty);
        let mut scanned = 0;
        if let Some(s) = c.scanned.get_mut(p.line) {
            *s += 1;
            scanned = *s;
        }
        if let Some(v) = c.serials.get_mut(p.line) {
            v.push(serial.clone());
        }
        c.steps.push(Step::Serial { line: p.line });
        c.pending = (p.remaining > 1).then(|| PendingSerial {
            line: p.line,
            remaining: p.remaining - 1,
        });
        self.accepted();
        let kind = OutcomeKind::SerialCaptured {
            sku,
            serial,
            scanned,
            ordered,
        };
        self.push(out, kind, now);
        self.settle(now, out);
    }

    fn weight(&mut self, grams: Grams, stable: bool, now: DateTime<Utc>, out: &mut Vec<Outcome>) {
        let Some(c) = self.current.as_mut() else {
            return self.invalid(out, "weight received but no order is open", now);
        };
        if !stable {
            return self.push(out, OutcomeKind::WeightUnstable { weight_g: grams }, now);
        }
        if grams.get() <= 0 {
            let msg = format!("weight {grams} is not a parcel weight (must be above 0 g)");
            return self.invalid(out, &msg, now);
        }
        c.weight = Some(grams);
        c.invalidate_weight();
        let complete = (c.all_complete() || c.short) && c.pending.is_none();
        if !complete {
            return self.push(out, OutcomeKind::WeightCaptured { weight_g: grams }, now);
        }
        self.settle(now, out);
    }

    /// After any change: announce completion, check the weight, mark ready.
    fn settle(&mut self, now: DateTime<Utc>, out: &mut Vec<Outcome>) {
        let packaging_g = self.packaging.as_ref().map_or(Grams::ZERO, |p| p.weight_g);
        let tolerance = self.config.tolerance;
        let Some(c) = self.current.as_mut() else {
            return;
        };
        let all = c.all_complete();
        if c.pending.is_some() || !(all || c.short) {
            c.complete_announced = false;
            return;
        }
        let expected = c.items_weight() + packaging_g;
        let mut kinds = Vec::new();
        if !c.complete_announced {
            c.complete_announced = true;
            kinds.push(OutcomeKind::OrderComplete {
                expected_g: expected,
                partial: !all,
            });
        }
        if let (Some(w), None) = (c.weight, c.verdict) {
            let v = tolerance.check(expected, w);
            c.verdict = Some(v);
            kinds.push(if v.ok {
                OutcomeKind::WeightOk {
                    weight_g: w,
                    expected_g: expected,
                    tolerance_g: v.tolerance,
                }
            } else {
                OutcomeKind::WeightOutOfTolerance {
                    weight_g: w,
                    expected_g: expected,
                    tolerance_g: v.tolerance,
                    deviation_g: v.deviation,
                }
            });
        }
        if c.blockers().is_empty() && c.ready_at.is_none() {
            c.ready_at = Some(now);
        }
        for k in kinds {
            if matches!(k, OutcomeKind::WeightOk { .. }) {
                // A good weight clears a stop alarm left by an earlier out-of-tolerance weight.
                if self
                    .alarm
                    .as_ref()
                    .is_some_and(|a| matches!(a.kind, OutcomeKind::WeightOutOfTolerance { .. }))
                {
                    self.alarm = None;
                }
            }
            self.push(out, k, now);
        }
    }

    fn override_(
        &mut self,
        supervisor: Option<String>,
        reason: &str,
        scope: OverrideScope,
        now: DateTime<Utc>,
        out: &mut Vec<Outcome>,
    ) {
        let failures = self.guard.failures();
        let reject = |refusal, failures, locked_until| OutcomeKind::OverrideRejected {
            refusal,
            failures,
            locked_until,
        };
        if let Some(until) = self.guard.locked_until(now) {
            return self.push(
                out,
                reject(OverrideRefusal::LockedOut, failures, Some(until)),
                now,
            );
        }
        let Some(c) = self.current.as_ref() else {
            return self.push(out, reject(OverrideRefusal::NoOrder, failures, None), now);
        };
        if !self.config.policy.reason_allowed(reason) {
            return self.push(
                out,
                reject(OverrideRefusal::UnknownReason, failures, None),
                now,
            );
        }
        let blockers = c.blockers();
        let target: Vec<Blocker> = match scope {
            OverrideScope::ShortPack => blockers
                .iter()
                .copied()
                .filter(|b| *b == Blocker::Incomplete)
                .collect(),
            OverrideScope::Blocking => {
                let status: Vec<Blocker> = blockers
                    .iter()
                    .copied()
                    .filter(|b| {
                        matches!(
                            b,
                            Blocker::Cancelled | Blocker::Intercepted | Blocker::OnHold
                        )
                    })
                    .collect();
                if !status.is_empty() {
                    status
                } else if blockers.contains(&Blocker::WeightOutOfTolerance) {
                    vec![Blocker::WeightOutOfTolerance]
                } else if blockers.contains(&Blocker::Incomplete) {
                    vec![Blocker::Incomplete]
                } else {
                    Vec::new()
                }
            }
        };
        let Some(supervisor) = supervisor else {
            let locked = self.guard.fail(&self.config.policy, now);
            let failures = self.guard.failures();
            return self.push(
                out,
                reject(OverrideRefusal::WrongPin, failures, locked),
                now,
            );
        };
        if target.is_empty() {
            // A correct PIN with nothing to clear does not reset the failure count.
            return self.push(
                out,
                reject(OverrideRefusal::NothingToOverride, failures, None),
                now,
            );
        }
        self.guard.succeed();
        let Some(c) = self.current.as_mut() else {
            return;
        };
        for b in &target {
            match b {
                Blocker::Cancelled | Blocker::Intercepted | Blocker::OnHold => {
                    c.status_overridden = true
                }
                Blocker::WeightOutOfTolerance => c.weight_overridden = true,
                Blocker::Incomplete => c.short = true,
                Blocker::SerialPending | Blocker::NoWeight => {}
            }
        }
        c.overrides.push(OverrideRecord {
            at: now,
            supervisor: supervisor.clone(),
            reason: reason.to_string(),
            cleared: target.clone(),
        });
        if c.blockers().is_empty() && c.ready_at.is_none() {
            c.ready_at = Some(now);
        }
        self.alarm = None;
        let kind = OutcomeKind::OverrideAccepted {
            reason: reason.to_string(),
            supervisor,
            cleared: target,
        };
        self.push(out, kind, now);
        self.settle(now, out);
    }

    fn undo(&mut self, now: DateTime<Utc>, out: &mut Vec<Outcome>) {
        let Some(c) = self.current.as_mut() else {
            return self.invalid(out, "nothing to undo: no order is open", now);
        };
        if let Some(p) = c.pending.take() {
            let sku = c
                .order
                .lines
                .get(p.line)
                .map(|l| l.sku.clone())
                .unwrap_or_default();
            let scanned = c.scanned.get(p.line).copied().unwrap_or(0);
            let kind = OutcomeKind::Undone {
                sku,
                units: 0,
                scanned,
                serial: None,
            };
            self.push(out, kind, now);
            return self.settle(now, out);
        }
        let Some(step) = c.steps.pop() else {
            return self.invalid(out, "nothing to undo", now);
        };
        let (line, units, serial) = match step {
            Step::Scan { line, units } => {
                if let Some(s) = c.scanned.get_mut(line) {
                    *s = s.saturating_sub(units);
                }
                (line, units, None)
            }
            Step::Serial { line } => {
                if let Some(s) = c.scanned.get_mut(line) {
                    *s = s.saturating_sub(1);
                }
                (line, 1, c.serials.get_mut(line).and_then(Vec::pop))
            }
            Step::Manual { line, previous } => {
                let now_count = c.scanned.get(line).copied().unwrap_or(0);
                if let Some(s) = c.scanned.get_mut(line) {
                    *s = previous;
                }
                (line, now_count.abs_diff(previous), None)
            }
        };
        c.invalidate_weight();
        let sku = c
            .order
            .lines
            .get(line)
            .map(|l| l.sku.clone())
            .unwrap_or_default();
        let scanned = c.scanned.get(line).copied().unwrap_or(0);
        let kind = OutcomeKind::Undone {
            sku,
            units,
            scanned,
            serial,
        };
        self.push(out, kind, now);
        self.settle(now, out);
    }

    fn quantity(&mut self, sku: &str, qty: u32, now: DateTime<Utc>, out: &mut Vec<Outcome>) {
        let role = self.operator.as_ref().map(|(_, r)| *r);
        if !role.is_some_and(Role::may_enter_quantity) {
            let kind = OutcomeKind::PermissionDenied {
                action: "manual quantity entry needs a supervisor or admin".to_string(),
            };
            return self.push(out, kind, now);
        }
        let Some(c) = self.current.as_mut() else {
            return self.invalid(out, "quantity entry but no order is open", now);
        };
        let Some(line) = c.order.lines.iter().position(|l| l.sku == sku) else {
            let msg = format!("SKU {sku:?} is not a line of this order");
            return self.invalid(out, &msg, now);
        };
        let Some(l) = c.order.lines.get(line) else {
            return;
        };
        let ordered = l.qty;
        if l.serial_required {
            let msg = format!("SKU {sku:?} needs a serial per unit: scan them");
            return self.invalid(out, &msg, now);
        }
        if let Some(p) = &c.pending {
            let awaited = c
                .order
                .lines
                .get(p.line)
                .map(|l| l.sku.clone())
                .unwrap_or_default();
            let kind = OutcomeKind::SerialMissing {
                sku: awaited,
                code: None,
            };
            return self.push(out, kind, now);
        }
        let previous = c.scanned.get(line).copied().unwrap_or(0);
        if qty > ordered {
            let kind = OutcomeKind::OverScan {
                sku: sku.to_string(),
                units: qty,
                scanned: previous,
                ordered,
            };
            return self.push(out, kind, now);
        }
        if let Some(s) = c.scanned.get_mut(line) {
            *s = qty;
        }
        if let Some(m) = c.manual.get_mut(line) {
            *m = true;
        }
        c.steps.push(Step::Manual { line, previous });
        c.invalidate_weight();
        self.accepted();
        let kind = OutcomeKind::QuantitySet {
            sku: sku.to_string(),
            scanned: qty,
            ordered,
        };
        self.push(out, kind, now);
        self.settle(now, out);
    }

    fn status_changed(
        &mut self,
        order_no: &str,
        status: OrderStatus,
        packed: Option<PackedInfo>,
        now: DateTime<Utc>,
        out: &mut Vec<Outcome>,
    ) {
        let Some(c) = self.current.as_mut() else {
            return;
        };
        if c.order.order_no != order_no {
            return;
        }
        c.order.status = status;
        if status == OrderStatus::Packed {
            let p = packed.unwrap_or_default();
            let kind = OutcomeKind::AlreadyPacked {
                packed_at: p.at,
                packed_by: p.by,
            };
            self.push(out, kind, now);
            self.current = None;
            return;
        }
        let block = status_blocker(status);
        if block != c.status_block {
            c.status_block = block;
            c.status_overridden = false;
            c.offered = false;
            c.ready_at = None;
            if let Some(b) = block {
                self.push(out, status_outcome(b), now);
            } else {
                self.settle(now, out);
            }
        }
    }

    fn recorded(&mut self, result_id: String, now: DateTime<Utc>, out: &mut Vec<Outcome>) {
        let Some(c) = self.current.as_ref() else {
            return self.invalid(out, "recorded but no order is open", now);
        };
        if !c.offered {
            return self.invalid(out, "recorded but no pack was offered", now);
        }
        let kind = OutcomeKind::PackRecorded {
            result_id: result_id.clone(),
            partial: !c.all_complete(),
            weight_g: c.weight.unwrap_or(Grams::ZERO),
        };
        let order_no = c.order.order_no.clone();
        self.alarm = None;
        self.push(out, kind, now);
        self.last_recorded = Some((order_no, result_id));
        self.current = None;
    }
}
