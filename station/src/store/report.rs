//! The shift report from the store: parcels per hour (in the station's local time), items,
//! alarms and overrides per packer, weight variance and short packs, for a time window.
//!
//! Everything is read from what the station recorded (pack results and the audit log), so the
//! report survives a restart and covers every run of the app in the window. The window and the
//! station's UTC offset come in as arguments: nothing here reads the clock.
//!
//! The queries use the indexes of [`MIGRATIONS`] (`pack_results(packed_at)`, `audit(at)`), so a
//! day of thousands of packs is read with two range scans. Timestamps are compared as text:
//! pack results store `to_rfc3339()` (`…T09:00:00.123+00:00`) and audit entries
//! `…T09:00:00.123Z`; the bounds are written the same way, at whole seconds, which sorts
//! correctly against both (`+`/`Z` after the seconds never beats a `.` fraction wrongly).

use crate::db::Migration;
use crate::error::{Error, Result};
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, SecondsFormat, TimeZone, Timelike, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Indexes for the report's range scans.
pub const MIGRATIONS: &[Migration] = &[Migration {
    name: "report_001_time_indexes",
    sql: "CREATE INDEX IF NOT EXISTS pack_results_packed_at ON pack_results(packed_at);
    CREATE INDEX IF NOT EXISTS audit_at ON audit(at);",
}];

/// The longest window a report may cover.
pub const MAX_WINDOW_DAYS: i64 = 31;

/// Default UTC offset of a station: China Standard Time.
pub const DEFAULT_UTC_OFFSET: &str = "+08:00";

/// Zone names accepted for `utc_offset`, with their (DST-free) offset in minutes.
const ZONES: &[(&str, i32)] = &[
    ("Asia/Shanghai", 480),
    ("Asia/Chongqing", 480),
    ("Asia/Harbin", 480),
    ("Asia/Hong_Kong", 480),
    ("Asia/Macau", 480),
    ("Asia/Taipei", 480),
    ("Asia/Singapore", 480),
    ("Asia/Kuala_Lumpur", 480),
    ("Asia/Manila", 480),
    ("Asia/Urumqi", 360),
    ("Asia/Bangkok", 420),
    ("Asia/Ho_Chi_Minh", 420),
    ("Asia/Jakarta", 420),
    ("Asia/Tokyo", 540),
    ("Asia/Seoul", 540),
    ("UTC", 0),
];

/// The `[shift]` section of the station configuration.
///
/// ```toml
/// [shift]
/// utc_offset = "+08:00"        # or a DST-free zone name such as "Asia/Shanghai"
/// starts = ["08:00", "20:00"]  # local times shifts start; default: one shift from 00:00
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShiftConfig {
    /// The station's offset from UTC (`+08:00`) or a zone name without daylight saving.
    pub utc_offset: String,
    /// Local times (`HH:MM`) at which shifts start.
    pub starts: Vec<String>,
}

impl Default for ShiftConfig {
    fn default() -> Self {
        ShiftConfig {
            utc_offset: DEFAULT_UTC_OFFSET.to_string(),
            starts: vec!["00:00".to_string()],
        }
    }
}

/// Parses `+08:00`, `-05:30`, `+0800`, `UTC` or a known zone name into an offset.
pub fn parse_utc_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    if let Some((_, minutes)) = ZONES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return FixedOffset::east_opt(minutes * 60);
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    if h.is_empty() || h.len() > 2 || m.len() > 2 || m.is_empty() {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Formats an offset as `+08:00`.
pub fn format_offset(o: FixedOffset) -> String {
    let s = o.local_minus_utc();
    let sign = if s < 0 { '-' } else { '+' };
    let a = s.abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// A validated [`ShiftConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shifts {
    /// The station's offset.
    pub offset: FixedOffset,
    /// Local shift starts, sorted.
    pub starts: Vec<NaiveTime>,
}

impl ShiftConfig {
    /// Checks the section; the message names the field (`shift.utc_offset`, `shift.starts[1]`).
    pub fn resolve(&self) -> std::result::Result<Shifts, String> {
        let offset = parse_utc_offset(&self.utc_offset).ok_or_else(|| {
            format!(
                "shift.utc_offset: {:?} is not an offset such as \"+08:00\" or a zone without daylight saving such as \"Asia/Shanghai\"",
                self.utc_offset
            )
        })?;
        let mut starts = Vec::with_capacity(self.starts.len());
        for (i, s) in self.starts.iter().enumerate() {
            let t = NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .map_err(|_| format!("shift.starts[{i}]: {s:?} is not a local time HH:MM"))?;
            if starts.contains(&t) {
                return Err(format!("shift.starts[{i}]: {s:?} is listed twice"));
            }
            starts.push(t);
        }
        if starts.is_empty() {
            starts.push(NaiveTime::MIN);
        }
        starts.sort();
        Ok(Shifts { offset, starts })
    }
}

impl Shifts {
    /// The current shift at `now`: from the latest shift start at or before `now` (local time)
    /// to `now`.
    pub fn current(&self, now: DateTime<Utc>) -> Window {
        let local = now.with_timezone(&self.offset);
        let today = local.date_naive();
        let candidates = [today - Duration::days(1), today]
            .into_iter()
            .flat_map(|d| self.starts.iter().map(move |t| d.and_time(*t)));
        let start = candidates
            .filter_map(|naive| self.offset.from_local_datetime(&naive).single())
            .filter(|s| *s <= local)
            .max()
            .map_or(now, |s| s.with_timezone(&Utc));
        Window {
            from: start,
            to: now,
            offset: self.offset,
        }
    }
}

/// A report window: `[from, to)` and the offset its hours are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
    /// The station's offset (hours are local hours).
    pub offset: FixedOffset,
}

impl Window {
    /// Checks the window: `to` after `from`, at most [`MAX_WINDOW_DAYS`].
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| Error::Invalid {
            place: format!(
                "shift report window {} – {}",
                self.from.to_rfc3339(),
                self.to.to_rfc3339()
            ),
            message,
        };
        if self.to <= self.from {
            return Err(bad("the end must be after the start".into()));
        }
        if self.to - self.from > Duration::days(MAX_WINDOW_DAYS) {
            return Err(bad(format!("at most {MAX_WINDOW_DAYS} days")));
        }
        Ok(())
    }
}

/// One pack result as the report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRow {
    /// When it was recorded.
    pub packed_at: DateTime<Utc>,
    /// The operator signed in (`None`: nobody).
    pub operator: Option<String>,
    /// Units packed.
    pub items: u64,
    /// Captured grams.
    pub weight_g: i64,
    /// Expected grams.
    pub expected_g: i64,
    /// Tolerance applied, grams (`None` in results that did not record it).
    pub tolerance_g: Option<i64>,
    /// A short pack.
    pub partial: bool,
    /// Overrides recorded with the result.
    pub overrides: u64,
    /// When the order was opened at the bench (for the pack time).
    pub started_at: Option<DateTime<Utc>>,
}

/// Alarm-class audit entries and accepted overrides per operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditCounts {
    /// Warn-class outcomes.
    pub warnings: u64,
    /// Stop-class outcomes.
    pub stops: u64,
    /// Overrides accepted.
    pub overrides: u64,
}

fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { op, source }
}

/// A bound as pack results store their time (`to_rfc3339`, whole seconds).
fn result_bound(t: DateTime<Utc>) -> String {
    t.with_nanosecond(0).unwrap_or(t).to_rfc3339()
}

/// A bound as audit entries store their time (milliseconds, `Z`).
fn audit_bound(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The pack results recorded in the window, oldest first.
pub fn pack_rows(conn: &Connection, w: &Window) -> Result<Vec<PackRow>> {
    let mut st = conn
        .prepare_cached(
            "SELECT packed_at, operator, weight_g, expected_g, partial,
                json_extract(payload, '$.tolerance_g'),
                coalesce(json_array_length(payload, '$.overrides'), 0),
                (SELECT coalesce(sum(json_extract(l.value, '$.scanned')), 0)
                   FROM json_each(payload, '$.lines') AS l),
                json_extract(payload, '$.started_at')
             FROM pack_results INDEXED BY pack_results_packed_at
             WHERE packed_at >= ?1 AND packed_at < ?2
             ORDER BY packed_at",
        )
        .map_err(sql("prepare shift report"))?;
    let rows = st
        .query_map(params![result_bound(w.from), result_bound(w.to)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })
        .map_err(sql("read shift report"))?;
    let mut out = Vec::new();
    for row in rows {
        let (at, operator, weight_g, expected_g, partial, tolerance_g, overrides, items, started) =
            row.map_err(sql("read shift report"))?;
        let packed_at = DateTime::parse_from_rfc3339(&at)
            .map_err(|e| Error::Invalid {
                place: format!("pack_results.packed_at {at:?}"),
                message: e.to_string(),
            })?
            .with_timezone(&Utc);
        out.push(PackRow {
            packed_at,
            operator,
            items: u64::try_from(items).unwrap_or(0),
            weight_g,
            expected_g,
            tolerance_g,
            partial,
            overrides: u64::try_from(overrides).unwrap_or(0),
            started_at: started
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.with_timezone(&Utc)),
        });
    }
    Ok(out)
}

/// Warn/stop outcomes and accepted overrides in the window, per operator (`""`: nobody).
pub fn audit_counts(conn: &Connection, w: &Window) -> Result<BTreeMap<String, AuditCounts>> {
    let mut st = conn
        .prepare_cached(
            "SELECT coalesce(operator, ''),
                sum(json_extract(data, '$.alarm') = 'warn'),
                sum(json_extract(data, '$.alarm') = 'stop'),
                sum(kind = 'override_accepted')
             FROM audit INDEXED BY audit_at
             WHERE at >= ?1 AND at < ?2
             GROUP BY 1",
        )
        .map_err(sql("prepare shift alarms"))?;
    let rows = st
        .query_map(params![audit_bound(w.from), audit_bound(w.to)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .map_err(sql("read shift alarms"))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (op, warn, stop, ovr) = row.map_err(sql("read shift alarms"))?;
        let n = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
        out.insert(
            op,
            AuditCounts {
                warnings: n(warn),
                stops: n(stop),
                overrides: n(ovr),
            },
        );
    }
    Ok(out)
}

/// Parcels in one local hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourCount {
    /// Local hour `HH`.
    pub hour: String,
    /// Start of the hour, local time (RFC 3339 with the station's offset).
    pub start: String,
    /// Parcels recorded in it.
    pub parcels: u64,
    /// Items in them.
    pub items: u64,
}

/// One packer's tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PackerTally {
    /// Operator id (`—` when nobody was signed in).
    pub operator: String,
    /// Parcels.
    pub parcels: u64,
    /// Items.
    pub items: u64,
    /// Warn and stop alarms (all classes together).
    pub alarms: u64,
    /// Warn-class alarms.
    pub warnings: u64,
    /// Stop-class alarms.
    pub stops: u64,
    /// Overrides accepted.
    pub overrides: u64,
    /// Short packs.
    pub short_packs: u64,
    /// Mean |captured − expected|, grams (rounded half up).
    pub mean_abs_variance_g: Option<i64>,
    /// Parcels whose |captured − expected| exceeded the tolerance (shipped under an override).
    pub outside_tolerance: u64,
    /// Mean time from opening the order to recording it, seconds (rounded half up).
    pub mean_pack_s: Option<i64>,
}

/// Weight variance over the parcels of the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Variance {
    /// Mean |captured − expected|, grams (rounded half up).
    pub mean_abs_g: Option<i64>,
    /// Largest |captured − expected|, grams.
    pub max_abs_g: Option<i64>,
    /// Parcels outside their tolerance.
    pub outside_tolerance: u64,
}

/// The shift report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftReport {
    /// Window start, local time (RFC 3339).
    pub from: String,
    /// Window end, local time (RFC 3339).
    pub to: String,
    /// The station's UTC offset (`+08:00`).
    pub utc_offset: String,
    /// Parcels recorded.
    pub parcels: u64,
    /// Items in them.
    pub items: u64,
    /// Short packs.
    pub short_packs: u64,
    /// Warn and stop alarms.
    pub alarms: u64,
    /// Overrides accepted.
    pub overrides: u64,
    /// Mean |captured − expected|, grams (same as `variance.mean_abs_g`).
    pub mean_abs_variance_g: Option<i64>,
    /// Mean time from opening an order to recording it, seconds.
    pub mean_pack_s: Option<i64>,
    /// Weight variance.
    pub variance: Variance,
    /// Every local hour of the window, in order (hours without parcels included).
    pub per_hour: Vec<HourCount>,
    /// Per packer, by operator id.
    pub per_packer: Vec<PackerTally>,
}

/// Operator key for rows recorded with nobody signed in.
pub const NOBODY: &str = "—";

fn mean(sum: i64, n: i64) -> Option<i64> {
    (n > 0).then(|| (2 * sum + n) / (2 * n))
}

#[derive(Default)]
struct Acc {
    tally: PackerTally,
    sum: i64,
    n: i64,
    pack_ms: i64,
    timed: i64,
}

/// Folds pack rows and audit counts into the report (pure: unit-tested on its own).
pub fn aggregate(
    w: &Window,
    packs: &[PackRow],
    audit: &BTreeMap<String, AuditCounts>,
) -> ShiftReport {
    let local = |t: DateTime<Utc>| t.with_timezone(&w.offset);
    // Every local hour from the one holding `from` to the one holding the last instant.
    let hour_of = |t: DateTime<Utc>| {
        let l = local(t);
        l.with_minute(0)
            .and_then(|l| l.with_second(0))
            .and_then(|l| l.with_nanosecond(0))
            .unwrap_or(l)
    };
    let mut hours: BTreeMap<DateTime<FixedOffset>, (u64, u64)> = BTreeMap::new();
    let last = w.to - Duration::nanoseconds(1);
    let mut h = hour_of(w.from);
    while h.with_timezone(&Utc) <= last {
        hours.insert(h, (0, 0));
        h += Duration::hours(1);
    }
    let mut per: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    let mut max_abs: Option<i64> = None;
    for p in packs {
        let e = hours.entry(hour_of(p.packed_at)).or_insert((0, 0));
        e.0 += 1;
        e.1 += p.items;
        let op = p.operator.clone().unwrap_or_else(|| NOBODY.to_string());
        let abs = (p.weight_g - p.expected_g).abs();
        let outside = p.tolerance_g.is_some_and(|t| abs > t);
        // A pack time only when it is plausible (clock steps can make it negative).
        let took_ms = p
            .started_at
            .map(|s| (p.packed_at - s).num_milliseconds())
            .filter(|ms| *ms >= 0);
        max_abs = Some(max_abs.map_or(abs, |m| m.max(abs)));
        for acc in [per.entry(op).or_default(), &mut total] {
            acc.tally.parcels += 1;
            acc.tally.items += p.items;
            acc.tally.short_packs += u64::from(p.partial);
            acc.tally.outside_tolerance += u64::from(outside);
            acc.sum += abs;
            acc.n += 1;
            if let Some(ms) = took_ms {
                acc.pack_ms += ms;
                acc.timed += 1;
            }
        }
    }
    for (op, c) in audit {
        // Operators who only scanned, signed in or opened orders have nothing to report here.
        if c.warnings + c.stops + c.overrides == 0 {
            continue;
        }
        let key = if op.is_empty() { NOBODY } else { op.as_str() };
        for acc in [per.entry(key.to_string()).or_default(), &mut total] {
            acc.tally.warnings += c.warnings;
            acc.tally.stops += c.stops;
            acc.tally.alarms += c.warnings + c.stops;
            acc.tally.overrides += c.overrides;
        }
    }
    let per_packer = per
        .into_iter()
        .map(|(op, acc)| PackerTally {
            operator: op,
            mean_abs_variance_g: mean(acc.sum, acc.n),
            mean_pack_s: mean(acc.pack_ms, acc.timed * 1000),
            ..acc.tally
        })
        .collect();
    let mean_abs = mean(total.sum, total.n);
    ShiftReport {
        from: local(w.from).to_rfc3339_opts(SecondsFormat::Secs, false),
        to: local(w.to).to_rfc3339_opts(SecondsFormat::Secs, false),
        utc_offset: format_offset(w.offset),
        parcels: total.tally.parcels,
        items: total.tally.items,
        short_packs: total.tally.short_packs,
        alarms: total.tally.alarms,
        overrides: total.tally.overrides,
        mean_abs_variance_g: mean_abs,
        mean_pack_s: mean(total.pack_ms, total.timed * 1000),
        variance: Variance {
            mean_abs_g: mean_abs,
            max_abs_g: max_abs,
            outside_tolerance: total.tally.outside_tolerance,
        },
        per_hour: hours
            .into_iter()
            .map(|(h, (parcels, items))| HourCount {
                hour: h.format("%H").to_string(),
                start: h.to_rfc3339_opts(SecondsFormat::Secs, false),
                parcels,
                items,
            })
            .collect(),
        per_packer,
    }
}

/// The shift report for a window, read from the store.
pub fn shift_report(conn: &Connection, w: &Window) -> Result<ShiftReport> {
    w.validate()?;
    let packs = pack_rows(conn, w)?;
    let audit = audit_counts(conn, w)?;
    Ok(aggregate(w, &packs, &audit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cst() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn offsets() {
        fn check(input: &str, expected: Option<i32>) {
            assert_eq!(
                parse_utc_offset(input).map(|o| o.local_minus_utc()),
                expected,
                "{input}"
            );
        }
        check("+08:00", Some(8 * 3600));
        check("+0800", Some(8 * 3600));
        check("+8", Some(8 * 3600));
        check("-05:30", Some(-(5 * 3600 + 30 * 60)));
        check("Asia/Shanghai", Some(8 * 3600));
        check("asia/urumqi", Some(6 * 3600));
        check("UTC", Some(0));
        check("08:00", None);
        check("+15:00", None);
        check("+08:60", None);
        check("Europe/Berlin", None);
        check("", None);
        assert_eq!(format_offset(cst()), "+08:00");
        assert_eq!(
            format_offset(FixedOffset::west_opt(5 * 3600 + 1800).unwrap()),
            "-05:30"
        );
    }

    #[test]
    fn shift_config_errors_name_the_field() {
        fn check(cfg: ShiftConfig, expected: &str) {
            let e = cfg.resolve().unwrap_err();
            assert!(e.starts_with(expected), "{e}");
        }
        check(
            ShiftConfig {
                utc_offset: "CST".into(),
                ..ShiftConfig::default()
            },
            "shift.utc_offset",
        );
        check(
            ShiftConfig {
                starts: vec!["08:00".into(), "25:00".into()],
                ..ShiftConfig::default()
            },
            "shift.starts[1]",
        );
        check(
            ShiftConfig {
                starts: vec!["08:00".into(), "08:00".into()],
                ..ShiftConfig::default()
            },
            "shift.starts[1]",
        );
    }

    #[test]
    fn current_shift_in_local_time() {
        // (starts, now UTC, expected start UTC)
        let cases: &[(&[&str], &str, &str)] = &[
            // Local 00:00 +08:00 is 16:00 UTC the day before.
            (&["00:00"], "2026-11-25T09:00:00Z", "2026-11-24T16:00:00Z"),
            (&["00:00"], "2026-11-25T15:59:59Z", "2026-11-24T16:00:00Z"),
            (&["00:00"], "2026-11-25T16:00:00Z", "2026-11-25T16:00:00Z"),
            // Two shifts: 08:00 and 20:00 local.
            (
                &["08:00", "20:00"],
                "2026-11-25T03:00:00Z",
                "2026-11-25T00:00:00Z",
            ),
            (
                &["20:00", "08:00"],
                "2026-11-25T13:00:00Z",
                "2026-11-25T12:00:00Z",
            ),
            // 02:00 local belongs to the night shift that started 20:00 the day before.
            (
                &["08:00", "20:00"],
                "2026-11-25T18:00:00Z",
                "2026-11-25T12:00:00Z",
            ),
        ];
        for (starts, now, expected) in cases {
            let shifts = ShiftConfig {
                utc_offset: "+08:00".into(),
                starts: starts.iter().map(|s| s.to_string()).collect(),
            }
            .resolve()
            .unwrap();
            let w = shifts.current(utc(now));
            assert_eq!(w.from, utc(expected), "{starts:?} at {now}");
            assert_eq!(w.to, utc(now));
        }
    }

    fn row(at: &str, op: Option<&str>, items: u64, w: i64, e: i64, partial: bool) -> PackRow {
        PackRow {
            packed_at: utc(at),
            operator: op.map(str::to_string),
            items,
            weight_g: w,
            expected_g: e,
            tolerance_g: Some(20),
            partial,
            overrides: 0,
            started_at: Some(utc(at) - Duration::seconds(40)),
        }
    }

    #[test]
    fn aggregate_hours_packers_and_variance() {
        // Window 08:00–10:30 local (00:00–02:30 UTC).
        let w = Window {
            from: utc("2026-11-25T00:00:00Z"),
            to: utc("2026-11-25T02:30:00Z"),
            offset: cst(),
        };
        let packs = [
            row("2026-11-25T00:00:00Z", Some("p1"), 2, 510, 500, false),
            row("2026-11-25T00:59:59.999Z", Some("p2"), 1, 470, 500, false),
            row("2026-11-25T01:00:00Z", Some("p1"), 3, 560, 500, true),
        ];
        let mut audit = BTreeMap::new();
        audit.insert(
            "p1".to_string(),
            AuditCounts {
                warnings: 1,
                stops: 2,
                overrides: 1,
            },
        );
        // Signed in and scanned, nothing to report: not listed.
        audit.insert("p9".to_string(), AuditCounts::default());
        audit.insert(
            String::new(),
            AuditCounts {
                warnings: 1,
                ..AuditCounts::default()
            },
        );
        let r = aggregate(&w, &packs, &audit);
        assert_eq!((r.parcels, r.items, r.short_packs), (3, 6, 1));
        assert_eq!((r.alarms, r.overrides), (4, 1));
        let hours: Vec<(&str, u64, u64)> = r
            .per_hour
            .iter()
            .map(|h| (h.hour.as_str(), h.parcels, h.items))
            .collect();
        assert_eq!(hours, [("08", 2, 3), ("09", 1, 3), ("10", 0, 0)]);
        assert_eq!(r.per_hour[0].start, "2026-11-25T08:00:00+08:00");
        // |10|, |30|, |60| → mean 33.3 → 33; max 60; outside 20 g: two parcels.
        assert_eq!(
            r.variance,
            Variance {
                mean_abs_g: Some(33),
                max_abs_g: Some(60),
                outside_tolerance: 2
            }
        );
        assert_eq!(r.from, "2026-11-25T08:00:00+08:00");
        assert_eq!(r.utc_offset, "+08:00");
        let ops: Vec<&str> = r.per_packer.iter().map(|p| p.operator.as_str()).collect();
        assert_eq!(ops, ["p1", "p2", NOBODY]);
        let p1 = &r.per_packer[0];
        assert_eq!(
            (p1.parcels, p1.items, p1.short_packs, p1.warnings, p1.stops),
            (2, 5, 1, 1, 2)
        );
        assert_eq!(p1.mean_abs_variance_g, Some(35));
        assert_eq!((p1.mean_pack_s, r.mean_pack_s), (Some(40), Some(40)));
        assert_eq!(r.per_packer[2].alarms, 1);
    }

    #[test]
    fn empty_window_has_its_hours_and_no_variance() {
        let w = Window {
            from: utc("2026-11-25T00:30:00Z"),
            to: utc("2026-11-25T01:00:00Z"),
            offset: cst(),
        };
        let r = aggregate(&w, &[], &BTreeMap::new());
        assert_eq!(r.parcels, 0);
        assert_eq!(r.mean_abs_variance_g, None);
        assert_eq!(r.per_hour.len(), 1);
        assert_eq!(r.per_hour[0].hour, "08");
    }

    fn insert(conn: &Connection, id: &str, at: DateTime<Utc>, op: &str, lines: &str) {
        let payload =
            format!(r#"{{"tolerance_g":20,"overrides":[{{"reason":"x"}}],"lines":{lines}}}"#);
        conn.execute(
            "INSERT INTO pack_results (result_id, order_no, station_id, operator, packed_at,
                weight_g, expected_g, partial, payload) VALUES (?1, ?1, 's', ?2, ?3, 530, 500, 0, ?4)",
            params![id, op, at.to_rfc3339(), payload],
        )
        .unwrap();
    }

    fn audit_entry(conn: &Connection, at: DateTime<Utc>, kind: &str, alarm: &str, op: &str) {
        let data = format!(r#"{{"alarm":"{alarm}"}}"#);
        audit::append(
            conn,
            &audit::Entry {
                at,
                kind,
                order_no: None,
                operator: Some(op),
                data: &data,
            },
        )
        .unwrap();
    }

    #[test]
    fn reads_the_window_from_the_store_with_exact_bounds() {
        let conn = crate::db::open(":memory:").unwrap();
        let from = utc("2026-11-25T00:00:00Z");
        let to = utc("2026-11-25T02:00:00Z");
        let lines = r#"[{"scanned":2},{"scanned":1}]"#;
        // Just before, at the start, sub-second inside, just before the end, at the end.
        insert(&conn, "a", from - Duration::milliseconds(1), "p1", lines);
        insert(&conn, "b", from, "p1", lines);
        insert(
            &conn,
            "c",
            from + Duration::nanoseconds(123_456_789),
            "p2",
            lines,
        );
        insert(&conn, "d", to - Duration::milliseconds(1), "p2", "[]");
        insert(&conn, "e", to, "p2", lines);
        audit_entry(
            &conn,
            from - Duration::seconds(1),
            "wrong_item",
            "stop",
            "p1",
        );
        audit_entry(&conn, from, "wrong_item", "stop", "p1");
        audit_entry(&conn, from, "unknown_order", "warn", "p2");
        audit_entry(&conn, from, "item_accepted", "ok", "p2");
        audit_entry(&conn, from, "override_accepted", "ok", "p2");
        audit_entry(&conn, to, "wrong_item", "stop", "p2");
        let w = Window {
            from,
            to,
            offset: cst(),
        };
        let packs = pack_rows(&conn, &w).unwrap();
        let got: Vec<(u64, u64)> = packs.iter().map(|p| (p.items, p.overrides)).collect();
        assert_eq!(got, [(3, 1), (3, 1), (0, 1)]);
        let r = shift_report(&conn, &w).unwrap();
        assert_eq!((r.parcels, r.items, r.alarms, r.overrides), (3, 6, 2, 1));
        assert_eq!(r.per_packer[0].stops, 1);
        assert_eq!(r.per_packer[1].warnings, 1);
        assert_eq!(r.variance.outside_tolerance, 3);
        // The planner uses the indexes.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT 1 FROM pack_results WHERE packed_at >= 'a' AND packed_at < 'b'",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("pack_results_packed_at"), "{plan}");
    }

    #[test]
    fn bad_windows_are_refused() {
        let conn = crate::db::open(":memory:").unwrap();
        let t = utc("2026-11-25T00:00:00Z");
        for (from, to) in [
            (t, t),
            (t, t - Duration::hours(1)),
            (t, t + Duration::days(32)),
        ] {
            let e = shift_report(
                &conn,
                &Window {
                    from,
                    to,
                    offset: cst(),
                },
            )
            .unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{e}");
        }
    }
}
