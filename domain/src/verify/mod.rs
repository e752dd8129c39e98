//! The verification state machine (二次校验): opening an order, item scans, serials, completion,
//! weight check and supervisor override. Events in, outcomes out; time passed in. No IO.
//!
//! The engine never looks anything up itself: the station resolves a scanned code against its
//! store (is it an order code? a known SKU barcode? a serial used before?) and passes the answer
//! in [`ScanLookup`]. When everything is satisfied the engine offers a [`PackDraft`] through
//! [`Engine::poll_record`]; the station commits it and reports back with [`Event::Recorded`],
//! and only then does the engine say `pack_recorded` (quinn-proto style: `handle` in, `poll` out).
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use domain::verify::{Engine, EngineConfig, Event, ScanLookup, OrderMatch};
//! use domain::{Order, Grams};
//!
//! let order: Order = serde_json::from_str(r#"{"order_no":"O1","waybill_nos":["SF1"],
//!   "lines":[{"sku":"A","qty":1,"unit_weight_g":500,"barcodes":[{"code":"6901234567892"}]}]}"#).unwrap();
//! let now = DateTime::<Utc>::UNIX_EPOCH;
//! let mut engine = Engine::new(EngineConfig::default());
//! let open = ScanLookup { order: Some(OrderMatch { order, packed: None }), ..Default::default() };
//! assert_eq!(engine.handle(Event::scan("SF1", open), now)[0].name(), "order_opened");
//! let out = engine.handle(Event::scan("6901234567892", ScanLookup::default()), now);
//! assert_eq!(out.last().unwrap().name(), "order_complete");
//! let out = engine.handle(Event::Weight { grams: Grams(510), stable: true }, now);
//! assert_eq!(out[0].name(), "weight_ok");
//! let draft = engine.poll_record().unwrap();
//! assert_eq!(draft.weight_g, Grams(510));
//! let out = engine.handle(Event::Recorded { result_id: "r1".into() }, now);
//! assert_eq!(out[0].name(), "pack_recorded");
//! ```

mod engine;
pub mod outcome;
pub mod policy;
pub mod weight;

pub use engine::{
    Engine, EngineConfig, Event, LineProgress, OrderMatch, OverrideRecord, OverrideScope,
    PackDraft, Packaging, PackedInfo, PackedLine, ScanLookup, Snapshot, DEFAULT_DEBOUNCE_MS,
    MAX_SCAN_LEN,
};
pub use outcome::{AlarmClass, Blocker, Outcome, OutcomeKind, OverrideRefusal};
pub use policy::{OverridePolicy, PinGuard};
pub use weight::{Tolerance, WeightVerdict};

use serde::{Deserialize, Serialize};

/// What an operator may do at the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Scans, weighs, labels.
    #[default]
    Packer,
    /// May also override and enter quantities by hand.
    Supervisor,
    /// May also change configuration.
    Admin,
}

impl Role {
    /// Whether the role may enter quantities by hand.
    pub fn may_enter_quantity(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Packer => "packer",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

#[cfg(test)]
mod tests;
