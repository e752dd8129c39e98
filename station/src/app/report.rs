//! The shift report of the bench app: which window to report ([`ReportRequest`]: the current
//! shift by default, a preset or explicit bounds) and the report itself, read from the store
//! ([`crate::store::report`]) so it covers every run of the app and survives a restart.
//!
//! Hours are the station's local hours (`[shift] utc_offset`, default `+08:00`); `now` is passed
//! in, never read here.

use super::App;
use crate::error::{Error, Result};
use crate::store::report::{self as store_report, ShiftReport, Shifts, Window};
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde::Deserialize;

/// Which window to report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportRequest {
    /// `shift` (the current shift, default), `previous_shift`, `today` or `yesterday` (local
    /// days of the station).
    pub preset: Option<String>,
    /// Explicit start (RFC 3339, any offset); overrides the preset's start.
    pub from: Option<DateTime<Utc>>,
    /// Explicit end (exclusive); overrides the preset's end.
    pub to: Option<DateTime<Utc>>,
}

/// The window of a preset at `now`.
fn preset_window(shifts: &Shifts, preset: &str, now: DateTime<Utc>) -> Result<Window> {
    let day_start = |days_back: i64| -> Result<DateTime<Utc>> {
        let local = now.with_timezone(&shifts.offset).date_naive() - Duration::days(days_back);
        shifts
            .offset
            .from_local_datetime(&local.and_time(NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| Error::Invalid {
                place: format!("shift report preset {preset}"),
                message: format!("no local midnight on {local}"),
            })
    };
    let current = shifts.current(now);
    let (from, to) = match preset {
        "shift" => (current.from, now),
        "previous_shift" => {
            // The shift that was running just before the current one started.
            let before = shifts.current(current.from - Duration::seconds(1));
            (before.from, current.from)
        }
        "today" => (day_start(0)?, now),
        "yesterday" => (day_start(1)?, day_start(0)?),
        other => {
            return Err(Error::Invalid {
                place: "shift report preset".into(),
                message: format!(
                    "unknown preset {other:?} (shift, previous_shift, today or yesterday)"
                ),
            })
        }
    };
    Ok(Window {
        from,
        to,
        offset: shifts.offset,
    })
}

impl App {
    /// The report of the current shift (from the latest configured shift start, local time).
    pub fn shift_report(&mut self, now: DateTime<Utc>) -> Result<ShiftReport> {
        self.shift_report_for(ReportRequest::default(), now)
    }

    /// The report of the requested window, from the store.
    pub fn shift_report_for(
        &mut self,
        req: ReportRequest,
        now: DateTime<Utc>,
    ) -> Result<ShiftReport> {
        let shifts = self
            .station
            .config()
            .shift
            .resolve()
            .map_err(|message| Error::Invalid {
                place: "station configuration [shift]".into(),
                message,
            })?;
        let preset = req.preset.as_deref().unwrap_or("shift");
        let mut w = preset_window(&shifts, preset, now)?;
        if let Some(from) = req.from {
            w.from = from;
        }
        if let Some(to) = req.to {
            w.to = to;
        }
        // At the very instant a shift starts the window is empty: show its first second.
        if w.to == w.from && req.to.is_none() {
            w.to = w.from + Duration::seconds(1);
        }
        self.station
            .with_db(|conn| store_report::shift_report(conn, &w))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::report::ShiftConfig;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn presets() {
        let shifts = ShiftConfig {
            utc_offset: "+08:00".into(),
            starts: vec!["08:00".into(), "20:00".into()],
        }
        .resolve()
        .unwrap();
        // 10:00 local on the 25th.
        let now = utc("2026-11-25T02:00:00Z");
        let cases = [
            ("shift", "2026-11-25T00:00:00Z", "2026-11-25T02:00:00Z"),
            (
                "previous_shift",
                "2026-11-24T12:00:00Z",
                "2026-11-25T00:00:00Z",
            ),
            ("today", "2026-11-24T16:00:00Z", "2026-11-25T02:00:00Z"),
            ("yesterday", "2026-11-23T16:00:00Z", "2026-11-24T16:00:00Z"),
        ];
        for (preset, from, to) in cases {
            let w = preset_window(&shifts, preset, now).unwrap();
            assert_eq!((w.from, w.to), (utc(from), utc(to)), "{preset}");
        }
        let e = preset_window(&shifts, "week", now).unwrap_err();
        assert!(e.to_string().contains("unknown preset"), "{e}");
    }
}
