#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The devices page's diagnostics over configured hardware: the scale probe on a pseudo-terminal
//! scale (the scale thread releases the port, the prober finds MT-SICS, the scale comes back),
//! a test print and a status query on a loopback TCP TSPL printer (ready, then paper out), the
//! scanner test listing recent scans with their AIM symbology, and the demo's simulated tower
//! light and PDF printer.

use chrono::Utc;
use station::app::{App, AppConfig, AppEvent, DiagRequest};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(8);

fn req(device: &str, action: &str) -> DiagRequest {
    DiagRequest {
        device: device.into(),
        action: action.into(),
    }
}

fn open(dir: &Path, toml: &str) -> (App, mpsc::Receiver<AppEvent>) {
    packbench_tests::app_support::open_configured(dir, toml)
}

fn device_status(app: &mut App, id: &str) -> Option<String> {
    app.devices(Utc::now())
        .unwrap()
        .into_iter()
        .find(|d| d.id == id)
        .map(|d| d.status)
}

/// Steps the app until the device reports `status`.
fn tick_until_status(app: &mut App, id: &str, status: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        app.tick(Utc::now()).unwrap();
        if device_status(app, id).as_deref() == Some(status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never {status}: {:#?}",
            app.devices(Utc::now()).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn scale_probe_releases_the_port_finds_the_protocol_and_resumes() {
    use drivers::scale::sim::{PtySimulator, VirtualScale};
    use drivers::scale::{Protocol, Unit};
    let dir = tempfile::tempdir().unwrap();
    let sim = PtySimulator::start(
        VirtualScale::new(Protocol::MtSics, Unit::G, Vec::new()),
        None,
    )
    .unwrap();
    let toml = format!(
        "db_path = \"{}\"\n[labels]\nenabled = false\n[scale]\nport = \"{}\"\nprotocol = \"mt-sics\"\n",
        dir.path().join("station.db").display(),
        sim.path().display()
    );
    let (mut app, _events) = open(dir.path(), &toml);
    tick_until_status(&mut app, "scale", "ok");

    let started = Instant::now();
    let r = app.diagnose(req("scale", "probe"), Utc::now()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(7), "{r:?}");
    assert!(r.summary.starts_with("mt-sics @ "), "{r:?}");
    assert!(r.summary.contains("9600 8N1"), "{r:?}");
    assert!(r.summary.contains("configured: mt-sics"), "{r:?}");
    // The first line is the configured baud with the raw bytes heard (an MT-SICS reply).
    let first = &r.lines[0];
    assert!(first.starts_with("9600 8N1: "), "{r:#?}");
    assert!(first.contains("S S "), "{r:#?}");
    assert!(
        r.lines
            .iter()
            .any(|l| l.starts_with("  mt-sics (") && l.contains(" confidence): ")),
        "{r:#?}"
    );
    assert!(
        r.lines.iter().any(|l| l.contains("sample: weight")),
        "{r:#?}"
    );

    // The scale thread is back on the port.
    tick_until_status(&mut app, "scale", "ok");
    app.shutdown();
}

#[test]
fn scale_probe_without_a_scale_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "db_path = \"{}\"\n[labels]\nenabled = false\n",
        dir.path().join("station.db").display()
    );
    let (mut app, _events) = open(dir.path(), &toml);
    let e = app
        .diagnose(req("scale", "probe"), Utc::now())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("diagnostics of scale") && e.contains("[scale]"),
        "{e}"
    );
    let e = app
        .diagnose(req("tower-light", "test"), Utc::now())
        .unwrap_err()
        .to_string();
    assert!(e.contains("[tower_light]"), "{e}");
    let e = app
        .diagnose(req("scale", "dance"), Utc::now())
        .unwrap_err()
        .to_string();
    assert!(e.contains("dance is not available"), "{e}");
}

/// A network TSPL printer on 127.0.0.1: answers `ESC !?` with a status byte, keeps jobs.
struct FakePrinter {
    port: u16,
    jobs: Arc<Mutex<Vec<Vec<u8>>>>,
    status: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
}

impl FakePrinter {
    fn start() -> FakePrinter {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let jobs = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU8::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (j, s, st) = (jobs.clone(), status.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => serve(c, &j, &s),
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FakePrinter {
            port,
            jobs,
            status,
            stop,
        }
    }
}

impl Drop for FakePrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(mut c: TcpStream, jobs: &Mutex<Vec<Vec<u8>>>, status: &AtomicU8) {
    c.set_nonblocking(false).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match c.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if buf == b"\x1b!?" {
            let _ = c.write_all(&[status.load(Ordering::SeqCst)]);
            buf.clear();
        }
    }
    if !buf.is_empty() {
        jobs.lock().unwrap().push(buf);
    }
}

#[test]
fn printer_test_print_and_status_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let printer = FakePrinter::start();
    let template =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../labels/templates/express-100x150.toml");
    let toml = format!(
        r#"
db_path = "{db}"
station_id = "diag-bench"
[labels]
template = "{template}"
format = "tspl"
printer = "tcp://127.0.0.1:{port}"
preview_dir = "{preview}"
check_status = false
retries = 0
"#,
        db = dir.path().join("station.db").display(),
        template = template.display(),
        port = printer.port,
        preview = dir.path().join("preview").display(),
    );
    let (mut app, _events) = open(dir.path(), &toml);

    let r = app
        .diagnose(req("printer", "test_print"), Utc::now())
        .unwrap();
    assert!(
        r.summary
            .starts_with("test label printed on tcp://127.0.0.1:"),
        "{r:#?}"
    );
    assert!(r.lines.iter().any(|l| l == "format: tspl"), "{r:#?}");
    // The printer files the job when the connection closes, a moment after the queue's send.
    let deadline = Instant::now() + WAIT;
    while printer.jobs.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let jobs = printer.jobs.lock().unwrap().clone();
    assert_eq!(jobs.len(), 1, "one job on the printer");
    let job = String::from_utf8_lossy(&jobs[0]);
    assert!(job.contains("PRINT"), "a TSPL job: {job}");
    assert!(
        job.contains("diag-bench"),
        "the station id is on the test label"
    );

    let r = app.diagnose(req("printer", "status"), Utc::now()).unwrap();
    assert!(r.summary.contains("ready"), "{r:#?}");
    assert!(r.lines.iter().any(|l| l.contains("\\x1b!?")), "{r:#?}");
    printer.status.store(0x04, Ordering::SeqCst);
    let r = app.diagnose(req("printer", "status"), Utc::now()).unwrap();
    assert!(r.summary.contains("paper out"), "{r:#?}");
    assert!(r.lines.iter().any(|l| l == "reply: 04"), "{r:#?}");
    drop(printer);

    // An unreachable printer: a test print fails with the reason, not an app error.
    std::thread::sleep(Duration::from_millis(100));
    let r = app
        .diagnose(req("printer", "test_print"), Utc::now())
        .unwrap();
    assert!(
        r.summary.starts_with("test label failed on tcp://"),
        "{r:#?}"
    );
    assert!(
        r.lines.iter().any(|l| l.starts_with("last error:")),
        "{r:#?}"
    );
    app.shutdown();
}

#[test]
fn scanner_test_lists_recent_scans_with_symbology() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _events) = mpsc::channel();
    let mut app = App::open(&AppConfig::demo(dir.path()), tx, Utc::now()).unwrap();
    let r = app
        .diagnose(req("scanner-wedge", "test"), Utc::now())
        .unwrap();
    assert!(r.summary.starts_with("0 recent scan(s)"), "{r:#?}");
    app.scan("]E06901234567892", Utc::now()).unwrap();
    app.scan("]C1SF1234567890", Utc::now()).unwrap();
    app.scan("PLAIN-CODE", Utc::now()).unwrap();
    let r = app
        .diagnose(req("scanner-wedge", "test"), Utc::now())
        .unwrap();
    assert!(
        r.summary
            .starts_with("3 recent scan(s), 2 with an AIM symbology id"),
        "{r:#?}"
    );
    // Newest first.
    assert!(r.lines[0].ends_with("(no AIM id) · PLAIN-CODE"), "{r:#?}");
    assert!(r.lines[1].contains("]C1 GS1-128 · SF1234567890"), "{r:#?}");
    assert!(
        r.lines[2].contains("]E0 EAN-13/UPC-A/UPC-E · 6901234567892"),
        "{r:#?}"
    );
}

#[test]
fn demo_light_is_simulated_and_follows_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _events) = mpsc::channel();
    let mut app = App::open(&AppConfig::demo(dir.path()), tx, Utc::now()).unwrap();
    let light = |app: &mut App| {
        app.devices(Utc::now())
            .unwrap()
            .into_iter()
            .find(|d| d.id == "tower-light")
            .expect("the simulated light is listed")
    };
    // Nobody signed in at a station with operators: dark.
    app.view(Utc::now()).unwrap();
    let d = light(&mut app);
    assert_eq!((d.kind.as_str(), d.status.as_str()), ("light", "simulated"));
    assert!(d.detail.starts_with("off · showing off"), "{d:?}");
    packbench_tests::app_support::sign_in_packer(&mut app, "p1");
    let d = light(&mut app);
    assert_eq!((d.kind.as_str(), d.status.as_str()), ("light", "simulated"));
    assert!(
        d.detail.starts_with("idle · showing green blinking"),
        "{d:?}"
    );

    // A demo order, then an unknown item: the stop alarm turns the light red with the buzzer.
    let codes = app.bootstrap(Utc::now()).unwrap().view.demo_codes;
    let open_code = codes.first().expect("a demo order code").code.clone();
    let v = app.scan(&open_code, Utc::now()).unwrap();
    assert!(v.pack.order.is_some(), "{v:#?}");
    assert!(light(&mut app).detail.starts_with("ready · showing green"));
    let v = app.scan("0000000000000", Utc::now()).unwrap();
    assert!(v.alarm.is_some(), "{v:#?}");
    let d = light(&mut app);
    assert!(d.detail.contains("red + buzzer"), "{d:?}");
    app.acknowledge(Utc::now()).unwrap();
    assert!(light(&mut app).detail.starts_with("ready · showing green"));

    let r = app
        .diagnose(req("tower-light", "test"), Utc::now())
        .unwrap();
    assert!(r.summary.contains("the simulated light"), "{r:?}");
    assert_eq!(r.lines.len(), 6, "{r:#?}");
    assert!(r.lines[5].ends_with("back to green"), "{r:#?}");

    // The demo's PDF printer: a test label file.
    let r = app
        .diagnose(req("printer-pdf", "test_print"), Utc::now())
        .unwrap();
    assert!(
        r.summary.starts_with("test label printed on dir:"),
        "{r:#?}"
    );
    let r = app
        .diagnose(req("printer-pdf", "status"), Utc::now())
        .unwrap();
    assert!(r.summary.contains("ready"), "{r:#?}");
}
