//! Unit tests of the engine: one scenario per outcome, data-driven where the shape repeats.

use super::*;
use crate::order::{Order, OrderStatus};
use crate::units::Grams;
use chrono::{DateTime, Duration, Utc};

fn t(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::milliseconds(ms)
}

/// Order O1: line A (2 × 300 g, unit EAN + case of 2), line B (1 × 500 g, UPC-A), line S
/// (serial, 1 × 100 g, internal code).
fn order_o1(status: OrderStatus) -> Order {
    let mut o: Order = serde_json::from_str(
        r#"{"order_no":"O1","platform_order_nos":["P1"],"waybill_nos":["SF1"],"carrier":"SF",
        "lines":[
          {"sku":"A","qty":2,"unit_weight_g":300,"barcodes":[{"code":"6901234567892"},{"code":"16901234567899","units":2}]},
          {"sku":"B","qty":1,"unit_weight_g":500,"barcodes":[{"code":"036000291452"}]},
          {"sku":"S","qty":1,"unit_weight_g":100,"serial_required":true,"barcodes":[{"code":"WH-S"}]}
        ]}"#,
    )
    .unwrap();
    o.status = status;
    o
}

fn order_o2() -> Order {
    serde_json::from_str(
        r#"{"order_no":"O2","waybill_nos":["SF2"],"lines":[{"sku":"C","qty":1,"unit_weight_g":50,"barcodes":[{"code":"C1"}]}]}"#,
    )
    .unwrap()
}

/// A little test bench: an engine plus a catalogue that plays the store.
struct Bench {
    e: Engine,
    orders: Vec<(Order, Option<PackedInfo>)>,
    skus: Vec<(String, String)>,
    serials: Vec<(String, String, String)>,
    now: i64,
}

impl Bench {
    fn new() -> Bench {
        Bench {
            e: Engine::new(EngineConfig::default()),
            orders: vec![(order_o1(OrderStatus::Open), None), (order_o2(), None)],
            skus: vec![
                ("06901234567892".into(), "A".into()),
                ("C1".into(), "C".into()),
                ("X1".into(), "X".into()),
            ],
            serials: vec![("S".into(), "SN-OLD".into(), "O0".into())],
            now: 0,
        }
    }

    fn lookup(&self, code: &str) -> ScanLookup {
        let order = self
            .orders
            .iter()
            .find(|(o, _)| {
                o.order_no == code
                    || o.waybill_nos.iter().any(|w| w == code)
                    || o.platform_order_nos.iter().any(|p| p == code)
            })
            .map(|(o, p)| OrderMatch {
                order: o.clone(),
                packed: p.clone(),
            });
        let n = crate::barcode::normalize_for_match(code).unwrap_or_default();
        let sku = self
            .skus
            .iter()
            .find(|(c, _)| *c == n)
            .map(|(_, s)| s.clone());
        let serial_used_in = self.e.awaiting_serial_sku().and_then(|sku| {
            self.serials
                .iter()
                .find(|(s, serial, _)| s == sku && serial == code)
                .map(|(_, _, o)| o.clone())
        });
        ScanLookup {
            order,
            sku,
            serial_used_in,
        }
    }

    /// Advances the clock by 1 s (beyond the debounce) and feeds the event.
    fn ev(&mut self, e: Event) -> Vec<Outcome> {
        self.now += 1000;
        self.e.handle(e, t(self.now))
    }

    fn scan(&mut self, code: &str) -> Vec<Outcome> {
        let l = self.lookup(code);
        self.ev(Event::scan(code, l))
    }

    fn weigh(&mut self, g: i64) -> Vec<Outcome> {
        self.ev(Event::Weight {
            grams: Grams(g),
            stable: true,
        })
    }

    fn over(&mut self, who: Option<&str>, reason: &str) -> Vec<Outcome> {
        self.ev(Event::Override {
            supervisor: who.map(str::to_string),
            reason: reason.into(),
            scope: OverrideScope::Blocking,
        })
    }

    /// Opens O1 and scans everything but the serial item.
    fn o1_items(&mut self) {
        names(&self.scan("SF1"), &["order_opened"]);
        names(&self.scan("6901234567892"), &["item_accepted"]);
        names(&self.scan("6901234567892"), &["item_accepted"]);
        names(&self.scan("036000291452"), &["item_accepted"]);
    }

    /// Opens O1 and completes it (serial SN1).
    fn o1_complete(&mut self) {
        self.o1_items();
        names(&self.scan("WH-S"), &["item_accepted"]);
        names(&self.scan("SN1"), &["serial_captured", "order_complete"]);
    }
}

fn names(out: &[Outcome], expected: &[&str]) {
    let got: Vec<&str> = out.iter().map(Outcome::name).collect();
    assert_eq!(got, expected, "{out:#?}");
}

#[test]
fn opening_by_every_code_and_unknown_order() {
    for code in ["O1", "SF1", "P1"] {
        let mut b = Bench::new();
        let out = b.scan(code);
        names(&out, &["order_opened"]);
        assert_eq!(out[0].order_no.as_deref(), Some("O1"));
        assert_eq!(out[0].alarm, AlarmClass::Ok);
    }
    let mut b = Bench::new();
    // An item barcode with no order open is still an unknown order.
    for code in ["SF", "O", "6901234567892", "NOPE"] {
        let out = b.scan(code);
        names(&out, &["unknown_order"]);
        assert_eq!(out[0].alarm, AlarmClass::Warn);
        assert_eq!(out[0].order_no, None);
    }
}

#[test]
fn status_outcomes_and_their_alarm_classes() {
    fn check(
        status: OrderStatus,
        packed: Option<PackedInfo>,
        name: &str,
        alarm: AlarmClass,
        opens: bool,
    ) {
        let mut b = Bench::new();
        b.orders[0] = (order_o1(status), packed);
        let out = b.scan("SF1");
        names(&out, &[name]);
        assert_eq!(out[0].alarm, alarm, "{name}");
        assert_eq!(out[0].order_no.as_deref(), Some("O1"));
        assert_eq!(b.e.current_order_no().is_some(), opens, "{name}");
    }
    check(
        OrderStatus::Cancelled,
        None,
        "order_cancelled",
        AlarmClass::Stop,
        true,
    );
    check(
        OrderStatus::Intercepted,
        None,
        "order_intercepted",
        AlarmClass::Stop,
        true,
    );
    check(
        OrderStatus::OnHold,
        None,
        "order_on_hold",
        AlarmClass::Warn,
        true,
    );
    check(
        OrderStatus::Packed,
        None,
        "already_packed",
        AlarmClass::Stop,
        false,
    );
    let info = PackedInfo {
        at: Some(t(5)),
        by: Some("p1".into()),
    };
    check(
        OrderStatus::Open,
        Some(info.clone()),
        "already_packed",
        AlarmClass::Stop,
        false,
    );
    let mut b = Bench::new();
    b.orders[0] = (order_o1(OrderStatus::Open), Some(info));
    let out = b.scan("O1");
    assert_eq!(
        out[0].kind,
        OutcomeKind::AlreadyPacked {
            packed_at: Some(t(5)),
            packed_by: Some("p1".into())
        }
    );
}

#[test]
fn cancelled_order_blocks_until_overridden_and_gives_way_to_another_order() {
    let mut b = Bench::new();
    b.orders[0] = (order_o1(OrderStatus::Cancelled), None);
    b.o1_complete_blocked();
    names(&b.weigh(1200), &["weight_ok"]);
    assert!(
        b.e.poll_record().is_none(),
        "a cancelled order must not be recorded"
    );
    assert!(b.e.snapshot().blockers.contains(&Blocker::Cancelled));
    let out = b.over(Some("sup"), "order_center_confirmed");
    names(&out, &["override_accepted"]);
    assert_eq!(
        out[0].kind,
        OutcomeKind::OverrideAccepted {
            reason: "order_center_confirmed".into(),
            supervisor: "sup".into(),
            cleared: vec![Blocker::Cancelled]
        }
    );
    let d = b.e.poll_record().unwrap();
    assert_eq!(d.overrides.len(), 1);

    // A cancelled order with nothing counted gives way to the next order scanned.
    let mut b = Bench::new();
    b.orders[0] = (order_o1(OrderStatus::Intercepted), None);
    names(&b.scan("SF1"), &["order_intercepted"]);
    names(&b.scan("SF2"), &["order_opened"]);
    assert_eq!(b.e.current_order_no(), Some("O2"));
}

impl Bench {
    fn o1_complete_blocked(&mut self) {
        let first = self.scan("SF1");
        assert_eq!(first[0].alarm, AlarmClass::Stop);
        for c in ["6901234567892", "6901234567892", "036000291452", "WH-S"] {
            names(&self.scan(c), &["item_accepted"]);
        }
        names(&self.scan("SN1"), &["serial_captured", "order_complete"]);
    }
}

#[test]
fn item_scans_accept_and_reject() {
    let mut b = Bench::new();
    b.o1_items();
    let s = b.e.snapshot();
    assert_eq!(s.lines[0].scanned, 2);
    assert_eq!(s.lines[1].scanned, 1);
    assert_eq!(s.blockers, vec![Blocker::Incomplete, Blocker::NoWeight]);

    // Over-scan: counts nothing, red alarm.
    let out = b.scan("6901234567892");
    names(&out, &["over_scan"]);
    assert_eq!(out[0].alarm, AlarmClass::Stop);
    assert_eq!(b.e.snapshot().lines[0].scanned, 2);
    assert!(b.e.snapshot().alarm.is_some());

    // Wrong item (known SKU, not in the order), unknown barcode, other order's waybill.
    let out = b.scan("X1");
    assert_eq!(
        out[0].kind,
        OutcomeKind::WrongItem {
            code: "X1".into(),
            sku: "X".into()
        }
    );
    assert_eq!(out[0].alarm, AlarmClass::Stop);
    let out = b.scan("ZZZ");
    names(&out, &["unknown_barcode"]);
    assert_eq!(out[0].alarm, AlarmClass::Stop);
    let out = b.scan("SF2");
    assert_eq!(
        out[0].kind,
        OutcomeKind::OtherOrderScanned {
            code: "SF2".into(),
            other_order_no: "O2".into()
        }
    );
    assert_eq!(out[0].order_no.as_deref(), Some("O1"));
    assert_eq!(b.e.current_order_no(), Some("O1"));
    // The alarm stays until an accepted scan.
    assert_eq!(b.e.snapshot().alarm.unwrap().name(), "other_order_scanned");
    names(&b.scan("WH-S"), &["item_accepted"]);
    assert!(b.e.snapshot().alarm.is_none());
}

#[test]
fn alarm_is_cleared_by_acknowledge() {
    let mut b = Bench::new();
    b.o1_items();
    names(&b.scan("ZZZ"), &["unknown_barcode"]);
    assert!(b.e.snapshot().alarm.is_some());
    names(&b.ev(Event::Acknowledge), &["acknowledged"]);
    assert!(b.e.snapshot().alarm.is_none());
}

#[test]
fn barcode_matching_is_exact_after_normalisation() {
    // (scan, expected outcome) with O1 open and nothing counted yet.
    let cases: &[(&str, &str)] = &[
        ("6901234567892", "item_accepted"),       // EAN-13
        ("06901234567892", "item_accepted"),      // the same as GTIN-14
        ("]E06901234567892", "item_accepted"),    // with AIM prefix
        ("]C10106901234567892", "item_accepted"), // GS1-128 with AI 01
        ("36000291452", "unknown_barcode"),       // UPC-A without its leading digit: not a match
        ("0036000291452", "item_accepted"),       // UPC-A as EAN-13 with leading zero
        ("690123456789", "unknown_barcode"),      // prefix of the EAN: never a match
        ("69012345678921", "unknown_barcode"),    // longer: never a match
        ("WH-S", "item_accepted"),
        ("WH-", "unknown_barcode"),
        ("wh-s", "unknown_barcode"),
    ];
    for (code, expected) in cases {
        let mut b = Bench::new();
        b.scan("SF1");
        let out = b.scan(code);
        assert_eq!(out[0].name(), *expected, "scan {code:?}");
    }
}

#[test]
fn case_pack_counts_n() {
    let mut b = Bench::new();
    b.scan("SF1");
    let out = b.scan("16901234567899");
    assert_eq!(
        out[0].kind,
        OutcomeKind::ItemAccepted {
            sku: "A".into(),
            units: 2,
            scanned: 2,
            ordered: 2,
            case_pack: true,
            awaiting_serials: 0,
            manual: false
        }
    );
    // A case on top of one unit would exceed the order.
    let mut b = Bench::new();
    b.scan("SF1");
    b.scan("6901234567892");
    names(&b.scan("16901234567899"), &["over_scan"]);
}

#[test]
fn serial_capture_missing_and_duplicate() {
    let mut b = Bench::new();
    b.o1_items();
    let out = b.scan("WH-S");
    assert!(matches!(
        out[0].kind,
        OutcomeKind::ItemAccepted {
            awaiting_serials: 1,
            scanned: 0,
            ..
        }
    ));
    assert_eq!(b.e.awaiting_serial_sku(), Some("S"));
    // Scanning an item instead of the serial.
    let out = b.scan("6901234567892");
    assert_eq!(
        out[0].kind,
        OutcomeKind::SerialMissing {
            sku: "S".into(),
            code: Some("6901234567892".into())
        }
    );
    // A serial recorded in another pack.
    let out = b.scan("SN-OLD");
    assert_eq!(
        out[0].kind,
        OutcomeKind::SerialDuplicate {
            sku: "S".into(),
            serial: "SN-OLD".into(),
            first_order_no: "O0".into()
        }
    );
    assert_eq!(b.e.snapshot().lines[2].scanned, 0);
    let out = b.scan("SN1");
    names(&out, &["serial_captured", "order_complete"]);
    assert_eq!(b.e.snapshot().lines[2].serials, vec!["SN1".to_string()]);
}

#[test]
fn serial_duplicate_within_the_order() {
    let mut b = Bench::new();
    let mut o = order_o1(OrderStatus::Open);
    o.lines[2].qty = 2;
    b.orders[0] = (o, None);
    b.o1_items();
    b.scan("WH-S");
    names(&b.scan("SN1"), &["serial_captured"]);
    b.scan("WH-S");
    let out = b.scan("SN1");
    assert_eq!(
        out[0].kind,
        OutcomeKind::SerialDuplicate {
            sku: "S".into(),
            serial: "SN1".into(),
            first_order_no: "O1".into()
        }
    );
}

#[test]
fn debounce_ignores_double_reads_only() {
    let mut b = Bench::new();
    b.scan("SF1");
    b.now += 1000;
    let l = b.lookup("6901234567892");
    names(
        &b.e.handle(Event::scan("6901234567892", l.clone()), t(b.now)),
        &["item_accepted"],
    );
    let out =
        b.e.handle(Event::scan("6901234567892", l.clone()), t(b.now + 40));
    assert_eq!(
        out[0].kind,
        OutcomeKind::DuplicateScanIgnored {
            code: "6901234567892".into(),
            after_ms: 40
        }
    );
    assert_eq!(out[0].alarm, AlarmClass::Notice);
    assert_eq!(b.e.snapshot().lines[0].scanned, 1);
    // 100 ms after the last read: a real second scan.
    names(
        &b.e.handle(Event::scan("6901234567892", l), t(b.now + 140)),
        &["item_accepted"],
    );
    assert_eq!(b.e.snapshot().lines[0].scanned, 2);
}

#[test]
fn undo_takes_back_the_last_step() {
    let mut b = Bench::new();
    b.o1_complete();
    let out = b.ev(Event::Undo);
    assert_eq!(
        out[0].kind,
        OutcomeKind::Undone {
            sku: "S".into(),
            units: 1,
            scanned: 0,
            serial: Some("SN1".into())
        }
    );
    let out = b.ev(Event::Undo);
    assert!(
        matches!(&out[0].kind, OutcomeKind::Undone { sku, units: 1, scanned: 0, .. } if sku == "B")
    );
    assert!(b.e.snapshot().blockers.contains(&Blocker::Incomplete));
    // Undo while a serial is awaited cancels the wait.
    let mut b = Bench::new();
    b.o1_items();
    b.scan("WH-S");
    names(&b.ev(Event::Undo), &["undone"]);
    assert_eq!(b.e.awaiting_serial_sku(), None);
    // Nothing to undo.
    let mut b = Bench::new();
    b.scan("SF1");
    names(&b.ev(Event::Undo), &["invalid_input"]);
}

#[test]
fn manual_quantity_is_permission_gated() {
    let mut b = Bench::new();
    b.scan("SF1");
    let q = Event::Quantity {
        sku: "A".into(),
        qty: 2,
    };
    names(&b.ev(q.clone()), &["permission_denied"]);
    b.ev(Event::SignIn {
        operator: "p1".into(),
        role: Role::Packer,
    });
    names(&b.ev(q.clone()), &["permission_denied"]);
    names(
        &b.ev(Event::SignIn {
            operator: "s1".into(),
            role: Role::Supervisor,
        }),
        &["signed_in"],
    );
    let out = b.ev(q);
    assert_eq!(
        out[0].kind,
        OutcomeKind::QuantitySet {
            sku: "A".into(),
            scanned: 2,
            ordered: 2
        }
    );
    names(
        &b.ev(Event::Quantity {
            sku: "B".into(),
            qty: 5,
        }),
        &["over_scan"],
    );
    names(
        &b.ev(Event::Quantity {
            sku: "S".into(),
            qty: 1,
        }),
        &["invalid_input"],
    );
    names(
        &b.ev(Event::Quantity {
            sku: "Q".into(),
            qty: 1,
        }),
        &["invalid_input"],
    );
    names(&b.ev(Event::Undo), &["undone"]);
    assert_eq!(b.e.snapshot().lines[0].scanned, 0);
    names(&b.ev(Event::SignOut), &["signed_out"]);
}

#[test]
fn weight_check_ok_and_out_of_tolerance() {
    // Expected 2×300 + 500 + 100 = 1200 g, tolerance max(20, 36) = 36 g.
    let cases: &[(i64, &str)] = &[
        (1200, "weight_ok"),
        (1236, "weight_ok"),
        (1164, "weight_ok"),
        (1237, "weight_out_of_tolerance"),
        (1163, "weight_out_of_tolerance"),
        (600, "weight_out_of_tolerance"),
    ];
    for (g, expected) in cases {
        let mut b = Bench::new();
        b.o1_complete();
        let out = b.weigh(*g);
        assert_eq!(out[0].name(), *expected, "{g} g");
        assert_eq!(
            b.e.poll_record().is_some(),
            *expected == "weight_ok",
            "{g} g"
        );
    }
    let mut b = Bench::new();
    b.o1_complete();
    let out = b.weigh(1300);
    assert_eq!(
        out[0].kind,
        OutcomeKind::WeightOutOfTolerance {
            weight_g: Grams(1300),
            expected_g: Grams(1200),
            tolerance_g: Grams(36),
            deviation_g: Grams(100)
        }
    );
    assert_eq!(out[0].alarm, AlarmClass::Stop);
    // Re-weigh fixes it.
    names(&b.weigh(1210), &["weight_ok"]);
    assert!(b.e.snapshot().alarm.is_none());
    assert!(b.e.poll_record().is_some());
}

#[test]
fn weight_before_completion_is_kept_and_checked_at_completion() {
    let mut b = Bench::new();
    b.o1_items();
    names(&b.weigh(1200), &["weight_captured"]);
    b.scan("WH-S");
    names(
        &b.scan("SN1"),
        &["serial_captured", "order_complete", "weight_ok"],
    );
    names(
        &b.ev(Event::Weight {
            grams: Grams(10),
            stable: false,
        }),
        &["weight_unstable"],
    );
    names(&b.weigh(0), &["invalid_input"]);
    names(&b.weigh(-5), &["invalid_input"]);
    let mut b = Bench::new();
    names(&b.weigh(100), &["invalid_input"]);
}

#[test]
fn packaging_weight_is_part_of_the_expectation() {
    let mut b = Bench::new();
    names(
        &b.ev(Event::SetPackaging(Packaging {
            id: "box".into(),
            weight_g: Grams(200),
        })),
        &["packaging_set"],
    );
    b.o1_complete();
    names(&b.weigh(1400), &["weight_ok"]);
    let d = b.e.poll_record().unwrap();
    assert_eq!(d.expected_g, Grams(1400));
    // Changing the packaging re-checks the captured weight.
    let mut b = Bench::new();
    b.o1_complete();
    names(&b.weigh(1400), &["weight_out_of_tolerance"]);
    let out = b.ev(Event::SetPackaging(Packaging {
        id: "box".into(),
        weight_g: Grams(200),
    }));
    names(&out, &["packaging_set", "weight_ok"]);
}

#[test]
fn override_weight_and_short_pack() {
    let mut b = Bench::new();
    b.o1_complete();
    b.weigh(2000);
    let out = b.over(Some("sup"), "packaging_heavier");
    assert!(
        matches!(&out[0].kind, OutcomeKind::OverrideAccepted { cleared, .. } if cleared == &vec![Blocker::WeightOutOfTolerance])
    );
    let d = b.e.poll_record().unwrap();
    assert_eq!(d.weight_g, Grams(2000));
    assert_eq!(d.overrides[0].reason, "packaging_heavier");
    assert!(!d.partial);

    // Short pack: B missing, authorised → partial, expected weight counts what was packed.
    let mut b = Bench::new();
    b.scan("SF1");
    b.scan("16901234567899");
    b.scan("WH-S");
    b.scan("SN1");
    let out = b.ev(Event::Override {
        supervisor: Some("sup".into()),
        reason: "stock_short".into(),
        scope: OverrideScope::ShortPack,
    });
    names(&out, &["override_accepted", "order_complete"]);
    assert_eq!(
        out[1].kind,
        OutcomeKind::OrderComplete {
            expected_g: Grams(700),
            partial: true
        }
    );
    names(&b.weigh(700), &["weight_ok"]);
    let d = b.e.poll_record().unwrap();
    assert!(d.partial);
    assert_eq!(d.lines[1].scanned, 0);
    let out = b.ev(Event::Recorded {
        result_id: "r1".into(),
    });
    assert_eq!(
        out[0].kind,
        OutcomeKind::PackRecorded {
            result_id: "r1".into(),
            partial: true,
            weight_g: Grams(700)
        }
    );
}

#[test]
fn override_refusals_and_lockout() {
    let mut b = Bench::new();
    let out = b.over(Some("sup"), "stock_short");
    assert!(matches!(
        out[0].kind,
        OutcomeKind::OverrideRejected {
            refusal: OverrideRefusal::NoOrder,
            ..
        }
    ));
    b.o1_complete();
    let out = b.over(Some("sup"), "because");
    assert!(matches!(
        out[0].kind,
        OutcomeKind::OverrideRejected {
            refusal: OverrideRefusal::UnknownReason,
            ..
        }
    ));
    b.weigh(1200);
    let out = b.over(Some("sup"), "stock_short");
    assert!(matches!(
        out[0].kind,
        OutcomeKind::OverrideRejected {
            refusal: OverrideRefusal::NothingToOverride,
            ..
        }
    ));

    let mut b = Bench::new();
    b.o1_complete();
    b.weigh(5000);
    for i in 1..=4 {
        let out = b.over(None, "scale_fault");
        assert_eq!(
            out[0].kind,
            OutcomeKind::OverrideRejected {
                refusal: OverrideRefusal::WrongPin,
                failures: i,
                locked_until: None
            }
        );
        assert_eq!(out[0].alarm, AlarmClass::Warn);
    }
    let out = b.over(None, "scale_fault");
    let until = t(b.now + policy::DEFAULT_LOCKOUT_MS);
    assert_eq!(
        out[0].kind,
        OutcomeKind::OverrideRejected {
            refusal: OverrideRefusal::WrongPin,
            failures: 5,
            locked_until: Some(until)
        }
    );
    // Even the right PIN is refused during the lockout.
    let out = b.over(Some("sup"), "scale_fault");
    assert!(matches!(
        out[0].kind,
        OutcomeKind::OverrideRejected {
            refusal: OverrideRefusal::LockedOut,
            ..
        }
    ));
    assert!(b.e.pin_locked_until(t(b.now)).is_some());
    b.now += policy::DEFAULT_LOCKOUT_MS;
    names(&b.over(Some("sup"), "scale_fault"), &["override_accepted"]);
}

#[test]
fn pack_recorded_only_after_the_station_commits() {
    let mut b = Bench::new();
    b.o1_complete();
    names(&b.weigh(1200), &["weight_ok"]);
    let d = b.e.poll_record().unwrap();
    assert_eq!(d.order.order_no, "O1");
    assert_eq!(d.expected_g, Grams(1200));
    assert_eq!(d.tolerance_g, Grams(36));
    assert_eq!(d.lines[2].serials, vec!["SN1".to_string()]);
    // Offered once.
    assert!(b.e.poll_record().is_none());
    // A failed commit: the order stays, the draft is offered again.
    names(
        &b.ev(Event::RecordFailed {
            message: "disk full".into(),
        }),
        &["record_failed"],
    );
    assert_eq!(b.e.current_order_no(), Some("O1"));
    assert!(b.e.poll_record().is_some());
    let out = b.ev(Event::Recorded {
        result_id: "r1".into(),
    });
    names(&out, &["pack_recorded"]);
    assert_eq!(out[0].order_no.as_deref(), Some("O1"));
    assert_eq!(b.e.current_order_no(), None);
    assert_eq!(
        b.e.snapshot().last_recorded,
        Some(("O1".into(), "r1".into()))
    );
    // Recorded without an offer is refused.
    names(
        &b.ev(Event::Recorded {
            result_id: "r2".into(),
        }),
        &["invalid_input"],
    );
}

#[test]
fn status_change_while_packing_blocks_the_record() {
    let mut b = Bench::new();
    b.o1_complete();
    let out = b.ev(Event::StatusChanged {
        order_no: "O1".into(),
        status: OrderStatus::Intercepted,
        packed: None,
    });
    names(&out, &["order_intercepted"]);
    names(&b.weigh(1200), &["weight_ok"]);
    assert!(b.e.poll_record().is_none());
    // Another order's status change is ignored.
    assert!(b
        .ev(Event::StatusChanged {
            order_no: "O2".into(),
            status: OrderStatus::Cancelled,
            packed: None
        })
        .is_empty());
    // Lifted again: ready.
    b.ev(Event::StatusChanged {
        order_no: "O1".into(),
        status: OrderStatus::Open,
        packed: None,
    });
    assert!(b.e.poll_record().is_some());
}

#[test]
fn bad_scans_are_invalid_input_and_count_nothing() {
    let long = "9".repeat(10_000);
    let cases: Vec<(&str, &str)> = vec![
        ("", "empty scan"),
        (long.as_str(), "10000 characters"),
        ("AB\u{7}C", "control character"),
        ("AB C", "whitespace"),
        ("\u{fffd}\u{fffd}PK", "binary"),
        ("]E0", "empty barcode"),
    ];
    for (code, why) in cases {
        let mut b = Bench::new();
        b.scan("SF1");
        let out = b.scan(code);
        names(&out, &["invalid_input"]);
        match &out[0].kind {
            OutcomeKind::InvalidInput { message } => assert!(message.contains(why), "{message}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(out[0].alarm, AlarmClass::Warn);
        assert!(b.e.snapshot().lines.iter().all(|l| l.scanned == 0));
        // The next good scan works.
        names(&b.scan("6901234567892"), &["item_accepted"]);
    }
}

#[test]
fn close_and_other_events() {
    let mut b = Bench::new();
    names(&b.ev(Event::Close), &["invalid_input"]);
    b.scan("SF1");
    names(&b.ev(Event::Close), &["order_closed"]);
    assert_eq!(b.e.current_order_no(), None);
    names(&b.ev(Event::SignOut), &["invalid_input"]);
    names(
        &b.ev(Event::Invalid {
            message: "line 3: not JSON".into(),
        }),
        &["invalid_input"],
    );
    // Re-scanning the open order's own waybill changes nothing.
    b.scan("SF1");
    b.scan("6901234567892");
    names(&b.scan("P1"), &["order_opened"]);
    assert_eq!(b.e.snapshot().lines[0].scanned, 1);
}

#[test]
fn every_outcome_serialises_with_its_snake_case_name() {
    let mut b = Bench::new();
    b.o1_complete();
    let out = b.weigh(1300);
    let j = serde_json::to_value(&out[0]).unwrap();
    assert_eq!(j["outcome"], "weight_out_of_tolerance");
    assert_eq!(j["alarm"], "stop");
    assert_eq!(j["order_no"], "O1");
    assert_eq!(j["deviation_g"], 100);
    let back: Outcome = serde_json::from_value(j).unwrap();
    assert_eq!(back, out[0]);
    // Names match the serialised tag for every kind used in these tests.
    for o in [
        OutcomeKind::OrderCancelled,
        OutcomeKind::Acknowledged,
        OutcomeKind::UnknownOrder { code: "x".into() },
    ] {
        let j = serde_json::to_value(Outcome::new(o.clone(), None, t(0))).unwrap();
        assert_eq!(j["outcome"], o.name());
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Inputs a packer (or a noisy scanner) can produce around order O1.
    fn action() -> impl Strategy<Value = u8> {
        0u8..20
    }

    fn apply(b: &mut Bench, a: u8) -> Vec<Outcome> {
        match a {
            0 => b.scan("SF1"),
            1 => b.scan("SF2"),
            2 | 3 => b.scan("6901234567892"),
            4 => b.scan("16901234567899"),
            5 => b.scan("036000291452"),
            6 => b.scan("WH-S"),
            7 => b.scan(&format!("SN{}", b.now % 3)),
            8 => b.scan("X1"),
            9 => b.scan("\u{1}junk"),
            10 => b.weigh(1200),
            11 => b.weigh(1500),
            12 => b.ev(Event::Undo),
            13 => b.over(Some("sup"), "scale_fault"),
            14 => b.over(None, "scale_fault"),
            15 => b.ev(Event::Acknowledge),
            16 => b.ev(Event::Close),
            17 => b.ev(Event::Quantity {
                sku: "A".into(),
                qty: 1,
            }),
            18 => b.ev(Event::StatusChanged {
                order_no: "O1".into(),
                status: OrderStatus::Intercepted,
                packed: None,
            }),
            _ => {
                // The station's side: record whatever is offered.
                match b.e.poll_record() {
                    Some(_) => b.ev(Event::Recorded {
                        result_id: format!("r{}", b.now),
                    }),
                    None => Vec::new(),
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the sequence: counts never exceed the order, a rejected scan changes no
        /// count, a draft is offered only with nothing blocking, every outcome names its order.
        #[test]
        fn invariants_hold_for_any_sequence(actions in proptest::collection::vec(action(), 1..60)) {
            let mut b = Bench::new();
            for a in actions {
                let before = b.e.snapshot();
                let out = apply(&mut b, a);
                let after = b.e.snapshot();
                for l in &after.lines {
                    prop_assert!(l.scanned <= l.ordered, "{l:?}");
                    prop_assert!(l.serials.len() <= l.scanned as usize, "{l:?}");
                }
                if out.len() == 1 && out[0].kind.is_rejected_scan() && before.order == after.order {
                    prop_assert_eq!(&before.lines, &after.lines);
                }
                for o in &out {
                    prop_assert_eq!(o.alarm, o.kind.alarm());
                    if b.e.current_order_no().is_some() && !matches!(o.kind, OutcomeKind::PackRecorded { .. }) {
                        prop_assert!(o.order_no.is_some(), "{o:?}");
                    }
                }
                let blockers = b.e.snapshot().blockers;
                if let Some(d) = b.e.poll_record() {
                    prop_assert!(blockers.is_empty(), "{blockers:?}");
                    let v = b.e.config().tolerance.check(d.expected_g, d.weight_g);
                    prop_assert!(v.ok || d.overrides.iter().any(|o| o.cleared.contains(&Blocker::WeightOutOfTolerance)));
                    prop_assert!(!d.partial || d.overrides.iter().any(|o| o.cleared.contains(&Blocker::Incomplete)));
                    b.ev(Event::RecordFailed { message: "test".into() });
                }
            }
        }
    }
}

#[test]
fn rescanning_the_open_order_picks_up_a_new_status() {
    let mut b = Bench::new();
    b.orders[0] = (order_o1(OrderStatus::OnHold), None);
    names(&b.scan("SF1"), &["order_on_hold"]);
    for c in ["6901234567892", "6901234567892", "036000291452", "WH-S"] {
        b.scan(c);
    }
    names(&b.scan("SN1"), &["serial_captured", "order_complete"]);
    names(&b.weigh(1200), &["weight_ok"]);
    assert!(b.e.poll_record().is_none());
    // The hold is lifted at the order center; the packer scans the waybill again.
    b.orders[0] = (order_o1(OrderStatus::Open), None);
    names(&b.scan("SF1"), &["order_opened"]);
    assert!(b.e.snapshot().blockers.is_empty());
    assert!(b.e.poll_record().is_some());
    // And an interception arriving the same way blocks.
    let mut b = Bench::new();
    b.scan("SF1");
    b.orders[0] = (order_o1(OrderStatus::Intercepted), None);
    names(&b.scan("P1"), &["order_intercepted"]);
    assert_eq!(b.e.snapshot().alarm.unwrap().alarm, AlarmClass::Stop);
}
