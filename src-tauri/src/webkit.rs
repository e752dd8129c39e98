//! WebKitGTK tuning for the bench PC (Linux only; Windows uses WebView2 and needs none of it).
//!
//! Measured with `cargo bench -p packbench-app --bench startup` under Xvfb: WebKitGTK's DMA-BUF
//! renderer composites through Mesa (llvmpipe when there is no GPU) and costs about 85 MB of PSS
//! in the web process for a page of static panels; the memory cache keeps every decoded label
//! preview (a 100×150 mm PNG decodes to ~3.8 MB of pixels) long after the next label replaced
//! it. The packing screen needs neither: it is redrawn a few times per scan, so it renders in
//! software and keeps no dead resources. `PACKBENCH_GPU=1` keeps WebKit's defaults (e.g. for a
//! kiosk with a real GPU and a 4K screen).
//!
//! The app process itself renders a PDF and a PNG preview per parcel (buffers of 0.1–1 MB):
//! with glibc's default dynamic mmap threshold those end up in the arenas and stay there, about
//! 10 MB more after 1,000 packs. A fixed 64 KiB mmap/trim threshold returns them to the system.

/// Before any WebKit object exists: turn the DMA-BUF/GL renderer off unless `PACKBENCH_GPU=1`
/// or the operator already chose (`WEBKIT_DISABLE_DMABUF_RENDERER` set either way).
pub fn before_start() {
    if gpu_wanted() || std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_some() {
        return;
    }
    // Called first thing in `run()`, before any thread of ours exists.
    std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
}

/// glibc only: large buffers straight from mmap (given back on free) and the heap trimmed past
/// 64 KiB of free top.
pub fn tune_allocator() {
    #[cfg(target_env = "gnu")]
    {
        const THRESHOLD: libc::c_int = 64 * 1024;
        // SAFETY: mallopt only sets allocator parameters; it is called before any other thread
        // of ours exists and takes no pointers.
        #[allow(unsafe_code)]
        let ok = unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD) == 1
        };
        if !ok {
            eprintln!("packbench: allocator thresholds not applied (mallopt refused)");
        }
    }
}

fn gpu_wanted() -> bool {
    std::env::var("PACKBENCH_GPU").is_ok_and(|v| v == "1")
}

/// On the created window: a document-viewer cache model (no dead decoded images kept), no page
/// cache (one page that never navigates), no WebGL/media stack the UI does not use.
pub fn tune(window: &tauri::WebviewWindow) {
    if gpu_wanted() {
        return;
    }
    let tuned = window.with_webview(|pv| {
        use webkit2gtk::{CacheModel, SettingsExt, WebContextExt, WebViewExt};
        let view = pv.inner();
        if let Some(ctx) = view.context() {
            ctx.set_cache_model(CacheModel::DocumentViewer);
        }
        if let Some(s) = WebViewExt::settings(&view) {
            s.set_enable_page_cache(false);
            s.set_enable_webgl(false);
            s.set_enable_media(false);
            s.set_enable_media_stream(false);
            s.set_enable_mediasource(false);
            s.set_enable_html5_database(false);
            s.set_enable_offline_web_application_cache(false);
        }
    });
    if let Err(e) = tuned {
        eprintln!("packbench: WebKit settings not applied: {e}");
    }
}
