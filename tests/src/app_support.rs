//! The first steps of the headless scenarios: opening a configured `station::app::App` in a
//! test directory, signing a packer in, and the scans that fill demo order DEMO0001.

use chrono::Utc;
use domain::verify::Role;
use station::app::{App, AppConfig, AppEvent, SignInRequest};
use std::path::Path;
use std::sync::mpsc;

/// Writes `toml` as `station.toml` in `dir` and opens the app on it; panics (test support)
/// when the configuration is refused.
pub fn open_configured(dir: &Path, toml: &str) -> (App, mpsc::Receiver<AppEvent>) {
    let cfg_file = dir.join("station.toml");
    #[allow(clippy::expect_used)]
    std::fs::write(&cfg_file, toml).expect("write station.toml");
    let (tx, rx) = mpsc::channel();
    let app = App::open(
        &AppConfig {
            data_dir: dir.to_path_buf(),
            config_file: Some(cfg_file),
        },
        tx,
        Utc::now(),
    );
    #[allow(clippy::expect_used)]
    let app = app.expect("the app opens on the test configuration");
    (app, rx)
}

/// Signs packer `operator` in (no PIN).
pub fn sign_in_packer(app: &mut App, operator: &str) {
    let r = app.sign_in(
        SignInRequest {
            operator: operator.into(),
            role: Role::Packer,
            station: String::new(),
            pin: String::new(),
        },
        Utc::now(),
    );
    #[allow(clippy::expect_used)]
    r.expect("packer signs in");
}

/// The scans that fill demo order DEMO0001: its waybill, then 2 × tea and 1 × cup (the order
/// then waits for the scale).
pub fn demo0001_scans() -> Vec<station::station::Intent> {
    [
        "SF1000000007907",
        "6901230010002",
        "6901230010002",
        "6901230011375",
    ]
    .into_iter()
    .map(|c| station::station::Intent::Scan { code: c.into() })
    .collect()
}
