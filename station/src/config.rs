//! Station configuration: one TOML file, every field defaulted so an empty file works.
//!
//! ```toml
//! db_path = "packbench.db"
//! station_id = "bench-01"
//! debounce_ms = 100
//! override_reasons = ["customer_agreed", "scale_fault"]
//!
//! [tolerance]
//! abs_g = 20
//! percent = "3"          # exact decimal (integer or string), never a float
//!
//! [[packaging]]
//! id = "box-s"
//! name = "小号纸箱"
//! weight_g = 120
//!
//! [[operators]]
//! id = "sup1"
//! name = "王主管"
//! role = "supervisor"
//! pin_hash = "$argon2id$v=19$m=4096,t=1,p=1$…"
//! ```
//!
//! Other sections (`scale`, `scanner`, `printer`, `labels`, `rates`, `order_center`) belong to
//! the modules that read them; each is one `#[serde(default)]` field here. Errors name the file,
//! line and column.

use crate::error::{Error, Result};
use domain::verify::{EngineConfig, OverridePolicy, Role, Tolerance};
use domain::Grams;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Percent as an exact decimal, stored in basis points (1 bp = 0.01 %). In TOML an integer
/// (`3`) or a string (`"2.5"`); floats are refused so no rounding can creep in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Percent {
    /// Basis points.
    pub bp: u32,
}

impl Percent {
    /// Parses `3`, `2.5` or `0.25` (at most two decimals) into basis points.
    pub fn parse(s: &str) -> Option<Percent> {
        let s = s.trim().trim_end_matches('%');
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty()
            || frac.len() > 2
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let i: u32 = int.parse().ok()?;
        let f: u32 = if frac.is_empty() {
            0
        } else {
            frac.parse::<u32>().ok()? * if frac.len() == 1 { 10 } else { 1 }
        };
        Some(Percent {
            bp: i.checked_mul(100)?.checked_add(f)?,
        })
    }
}

impl From<Percent> for String {
    fn from(p: Percent) -> String {
        if p.bp % 100 == 0 {
            format!("{}", p.bp / 100)
        } else {
            format!("{}.{:02}", p.bp / 100, p.bp % 100)
        }
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u32),
            Str(String),
        }
        let raw = Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "percent must be an integer or a decimal string such as \"2.5\"",
            )
        })?;
        match raw {
            Raw::Int(i) => i
                .checked_mul(100)
                .map(|bp| Percent { bp })
                .ok_or_else(|| serde::de::Error::custom("percent too large")),
            Raw::Str(s) => Percent::parse(&s).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "percent {s:?} is not a decimal with at most two places"
                ))
            }),
        }
    }
}

/// Weight tolerance: max(abs_g, percent of expected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToleranceConfig {
    /// Absolute tolerance in grams (default 20).
    pub abs_g: i64,
    /// Relative tolerance (default 3 %).
    pub percent: Percent,
}

impl Default for ToleranceConfig {
    fn default() -> Self {
        let t = Tolerance::default();
        ToleranceConfig {
            abs_g: t.abs_g.get(),
            percent: Percent { bp: t.percent_bp },
        }
    }
}

/// A packaging type (包材) with its weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackagingType {
    /// Id used by the `set_packaging` intent.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Weight in grams.
    pub weight_g: i64,
}

/// An operator of the bench.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// Operator id (工号).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Role.
    #[serde(default)]
    pub role: Role,
    /// Argon2id PHC string of the PIN; supervisors and admins need one to override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_hash: Option<String>,
}

/// The station configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StationConfig {
    /// SQLite database path (`:memory:` for a throw-away one).
    pub db_path: String,
    /// This bench's id, recorded in every pack result.
    pub station_id: String,
    /// Weight tolerance.
    pub tolerance: ToleranceConfig,
    /// Identical scans closer than this many milliseconds are scanner double reads.
    pub debounce_ms: i64,
    /// Packaging types.
    pub packaging: Vec<PackagingType>,
    /// Packaging chosen when the station starts.
    pub default_packaging: Option<String>,
    /// Reason codes a supervisor may give for an override.
    pub override_reasons: Vec<String>,
    /// Wrong PINs in a row before overrides lock.
    pub max_pin_failures: u32,
    /// Lockout length in seconds.
    pub lockout_secs: i64,
    /// Operators (packers, supervisors, admins).
    pub operators: Vec<Operator>,
    /// Refuse to record a pack when nobody is signed in.
    pub require_sign_in: bool,
    /// The scale (`[scale]`): port or USB ids, protocol, line settings, stability, minimum weight.
    pub scale: crate::devices::scale::ScaleConfig,
    /// Scanners (`[scanner]`): sources (evdev, serial, HID-POS, simulator), wedge timing, de-duplication.
    pub scanner: crate::devices::scanner::ScannerConfig,
    /// Labels and the printer (`[labels]`): template, format, printer address, retries, font.
    pub labels: crate::printing::LabelsConfig,
    /// Rate cards (`[rates]`): card files and the carriers the rate shop may choose from.
    pub rates: crate::rating::RatesConfig,
    /// The order center (`[order_center]`): adapter, URL, batching, backoff, order feed, field mapping.
    pub order_center: crate::sync::config::OrderCenterConfig,
    /// Shifts (`[shift]`): the station's UTC offset and local shift starts, for the shift report.
    pub shift: crate::store::report::ShiftConfig,
    /// The tower light (`[tower_light]`): relay board port, protocol, channels, buzzer and warning times.
    pub tower_light: crate::devices::light::TowerLightConfig,
}

impl Default for StationConfig {
    fn default() -> Self {
        let p = OverridePolicy::default();
        StationConfig {
            db_path: "packbench.db".to_string(),
            station_id: "bench-01".to_string(),
            tolerance: ToleranceConfig::default(),
            debounce_ms: domain::verify::DEFAULT_DEBOUNCE_MS,
            packaging: Vec::new(),
            default_packaging: None,
            override_reasons: p.reasons,
            max_pin_failures: p.max_failures,
            lockout_secs: p.lockout_ms / 1000,
            operators: Vec::new(),
            require_sign_in: false,
            scale: crate::devices::scale::ScaleConfig::default(),
            scanner: crate::devices::scanner::ScannerConfig::default(),
            labels: crate::printing::LabelsConfig::default(),
            rates: crate::rating::RatesConfig::default(),
            order_center: crate::sync::config::OrderCenterConfig::default(),
            tower_light: crate::devices::light::TowerLightConfig::default(),
            shift: crate::store::report::ShiftConfig::default(),
        }
    }
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

impl StationConfig {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<StationConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        StationConfig::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<StationConfig> {
        let cfg: StationConfig = toml::from_str(text).map_err(|e| {
            let place = match e.span() {
                Some(span) => {
                    let (line, col) = line_col(text, span.start);
                    format!("{source}:{line}:{col}")
                }
                None => source.to_string(),
            };
            Error::Invalid {
                place,
                message: e.message().to_string(),
            }
        })?;
        cfg.validate(source)?;
        Ok(cfg)
    }

    /// Checks values serde cannot: ranges, unique ids, PIN hash format.
    pub fn validate(&self, source: &str) -> Result<()> {
        let bad = |field: &str, message: String| Error::Invalid {
            place: format!("{source}: {field}"),
            message,
        };
        if self.station_id.trim().is_empty() {
            return Err(bad("station_id", "must not be empty".into()));
        }
        if self.tolerance.abs_g < 0 {
            return Err(bad("tolerance.abs_g", "must be 0 or more".into()));
        }
        if self.tolerance.percent.bp > 10_000 {
            return Err(bad("tolerance.percent", "must be at most 100".into()));
        }
        if !(0..=10_000).contains(&self.debounce_ms) {
            return Err(bad("debounce_ms", "must be between 0 and 10000".into()));
        }
        if self.override_reasons.is_empty() {
            return Err(bad(
                "override_reasons",
                "needs at least one reason code".into(),
            ));
        }
        for (i, p) in self.packaging.iter().enumerate() {
            if p.id.trim().is_empty() {
                return Err(bad(
                    &format!("packaging[{i}].id"),
                    "must not be empty".into(),
                ));
            }
            if p.weight_g < 0 {
                return Err(bad(
                    &format!("packaging[{i}].weight_g"),
                    "must be 0 or more".into(),
                ));
            }
            if self.packaging[..i].iter().any(|q| q.id == p.id) {
                return Err(bad(
                    &format!("packaging[{i}].id"),
                    format!("duplicate id {:?}", p.id),
                ));
            }
        }
        if let Some(d) = &self.default_packaging {
            if self.packaging_type(d).is_none() {
                return Err(bad(
                    "default_packaging",
                    format!("no packaging with id {d:?}"),
                ));
            }
        }
        for (i, o) in self.operators.iter().enumerate() {
            if o.id.trim().is_empty() {
                return Err(bad(
                    &format!("operators[{i}].id"),
                    "must not be empty".into(),
                ));
            }
            if self.operators[..i].iter().any(|q| q.id == o.id) {
                return Err(bad(
                    &format!("operators[{i}].id"),
                    format!("duplicate id {:?}", o.id),
                ));
            }
            if let Some(h) = &o.pin_hash {
                let parsed = argon2::PasswordHash::new(h).map_err(|e| {
                    bad(
                        &format!("operators[{i}].pin_hash"),
                        format!("not a PHC string: {e}"),
                    )
                })?;
                if parsed.algorithm.as_str() != "argon2id" {
                    return Err(bad(
                        &format!("operators[{i}].pin_hash"),
                        format!("must be argon2id, found {}", parsed.algorithm),
                    ));
                }
            }
        }
        self.order_center
            .validate()
            .map_err(|m| bad("order_center", m))?;
        self.tower_light.validate().map_err(|e| match e {
            Error::Invalid { place, message } => bad(&place, message),
            other => other,
        })?;
        self.shift.resolve().map_err(|m| bad("shift", m))?;
        Ok(())
    }

    /// The packaging type with this id.
    pub fn packaging_type(&self, id: &str) -> Option<&PackagingType> {
        self.packaging.iter().find(|p| p.id == id)
    }

    /// The operator with this id.
    pub fn operator(&self, id: &str) -> Option<&Operator> {
        self.operators.iter().find(|o| o.id == id)
    }

    /// The engine settings this configuration implies.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            tolerance: Tolerance {
                abs_g: Grams(self.tolerance.abs_g),
                percent_bp: self.tolerance.percent.bp,
            },
            debounce_ms: self.debounce_ms,
            policy: OverridePolicy {
                reasons: self.override_reasons.clone(),
                max_failures: self.max_pin_failures,
                lockout_ms: self.lockout_secs.saturating_mul(1000),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = StationConfig::from_toml("", "t.toml").unwrap();
        assert_eq!(c, StationConfig::default());
        assert_eq!(c.engine_config().tolerance, Tolerance::default());
    }

    #[test]
    fn percent_forms() {
        fn check(input: &str, expected: Option<u32>) {
            assert_eq!(Percent::parse(input).map(|p| p.bp), expected, "{input}");
        }
        check("3", Some(300));
        check("2.5", Some(250));
        check("0.25", Some(25));
        check("3%", Some(300));
        check("1.234", None);
        check("-1", None);
        check("", None);
        check("abc", None);
        let c =
            StationConfig::from_toml("[tolerance]\nabs_g = 10\npercent = \"2.5\"\n", "t").unwrap();
        assert_eq!(c.tolerance.percent.bp, 250);
        let c = StationConfig::from_toml("[tolerance]\npercent = 4\n", "t").unwrap();
        assert_eq!(c.tolerance.percent.bp, 400);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e =
            StationConfig::from_toml("station_id = \"b\"\ndebounce_ms = \"fast\"\n", "cfg.toml")
                .unwrap_err()
                .to_string();
        assert!(e.starts_with("cfg.toml:2:"), "{e}");
        let e = StationConfig::from_toml("[tolerance]\npercent = 2.5\n", "cfg.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cfg.toml:2:") && e.contains("percent"), "{e}");
        let e = StationConfig::from_toml("stationid = \"x\"\n", "cfg.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cfg.toml:1:1") && e.contains("stationid"), "{e}");
    }

    #[test]
    fn validation_names_the_field() {
        let e = StationConfig::from_toml(
            "[[packaging]]\nid = \"a\"\nweight_g = 1\n[[packaging]]\nid = \"a\"\nweight_g = 2\n",
            "c",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("packaging[1].id") && e.contains("duplicate"),
            "{e}"
        );
        let e = StationConfig::from_toml(
            "[[operators]]\nid = \"s\"\nrole = \"supervisor\"\npin_hash = \"1234\"\n",
            "c",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("operators[0].pin_hash"), "{e}");
        let e = StationConfig::from_toml("default_packaging = \"x\"\n", "c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("default_packaging"), "{e}");
    }
}
