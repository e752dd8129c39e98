//! `packbench replay`: feeds a JSON-lines script through the real engine and store and prints
//! one JSON line per input.
//!
//! Input lines (each with `"at":"<RFC 3339>"`):
//! `{"scan":"<code>"}`, `{"weight_g":1234,"stable":true}`, `{"override":{"pin":"…","reason":"…"}}`,
//! `{"undo":true}`, `{"quantity":{"sku":"…","qty":2}}`, and also `{"short_pack":{"pin","reason"}}`,
//! `{"packaging":"box-s"}`, `{"ack":true}`, `{"close":true}`, `{"sign_in":{"operator":"p1"}}`,
//! `{"sign_out":true}` or any intent as `{"intent":{"type":"scan","code":"…"}}`.
//! Blank lines and lines starting with `#` or `//` are skipped.
//!
//! Output per input: `{"line":n,"outcome":"…","alarm":"…","order_no":…,"outcomes":[…]}` where
//! `outcome` is the last outcome and `alarm` the loudest one. A line that is not valid JSON (or
//! not a known input) prints `invalid_input` with the line number, and the replay continues.

use crate::station::{Intent, Station};
use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::verify::{AlarmClass, OverrideScope, Role};
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

/// The shipped demo script (`packbench replay --demo`).
pub const DEMO_SCRIPT: &str = include_str!("../../demo/replay-demo.jsonl");

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON-lines script (`-` for stdin).
    #[arg(required_unless_present = "demo")]
    pub file: Option<PathBuf>,
    /// Replay the bundled demo script (a full pack with alarms, override and record).
    #[arg(long)]
    pub demo: bool,
    /// Database (default: an in-memory one seeded with the demo orders).
    #[arg(long)]
    pub db: Option<String>,
    /// Station configuration (default: the demo configuration, supervisor PIN 1234).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

fn field_err(line: usize, field: &str, what: &str) -> String {
    format!("line {line}: field {field:?}: {what}")
}

fn get_str(obj: &Map<String, Value>, key: &str, line: usize, ctx: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(field_err(line, &format!("{ctx}{key}"), "must be a string")),
        None => Err(field_err(line, &format!("{ctx}{key}"), "is missing")),
    }
}

/// Parses one script line into its time and intent. `Ok(None)` for blank and comment lines.
pub fn parse_line(text: &str, line: usize) -> Result<Option<(DateTime<Utc>, Intent)>, String> {
    let t = text.trim();
    if t.is_empty() || t.starts_with('#') || t.starts_with("//") {
        return Ok(None);
    }
    let v: Value =
        serde_json::from_str(t).map_err(|e| format!("line {line}: not valid JSON: {e}"))?;
    let Value::Object(obj) = v else {
        return Err(format!("line {line}: expected a JSON object"));
    };
    let at = match obj.get("at") {
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| field_err(line, "at", &format!("{s:?} is not RFC 3339: {e}")))?
            .with_timezone(&Utc),
        Some(_) => return Err(field_err(line, "at", "must be an RFC 3339 string")),
        None => return Err(field_err(line, "at", "is missing")),
    };
    let actions: Vec<&String> = obj
        .keys()
        .filter(|k| *k != "at" && *k != "stable")
        .collect();
    let [action] = actions.as_slice() else {
        return Err(format!(
            "line {line}: expected exactly one of scan, weight_g, override, undo, quantity, short_pack, packaging, ack, close, sign_in, sign_out, intent; found {}",
            if actions.is_empty() { "none".to_string() } else { actions.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ") }
        ));
    };
    let val = obj.get(action.as_str()).unwrap_or(&Value::Null);
    let flag = |name: &str| -> Result<(), String> {
        match val {
            Value::Bool(true) => Ok(()),
            _ => Err(field_err(line, name, "must be true")),
        }
    };
    let sub = |name: &str| -> Result<&Map<String, Value>, String> {
        val.as_object()
            .ok_or_else(|| field_err(line, name, "must be an object"))
    };
    let intent = match action.as_str() {
        "scan" => match val {
            Value::String(s) => Intent::Scan { code: s.clone() },
            _ => return Err(field_err(line, "scan", "must be a string")),
        },
        "weight_g" => {
            let grams = val
                .as_i64()
                .ok_or_else(|| field_err(line, "weight_g", "must be a whole number of grams"))?;
            let stable = match obj.get("stable") {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(field_err(line, "stable", "must be true or false")),
            };
            Intent::Weight {
                grams,
                stable,
                raw: None,
            }
        }
        "override" | "short_pack" => {
            let o = sub(action)?;
            let ctx = format!("{action}.");
            let pin = get_str(o, "pin", line, &ctx)?;
            let reason = get_str(o, "reason", line, &ctx)?;
            if action.as_str() == "short_pack" {
                Intent::ShortPack { pin, reason }
            } else {
                Intent::Override {
                    pin,
                    reason,
                    scope: OverrideScope::Blocking,
                }
            }
        }
        "undo" => {
            flag("undo")?;
            Intent::Undo
        }
        "ack" => {
            flag("ack")?;
            Intent::Acknowledge
        }
        "close" => {
            flag("close")?;
            Intent::Close
        }
        "sign_out" => {
            flag("sign_out")?;
            Intent::SignOut
        }
        "quantity" => {
            let o = sub("quantity")?;
            let sku = get_str(o, "sku", line, "quantity.")?;
            let qty = o
                .get("qty")
                .and_then(Value::as_u64)
                .and_then(|q| u32::try_from(q).ok())
                .ok_or_else(|| field_err(line, "quantity.qty", "must be a whole number ≥ 0"))?;
            Intent::Quantity { sku, qty }
        }
        "packaging" => match val {
            Value::String(s) => Intent::SetPackaging { id: s.clone() },
            _ => {
                return Err(field_err(
                    line,
                    "packaging",
                    "must be a packaging id string",
                ))
            }
        },
        "sign_in" => {
            let o = sub("sign_in")?;
            let operator = get_str(o, "operator", line, "sign_in.")?;
            let pin = match o.get("pin") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(field_err(line, "sign_in.pin", "must be a string")),
            };
            let role = match o.get("role") {
                None => None,
                Some(r) => Some(serde_json::from_value::<Role>(r.clone()).map_err(|_| {
                    field_err(line, "sign_in.role", "must be packer, supervisor or admin")
                })?),
            };
            Intent::SignIn {
                operator,
                role,
                pin,
            }
        }
        "intent" => serde_json::from_value(val.clone())
            .map_err(|e| field_err(line, "intent", &e.to_string()))?,
        other => {
            return Err(format!("line {line}: unknown input {other:?}"));
        }
    };
    Ok(Some((at, intent)))
}

/// Replays a script from `reader` into `station`, writing one JSON line per input to `out`.
/// Returns the number of inputs.
pub fn replay(
    station: &Station,
    reader: impl BufRead,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let mut n = 0;
    let mut last_at = None;
    for (i, line) in reader.split(b'\n').enumerate() {
        let line_no = i + 1;
        let bytes = line.with_context(|| format!("reading line {line_no}"))?;
        let text = String::from_utf8_lossy(&bytes);
        let parsed = match std::str::from_utf8(&bytes) {
            Ok(_) => parse_line(&text, line_no),
            Err(e) => Err(format!("line {line_no}: not UTF-8 text: {e}")),
        };
        let (outcomes, at) = match parsed {
            Ok(None) => continue,
            Ok(Some((at, intent))) => {
                last_at = Some(at);
                (station.handle(intent, at)?, Some(at))
            }
            Err(message) => {
                let at = last_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
                (station.report_invalid(&message, at)?, None)
            }
        };
        n += 1;
        let last = outcomes.last();
        let alarm = outcomes
            .iter()
            .map(|o| o.alarm)
            .max()
            .unwrap_or(AlarmClass::Ok);
        let mut obj = json!({
            "line": line_no,
            "at": at,
            "outcome": last.map(|o| o.name()),
            "alarm": alarm,
            "order_no": last.and_then(|o| o.order_no.clone()),
            "outcomes": outcomes,
        });
        if let (Some(o), Some(m)) = (last, obj.as_object_mut()) {
            if let domain::verify::OutcomeKind::InvalidInput { message } = &o.kind {
                m.insert("message".into(), Value::String(message.clone()));
            }
        }
        writeln!(out, "{obj}")?;
    }
    Ok(n)
}

/// Runs the replay.
pub fn run(a: Args) -> anyhow::Result<()> {
    let station = match (&a.db, &a.config) {
        (None, None) => Station::open_demo(Utc::now())?,
        (db, config) => {
            let mut cfg = match config {
                Some(p) => crate::config::StationConfig::load(p)?,
                None => Station::demo_config(":memory:")?,
            };
            if let Some(db) = db {
                cfg.db_path = db.clone();
            }
            let seed = cfg.db_path == ":memory:";
            let s = Station::open(cfg)?;
            if seed {
                s.with_db(|c| crate::station::seed_demo(c, Utc::now()))??;
            }
            s
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let n = if a.demo {
        replay(&station, DEMO_SCRIPT.as_bytes(), &mut out)?
    } else {
        match a.file.as_deref() {
            Some(p) if p.as_os_str() == "-" => replay(&station, std::io::stdin().lock(), &mut out)?,
            Some(p) => {
                let f =
                    std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
                replay(&station, BufReader::new(f), &mut out)?
            }
            None => 0,
        }
    };
    out.flush()?;
    eprintln!("replayed {n} inputs");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Result<Option<Intent>, &str>) {
        let got = parse_line(line, 7).map(|o| o.map(|(_, i)| i));
        match (&got, &expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{line}"),
            (Err(g), Err(e)) => assert!(g.contains(e) && g.starts_with("line 7"), "{line}: {g}"),
            _ => panic!("{line}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn parses_every_input_shape() {
        let at = r#""at":"2026-11-25T08:00:00+08:00""#;
        check(
            &format!("{{{at},\"scan\":\"SF1\"}}"),
            Ok(Some(Intent::Scan { code: "SF1".into() })),
        );
        check(
            &format!("{{{at},\"weight_g\":1234,\"stable\":false}}"),
            Ok(Some(Intent::Weight {
                grams: 1234,
                stable: false,
                raw: None,
            })),
        );
        check(
            &format!("{{{at},\"override\":{{\"pin\":\"1234\",\"reason\":\"scale_fault\"}}}}"),
            Ok(Some(Intent::Override {
                pin: "1234".into(),
                reason: "scale_fault".into(),
                scope: OverrideScope::Blocking,
            })),
        );
        check(&format!("{{{at},\"undo\":true}}"), Ok(Some(Intent::Undo)));
        check(
            &format!("{{{at},\"quantity\":{{\"sku\":\"A\",\"qty\":2}}}}"),
            Ok(Some(Intent::Quantity {
                sku: "A".into(),
                qty: 2,
            })),
        );
        check(
            &format!("{{{at},\"intent\":{{\"type\":\"close\"}}}}"),
            Ok(Some(Intent::Close)),
        );
        check("", Ok(None));
        check("# comment", Ok(None));
    }

    #[test]
    fn bad_lines_name_the_problem() {
        let at = r#""at":"2026-11-25T08:00:00Z""#;
        check("{not json", Err("not valid JSON"));
        check("[1,2]", Err("expected a JSON object"));
        check(r#"{"scan":"X"}"#, Err("\"at\": is missing"));
        check(r#"{"at":"yesterday","scan":"X"}"#, Err("not RFC 3339"));
        check(
            &format!("{{{at},\"scan\":12}}"),
            Err("\"scan\": must be a string"),
        );
        check(
            &format!("{{{at},\"weight_g\":\"12\"}}"),
            Err("\"weight_g\": must be a whole number"),
        );
        check(
            &format!("{{{at},\"weight_g\":12.5}}"),
            Err("\"weight_g\": must be a whole number"),
        );
        check(
            &format!("{{{at},\"override\":{{\"pin\":1234,\"reason\":\"x\"}}}}"),
            Err("\"override.pin\": must be a string"),
        );
        check(
            &format!("{{{at},\"undo\":false}}"),
            Err("\"undo\": must be true"),
        );
        check(
            &format!("{{{at},\"quantity\":{{\"sku\":\"A\",\"qty\":-1}}}}"),
            Err("quantity.qty"),
        );
        check(
            &format!("{{{at},\"scan\":\"A\",\"undo\":true}}"),
            Err("exactly one"),
        );
        check(&format!("{{{at},\"dance\":true}}"), Err("unknown input"));
    }
}
