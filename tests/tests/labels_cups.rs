//! The CUPS spooler path with a fake `lp` and `lpstat` placed first on `PATH`: our invocation
//! (`-d QUEUE -t TITLE`, `-o raw` for TSPL/ZPL, none for PDF, the job on standard input), the
//! job id parsed from `request id is QUEUE-42`, the print queue recording it, a refused job
//! reported with the queue and `lp`'s own words, and the queue status from `lpstat`.
//! One test only: it changes this process's `PATH`, so nothing else may run beside it.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use drivers::printer::{self, Condition, JobKind, Language, PrinterAddr, PrinterError, Timeouts};
use labels::{Format, LabelData};
use station::printing::{JobState, LabelsConfig, PrintEvent, PrintQueue};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn cups_spooler_through_a_fake_lp_on_path() {
    let bin = tempfile::tempdir().unwrap();
    let rec = tempfile::tempdir().unwrap();
    let r = rec.path().display();
    script(
        bin.path(),
        "lp",
        &format!(
            "n=$(ls '{r}' | wc -l)\n\
             printf '%s\\n' \"$@\" > '{r}/args'$n\n\
             if [ \"$2\" = Missing ]; then echo 'lp: The printer or class does not exist.' >&2; exit 1; fi\n\
             cat > '{r}/stdin'$n\n\
             echo \"request id is $2-4$n (0 file(s))\"\n"
        ),
    );
    script(
        bin.path(),
        "lpstat",
        "echo \"printer $2 disabled since Tue 25 Nov 2026 14:03:00 -\"\nprintf '\\tMedia empty\\n'\n",
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.path().to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    std::env::set_var("PATH", std::env::join_paths(dirs).unwrap());
    let t = Timeouts {
        connect: Duration::from_secs(2),
        write: Duration::from_secs(5),
        read: Duration::from_secs(2),
    };

    // 1. A raw job straight through the driver.
    let addr: PrinterAddr = "cups:Zebra_ZD420".parse().unwrap();
    let job = b"^XA^FO20,20^A0N,30,30^FDtest^FS^XZ\n";
    let rep = printer::send(&addr, job, JobKind::Raw, "L1-job", &t).unwrap();
    assert_eq!(rep.reference.as_deref(), Some("Zebra_ZD420-40"));
    let args = std::fs::read_to_string(rec.path().join("args0")).unwrap();
    assert_eq!(args, "-d\nZebra_ZD420\n-t\nL1-job\n-o\nraw\n");
    assert_eq!(std::fs::read(rec.path().join("stdin0")).unwrap(), job);

    // 2. The print queue sends a PDF label (no `-o raw`) and records lp's job id.
    let cfg = LabelsConfig {
        template: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../labels/templates/express-100x150.toml"),
        format: Format::Pdf,
        printer: "cups:Office".into(),
        retries: 0,
        ..LabelsConfig::default()
    };
    let clock: station::printing::Clock = Arc::new(|| {
        chrono::DateTime::parse_from_rfc3339("2026-11-25T06:03:00Z")
            .unwrap()
            .to_utc()
    });
    match PrintQueue::start(":memory:", cfg.clone(), clock.clone()) {
        Ok(q) => {
            let events: Arc<Mutex<Vec<PrintEvent>>> = Arc::default();
            let ev = events.clone();
            q.set_listener(Arc::new(move |e| ev.lock().unwrap().push(e)));
            let id = q.submit(&LabelData::sample(), Some("r1"), None).unwrap();
            let j = q.wait(&id, Duration::from_secs(10)).unwrap();
            assert_eq!(j.state, JobState::Printed, "{j:?}");
            let printed = events
                .lock()
                .unwrap()
                .iter()
                .find(|e| e.state == JobState::Printed)
                .cloned()
                .unwrap();
            assert_eq!(printed.message, "printed (Office-42)");
            let args = std::fs::read_to_string(rec.path().join("args2")).unwrap();
            assert!(args.starts_with("-d\nOffice\n-t\nLBL-0001-"), "{args}");
            assert!(!args.contains("raw"), "{args}");
            let pdf = std::fs::read(rec.path().join("stdin2")).unwrap();
            assert!(pdf.starts_with(b"%PDF-"));
        }
        Err(e) if e.to_string().contains("font") => eprintln!("skipped the PDF queue: {e}"),
        Err(e) => panic!("{e}"),
    }

    // 3. A queue the spooler does not know: failed, with the queue and lp's words.
    let q = PrintQueue::start(
        ":memory:",
        LabelsConfig {
            format: Format::Zpl,
            printer: "cups:Missing".into(),
            ..cfg
        },
        clock,
    )
    .unwrap();
    let id = q.submit(&LabelData::sample(), None, None).unwrap();
    let j = q.wait(&id, Duration::from_secs(10)).unwrap();
    assert_eq!(j.state, JobState::Failed);
    let msg = j.last_error.unwrap();
    for w in [
        "打印任务被拒绝 / print job refused",
        "cups:Missing",
        "does not exist",
    ] {
        assert!(msg.contains(w), "{msg:?} lacks {w:?}");
    }
    let e = printer::send(
        &"cups:Missing".parse().unwrap(),
        b"x",
        JobKind::Raw,
        "t",
        &t,
    )
    .unwrap_err();
    assert!(matches!(e, PrinterError::Spooler { .. }), "{e}");

    // 4. Status from lpstat: a disabled queue with a media message.
    let st = printer::query_status(&addr, Language::Tspl, &t).unwrap();
    assert_eq!(st.conditions, vec![Condition::Paused, Condition::PaperOut]);
    assert!(!st.is_ready());
    assert!(st.message().contains("缺纸"), "{}", st.message());
}
