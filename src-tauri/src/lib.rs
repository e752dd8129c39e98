//! PackBench Tauri shell: commands of a few lines over the headless station.

/// Builds and runs the app.
pub fn run() {
    let result = tauri::Builder::default().run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("packbench: the window could not start: {e}");
        std::process::exit(1);
    }
}
