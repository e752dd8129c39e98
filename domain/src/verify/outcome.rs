//! Outcomes of the verification engine: one closed enum, serialised with the snake_case names
//! the replay tool, the audit log and the UI share, each with its [`AlarmClass`].

use crate::units::Grams;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How loud an outcome is: drives sound, colour and the stack light.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AlarmClass {
    /// Everything fine (green, short beep).
    #[default]
    Ok,
    /// Worth a glance, nothing wrong (blue, no sound).
    Notice,
    /// Attention: fix it and carry on (amber, double beep): unknown order, on hold, serial
    /// problems, a refused override.
    Warn,
    /// Do not ship or do not put it in the box: cancelled, intercepted, already packed, weight
    /// out of tolerance, and a wrong, extra or unknown item (red, repeating until acknowledged).
    Stop,
}

impl AlarmClass {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmClass::Ok => "ok",
            AlarmClass::Notice => "notice",
            AlarmClass::Warn => "warn",
            AlarmClass::Stop => "stop",
        }
    }
}

/// Something that keeps the current order from being recorded and labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blocker {
    /// The order is cancelled (stop).
    Cancelled,
    /// The order is intercepted (拦截) (stop).
    Intercepted,
    /// The order is on hold at the order center.
    OnHold,
    /// Not every line is complete (a short pack needs a supervisor override).
    Incomplete,
    /// A serial number still has to be scanned.
    SerialPending,
    /// No stable weight captured yet.
    NoWeight,
    /// The captured weight is out of tolerance (stop).
    WeightOutOfTolerance,
}

impl Blocker {
    /// Whether a supervisor override can clear this blocker.
    pub fn overridable(self) -> bool {
        matches!(
            self,
            Blocker::Cancelled
                | Blocker::Intercepted
                | Blocker::OnHold
                | Blocker::Incomplete
                | Blocker::WeightOutOfTolerance
        )
    }
}

/// Why an override was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideRefusal {
    /// The PIN matched no supervisor.
    WrongPin,
    /// Too many wrong PINs: locked until `locked_until`.
    LockedOut,
    /// The reason code is not in the configured list.
    UnknownReason,
    /// Nothing is blocking that an override could clear.
    NothingToOverride,
    /// No order is open.
    NoOrder,
}

/// What the engine says about an event. Serialised as `{"outcome":"item_accepted",…fields}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OutcomeKind {
    /// An order was opened for verification.
    OrderOpened {
        /// The code that opened it (order no, waybill no or platform order no).
        code: String,
        /// Number of lines.
        lines: usize,
        /// Units ordered in total.
        units: u64,
    },
    /// The code matches no order (and no order is open).
    UnknownOrder {
        /// The scanned code.
        code: String,
    },
    /// The order was packed already.
    AlreadyPacked {
        /// When it was packed, if known.
        packed_at: Option<DateTime<Utc>>,
        /// Who packed it, if known.
        packed_by: Option<String>,
    },
    /// The order is cancelled: do not ship.
    OrderCancelled,
    /// The order is intercepted (拦截): do not ship.
    OrderIntercepted,
    /// The order is on hold at the order center.
    OrderOnHold,
    /// An item scan was counted.
    ItemAccepted {
        /// The SKU counted.
        sku: String,
        /// Units this scan stands for (N for a case barcode).
        units: u32,
        /// Units of this line counted so far.
        scanned: u32,
        /// Units ordered on this line.
        ordered: u32,
        /// The scan was a case/inner-pack barcode (+N).
        case_pack: bool,
        /// Serial numbers still to scan for this scan (the units count once each serial is in).
        awaiting_serials: u32,
        /// Entered by hand (manual quantity) rather than scanned.
        manual: bool,
    },
    /// A known SKU that is not in this order.
    WrongItem {
        /// The scanned code.
        code: String,
        /// The SKU it belongs to.
        sku: String,
    },
    /// A code that matches no SKU and no order.
    UnknownBarcode {
        /// The scanned code.
        code: String,
    },
    /// More units than ordered.
    OverScan {
        /// The SKU.
        sku: String,
        /// Units the scan stands for.
        units: u32,
        /// Units counted so far.
        scanned: u32,
        /// Units ordered.
        ordered: u32,
    },
    /// A serial number was captured and its unit counted.
    SerialCaptured {
        /// The SKU.
        sku: String,
        /// The serial number.
        serial: String,
        /// Units of this line counted so far.
        scanned: u32,
        /// Units ordered on this line.
        ordered: u32,
    },
    /// A serial number was expected but something else was scanned, or the pack was attempted
    /// without it.
    SerialMissing {
        /// The SKU whose serial is awaited.
        sku: String,
        /// The code scanned instead, if any.
        code: Option<String>,
    },
    /// The serial number was captured before (in this order or another pack).
    SerialDuplicate {
        /// The SKU.
        sku: String,
        /// The serial number.
        serial: String,
        /// The order where it was used before.
        first_order_no: String,
    },
    /// Another order's code was scanned while this one is open.
    OtherOrderScanned {
        /// The scanned code.
        code: String,
        /// The order it belongs to.
        other_order_no: String,
    },
    /// The same code again within the debounce window (a scanner double read): ignored.
    DuplicateScanIgnored {
        /// The code.
        code: String,
        /// Milliseconds since the previous identical scan.
        after_ms: i64,
    },
    /// The last counted scan was taken back.
    Undone {
        /// The SKU affected.
        sku: String,
        /// Units taken back.
        units: u32,
        /// Units of this line counted now.
        scanned: u32,
        /// The serial removed, if the undone step was a serial.
        serial: Option<String>,
    },
    /// All lines are complete (or a short pack was authorised): put the parcel on the scale.
    OrderComplete {
        /// Expected parcel weight (items + packaging).
        expected_g: Grams,
        /// A short pack authorised by a supervisor.
        partial: bool,
    },
    /// The weight is within tolerance.
    WeightOk {
        /// Captured weight.
        weight_g: Grams,
        /// Expected weight.
        expected_g: Grams,
        /// Allowed deviation either way.
        tolerance_g: Grams,
    },
    /// The weight is out of tolerance: re-weigh or override.
    WeightOutOfTolerance {
        /// Captured weight.
        weight_g: Grams,
        /// Expected weight.
        expected_g: Grams,
        /// Allowed deviation either way.
        tolerance_g: Grams,
        /// Captured minus expected.
        deviation_g: Grams,
    },
    /// A supervisor override was accepted.
    OverrideAccepted {
        /// The reason code.
        reason: String,
        /// The supervisor whose PIN matched.
        supervisor: String,
        /// What it cleared.
        cleared: Vec<Blocker>,
    },
    /// A supervisor override was refused.
    OverrideRejected {
        /// Why.
        refusal: OverrideRefusal,
        /// Consecutive wrong PINs so far.
        failures: u32,
        /// End of the lockout, when locked.
        locked_until: Option<DateTime<Utc>>,
    },
    /// The pack result is committed to the database (and queued for upload).
    PackRecorded {
        /// The result's id (UUIDv7), the idempotency key for the upload.
        result_id: String,
        /// A short pack.
        partial: bool,
        /// Weight recorded.
        weight_g: Grams,
    },
    /// The input was not usable (empty, too long, control characters, not JSON…).
    InvalidInput {
        /// What is wrong and where.
        message: String,
    },
    /// A line's quantity was set by hand (supervisor/admin only).
    QuantitySet {
        /// The SKU.
        sku: String,
        /// Units counted now.
        scanned: u32,
        /// Units ordered.
        ordered: u32,
    },
    /// The signed-in operator may not do this.
    PermissionDenied {
        /// What was attempted.
        action: String,
    },
    /// A stable weight arrived before the order was complete: kept, checked at completion.
    WeightCaptured {
        /// Captured weight.
        weight_g: Grams,
    },
    /// An unstable weight: ignored.
    WeightUnstable {
        /// The reading.
        weight_g: Grams,
    },
    /// The packaging (包材) was chosen.
    PackagingSet {
        /// Packaging id.
        id: String,
        /// Its weight.
        weight_g: Grams,
    },
    /// The current alarm was acknowledged.
    Acknowledged,
    /// The order was closed without recording (put aside).
    OrderClosed,
    /// An operator signed in.
    SignedIn {
        /// Operator id.
        operator: String,
        /// Role.
        role: super::Role,
    },
    /// The operator signed out.
    SignedOut {
        /// Operator id.
        operator: String,
    },
    /// The pack could not be recorded (database or status problem); nothing was lost, retry.
    RecordFailed {
        /// What went wrong.
        message: String,
    },
}

impl OutcomeKind {
    /// The snake_case name of the outcome (as in `"outcome":"…"`).
    pub fn name(&self) -> &'static str {
        match self {
            OutcomeKind::OrderOpened { .. } => "order_opened",
            OutcomeKind::UnknownOrder { .. } => "unknown_order",
            OutcomeKind::AlreadyPacked { .. } => "already_packed",
            OutcomeKind::OrderCancelled => "order_cancelled",
            OutcomeKind::OrderIntercepted => "order_intercepted",
            OutcomeKind::OrderOnHold => "order_on_hold",
            OutcomeKind::ItemAccepted { .. } => "item_accepted",
            OutcomeKind::WrongItem { .. } => "wrong_item",
            OutcomeKind::UnknownBarcode { .. } => "unknown_barcode",
            OutcomeKind::OverScan { .. } => "over_scan",
            OutcomeKind::SerialCaptured { .. } => "serial_captured",
            OutcomeKind::SerialMissing { .. } => "serial_missing",
            OutcomeKind::SerialDuplicate { .. } => "serial_duplicate",
            OutcomeKind::OtherOrderScanned { .. } => "other_order_scanned",
            OutcomeKind::DuplicateScanIgnored { .. } => "duplicate_scan_ignored",
            OutcomeKind::Undone { .. } => "undone",
            OutcomeKind::OrderComplete { .. } => "order_complete",
            OutcomeKind::WeightOk { .. } => "weight_ok",
            OutcomeKind::WeightOutOfTolerance { .. } => "weight_out_of_tolerance",
            OutcomeKind::OverrideAccepted { .. } => "override_accepted",
            OutcomeKind::OverrideRejected { .. } => "override_rejected",
            OutcomeKind::PackRecorded { .. } => "pack_recorded",
            OutcomeKind::InvalidInput { .. } => "invalid_input",
            OutcomeKind::QuantitySet { .. } => "quantity_set",
            OutcomeKind::PermissionDenied { .. } => "permission_denied",
            OutcomeKind::WeightCaptured { .. } => "weight_captured",
            OutcomeKind::WeightUnstable { .. } => "weight_unstable",
            OutcomeKind::PackagingSet { .. } => "packaging_set",
            OutcomeKind::Acknowledged => "acknowledged",
            OutcomeKind::OrderClosed => "order_closed",
            OutcomeKind::SignedIn { .. } => "signed_in",
            OutcomeKind::SignedOut { .. } => "signed_out",
            OutcomeKind::RecordFailed { .. } => "record_failed",
        }
    }

    /// The alarm class of this outcome.
    pub fn alarm(&self) -> AlarmClass {
        use OutcomeKind as K;
        match self {
            K::AlreadyPacked { .. }
            | K::OrderCancelled
            | K::OrderIntercepted
            | K::WeightOutOfTolerance { .. }
            | K::RecordFailed { .. }
            // A wrong, extra or unknown item, or another order's waybill, is a loud red alarm
            // (it counts nothing and does not block the next scan; see `is_rejected_scan`).
            | K::WrongItem { .. }
            | K::UnknownBarcode { .. }
            | K::OverScan { .. }
            | K::OtherOrderScanned { .. } => AlarmClass::Stop,
            K::UnknownOrder { .. }
            | K::OrderOnHold
            | K::SerialMissing { .. }
            | K::SerialDuplicate { .. }
            | K::OverrideRejected { .. }
            | K::InvalidInput { .. }
            | K::PermissionDenied { .. } => AlarmClass::Warn,
            K::DuplicateScanIgnored { .. }
            | K::Undone { .. }
            | K::OverrideAccepted { .. }
            | K::QuantitySet { .. }
            | K::WeightCaptured { .. }
            | K::WeightUnstable { .. }
            | K::PackagingSet { .. }
            | K::OrderClosed => AlarmClass::Notice,
            K::OrderOpened { .. }
            | K::ItemAccepted { .. }
            | K::SerialCaptured { .. }
            | K::OrderComplete { .. }
            | K::WeightOk { .. }
            | K::PackRecorded { .. }
            | K::Acknowledged
            | K::SignedIn { .. }
            | K::SignedOut { .. } => AlarmClass::Ok,
        }
    }

    /// Whether this outcome is a rejected scan whose alarm stays until the next accepted scan or
    /// an acknowledgement.
    pub fn is_rejected_scan(&self) -> bool {
        matches!(
            self,
            OutcomeKind::WrongItem { .. }
                | OutcomeKind::UnknownBarcode { .. }
                | OutcomeKind::OverScan { .. }
                | OutcomeKind::SerialMissing { .. }
                | OutcomeKind::SerialDuplicate { .. }
                | OutcomeKind::OtherOrderScanned { .. }
                | OutcomeKind::UnknownOrder { .. }
                | OutcomeKind::InvalidInput { .. }
        )
    }
}

/// One outcome: its kind (with data), alarm class, the order it concerns and when.
///
/// JSON: `{"outcome":"over_scan","sku":"A",…,"alarm":"stop","order_no":"O1","at":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// What happened.
    #[serde(flatten)]
    pub kind: OutcomeKind,
    /// Alarm class (sound, colour, light).
    pub alarm: AlarmClass,
    /// The order concerned (the open order, or the one the code matched).
    pub order_no: Option<String>,
    /// When (the time passed in with the event).
    pub at: DateTime<Utc>,
}

impl Outcome {
    /// Builds an outcome with the kind's alarm class.
    pub fn new(kind: OutcomeKind, order_no: Option<String>, at: DateTime<Utc>) -> Outcome {
        Outcome {
            alarm: kind.alarm(),
            kind,
            order_no,
            at,
        }
    }

    /// The snake_case outcome name.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}
