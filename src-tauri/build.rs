//! Tauri build script: generates the context from tauri.conf.json.
fn main() {
    tauri_build::build()
}
