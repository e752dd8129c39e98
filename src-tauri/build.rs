//! Tauri build script: generates the context from tauri.conf.json and one `allow-<command>`
//! permission per app command. Because the app manifest lists the commands, a command that the
//! capability does not allow is refused at the IPC boundary.

/// The app's commands; keep in sync with `generate_handler!` in src/lib.rs (a test checks it).
const COMMANDS: &[&str] = &[
    "bootstrap",
    "latest_view",
    "ui_ready",
    "sign_in",
    "sign_out",
    "scan",
    "wedge_keys",
    "supervisor_override",
    "short_pack",
    "undo",
    "reweigh",
    "reprint",
    "acknowledge",
    "demo_scale",
    "watch_weight",
    "queue_status",
    "retry_dead",
    "devices",
    "diagnose",
    "shift_report",
    "settings",
    "import_rates",
    "save_settings",
    "restart_app",
];

fn main() {
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        eprintln!("tauri build failed: {e:#}");
        std::process::exit(1);
    }
}
