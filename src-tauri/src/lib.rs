//! PackBench Tauri shell: commands of a few lines over the headless station facade
//! ([`station::app`]), one closed event enum mapped to typed events in one place
//! ([`forward_events`]), live weight on a [`tauri::ipc::Channel`], errors as `{code, message}`.
//!
//! This crate holds no business logic: every command hands an intent to the station thread
//! (which owns SQLite and the devices) and returns the view model it answers with. Blocking work
//! never runs on the async runtime: commands wait for the station thread in `spawn_blocking`.
//! The webview gets only these commands (see `capabilities/default.json`): no shell, fs, dialog
//! or raw-serial access.

use chrono::{DateTime, Utc};
use station::app::preview_file;
use station::app::{
    App, AppConfig, AppEvent, AppHandle, AppView, Bootstrap, DeviceView, DiagRequest, DiagResult,
    ImportReport, OverrideRequest, QueueView, ReportRequest, SaveRequest, SaveResult, ScaleAction,
    SettingsView, ShiftReport, SignInRequest, WedgeKey, WedgeResult, WeightReading,
};
use station::error::WireError;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tauri::http;
use tauri::ipc::Channel;
use tauri::{AppHandle as TauriHandle, Emitter, Manager, State, UriSchemeResponder};

/// Typed event names: the only place they are spelled (the UI listens to the same strings).
pub mod events {
    /// The whole view model changed (scan from the wedge or scale, sync, alarms).
    pub const VIEW: &str = "pb://view";
    /// Raw device bytes for the diagnostics page.
    pub const RAW: &str = "pb://raw";
    /// The upload queue changed.
    pub const QUEUE: &str = "pb://queue";
    /// Keys the wedge decoder released as typing after a silence.
    pub const KEYS: &str = "pb://keys";
    /// Rate-card import progress (`{file, rows_read, rows_total}`).
    pub const IMPORT_PROGRESS: &str = "pb://import-progress";
}

/// Shared state of the shell: the station handle and the live-weight channel.
pub struct Bench {
    station: AppHandle,
    weight: Arc<Mutex<Option<Channel<WeightReading>>>>,
    latest: Latest,
    started: Instant,
    ready_reported: Mutex<bool>,
}

impl Bench {
    /// Runs `f` on the station thread and waits for it without blocking the async runtime.
    async fn run<R, F>(&self, f: F) -> Result<R, WireError>
    where
        R: Send + 'static,
        F: FnOnce(&mut App, DateTime<Utc>) -> station::Result<R> + Send + 'static,
    {
        let h = self.station.clone();
        match tauri::async_runtime::spawn_blocking(move || h.call(f)).await {
            Ok(r) => r.map_err(|e| e.to_wire()),
            Err(e) => Err(WireError {
                code: "internal".into(),
                message: format!("station call failed: {e}"),
            }),
        }
    }
}

#[cfg(target_os = "linux")]
mod webkit;

type Res<T> = Result<T, WireError>;

/// The latest view the station pushed, waiting for the window to fetch it.
type Latest = Arc<Mutex<Option<Box<AppView>>>>;

/// The view announced by the last `pb://view` event (taken: a second call answers `null`
/// until the next event).
#[tauri::command]
fn latest_view(bench: State<'_, Bench>) -> Option<Box<AppView>> {
    bench
        .latest
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
}

/// What the UI needs to start: operators, reasons, demo flag and the first view.
#[tauri::command]
async fn bootstrap(bench: State<'_, Bench>) -> Res<Bootstrap> {
    bench.run(|app, now| app.bootstrap(now)).await
}

/// The UI has rendered and is listening: marks start-to-interactive (printed once) and, when
/// `PACKBENCH_BENCH_PACKS` is set, starts the simulated packs of the memory benchmark.
#[tauri::command]
fn ui_ready(bench: State<'_, Bench>) {
    let mut done = bench
        .ready_reported
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if *done {
        return;
    }
    *done = true;
    println!(
        "packbench: interactive after {} ms",
        bench.started.elapsed().as_millis()
    );
    let packs: u64 = std::env::var("PACKBENCH_BENCH_PACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if packs > 0 {
        let h = bench.station.clone();
        let spawned = std::thread::Builder::new()
            .name("pb-bench-packs".into())
            .spawn(move || run_bench_packs(&h, packs));
        if let Err(e) = spawned {
            eprintln!("packbench: could not start the simulated packs: {e}");
        }
    }
}

/// Packs `n` synthetic orders through the station, reporting every 250 on stdout. Waits for a
/// line on stdin first, so the benchmark can sample memory before the packs.
fn run_bench_packs(h: &AppHandle, n: u64) {
    const REPORT_EVERY: u64 = 250;
    let mut go = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut go) {
        eprintln!("packbench: no start signal on stdin: {e}");
        return;
    }
    for i in 0..n {
        if let Err(e) = h.call(move |app, now| app.simulate_pack(i, now)) {
            println!("packbench: packs {i} failed: {e}");
            return;
        }
        let done = i + 1;
        if done == n {
            println!("packbench: packs {done} done");
        } else if done % REPORT_EVERY == 0 {
            println!("packbench: packs {done}");
        }
    }
}

/// Signs an operator in at this station.
#[tauri::command]
async fn sign_in(bench: State<'_, Bench>, req: SignInRequest) -> Res<AppView> {
    bench.run(move |app, now| app.sign_in(req, now)).await
}

/// Signs the operator out.
#[tauri::command]
async fn sign_out(bench: State<'_, Bench>) -> Res<AppView> {
    bench.run(|app, now| app.sign_out(now)).await
}

/// A whole scanned code (demo panel or a scanner the station does not own).
#[tauri::command]
async fn scan(bench: State<'_, Bench>, code: String) -> Res<AppView> {
    bench.run(move |app, now| app.scan(&code, now)).await
}

/// Raw key events with timestamps for the station's keyboard-wedge decoder.
#[tauri::command]
async fn wedge_keys(bench: State<'_, Bench>, keys: Vec<WedgeKey>) -> Res<WedgeResult> {
    bench.run(move |app, now| app.wedge_keys(&keys, now)).await
}

/// Supervisor override of the current alarm or blocker (PIN + reason).
#[tauri::command]
async fn supervisor_override(bench: State<'_, Bench>, req: OverrideRequest) -> Res<AppView> {
    bench
        .run(move |app, now| app.supervisor_override(req, now))
        .await
}

/// Short pack: ship what was scanned, authorised by a supervisor.
#[tauri::command]
async fn short_pack(bench: State<'_, Bench>, req: OverrideRequest) -> Res<AppView> {
    bench.run(move |app, now| app.short_pack(req, now)).await
}

/// Undoes the last accepted scan.
#[tauri::command]
async fn undo(bench: State<'_, Bench>) -> Res<AppView> {
    bench.run(|app, now| app.undo(now)).await
}

/// Drops the captured weight and waits for a new one.
#[tauri::command]
async fn reweigh(bench: State<'_, Bench>) -> Res<AppView> {
    bench.run(|app, now| app.reweigh(now)).await
}

/// Prints the last label again (same label id and data).
#[tauri::command]
async fn reprint(bench: State<'_, Bench>) -> Res<AppView> {
    bench.run(|app, now| app.reprint(now)).await
}

/// Acknowledges the current alarm.
#[tauri::command]
async fn acknowledge(bench: State<'_, Bench>) -> Res<AppView> {
    bench.run(|app, now| app.acknowledge(now)).await
}

/// Demo mode: place or remove the parcel on the simulated scale.
#[tauri::command]
async fn demo_scale(bench: State<'_, Bench>, action: ScaleAction) -> Res<AppView> {
    bench.run(move |app, now| app.demo_scale(action, now)).await
}

/// Subscribes the page to live weight readings.
#[tauri::command]
fn watch_weight(bench: State<'_, Bench>, channel: Channel<WeightReading>) {
    *bench.weight.lock().unwrap_or_else(|p| p.into_inner()) = Some(channel);
}

/// Upload queue and sync status.
#[tauri::command]
async fn queue_status(bench: State<'_, Bench>) -> Res<QueueView> {
    bench.run(|app, now| app.queue_status(now)).await
}

/// Moves dead letters back to pending.
#[tauri::command]
async fn retry_dead(bench: State<'_, Bench>) -> Res<QueueView> {
    bench.run(|app, now| app.retry_dead(now)).await
}

/// Device status.
#[tauri::command]
async fn devices(bench: State<'_, Bench>) -> Res<Vec<DeviceView>> {
    bench.run(|app, now| app.devices(now)).await
}

/// Diagnostics: protocol probe or test print.
#[tauri::command]
async fn diagnose(bench: State<'_, Bench>, req: DiagRequest) -> Res<DiagResult> {
    bench.run(move |app, now| app.diagnose(req, now)).await
}

/// The shift report of a window (default: the current shift), from the store.
#[tauri::command]
async fn shift_report(bench: State<'_, Bench>, req: Option<ReportRequest>) -> Res<ShiftReport> {
    bench
        .run(move |app, now| app.shift_report_for(req.unwrap_or_default(), now))
        .await
}

/// Saves an admin's settings changes to the configuration file.
#[tauri::command]
async fn save_settings(bench: State<'_, Bench>, req: SaveRequest) -> Res<SaveResult> {
    bench.run(move |app, now| app.save_settings(req, now)).await
}

/// Restarts the app so saved settings take effect (admins).
#[tauri::command]
async fn restart_app(bench: State<'_, Bench>, handle: TauriHandle) -> Res<()> {
    bench.run(|app, now| app.authorize_restart(now)).await?;
    bench.station.shutdown();
    handle.restart()
}

/// The settings page (supervisors read, admins edit).
#[tauri::command]
async fn settings(bench: State<'_, Bench>) -> Res<SettingsView> {
    bench.run(|app, _now| app.settings()).await
}

/// Imports a rate card file (admins), with progress events and every row problem.
#[tauri::command]
async fn import_rates(bench: State<'_, Bench>, path: String) -> Res<ImportReport> {
    bench
        .run(move |app, now| app.import_rates(&path, now))
        .await
}

/// The custom protocol that serves label previews to the window by file name
/// (`pbpreview://localhost/NAME.png`; `http://pbpreview.localhost/NAME.png` on Windows).
pub const PREVIEW_SCHEME: &str = "pbpreview";

/// Answers a preview request off the UI thread: the PNG named by `path` in the preview folder,
/// 404 for anything else (the name is checked by [`station::app::preview_file`]).
fn serve_preview(dir: Option<PathBuf>, path: &str, responder: UriSchemeResponder) {
    let name = path.trim_start_matches('/').to_string();
    tauri::async_runtime::spawn_blocking(move || {
        let found = dir
            .ok_or_else(|| "labels are not printed at this station".to_string())
            .and_then(|d| preview_file(&d, &name).map_err(|e| e.to_string()))
            .and_then(|p| std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display())));
        let response = match found {
            Ok(png) => http::Response::builder()
                .header(http::header::CONTENT_TYPE, "image/png")
                .header(http::header::CACHE_CONTROL, "no-store")
                .body(png),
            Err(e) => http::Response::builder()
                .status(http::StatusCode::NOT_FOUND)
                .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(e.into_bytes()),
        };
        match response {
            Ok(r) => responder.respond(r),
            Err(e) => eprintln!("packbench: preview response: {e}"),
        }
    });
}

/// Maps every station event to its typed Tauri event (or the weight channel). The one place
/// where [`AppEvent`] variants meet event names.
pub fn forward_events(
    handle: &TauriHandle,
    weight: &Mutex<Option<Channel<WeightReading>>>,
    latest: &Mutex<Option<Box<AppView>>>,
    event: AppEvent,
) {
    let sent = match event {
        // The view is kept here and the window fetches it (`latest_view`): the event itself is
        // the same few bytes every time. WebKit compiles every distinct script it is asked to
        // run and keeps the code, so pushing each view inline grew the web process by ~15 MB
        // per 1,000 packs.
        AppEvent::View(v) => {
            *latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            handle.emit(events::VIEW, ())
        }
        AppEvent::Raw(r) => handle.emit(events::RAW, r),
        AppEvent::Queue(q) => handle.emit(events::QUEUE, q),
        AppEvent::Released(k) => handle.emit(events::KEYS, k),
        AppEvent::ImportProgress(p) => handle.emit(events::IMPORT_PROGRESS, p),
        AppEvent::Weight(w) => {
            let guard = weight.lock().unwrap_or_else(|p| p.into_inner());
            match guard.as_ref() {
                Some(ch) => ch.send(w),
                None => Ok(()),
            }
        }
    };
    if let Err(e) = sent {
        eprintln!("packbench: could not deliver an event to the window: {e}");
    }
}

/// Builds and runs the app: demo mode unless hardware is configured (see [`AppConfig::from_env`]).
pub fn run() {
    let started = Instant::now();
    #[cfg(target_os = "linux")]
    {
        webkit::tune_allocator();
        webkit::before_start();
    }
    let config = match AppConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("packbench: configuration: {e}");
            std::process::exit(2);
        }
    };
    let (station, rx) = match AppHandle::start(config, Utc::now) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("packbench: the station could not start: {e}");
            std::process::exit(1);
        }
    };
    let weight: Arc<Mutex<Option<Channel<WeightReading>>>> = Arc::default();
    let latest: Latest = Arc::default();
    let bench = Bench {
        station: station.clone(),
        weight: weight.clone(),
        latest: latest.clone(),
        started,
        ready_reported: Mutex::new(false),
    };
    let previews = station
        .call(|app, _now| Ok(app.preview_dir()))
        .unwrap_or_default();
    let result = tauri::Builder::default()
        .manage(bench)
        .register_asynchronous_uri_scheme_protocol(PREVIEW_SCHEME, move |_ctx, req, responder| {
            serve_preview(previews.clone(), req.uri().path(), responder);
        })
        .setup(move |app| {
            let handle = app.handle().clone();
            std::thread::Builder::new()
                .name("pb-events".into())
                .spawn(move || {
                    for ev in rx {
                        forward_events(&handle, &weight, &latest, ev);
                    }
                })?;
            if let Some(w) = app.get_webview_window("main") {
                #[cfg(target_os = "linux")]
                webkit::tune(&w);
                let _ = w.set_focus();
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            bootstrap,
            latest_view,
            ui_ready,
            sign_in,
            sign_out,
            scan,
            wedge_keys,
            supervisor_override,
            short_pack,
            undo,
            reweigh,
            reprint,
            acknowledge,
            demo_scale,
            watch_weight,
            queue_status,
            retry_dead,
            devices,
            diagnose,
            shift_report,
            settings,
            import_rates,
            save_settings,
            restart_app,
        ])
        .run(tauri::generate_context!());
    station.shutdown();
    if let Err(e) = result {
        eprintln!("packbench: the window could not start: {e}");
        std::process::exit(1);
    }
}
