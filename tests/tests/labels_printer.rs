//! Printing against a loopback TCP "printer" on 127.0.0.1 that captures job bytes and answers
//! status queries (TSPL `<ESC>!?`, ZPL `~HS`): happy path, printer offline, timeouts, paper
//! out with retries then failure, recovery with retry, reprint with the same label id and data,
//! and the station's label hook in demo mode (PDF files in a folder); every failure in the job
//! log names the printer and the cause. (The spooler is tested in `labels_cups.rs`, which
//! changes `PATH` and so runs in a test binary of its own.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drivers::printer::{self, Condition, JobKind, Language, PrinterAddr, PrinterError, Timeouts};
use labels::{Format, LabelData};
use station::printing::{JobState, LabelsConfig, PrintEvent, PrintQueue};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fake network label printer.
struct FakePrinter {
    port: u16,
    jobs: Arc<Mutex<Vec<Vec<u8>>>>,
    status: Arc<AtomicU8>,
    mute: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

const HS_FMT: &str = "\x02030,{paper},0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,{head},0,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";

impl FakePrinter {
    fn start() -> FakePrinter {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let jobs = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU8::new(0));
        let mute = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (j, s, m, st) = (jobs.clone(), status.clone(), mute.clone(), stop.clone());
        std::thread::spawn(move || {
            // Bounded: the test process ends it; each connection is served in turn.
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => serve(c, &j, &s, &m),
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FakePrinter {
            port,
            jobs,
            status,
            mute,
            stop,
        }
    }
    fn addr(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
    fn jobs(&self) -> Vec<Vec<u8>> {
        self.jobs.lock().unwrap().clone()
    }
}

impl Drop for FakePrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(mut c: TcpStream, jobs: &Mutex<Vec<Vec<u8>>>, status: &AtomicU8, mute: &AtomicBool) {
    c.set_nonblocking(false).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match c.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let s = status.load(Ordering::SeqCst);
        if buf.ends_with(b"\x1b!?") {
            buf.truncate(buf.len() - 3);
            if !mute.load(Ordering::SeqCst) {
                let _ = c.write_all(&[s]);
            }
        } else if buf.ends_with(b"~HS") {
            buf.truncate(buf.len() - 3);
            if !mute.load(Ordering::SeqCst) {
                let reply = HS_FMT
                    .replace("{paper}", if s & 0x04 != 0 { "1" } else { "0" })
                    .replace("{head}", if s & 0x01 != 0 { "1" } else { "0" });
                let _ = c.write_all(reply.as_bytes());
            }
        }
    }
    if !buf.is_empty() {
        jobs.lock().unwrap().push(buf);
    }
}

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        write: Duration::from_millis(1000),
        read: Duration::from_millis(300),
    }
}

fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting");
}

#[test]
fn tcp_job_bytes_arrive_unchanged() {
    let p = FakePrinter::start();
    let addr: PrinterAddr = p.addr().parse().unwrap();
    let job = b"SIZE 100 mm,150 mm\r\nCLS\r\nPRINT 1,1\r\n";
    let r = printer::send(&addr, job, JobKind::Raw, "t", &quick()).unwrap();
    assert_eq!(r.bytes, job.len());
    let jobs = wait_for(|| {
        let j = p.jobs();
        (!j.is_empty()).then_some(j)
    });
    assert_eq!(jobs, vec![job.to_vec()]);
    // PDF cannot go raw to a label printer.
    let e = printer::send(&addr, b"%PDF", JobKind::Pdf, "t", &quick()).unwrap_err();
    assert_eq!(e.code(), "printer_unsupported");
}

#[test]
fn status_queries_decode_conditions() {
    let p = FakePrinter::start();
    let addr: PrinterAddr = p.addr().parse().unwrap();
    let st = printer::query_status(&addr, Language::Tspl, &quick()).unwrap();
    assert!(st.is_ready());
    p.status.store(0x04 | 0x01, Ordering::SeqCst);
    let st = printer::query_status(&addr, Language::Tspl, &quick()).unwrap();
    assert_eq!(
        st.conditions,
        vec![Condition::HeadOpen, Condition::PaperOut]
    );
    assert!(st.message().contains("缺纸"));
    let st = printer::query_status(&addr, Language::Zpl, &quick()).unwrap();
    assert_eq!(
        st.conditions,
        vec![Condition::PaperOut, Condition::HeadOpen]
    );
}

#[test]
fn offline_and_timeout_are_told_apart() {
    // Nothing listens on a port we just released: refused = offline.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr: PrinterAddr = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    let e = printer::send(&addr, b"x", JobKind::Raw, "t", &quick()).unwrap_err();
    assert!(matches!(e, PrinterError::Offline { .. }), "{e}");
    assert!(e.to_string().contains("offline"), "{e}");
    assert!(e.is_transient());

    // A printer that accepts but never answers the status query: timeout.
    let p = FakePrinter::start();
    p.mute.store(true, Ordering::SeqCst);
    let addr: PrinterAddr = p.addr().parse().unwrap();
    let started = std::time::Instant::now();
    let e = printer::query_status(&addr, Language::Zpl, &quick()).unwrap_err();
    assert!(
        matches!(e, PrinterError::Timeout { op: "status", .. }),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

fn templates() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../labels/templates")
}

fn queue_cfg(printer: &str, format: Format, preview: Option<&Path>) -> LabelsConfig {
    LabelsConfig {
        template: templates().join("express-100x150.toml"),
        format,
        printer: printer.to_string(),
        preview_dir: preview.map(Path::to_path_buf),
        retries: 2,
        retry_backoff_ms: 20,
        check_status: true,
        timeouts: station::printing::TimeoutsConfig {
            connect_ms: 500,
            write_ms: 1000,
            read_ms: 300,
        },
        ..LabelsConfig::default()
    }
}

fn clock() -> station::printing::Clock {
    Arc::new(|| {
        chrono::DateTime::parse_from_rfc3339("2026-11-25T06:03:00Z")
            .unwrap()
            .to_utc()
    })
}

#[test]
fn queue_prints_retries_fails_loudly_recovers_and_reprints_identically() {
    let p = FakePrinter::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let q = PrintQueue::start(
        db.to_str().unwrap(),
        queue_cfg(&p.addr(), Format::Tspl, None),
        clock(),
    )
    .unwrap();
    let events: Arc<Mutex<Vec<PrintEvent>>> = Arc::default();
    let ev = events.clone();
    q.set_listener(Arc::new(move |e| ev.lock().unwrap().push(e)));

    // 1. Printed.
    let data = LabelData::sample();
    let job = q.submit(&data, Some("r1"), None).unwrap();
    let done = q.wait(&job, Duration::from_secs(5)).unwrap();
    assert_eq!(done.state, JobState::Printed, "{done:?}");
    assert_eq!(done.attempts, 1);
    let first = wait_for(|| p.jobs().first().cloned());
    assert!(first.starts_with(b"SIZE 100 mm,150 mm\r\n"));

    // 2. Paper out: retried, then failed with the reason; never dropped.
    p.status.store(0x04, Ordering::SeqCst);
    let job2 = q.submit(&data, Some("r1"), None).unwrap();
    let failed = q.wait(&job2, Duration::from_secs(5)).unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.attempts, 3, "first try + 2 retries");
    assert!(
        failed.last_error.as_deref().unwrap().contains("缺纸"),
        "{failed:?}"
    );
    let evs = events.lock().unwrap().clone();
    let last = evs.iter().rev().find(|e| e.job_id == job2).unwrap();
    assert_eq!(last.state, JobState::Failed);
    assert_eq!(last.code.as_deref(), Some("printer_not_ready"));
    assert_eq!(p.jobs().len(), 1, "nothing sent while the paper is out");

    // 3. Paper loaded, operator retries: printed.
    p.status.store(0, Ordering::SeqCst);
    q.retry(&job2).unwrap();
    assert_eq!(
        q.wait(&job2, Duration::from_secs(5)).unwrap().state,
        JobState::Printed
    );

    // 4. Reprint: same label id and data, identical bytes.
    let job3 = q.reprint(&data.label_id).unwrap();
    let re = q.wait(&job3, Duration::from_secs(5)).unwrap();
    assert_eq!(re.state, JobState::Printed);
    assert_eq!(re.label_id, data.label_id);
    assert_eq!(re.data, data);
    assert_eq!(re.reprint_of.as_deref(), Some(job.as_str()));
    let jobs = wait_for(|| {
        let j = p.jobs();
        (j.len() >= 3).then_some(j)
    });
    assert_eq!(jobs[0], jobs[2], "a reprint is the same label");
    assert_eq!(q.jobs_for_label(&data.label_id).unwrap().len(), 3);
}

#[test]
fn queued_jobs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let offline = format!("tcp://127.0.0.1:{port}");
    // Printer offline, no retries: the job fails and is kept.
    let mut cfg = queue_cfg(&offline, Format::Zpl, None);
    cfg.retries = 0;
    let q = PrintQueue::start(db.to_str().unwrap(), cfg, clock()).unwrap();
    let job = q.submit(&LabelData::sample(), None, None).unwrap();
    let j = q.wait(&job, Duration::from_secs(5)).unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert!(j.last_error.unwrap().contains("offline"));
    drop(q);
    // Mark it queued as if the process had died mid-job, then restart against a live printer.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE print_jobs SET state = 'printing'", [])
        .unwrap();
    drop(conn);
    let p = FakePrinter::start();
    let q = PrintQueue::start(
        db.to_str().unwrap(),
        queue_cfg(&p.addr(), Format::Zpl, None),
        clock(),
    )
    .unwrap();
    let j = q.wait(&job, Duration::from_secs(5)).unwrap();
    assert_eq!(j.state, JobState::Printed, "{j:?}");
    let zpl = wait_for(|| p.jobs().first().cloned());
    assert!(zpl.starts_with(b"^XA"));
}

#[test]
fn demo_mode_writes_pdfs_and_previews() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let prev = dir.path().join("preview");
    let cfg = queue_cfg(&format!("dir:{}", out.display()), Format::Pdf, Some(&prev));
    let q = match PrintQueue::start(":memory:", cfg, clock()) {
        Ok(q) => q,
        Err(e) if e.to_string().contains("font") => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let data = LabelData::sample();
    let png = q.preview(&data).unwrap().unwrap();
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let job = q.submit(&data, None, None).unwrap();
    let j = q.wait(&job, Duration::from_secs(10)).unwrap();
    assert_eq!(j.state, JobState::Printed, "{j:?}");
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let pdf = std::fs::read(&files[0]).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert!(pdf.len() < 50 * 1024);
}

/// Each way a print fails leaves a job log entry (and a listener event) that names the printer
/// and says the cause in the packer's words: offline, timed out, head open, paper out, a
/// missing USB device.
#[test]
fn failed_jobs_name_the_printer_and_the_cause() {
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("tcp://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let mute = FakePrinter::start();
    mute.mute.store(true, Ordering::SeqCst);
    let head_open = FakePrinter::start();
    head_open.status.store(0x01, Ordering::SeqCst);
    let paper_out = FakePrinter::start();
    paper_out.status.store(0x04, Ordering::SeqCst);
    let cases: [(&str, Format, &str, &[&str]); 5] = [
        (
            &refused,
            Format::Tspl,
            "printer_offline",
            &["打印机离线 / printer offline", "refused"],
        ),
        (
            &mute.addr(),
            Format::Zpl,
            "printer_timeout",
            &["printer timed out", "status timed out"],
        ),
        (
            &head_open.addr(),
            Format::Tspl,
            "printer_not_ready",
            &["打印头未合上", "print head open"],
        ),
        (
            &paper_out.addr(),
            Format::Zpl,
            "printer_not_ready",
            &["缺纸", "paper out"],
        ),
        (
            "usb:/nonexistent/usb/lp7",
            Format::Tspl,
            "printer_offline",
            &["printer offline", "no printer device", "unplugged"],
        ),
    ];
    for (printer, format, code, want) in cases {
        let mut cfg = queue_cfg(printer, format, None);
        cfg.retries = 0;
        let q = PrintQueue::start(":memory:", cfg, clock()).unwrap();
        let events: Arc<Mutex<Vec<PrintEvent>>> = Arc::default();
        let ev = events.clone();
        q.set_listener(Arc::new(move |e| ev.lock().unwrap().push(e)));
        let job = q.submit(&LabelData::sample(), None, None).unwrap();
        let j = q.wait(&job, Duration::from_secs(5)).unwrap();
        assert_eq!(j.state, JobState::Failed, "{printer}");
        let msg = j.last_error.unwrap();
        assert!(msg.contains(printer), "{msg:?} does not name {printer}");
        for w in want {
            assert!(msg.contains(w), "{printer}: {msg:?} lacks {w:?}");
        }
        let last = wait_for(|| {
            events
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|e| e.job_id == job && e.state == JobState::Failed)
                .cloned()
        });
        assert_eq!(last.code.as_deref(), Some(code), "{printer}");
        assert_eq!(last.message, msg);
    }
}

/// An order with nothing but an order number, a waybill and an address still prints on every
/// shipped template (receiver name and phone, sender, weight, cost, packer all missing); one
/// without the number the label is for (waybill on shipping labels, order on the parcel label)
/// fails as a render error that names the field, and is not retried.
#[test]
fn sparse_orders_print_and_a_missing_key_field_is_a_clear_render_failure() {
    let p = FakePrinter::start();
    let mut sparse = LabelData {
        label_id: "L-SPARSE".into(),
        ..LabelData::default()
    };
    sparse.order.no = "SO1".into();
    sparse.waybill.no = "73100012345678".into();
    sparse.receiver.province = "上海市".into();
    sparse.receiver.address = "博云路2号".into();
    for (template, format, key) in [
        ("express-100x150.toml", Format::Zpl, "waybill.no"),
        ("express-100x180.toml", Format::Tspl, "waybill.no"),
        ("parcel-76x130.toml", Format::Zpl, "order.no"),
    ] {
        let mut cfg = queue_cfg(&p.addr(), format, None);
        cfg.template = templates().join(template);
        cfg.retries = 0;
        let q = match PrintQueue::start(":memory:", cfg, clock()) {
            Ok(q) => q,
            Err(e) if e.to_string().contains("font") => {
                eprintln!("skipped: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let job = q.submit(&sparse, None, None).unwrap();
        let j = q.wait(&job, Duration::from_secs(10)).unwrap();
        assert_eq!(j.state, JobState::Printed, "{template}: {j:?}");

        let mut missing = sparse.clone();
        match key {
            "waybill.no" => missing.waybill.no.clear(),
            _ => missing.order.no.clear(),
        }
        let job = q.submit(&missing, None, None).unwrap();
        let j = q.wait(&job, Duration::from_secs(10)).unwrap();
        assert_eq!(j.state, JobState::Failed, "{template}");
        assert_eq!(j.attempts, 1, "a render error is not retried");
        let msg = j.last_error.unwrap();
        for w in ["标签无法生成", &format!("no value for {{{{{key}}}}}")] {
            assert!(msg.contains(w), "{template}: {msg:?} lacks {w:?}");
        }
    }
}
