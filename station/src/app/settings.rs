//! The settings page of the bench app: the configuration as a structured view, saving an
//! admin's changes to `station.toml`, and importing rate cards with progress and every row
//! problem.
//!
//! Who may do what: an admin reads and changes; a supervisor reads; a packer (or nobody signed
//! in) gets nothing. Secrets are never shown, only whether they are set.
//!
//! Saving goes through [`crate::config_edit`]: only the fields of
//! [`crate::config_edit::EDITABLE`], validated with the real parser (errors name the field),
//! written atomically with a `.bak`, and recorded in the audit log with who changed what. The
//! station reads its configuration when it opens, so every saved change is listed as pending
//! until the app restarts. In demo mode the file is [`DEMO_CONFIG_FILE`] in the data directory
//! (the demo starts from it next time), so the demo never turns into a configured station.
//!
//! A rate-card import reads the whole file, reporting progress as [`AppEvent::ImportProgress`],
//! and replaces the cards in use only when every row is good. A configured station copies the
//! file into [`RATES_DIR`] and adds it to `[rates] cards`, so the import survives a restart.

use super::{App, AppEvent};
use crate::config::{PackagingType, StationConfig};
use crate::config_edit::{self, Applied, Change};
use crate::error::{Error, Result};
use crate::rating::{ImportIssue, RatesConfig, Rating, CARD_EXTENSIONS, MAX_IMPORT_ISSUES};
use crate::station::{Station, DEMO_CONFIG};
use crate::store::audit;
use crate::sync::config::{
    AdapterKind, SECRET_JST_ACCESS_TOKEN, SECRET_JST_APP_SECRET, SECRET_REST_TOKEN,
    SECRET_WDT_APPSECRET,
};
use chrono::{DateTime, Offset, Utc};
use domain::verify::Role;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder (in the data directory) whose card files the import page lists.
pub const IMPORT_DIR: &str = "rates/import";
/// The folder (in the data directory) imported card files are kept in (configured mode).
pub const RATES_DIR: &str = "rates";
/// The demo's editable configuration, in the data directory.
pub const DEMO_CONFIG_FILE: &str = "demo-station.toml";

/// Settings state of the app: where the configuration lives and what waits for a restart.
#[derive(Debug, Default)]
pub(super) struct SettingsState {
    /// The configuration file (`None`: the demo's [`DEMO_CONFIG_FILE`]).
    pub(super) config_path: Option<PathBuf>,
    /// Changes saved since the app started.
    pending: Vec<Applied>,
}

/// The demo station's configuration: [`DEMO_CONFIG_FILE`] when an admin saved one, else the
/// bundled demo configuration; the database is always `db_path`.
pub(super) fn demo_config(data_dir: &Path, db_path: &str) -> Result<StationConfig> {
    let file = data_dir.join(DEMO_CONFIG_FILE);
    if !file.is_file() {
        return Station::demo_config(db_path);
    }
    let mut cfg = StationConfig::load(&file)?;
    cfg.db_path = db_path.to_string();
    Ok(cfg)
}

/// A rate card row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardView {
    /// Carrier.
    pub carrier: String,
    /// Service.
    pub service: String,
    /// Zones.
    pub zones: u64,
    /// Card version.
    pub source: String,
    /// Effective from, the station's local date (`2025-01-01`).
    pub effective_from: String,
}

/// The station section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationSettings {
    /// Station id.
    pub station_id: String,
    /// Absolute tolerance, grams.
    pub tolerance_abs_g: i64,
    /// Relative tolerance, percent as an exact decimal (`"2.5"`).
    pub tolerance_percent: String,
    /// Double-read window, ms.
    pub debounce_ms: i64,
    /// Packaging types.
    pub packaging: Vec<PackagingType>,
    /// Packaging at start.
    pub default_packaging: Option<String>,
    /// Override reason codes.
    pub override_reasons: Vec<String>,
    /// Recording needs a signed-in operator.
    pub require_sign_in: bool,
    /// UTC offset of the station (`+08:00`).
    pub utc_offset: String,
    /// Local shift starts (`HH:MM`).
    pub shift_starts: Vec<String>,
}

/// The order-center section (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderCenterSettings {
    /// `none`, `rest`, `jushuitan` or `wdt`.
    pub kind: String,
    /// Base URL (`rest`).
    pub url: String,
    /// `not_needed`, `set`, `missing` or `unknown` (the store could not be read).
    pub credentials: String,
    /// Which secrets are missing (names only).
    pub missing: Vec<String>,
    /// `running`, `not_started` or `off`.
    pub status: String,
    /// Why it did not start.
    pub detail: Option<String>,
}

/// The devices section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSettings {
    /// Scale serial port.
    pub scale_port: Option<String>,
    /// Scale protocol.
    pub scale_protocol: String,
    /// Scale baud rate.
    pub scale_baud: u32,
    /// USB scale ids (`vid:pid`), when configured by USB.
    pub scale_usb: Option<String>,
    /// Scanner sources.
    pub scanner_sources: Vec<String>,
    /// Tower light port, when configured.
    pub tower_light_port: Option<String>,
    /// Tower light protocol.
    pub tower_light_protocol: String,
    /// Whether a tower light is configured.
    pub tower_light: bool,
}

/// The printers and templates section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintingSettings {
    /// Printing enabled.
    pub enabled: bool,
    /// Printer URI (`tcp:…`, `usb:…`, `spool:…`, `dir:…`).
    pub printer: String,
    /// Template file.
    pub template: String,
    /// Printer language (`pdf`, `tspl`, `zpl`, `png`).
    pub format: String,
}

/// Everything the settings page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsView {
    /// The signed-in operator may change settings (admin).
    pub editable: bool,
    /// Demo mode.
    pub demo: bool,
    /// The file changes are saved to.
    pub config_file: String,
    /// Station.
    pub station: StationSettings,
    /// Order center.
    pub order_center: OrderCenterSettings,
    /// Devices.
    pub devices: DeviceSettings,
    /// Printers and templates.
    pub printing: PrintingSettings,
    /// Rate cards in use.
    pub rate_cards: Vec<CardView>,
    /// Configured card files.
    pub rate_files: Vec<String>,
    /// Carriers the rate shop may choose from.
    pub allowed_carriers: Vec<String>,
    /// The folder whose card files are offered for import.
    pub import_dir: String,
    /// Card files found there.
    pub import_files: Vec<String>,
    /// Saved changes waiting for a restart.
    pub pending: Vec<Applied>,
}

/// Changes to save.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SaveRequest {
    /// Fields and new values.
    pub changes: Vec<Change>,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaveResult {
    /// Fields changed (unchanged ones are left out).
    pub applied: Vec<Applied>,
    /// The app must restart for them to take effect.
    pub restart_needed: bool,
    /// The file written.
    pub file: String,
    /// The settings after the save.
    pub view: SettingsView,
}

/// Rate-card import progress (sent as [`AppEvent::ImportProgress`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    /// The file.
    pub file: String,
    /// Rows read.
    pub rows_read: u64,
    /// Rows in the file (as far as known).
    pub rows_total: u64,
}

/// Rate-card import result, problems row by row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Imported (the cards in use changed).
    pub ok: bool,
    /// The file.
    pub file: String,
    /// Cards in the file.
    pub cards: u64,
    /// Cards in use that they replaced.
    pub replaced: u64,
    /// Cards in use now.
    pub total: u64,
    /// Rows read.
    pub rows: u64,
    /// Problems (at most [`MAX_IMPORT_ISSUES`]).
    pub issues: Vec<ImportIssue>,
    /// Problems not listed.
    pub more: u64,
    /// Notes (ignored columns, skipped sheets).
    pub notes: Vec<String>,
    /// Where the file was kept for the next start (configured mode).
    pub saved_to: Option<String>,
}

fn denied(action: &str, role: Option<Role>) -> Error {
    Error::Invalid {
        place: format!("settings: {action}"),
        message: match role {
            Some(r) => format!("not allowed for role {}; sign in as an admin", r.as_str()),
            None => "sign in as an admin first".to_string(),
        },
    }
}

fn rel_or_abs(base: &Path, p: &Path) -> String {
    p.strip_prefix(base)
        .map_or_else(|_| p.display().to_string(), |r| r.display().to_string())
}

impl App {
    fn role(&self) -> Option<Role> {
        self.station.view().operator.map(|(_, r)| r)
    }

    fn operator_id(&self) -> Option<String> {
        self.station.view().operator.map(|(o, _)| o)
    }

    /// The file settings are saved to.
    fn settings_file(&self) -> PathBuf {
        self.settings
            .config_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join(DEMO_CONFIG_FILE))
    }

    /// The folder whose card files the import page offers.
    fn import_dir(&self) -> PathBuf {
        self.data_dir.join(IMPORT_DIR)
    }

    /// Card files in the import folder, by name.
    fn import_files(&self) -> Vec<String> {
        let dir = self.import_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut out: Vec<String> = entries
            .filter_map(std::result::Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| CARD_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        out.sort();
        out
    }

    fn credentials(&self, cfg: &StationConfig) -> (String, Vec<String>) {
        let needed: &[&str] = match cfg.order_center.kind {
            AdapterKind::None => return ("not_needed".into(), Vec::new()),
            AdapterKind::Rest => &[SECRET_REST_TOKEN],
            AdapterKind::Jushuitan => &[SECRET_JST_APP_SECRET, SECRET_JST_ACCESS_TOKEN],
            AdapterKind::Wdt => &[SECRET_WDT_APPSECRET],
        };
        // The same folder the sync thread reads its encrypted-file secrets from.
        let secrets_dir = Path::new(&cfg.db_path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| self.data_dir.clone(), Path::to_path_buf);
        let store = match crate::sync::secrets::open(cfg.order_center.secrets, &secrets_dir) {
            Ok(s) => s,
            Err(_) => return ("unknown".into(), Vec::new()),
        };
        let mut missing = Vec::new();
        for name in needed {
            match store.get(name) {
                Ok(Some(_)) => {}
                Ok(None) => missing.push((*name).to_string()),
                Err(_) => return ("unknown".into(), Vec::new()),
            }
        }
        let state = if missing.is_empty() { "set" } else { "missing" };
        (state.into(), missing)
    }

    fn settings_view(&self) -> SettingsView {
        let cfg = self.station.config();
        let (credentials, missing) = self.credentials(cfg);
        let (status, detail) = match (&self.hw.sync, &self.hw.sync_start_error) {
            (Some(_), _) => ("running", None),
            (None, Some(e)) => ("not_started", Some(e.clone())),
            (None, None) => ("off", None),
        };
        let kind = serde_json::to_value(cfg.order_center.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let format = serde_json::to_value(cfg.labels.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        // Dates as the station reads them (cards take effect at local midnight).
        let offset = cfg.shift.resolve().map_or(Utc.fix(), |s| s.offset);
        let rate_cards = self
            .rating
            .as_ref()
            .map(|r| {
                r.book()
                    .cards()
                    .map(|c| CardView {
                        carrier: c.carrier.clone(),
                        service: c.service.clone(),
                        zones: u64::try_from(c.zones.len()).unwrap_or(0),
                        source: c.version.clone(),
                        effective_from: c
                            .effective_from
                            .with_timezone(&offset)
                            .format("%Y-%m-%d")
                            .to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        SettingsView {
            editable: self.role() == Some(Role::Admin),
            demo: self.demo,
            config_file: self.settings_file().display().to_string(),
            station: StationSettings {
                station_id: cfg.station_id.clone(),
                tolerance_abs_g: cfg.tolerance.abs_g,
                tolerance_percent: String::from(cfg.tolerance.percent),
                debounce_ms: cfg.debounce_ms,
                packaging: cfg.packaging.clone(),
                default_packaging: cfg.default_packaging.clone(),
                override_reasons: cfg.override_reasons.clone(),
                require_sign_in: cfg.require_sign_in,
                utc_offset: cfg.shift.utc_offset.clone(),
                shift_starts: cfg.shift.starts.clone(),
            },
            order_center: OrderCenterSettings {
                kind,
                url: cfg.order_center.url.clone(),
                credentials,
                missing,
                status: status.into(),
                detail,
            },
            devices: DeviceSettings {
                scale_port: cfg.scale.port.clone(),
                scale_protocol: cfg.scale.protocol.clone(),
                scale_baud: cfg.scale.baud,
                scale_usb: cfg
                    .scale
                    .usb_vid
                    .zip(cfg.scale.usb_pid)
                    .map(|(v, p)| format!("{v:04x}:{p:04x}")),
                scanner_sources: cfg.scanner.sources.clone(),
                tower_light_port: cfg.tower_light.port.clone(),
                // Whatever type the light section gives its protocol, the page shows its TOML name.
                tower_light_protocol: serde_json::to_value(&cfg.tower_light.protocol)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                tower_light: cfg.tower_light.is_configured(),
            },
            printing: PrintingSettings {
                enabled: cfg.labels.enabled,
                printer: cfg.labels.printer.clone(),
                template: cfg.labels.template.display().to_string(),
                format,
            },
            rate_cards,
            rate_files: cfg
                .rates
                .cards
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            allowed_carriers: cfg.rates.allowed_carriers.clone(),
            import_dir: self.import_dir().display().to_string(),
            import_files: self.import_files(),
            pending: self.settings.pending.clone(),
        }
    }

    /// The settings page (supervisors and admins; `editable` for admins).
    pub fn settings(&mut self) -> Result<SettingsView> {
        match self.role() {
            Some(Role::Admin | Role::Supervisor) => Ok(self.settings_view()),
            other => Err(denied("read", other)),
        }
    }

    fn audit_action(&self, kind: &str, data: &serde_json::Value, now: DateTime<Utc>) -> Result<()> {
        let operator = self.operator_id();
        let data = data.to_string();
        self.station.with_db(|conn| -> Result<()> {
            let tx = conn.transaction().map_err(|source| Error::Sqlite {
                op: "begin settings audit",
                source,
            })?;
            audit::append(
                &tx,
                &audit::Entry {
                    at: now,
                    kind,
                    order_no: None,
                    operator: operator.as_deref(),
                    data: &data,
                },
            )?;
            tx.commit().map_err(|source| Error::Sqlite {
                op: "commit settings audit",
                source,
            })
        })?
    }

    /// Saves an admin's changes to the configuration file: validated (errors name the field),
    /// written atomically with a `.bak`, audited. Nothing is written when a value is refused.
    pub fn save_settings(&mut self, req: SaveRequest, now: DateTime<Utc>) -> Result<SaveResult> {
        let role = self.role();
        if role != Some(Role::Admin) {
            return Err(denied("save", role));
        }
        let path = self.settings_file();
        let source = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.demo {
                    DEMO_CONFIG.to_string()
                } else {
                    String::new()
                }
            }
            Err(e) => {
                return Err(Error::Io {
                    path: source,
                    source: e,
                })
            }
        };
        let (out, applied) = config_edit::apply(&text, &req.changes, &source)?;
        if !applied.is_empty() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                    path: dir.display().to_string(),
                    source: e,
                })?;
            }
            config_edit::write_atomic(&path, &out)?;
            self.audit_action(
                "settings_changed",
                &serde_json::json!({ "file": source, "changes": applied }),
                now,
            )?;
            for a in &applied {
                self.settings.pending.retain(|p| p.field != a.field);
                self.settings.pending.push(a.clone());
            }
        }
        Ok(SaveResult {
            restart_needed: !applied.is_empty(),
            applied,
            file: source,
            view: self.settings_view(),
        })
    }

    /// Checks that the signed-in operator may restart the app (admins) and records it in the
    /// audit log with the changes that wait for it. The shell then restarts the process.
    pub fn authorize_restart(&mut self, now: DateTime<Utc>) -> Result<()> {
        let role = self.role();
        if role != Some(Role::Admin) {
            return Err(denied("restart", role));
        }
        let pending: Vec<&str> = self
            .settings
            .pending
            .iter()
            .map(|a| a.field.as_str())
            .collect();
        self.audit_action(
            "app_restart",
            &serde_json::json!({ "pending": pending }),
            now,
        )
    }

    /// Where an import path points: as given when it exists, else a name in the import folder.
    fn resolve_import(&self, path: &str) -> PathBuf {
        let p = PathBuf::from(path.trim());
        if p.is_absolute() || p.exists() {
            return p;
        }
        let in_dir = self.import_dir().join(&p);
        if in_dir.exists() {
            in_dir
        } else {
            p
        }
    }

    /// Imports a rate-card file (TOML, JSON, CSV or XLSX) into the cards in use (admins). Every
    /// problem is reported with its place, progress goes out as [`AppEvent::ImportProgress`],
    /// and a file with any problem changes nothing.
    pub fn import_rates(&mut self, path: &str, now: DateTime<Utc>) -> Result<ImportReport> {
        let role = self.role();
        if role != Some(Role::Admin) {
            return Err(denied("import rate cards", role));
        }
        if path.trim().is_empty() {
            return Err(Error::Invalid {
                place: "rate-card import".into(),
                message: "no file given".into(),
            });
        }
        let file = self.resolve_import(path);
        let rating = match &self.rating {
            Some(r) => Arc::clone(r),
            None => {
                let r = Arc::new(Rating::with_book(
                    RatesConfig::default(),
                    domain::rates::RateBook::new(Vec::new()).map_err(|_| Error::Invalid {
                        place: "rate cards".into(),
                        message: "cannot build an empty rate book".into(),
                    })?,
                ));
                self.station.set_quoter(r.clone());
                self.rating = Some(r.clone());
                r
            }
        };
        let out = self.out.clone();
        let name = file.display().to_string();
        let mut progress = |rows_read: u64, rows_total: u64| {
            let _ = out.send(AppEvent::ImportProgress(ImportProgress {
                file: name.clone(),
                rows_read,
                rows_total,
            }));
        };
        let summary = match rating.import(&file, MAX_IMPORT_ISSUES, &mut progress) {
            Ok(s) => s,
            Err(f) => {
                return Ok(ImportReport {
                    ok: false,
                    file: name,
                    cards: 0,
                    replaced: 0,
                    total: u64::try_from(rating.book().len()).unwrap_or(0),
                    rows: f.rows,
                    issues: f.issues,
                    more: f.more,
                    notes: Vec::new(),
                    saved_to: None,
                })
            }
        };
        let mut notes = summary.notes.clone();
        let saved_to = if self.demo {
            None
        } else {
            let (kept, more) = self.keep_imported(&file, now)?;
            notes.extend(more);
            Some(kept)
        };
        self.audit_action(
            "rates_imported",
            &serde_json::json!({
                "file": name,
                "cards": summary.cards,
                "replaced": summary.replaced,
                "rows": summary.rows,
                "saved_to": saved_to,
            }),
            now,
        )?;
        Ok(ImportReport {
            ok: true,
            file: name,
            cards: u64::try_from(summary.cards).unwrap_or(0),
            replaced: u64::try_from(summary.replaced).unwrap_or(0),
            total: u64::try_from(summary.total).unwrap_or(0),
            rows: summary.rows,
            issues: Vec::new(),
            more: 0,
            notes,
            saved_to,
        })
    }

    /// Copies an imported file into [`RATES_DIR`] and lists it in `[rates] cards` of the
    /// configuration file as it is now (several imports in one run add up), so the next start
    /// loads it. A listed file whose cards the import all replaced is taken off the list (else
    /// the next start would load two versions of the same cards); one that still holds other
    /// cards stays, with a note. Returns where the file was kept and the notes.
    fn keep_imported(&mut self, file: &Path, now: DateTime<Utc>) -> Result<(String, Vec<String>)> {
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |source| Error::Io { path: p, source }
        };
        let dir = self.data_dir.join(RATES_DIR);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let name = file.file_name().ok_or_else(|| Error::Invalid {
            place: file.display().to_string(),
            message: "not a file name".into(),
        })?;
        let kept = dir.join(name);
        let canon = |p: &Path| std::fs::canonicalize(p).ok();
        if canon(file).is_none() || canon(file) != canon(&kept) {
            std::fs::copy(file, &kept).map_err(io(&kept))?;
        }
        let kept_canon = canon(&kept);
        let new_cards = crate::rating::load_file(&kept)
            .map(|f| f.cards)
            .unwrap_or_default();
        let path = self.settings_file();
        let source = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let current = StationConfig::from_toml(&text, &source)?.rates.cards;
        let mut notes = Vec::new();
        let mut list: Vec<String> = Vec::with_capacity(current.len() + 1);
        let mut covered = false;
        for p in &current {
            if p.is_dir() {
                // A listed folder already loads the kept file when it is that folder.
                covered |= canon(p).is_some() && canon(p) == canon(&dir);
                list.push(p.display().to_string());
                continue;
            }
            if canon(p).is_some() && canon(p) == kept_canon {
                covered = true;
                list.push(p.display().to_string());
                continue;
            }
            let replaced = crate::rating::load_file(p).map_or(0, |f| {
                let n = f
                    .cards
                    .iter()
                    .filter(|c| {
                        new_cards.iter().any(|n| {
                            n.carrier == c.carrier
                                && n.service == c.service
                                && n.effective_from == c.effective_from
                        })
                    })
                    .count();
                if n > 0 && n == f.cards.len() {
                    usize::MAX
                } else {
                    n
                }
            });
            match replaced {
                0 => list.push(p.display().to_string()),
                usize::MAX => notes.push(format!(
                    "{} taken off [rates] cards: the import replaces all its cards",
                    p.display()
                )),
                n => {
                    notes.push(format!(
                        "{} still holds {n} card(s) this import replaces: remove them there before the next start",
                        p.display()
                    ));
                    list.push(p.display().to_string());
                }
            }
        }
        if !covered {
            list.push(kept.display().to_string());
        }
        let before: Vec<String> = current.iter().map(|p| p.display().to_string()).collect();
        if list != before {
            let (out, applied) = config_edit::apply(
                &text,
                &[Change {
                    field: "rates.cards".into(),
                    value: serde_json::json!(list),
                }],
                &source,
            )?;
            config_edit::write_atomic(&path, &out)?;
            self.audit_action(
                "settings_changed",
                &serde_json::json!({ "file": source, "changes": applied }),
                now,
            )?;
        }
        Ok((rel_or_abs(&self.data_dir, &kept), notes))
    }
}
