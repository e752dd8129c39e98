//! Editing `station.toml` from the settings page: a list of field changes applied to the file's
//! text (comments, order and every section the page does not show are kept), validated with the
//! real parser ([`StationConfig::from_toml`], same errors naming the field), and written
//! atomically (temporary file, fsync, `.bak` of the previous file, rename, fsync of the folder).
//!
//! Only the fields in [`EDITABLE`] can be changed: operators, PIN hashes, the database path and
//! secrets are never written from the window. Each change says whether it applies at once or
//! after a restart ([`Apply`]); the station reads its configuration when it opens, so today
//! every change needs a restart of the app (devices) or of the station (the rest).

use crate::config::StationConfig;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// When a changed field takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Apply {
    /// The station reads it when it opens: restart the app.
    Restart,
    /// A device or service setting: its thread starts with the app, so restart the app.
    RestartDevices,
}

/// What kind of value a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    /// A string; empty removes the key (back to its default).
    OptStr,
    Int,
    Bool,
    StrList,
    /// `[[packaging]]`: `[{id, name, weight_g}]`.
    Packaging,
    /// An integer, or a decimal string (`tolerance.percent`).
    Decimal,
}

/// The fields the settings page may change: dotted path, value kind, when it applies.
const FIELDS: &[(&str, Kind, Apply)] = &[
    ("station_id", Kind::Str, Apply::Restart),
    ("tolerance.abs_g", Kind::Int, Apply::Restart),
    ("tolerance.percent", Kind::Decimal, Apply::Restart),
    ("debounce_ms", Kind::Int, Apply::Restart),
    ("packaging", Kind::Packaging, Apply::Restart),
    ("default_packaging", Kind::OptStr, Apply::Restart),
    ("override_reasons", Kind::StrList, Apply::Restart),
    ("require_sign_in", Kind::Bool, Apply::Restart),
    ("shift.utc_offset", Kind::Str, Apply::Restart),
    ("shift.starts", Kind::StrList, Apply::Restart),
    ("order_center.kind", Kind::Str, Apply::RestartDevices),
    ("order_center.url", Kind::Str, Apply::RestartDevices),
    ("scale.port", Kind::OptStr, Apply::RestartDevices),
    ("scale.protocol", Kind::Str, Apply::RestartDevices),
    ("scale.baud", Kind::Int, Apply::RestartDevices),
    ("scanner.sources", Kind::StrList, Apply::RestartDevices),
    ("tower_light.port", Kind::OptStr, Apply::RestartDevices),
    ("tower_light.protocol", Kind::Str, Apply::RestartDevices),
    ("labels.enabled", Kind::Bool, Apply::RestartDevices),
    ("labels.printer", Kind::Str, Apply::RestartDevices),
    ("labels.template", Kind::Str, Apply::RestartDevices),
    ("labels.format", Kind::Str, Apply::RestartDevices),
    ("rates.cards", Kind::StrList, Apply::Restart),
    ("rates.allowed_carriers", Kind::StrList, Apply::Restart),
];

/// The dotted paths of the fields the settings page may change.
pub const EDITABLE: &[&str] = &[
    "station_id",
    "tolerance.abs_g",
    "tolerance.percent",
    "debounce_ms",
    "packaging",
    "default_packaging",
    "override_reasons",
    "require_sign_in",
    "shift.utc_offset",
    "shift.starts",
    "order_center.kind",
    "order_center.url",
    "scale.port",
    "scale.protocol",
    "scale.baud",
    "scanner.sources",
    "tower_light.port",
    "tower_light.protocol",
    "labels.enabled",
    "labels.printer",
    "labels.template",
    "labels.format",
    "rates.cards",
    "rates.allowed_carriers",
];

/// One field to change: its dotted path and the new value (JSON: string, integer, boolean,
/// list of strings, or the packaging list; `null` or `""` for an optional field removes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Dotted path, one of [`EDITABLE`].
    pub field: String,
    /// New value.
    pub value: serde_json::Value,
}

/// A change as applied: the field, old and new value (as TOML text) and when it takes effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Dotted path.
    pub field: String,
    /// Previous value (TOML), `None` when the key was absent (default).
    pub old: Option<String>,
    /// New value (TOML), `None` when the key was removed.
    pub new: Option<String>,
    /// When it takes effect.
    pub apply: Apply,
}

fn invalid(place: &str, message: impl Into<String>) -> Error {
    Error::Invalid {
        place: place.to_string(),
        message: message.into(),
    }
}

fn lookup(field: &str) -> Option<(Kind, Apply)> {
    FIELDS
        .iter()
        .find(|(f, _, _)| *f == field)
        .map(|(_, k, a)| (*k, *a))
}

fn str_list(v: &serde_json::Value, place: &str) -> Result<toml_edit::Array> {
    let items = v
        .as_array()
        .ok_or_else(|| invalid(place, "expected a list of texts"))?;
    let mut arr = toml_edit::Array::new();
    for (i, it) in items.iter().enumerate() {
        let s = it
            .as_str()
            .ok_or_else(|| invalid(&format!("{place}[{i}]"), "expected a text"))?;
        let s = s.trim();
        if !s.is_empty() {
            arr.push(s);
        }
    }
    Ok(arr)
}

fn packaging(v: &serde_json::Value, place: &str) -> Result<toml_edit::Item> {
    let items = v
        .as_array()
        .ok_or_else(|| invalid(place, "expected a list of packaging types"))?;
    let mut tables = toml_edit::ArrayOfTables::new();
    for (i, it) in items.iter().enumerate() {
        let p = format!("{place}[{i}]");
        let id = it
            .get("id")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| invalid(&format!("{p}.id"), "expected a text"))?;
        let name = it
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        let weight = it
            .get("weight_g")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| invalid(&format!("{p}.weight_g"), "expected whole grams"))?;
        let mut t = toml_edit::Table::new();
        t.insert("id", toml_edit::value(id.trim()));
        if !name.trim().is_empty() {
            t.insert("name", toml_edit::value(name.trim()));
        }
        t.insert("weight_g", toml_edit::value(weight));
        tables.push(t);
    }
    Ok(toml_edit::Item::ArrayOfTables(tables))
}

/// The TOML item for a change, `None` to remove the key.
fn to_item(kind: Kind, v: &serde_json::Value, place: &str) -> Result<Option<toml_edit::Item>> {
    use serde_json::Value as J;
    Ok(match (kind, v) {
        (Kind::OptStr, J::Null) => None,
        (Kind::OptStr, J::String(s)) if s.trim().is_empty() => None,
        (Kind::Str | Kind::OptStr, J::String(s)) => Some(toml_edit::value(s.trim())),
        (Kind::Int, J::Number(n)) => {
            Some(toml_edit::value(n.as_i64().ok_or_else(|| {
                invalid(place, format!("{n} is not a whole number"))
            })?))
        }
        (Kind::Int, J::String(s)) => {
            Some(toml_edit::value(s.trim().parse::<i64>().map_err(|_| {
                invalid(place, format!("{s:?} is not a whole number"))
            })?))
        }
        (Kind::Decimal, J::Number(n)) if n.is_i64() => {
            Some(toml_edit::value(n.as_i64().unwrap_or_default()))
        }
        (Kind::Decimal, J::String(s)) => Some(toml_edit::value(s.trim())),
        (Kind::Bool, J::Bool(b)) => Some(toml_edit::value(*b)),
        (Kind::StrList, v) => Some(toml_edit::value(str_list(v, place)?)),
        (Kind::Packaging, v) => Some(packaging(v, place)?),
        (kind, v) => {
            let want = match kind {
                Kind::Str | Kind::OptStr => "a text",
                Kind::Int => "a whole number",
                Kind::Decimal => "a whole number or a decimal text such as \"2.5\"",
                Kind::Bool => "true or false",
                Kind::StrList | Kind::Packaging => "a list",
            };
            return Err(invalid(place, format!("expected {want}, got {v}")));
        }
    })
}

fn item_text(item: &toml_edit::Item) -> String {
    match item {
        toml_edit::Item::Value(v) => {
            let mut v = v.clone();
            v.decor_mut().clear();
            v.to_string().trim().to_string()
        }
        other => other.to_string().trim().to_string(),
    }
}

/// Applies `changes` to the TOML text `text` and validates the result with the real parser.
/// Returns the new text and the changes as applied (unchanged values are left out). `source`
/// names the file in errors.
pub fn apply(text: &str, changes: &[Change], source: &str) -> Result<(String, Vec<Applied>)> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let place = match e.span() {
            Some(span) => {
                let (l, c) = crate::config::line_col(text, span.start);
                format!("{source}:{l}:{c}")
            }
            None => source.to_string(),
        };
        invalid(&place, e.message())
    })?;
    let mut applied = Vec::new();
    for ch in changes {
        let place = format!("{source}: {}", ch.field);
        let (kind, apply) = lookup(&ch.field).ok_or_else(|| {
            invalid(
                &place,
                "this field cannot be changed from the settings page",
            )
        })?;
        let new = to_item(kind, &ch.value, &place)?;
        let (section, key) = match ch.field.split_once('.') {
            Some((s, k)) => (Some(s), k),
            None => (None, ch.field.as_str()),
        };
        let table: &mut toml_edit::Table = match section {
            None => doc.as_table_mut(),
            Some(s) => {
                if !doc.contains_key(s) {
                    if new.is_none() {
                        continue;
                    }
                    doc.insert(s, toml_edit::Item::Table(toml_edit::Table::new()));
                }
                doc.get_mut(s)
                    .and_then(toml_edit::Item::as_table_mut)
                    .ok_or_else(|| invalid(&place, format!("[{s}] is not a table in the file")))?
            }
        };
        let old = table.get(key).map(item_text);
        let new_text = new.as_ref().map(item_text);
        if old == new_text {
            continue;
        }
        match new {
            Some(item) => {
                // Keep the key's decoration (comments) when only its value changes.
                match (table.get_mut(key), item) {
                    (Some(toml_edit::Item::Value(slot)), toml_edit::Item::Value(v)) => {
                        let decor = slot.decor().clone();
                        *slot = v;
                        *slot.decor_mut() = decor;
                    }
                    (_, item) => {
                        table.insert(key, item);
                    }
                }
            }
            None => {
                table.remove(key);
            }
        }
        applied.push(Applied {
            field: ch.field.clone(),
            old,
            new: new_text,
            apply,
        });
    }
    let out = doc.to_string();
    StationConfig::from_toml(&out, source)?;
    Ok((out, applied))
}

/// The backup written next to a saved file (`station.toml.bak`).
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// Writes `text` to `path` atomically: a temporary file in the same folder, fsync, a `.bak`
/// copy of the previous file, rename over the target, fsync of the folder (Unix). A crash at
/// any point leaves either the old or the new file, never a torn one.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| Error::Io { path: p, source }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    if path.exists() {
        let bak = backup_path(path);
        std::fs::copy(path, &bak).map_err(io(&bak))?;
        std::fs::File::open(&bak)
            .and_then(|f| f.sync_all())
            .map_err(io(&bak))?;
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// Reads `path` (an absent file is an empty configuration), applies the changes, validates
/// and writes atomically. Nothing is written when validation fails or nothing changed.
pub fn save(path: &Path, changes: &[Change]) -> Result<(StationConfig, Vec<Applied>)> {
    let source = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source_err) => {
            return Err(Error::Io {
                path: source,
                source: source_err,
            })
        }
    };
    let (out, applied) = apply(&text, changes, &source)?;
    let cfg = StationConfig::from_toml(&out, &source)?;
    if !applied.is_empty() {
        write_atomic(path, &out)?;
    }
    Ok((cfg, applied))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = "# bench 3, packing line B\nstation_id = \"bench-03\" # shown in results\n\n[tolerance]\nabs_g = 20\npercent = 3\n\n[order_center]\nkind = \"none\"\n";

    fn ch(field: &str, value: serde_json::Value) -> Change {
        Change {
            field: field.into(),
            value,
        }
    }

    #[test]
    fn round_trip_keeps_comments_and_reports_changes() {
        let (out, applied) = apply(
            FILE,
            &[
                ch("station_id", json!("bench-04")),
                ch("tolerance.percent", json!("2.5")),
                ch("tolerance.abs_g", json!(20)),
                ch("shift.utc_offset", json!("+08:00")),
                ch(
                    "packaging",
                    json!([{"id": "box-s", "name": "小号纸箱", "weight_g": 120}]),
                ),
            ],
            "station.toml",
        )
        .unwrap();
        assert!(out.contains("# bench 3, packing line B"), "{out}");
        assert!(
            out.contains("station_id = \"bench-04\" # shown in results"),
            "{out}"
        );
        let cfg = StationConfig::from_toml(&out, "t").unwrap();
        assert_eq!(cfg.station_id, "bench-04");
        assert_eq!(cfg.tolerance.percent.bp, 250);
        assert_eq!(cfg.packaging[0].weight_g, 120);
        assert_eq!(cfg.shift.utc_offset, "+08:00");
        let fields: Vec<&str> = applied.iter().map(|a| a.field.as_str()).collect();
        // abs_g did not change.
        assert_eq!(
            fields,
            [
                "station_id",
                "tolerance.percent",
                "shift.utc_offset",
                "packaging"
            ]
        );
        assert_eq!(applied[0].old.as_deref(), Some("\"bench-03\""));
        assert_eq!(applied[0].new.as_deref(), Some("\"bench-04\""));
        // Applying the same again changes nothing.
        let (_, again) = apply(&out, &[ch("station_id", json!("bench-04"))], "s").unwrap();
        assert!(again.is_empty());
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        fn check(field: &str, value: serde_json::Value, expected: &str) {
            let e = apply(FILE, &[ch(field, value.clone())], "station.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{field} = {value}: {e}");
        }
        check("tolerance.abs_g", json!(-5), "tolerance.abs_g");
        check("tolerance.abs_g", json!("many"), "tolerance.abs_g");
        check("tolerance.percent", json!("2.555"), "percent");
        check("station_id", json!(""), "station_id");
        check("default_packaging", json!("box-x"), "default_packaging");
        check("order_center.kind", json!("rest"), "order_center.url");
        check("shift.utc_offset", json!("CST"), "shift.utc_offset");
        check("scale.baud", json!(true), "scale.baud");
        check("operators", json!([]), "cannot be changed");
        check("db_path", json!("x.db"), "cannot be changed");
        check(
            "packaging",
            json!([{"id": "a", "weight_g": 1}, {"id": "a", "weight_g": 2}]),
            "packaging[1].id",
        );
    }

    #[test]
    fn optional_fields_are_removed_by_empty_values() {
        let (out, applied) = apply(
            "[scale]\nport = \"/dev/ttyUSB0\"\n",
            &[ch("scale.port", json!(""))],
            "s",
        )
        .unwrap();
        assert!(!out.contains("ttyUSB0"), "{out}");
        assert_eq!(applied[0].new, None);
    }

    #[test]
    fn save_writes_atomically_with_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("station.toml");
        std::fs::write(&path, FILE).unwrap();
        let (cfg, applied) = save(&path, &[ch("tolerance.abs_g", json!(30))]).unwrap();
        assert_eq!(cfg.tolerance.abs_g, 30);
        assert_eq!(applied.len(), 1);
        assert_eq!(std::fs::read_to_string(backup_path(&path)).unwrap(), FILE);
        let now = std::fs::read_to_string(&path).unwrap();
        assert!(now.contains("abs_g = 30"), "{now}");
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A refused change writes nothing.
        let before = std::fs::read_to_string(&path).unwrap();
        assert!(save(&path, &[ch("tolerance.abs_g", json!(-1))]).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        // A missing file starts from the defaults.
        let fresh = dir.path().join("new.toml");
        let (cfg, _) = save(&fresh, &[ch("station_id", json!("b9"))]).unwrap();
        assert_eq!(cfg.station_id, "b9");
        assert!(!backup_path(&fresh).exists());
    }

    #[test]
    fn every_editable_field_has_a_kind() {
        for f in EDITABLE {
            assert!(lookup(f).is_some(), "{f}");
        }
        assert_eq!(EDITABLE.len(), FIELDS.len());
    }
}
