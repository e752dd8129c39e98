//! Stability and auto-capture, sans-IO: fed frames and the time in milliseconds, it emits live
//! readings and capture events (quinn-proto style: `handle_frame`/`handle_timeout` in,
//! `poll`/`poll_timeout` out).
//!
//! * Stable: the protocol's flag when it has one (and [`CaptureConfig::trust_protocol_flag`]);
//!   otherwise N consecutive readings within δ spanning at least T ms.
//! * Auto-capture only when stable, at least the minimum weight, positive, a mass unit, and a
//!   new parcel: the scale returned near zero, or the stable weight differs from the last
//!   capture by more than δ. Never from overload, underload, error or in-motion frames.
//! * The capture keeps the raw frame for the audit.
//!
//! [`LiveThrottle`] thins the live stream for the UI without losing the final value.

use super::frame::{Frame, FrameKind};
use super::weight::Weight;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Default N: readings that must agree when the protocol has no stability flag.
pub const DEFAULT_STABLE_READINGS: u32 = 5;
/// Default δ in milligrams (5 g: one division of a typical 30 kg × 5 g parcel scale).
pub const DEFAULT_STABLE_DELTA_MG: i64 = 5_000;
/// Default T in milliseconds.
pub const DEFAULT_STABLE_WINDOW_MS: u64 = 400;
/// Default minimum weight to capture (20 g).
pub const DEFAULT_MIN_WEIGHT_MG: i64 = 20_000;
/// Default band around zero that counts as "empty scale" (10 g).
pub const DEFAULT_ZERO_BAND_MG: i64 = 10_000;
/// Default time without frames after which the reading is stale (2 s).
pub const DEFAULT_STALE_AFTER_MS: u64 = 2_000;

/// Stability and capture settings (per scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaptureConfig {
    /// N: consecutive readings within δ needed when counting.
    pub stable_readings: u32,
    /// δ in milligrams.
    pub stable_delta_mg: i64,
    /// T: the agreeing readings must span at least this long.
    pub stable_window_ms: u64,
    /// Use the protocol's own stability flag when the frame carries one.
    pub trust_protocol_flag: bool,
    /// With a protocol flag, also require the weight to stay within δ this long (0 = at once).
    pub confirm_ms: u64,
    /// Minimum weight to capture, milligrams.
    pub min_weight_mg: i64,
    /// |weight| at or below this counts as an empty scale (re-arms capture), milligrams.
    pub zero_band_mg: i64,
    /// No frame for this long makes the reading stale.
    pub stale_after_ms: u64,
    /// Capture automatically (false: only report stability; the station captures on demand).
    pub auto_capture: bool,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            stable_readings: DEFAULT_STABLE_READINGS,
            stable_delta_mg: DEFAULT_STABLE_DELTA_MG,
            stable_window_ms: DEFAULT_STABLE_WINDOW_MS,
            trust_protocol_flag: true,
            confirm_ms: 0,
            min_weight_mg: DEFAULT_MIN_WEIGHT_MG,
            zero_band_mg: DEFAULT_ZERO_BAND_MG,
            stale_after_ms: DEFAULT_STALE_AFTER_MS,
            auto_capture: true,
        }
    }
}

/// A live reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reading {
    /// Frame kind (weight, overload, underload, error).
    pub kind: FrameKind,
    /// The weight as shown, when the frame carries one with a known unit.
    pub weight: Option<Weight>,
    /// The weight in milligrams (rounded for lb/oz).
    pub mg: Option<i64>,
    /// Stable by the rule in force.
    pub stable: bool,
    /// Net (true), gross (false), unknown (None).
    pub net: Option<bool>,
    /// Error detail for error frames.
    pub error: Option<String>,
    /// When it was received.
    pub at_ms: u64,
}

/// A captured parcel weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Captured {
    /// The weight as the device showed it.
    pub weight: Weight,
    /// Milligrams (rounded half away from zero for lb/oz).
    pub mg: i64,
    /// Whole grams (rounded half away from zero).
    pub grams: i64,
    /// The frame that completed stability, as received (hex in JSON).
    #[serde(serialize_with = "super::frame::ser_hex")]
    pub raw: Vec<u8>,
    /// When it was captured.
    pub at_ms: u64,
    /// When the weight started to hold still.
    pub stable_since_ms: u64,
}

/// What the capture machine reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CaptureEvent {
    /// A reading (every frame that is not an ack).
    Live(Reading),
    /// A parcel weight was captured.
    Captured(Captured),
    /// No frame for [`CaptureConfig::stale_after_ms`].
    Stale {
        /// When it became stale.
        at_ms: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Run {
    start_ms: u64,
    min: i64,
    max: i64,
    count: u32,
}

/// The stability/capture state machine.
#[derive(Debug, Clone)]
pub struct Capture {
    cfg: CaptureConfig,
    run: Option<Run>,
    last_capture_mg: Option<i64>,
    returned_to_zero: bool,
    last_frame_ms: Option<u64>,
    stale: bool,
    out: VecDeque<CaptureEvent>,
}

impl Capture {
    /// A new machine.
    pub fn new(cfg: CaptureConfig) -> Capture {
        Capture {
            cfg,
            run: None,
            last_capture_mg: None,
            returned_to_zero: true,
            last_frame_ms: None,
            stale: false,
            out: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &CaptureConfig {
        &self.cfg
    }

    /// Forgets the last capture, so the weight on the scale now is captured again when stable
    /// (the packer asked to re-weigh).
    pub fn rearm(&mut self) {
        self.last_capture_mg = None;
        self.returned_to_zero = true;
    }

    /// The milligrams of the last capture, if any.
    pub fn last_capture_mg(&self) -> Option<i64> {
        self.last_capture_mg
    }

    /// Feeds a decoded frame received at `now_ms`.
    pub fn handle_frame(&mut self, frame: &Frame, now_ms: u64) {
        self.last_frame_ms = Some(now_ms);
        self.stale = false;
        let reading = |stable: bool, weight: Option<Weight>, mg: Option<i64>| Reading {
            kind: frame.kind,
            weight,
            mg,
            stable,
            net: frame.net,
            error: frame.error.clone(),
            at_ms: now_ms,
        };
        match frame.kind {
            FrameKind::Ack => return,
            FrameKind::Overload | FrameKind::Underload | FrameKind::Error => {
                self.run = None;
                self.out
                    .push_back(CaptureEvent::Live(reading(false, None, None)));
                return;
            }
            FrameKind::Weight => {}
        }
        let weight = frame.weight_value();
        let Some(mg) = weight.and_then(Weight::milligrams) else {
            self.run = None;
            self.out
                .push_back(CaptureEvent::Live(reading(false, weight, None)));
            return;
        };
        let delta = self.cfg.stable_delta_mg;
        let run = match self.run {
            Some(r) if r.max.max(mg) - r.min.min(mg) <= delta => Run {
                min: r.min.min(mg),
                max: r.max.max(mg),
                count: r.count.saturating_add(1),
                start_ms: r.start_ms,
            },
            _ => Run {
                start_ms: now_ms,
                min: mg,
                max: mg,
                count: 1,
            },
        };
        self.run = Some(run);
        let held_ms = now_ms.saturating_sub(run.start_ms);
        let stable = match frame.stable {
            Some(flag) if self.cfg.trust_protocol_flag => flag && held_ms >= self.cfg.confirm_ms,
            _ => {
                run.count >= self.cfg.stable_readings.max(1) && held_ms >= self.cfg.stable_window_ms
            }
        };
        if mg.abs() <= self.cfg.zero_band_mg {
            self.returned_to_zero = true;
        }
        self.out
            .push_back(CaptureEvent::Live(reading(stable, weight, Some(mg))));
        let new_parcel = self.returned_to_zero
            || self
                .last_capture_mg
                .is_none_or(|last| (mg - last).abs() > delta);
        if self.cfg.auto_capture && stable && mg > 0 && mg >= self.cfg.min_weight_mg && new_parcel {
            if let Some(w) = weight {
                self.last_capture_mg = Some(mg);
                self.returned_to_zero = false;
                self.out.push_back(CaptureEvent::Captured(Captured {
                    weight: w,
                    mg,
                    grams: w.grams().unwrap_or(mg / 1000),
                    raw: frame.raw.clone(),
                    at_ms: now_ms,
                    stable_since_ms: run.start_ms,
                }));
            }
        }
    }

    /// When [`Capture::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.stale {
            return None;
        }
        self.last_frame_ms
            .map(|t| t.saturating_add(self.cfg.stale_after_ms))
    }

    /// Advances time: reports a stale reading once when frames stop.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let Some(deadline) = self.poll_timeout() {
            if now_ms >= deadline {
                self.stale = true;
                self.run = None;
                self.out.push_back(CaptureEvent::Stale { at_ms: now_ms });
            }
        }
    }

    /// The next event.
    pub fn poll(&mut self) -> Option<CaptureEvent> {
        self.out.pop_front()
    }
}

/// Thins live readings for the UI: at most one per `min_interval_ms`, only on change (kind,
/// weight or stability), plus a heartbeat; a suppressed change is delivered when the interval ends.
#[derive(Debug, Clone)]
pub struct LiveThrottle {
    min_interval_ms: u64,
    heartbeat_ms: u64,
    last_sent: Option<(u64, Reading)>,
    pending: Option<Reading>,
}

impl LiveThrottle {
    /// A throttle (e.g. 100 ms, heartbeat 1000 ms).
    pub fn new(min_interval_ms: u64, heartbeat_ms: u64) -> LiveThrottle {
        LiveThrottle {
            min_interval_ms,
            heartbeat_ms,
            last_sent: None,
            pending: None,
        }
    }

    fn same(a: &Reading, b: &Reading) -> bool {
        a.kind == b.kind && a.mg == b.mg && a.stable == b.stable && a.net == b.net
    }

    /// Offers a reading; returns it if it should be sent now.
    pub fn offer(&mut self, r: Reading, now_ms: u64) -> Option<Reading> {
        let send = match &self.last_sent {
            None => true,
            Some((t, last)) => {
                let elapsed = now_ms.saturating_sub(*t);
                if Self::same(last, &r) {
                    elapsed >= self.heartbeat_ms
                } else {
                    elapsed >= self.min_interval_ms
                }
            }
        };
        if send {
            self.pending = None;
            self.last_sent = Some((now_ms, r.clone()));
            Some(r)
        } else {
            let unchanged = self
                .last_sent
                .as_ref()
                .is_some_and(|(_, l)| Self::same(l, &r));
            self.pending = if unchanged { None } else { Some(r) };
            None
        }
    }

    /// When a held-back reading is due.
    pub fn poll_timeout(&self) -> Option<u64> {
        let (t, _) = self.last_sent.as_ref()?;
        self.pending.as_ref()?;
        Some(t.saturating_add(self.min_interval_ms))
    }

    /// Releases the held-back reading if due.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Option<Reading> {
        if self.poll_timeout().is_some_and(|d| now_ms >= d) {
            let r = self.pending.take()?;
            self.last_sent = Some((now_ms, r.clone()));
            return Some(r);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::weight::{Decimal, Unit};

    fn w(text: &str, stable: Option<bool>) -> Frame {
        Frame::weight(
            Decimal::parse(text).unwrap(),
            Some(Unit::Kg),
            stable,
            text.as_bytes(),
        )
    }

    /// Runs (time, frame) steps and returns the captured weights in grams with their times.
    fn captures(cfg: CaptureConfig, steps: &[(u64, Frame)]) -> Vec<(u64, i64)> {
        let mut c = Capture::new(cfg);
        let mut out = Vec::new();
        for (t, f) in steps {
            c.handle_frame(f, *t);
            while let Some(e) = c.poll() {
                if let CaptureEvent::Captured(cap) = e {
                    out.push((cap.at_ms, cap.grams));
                }
            }
        }
        out
    }

    fn check(cfg: CaptureConfig, steps: &[(u64, Frame)], expected: &[(u64, i64)]) {
        assert_eq!(captures(cfg, steps), expected);
    }

    #[test]
    fn protocol_flag_captures_once_per_parcel() {
        let steps = [
            (0, w("0.000", Some(true))),
            (100, w("1.100", Some(false))),
            (200, w("1.250", Some(true))),
            (300, w("1.250", Some(true))),
            (400, w("1.251", Some(true))),
            (500, w("0.000", Some(true))),
            (600, w("1.250", Some(true))),
        ];
        check(
            CaptureConfig::default(),
            &steps,
            &[(200, 1250), (600, 1250)],
        );
    }

    #[test]
    fn changed_by_more_than_delta_is_a_new_parcel() {
        let steps = [
            (0, w("1.250", Some(true))),
            (100, w("1.252", Some(true))),
            (200, w("1.400", Some(true))),
            (300, w("1.400", Some(true))),
        ];
        check(CaptureConfig::default(), &steps, &[(0, 1250), (200, 1400)]);
    }

    #[test]
    fn never_captures_unstable_overload_negative_or_light() {
        let mut ol = Frame::new(FrameKind::Overload, b"OL");
        ol.value = Some(Decimal::parse("99.999").unwrap());
        ol.unit = Some(Unit::Kg);
        ol.stable = Some(true);
        let steps = [
            (0, w("1.000", Some(false))),
            (100, ol.clone()),
            (200, Frame::new(FrameKind::Underload, b"UL")),
            (300, w("-1.000", Some(true))),
            (400, w("0.015", Some(true))),
            (500, Frame::error("ES", b"ES")),
        ];
        check(CaptureConfig::default(), &steps, &[]);
    }

    #[test]
    fn counting_rule_without_flag() {
        // N=5 within 5 g spanning >= 400 ms; one jittery reading restarts the run.
        let mut steps = vec![(0, w("0.000", None))];
        for (i, v) in [
            "2.000", "2.003", "1.999", "2.020", "2.001", "2.002", "2.000", "2.003", "2.001",
            "2.002",
        ]
        .iter()
        .enumerate()
        {
            steps.push((100 * (i as u64 + 1), w(v, None)));
        }
        // The run restarts at 2.020 (400 ms) -> 2.001 (500) breaks it again; from 500 on:
        // 500, 600, 700, 800, 900 is 5 readings but spans 400 ms only at 900.
        check(CaptureConfig::default(), &steps, &[(900, 2001)]);
    }

    #[test]
    fn confirm_ms_and_lb_conversion() {
        let cfg = CaptureConfig {
            confirm_ms: 250,
            ..CaptureConfig::default()
        };
        let lb =
            |t: &str| Frame::weight(Decimal::parse(t).unwrap(), Some(Unit::Lb), Some(true), b"");
        let steps = [(0, lb("5.025")), (200, lb("5.025")), (300, lb("5.025"))];
        check(cfg, &steps, &[(300, 2279)]);
    }

    #[test]
    fn min_weight_and_auto_off() {
        let steps = [(0, w("0.050", Some(true)))];
        check(
            CaptureConfig {
                min_weight_mg: 100_000,
                ..CaptureConfig::default()
            },
            &steps,
            &[],
        );
        check(
            CaptureConfig {
                auto_capture: false,
                ..CaptureConfig::default()
            },
            &steps,
            &[],
        );
        check(CaptureConfig::default(), &steps, &[(0, 50)]);
    }

    #[test]
    fn rearm_and_stale() {
        let mut c = Capture::new(CaptureConfig::default());
        c.handle_frame(&w("1.000", Some(true)), 0);
        c.handle_frame(&w("1.000", Some(true)), 100);
        let caps = std::iter::from_fn(|| c.poll())
            .filter(|e| matches!(e, CaptureEvent::Captured(_)))
            .count();
        assert_eq!(caps, 1);
        c.rearm();
        c.handle_frame(&w("1.000", Some(true)), 200);
        let caps = std::iter::from_fn(|| c.poll())
            .filter(|e| matches!(e, CaptureEvent::Captured(_)))
            .count();
        assert_eq!(caps, 1);
        assert_eq!(c.poll_timeout(), Some(2200));
        c.handle_timeout(2199);
        assert_eq!(c.poll(), None);
        c.handle_timeout(2200);
        assert_eq!(c.poll(), Some(CaptureEvent::Stale { at_ms: 2200 }));
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn captured_keeps_raw_frame() {
        let mut c = Capture::new(CaptureConfig::default());
        let f = w("3.000", Some(true));
        c.handle_frame(&f, 5);
        let cap = std::iter::from_fn(|| c.poll()).find_map(|e| match e {
            CaptureEvent::Captured(c) => Some(c),
            _ => None,
        });
        assert_eq!(cap.unwrap().raw, b"3.000".to_vec());
    }

    #[test]
    fn throttle() {
        let r = |mg: i64, t: u64| Reading {
            kind: FrameKind::Weight,
            weight: None,
            mg: Some(mg),
            stable: true,
            net: None,
            error: None,
            at_ms: t,
        };
        let mut th = LiveThrottle::new(100, 1000);
        assert!(th.offer(r(1, 0), 0).is_some());
        assert!(th.offer(r(2, 10), 10).is_none());
        assert!(th.offer(r(3, 20), 20).is_none());
        assert_eq!(th.poll_timeout(), Some(100));
        assert_eq!(th.handle_timeout(100).map(|x| x.mg), Some(Some(3)));
        assert!(th.offer(r(3, 150), 150).is_none());
        assert_eq!(th.poll_timeout(), None);
        assert!(th.offer(r(3, 1100), 1100).is_some());
    }
}
