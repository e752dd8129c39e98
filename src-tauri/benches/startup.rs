//! Start-to-interactive and memory benchmark of the real app window (a bench binary, not a
//! timed test).
//!
//! * Start to interactive: wall time from spawning the built app (demo mode) until the page has
//!   rendered its first view and reported `ui_ready` (the app prints one line then), over
//!   several runs.
//! * Memory: PSS (`/proc/PID/smaps_rollup`, shared pages split between sharers) summed over the
//!   app and all its descendants (WebKitWebProcess, WebKitNetworkProcess), 5 s after start and
//!   after 1,000 simulated packs (`PACKBENCH_BENCH_PACKS`, the goal's figure) and on to 3,000 to
//!   tell warm-up (caches filling, the JS heap finding its size) from growth, sampled every 250
//!   packs.
//!
//! Run: `cargo bench -p packbench-app --bench startup` (starts its own Xvfb when `DISPLAY` is
//! unset). Linux only (it reads `/proc`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// Runs for the start-up figure.
    const START_RUNS: usize = 5;
    /// Simulated packs for the memory figure (the goal is stated after `GOAL_PACKS`).
    const PACKS: u32 = 3000;
    /// Packs after which the goal's figure is taken.
    const GOAL_PACKS: u32 = 1000;
    /// Idle time before the first memory sample.
    const SETTLE: Duration = Duration::from_secs(5);

    /// The app (and its WebKit processes), killed on drop.
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let kids = tree(self.0.id());
            let _ = self.0.kill();
            let _ = self.0.wait();
            for pid in kids.into_iter().skip(1) {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
            // Let WebKit's processes go before the next start.
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn start_xvfb() -> Option<(Kill, String)> {
        if std::env::var("DISPLAY").is_ok_and(|d| !d.is_empty()) {
            return None;
        }
        let n = (190..290)
            .find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists())
            .expect("no free X display");
        let child = Command::new("Xvfb")
            .args([
                format!(":{n}"),
                "-screen".into(),
                "0".into(),
                "1280x800x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb did not start (apt-get install xvfb)");
        let sock = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let t = Instant::now();
        while !sock.exists() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "Xvfb socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some((Kill(child), format!(":{n}")))
    }

    fn children(pid: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return out;
        };
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // Field 4 (ppid) comes after the parenthesised command name.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            let ppid = rest
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u32>().ok());
            if ppid == Some(pid) {
                out.push(p);
            }
        }
        out
    }

    fn tree(pid: u32) -> Vec<u32> {
        let mut all = vec![pid];
        let mut i = 0;
        while i < all.len() {
            let c = children(all[i]);
            all.extend(c);
            i += 1;
        }
        all
    }

    fn pss_kb(pid: u32) -> u64 {
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            return 0;
        };
        s.lines()
            .find(|l| l.starts_with("Pss:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn name(pid: u32) -> String {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// PSS in MB summed over the process tree, with the per-process breakdown.
    fn pss(pid: u32) -> (f64, String) {
        let mut total = 0;
        let mut parts = Vec::new();
        for p in tree(pid) {
            let kb = pss_kb(p);
            total += kb;
            parts.push(format!("{}={:.0}MB", name(p), kb as f64 / 1024.0));
        }
        (total as f64 / 1024.0, parts.join(" "))
    }

    fn spawn(
        app: &str,
        display: &str,
        data: &Path,
        packs: u32,
    ) -> (
        Kill,
        BufReader<std::process::ChildStdout>,
        std::process::ChildStdin,
    ) {
        let _ = std::fs::remove_dir_all(data);
        let mut child = Command::new(app)
            .env("DISPLAY", display)
            .env("PACKBENCH_DEMO", "1")
            .env("PACKBENCH_DATA_DIR", data)
            .env("PACKBENCH_BENCH_PACKS", packs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(std::env::temp_dir().join("packbench-bench-app.err"))
                    .expect("stderr file"),
            )
            .spawn()
            .expect("app did not start");
        let out = BufReader::new(child.stdout.take().unwrap());
        let stdin = child.stdin.take().unwrap();
        (Kill(child), out, stdin)
    }

    fn wait_line(out: &mut BufReader<std::process::ChildStdout>, prefix: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = out.read_line(&mut line).expect("read app stdout");
            assert!(
                n > 0,
                "app exited before printing {prefix:?}; its stderr: {}",
                std::fs::read_to_string(std::env::temp_dir().join("packbench-bench-app.err"))
                    .unwrap_or_default()
            );
            if line.starts_with(prefix) {
                return line.trim().to_string();
            }
        }
    }

    pub fn main() {
        let app = env!("CARGO_BIN_EXE_packbench-app");
        let xvfb = start_xvfb();
        let display = xvfb
            .as_ref()
            .map(|x| x.1.clone())
            .unwrap_or_else(|| std::env::var("DISPLAY").unwrap());
        let data = std::env::temp_dir().join(format!("packbench-bench-{}", std::process::id()));

        let mut times = Vec::new();
        for run in 0..START_RUNS {
            let t = Instant::now();
            let (child, mut out, _stdin) = spawn(app, &display, &data, 0);
            let line = wait_line(&mut out, "packbench: interactive");
            let ms = t.elapsed().as_millis();
            println!(
                "start run {}: {ms} ms to interactive (app says: {line})",
                run + 1
            );
            times.push(ms);
            drop(child);
        }
        times.sort_unstable();
        println!(
            "start-to-interactive over {START_RUNS} runs: min {} ms, median {} ms, max {} ms (goal <= 1000 ms)",
            times[0],
            times[times.len() / 2],
            times[times.len() - 1]
        );

        let (child, mut out, mut stdin) = spawn(app, &display, &data, PACKS);
        let pid = child.0.id();
        wait_line(&mut out, "packbench: interactive");
        std::thread::sleep(SETTLE);
        let (start_mb, parts) = pss(pid);
        println!("PSS after start + {SETTLE:?} idle: {start_mb:.1} MB ({parts})");
        std::io::Write::write_all(&mut stdin, b"go\n").expect("start the packs");
        let t = Instant::now();
        let mut samples = vec![(0, start_mb)];
        loop {
            let line = wait_line(&mut out, "packbench: packs");
            let (mb, parts) = pss(pid);
            println!("{line}: PSS {mb:.1} MB ({parts})");
            let n: u32 = line
                .split_whitespace()
                .nth(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            samples.push((n, mb));
            assert!(!line.contains("failed"), "simulated packs stopped: {line}");
            if line.contains("done") {
                break;
            }
        }
        println!("{PACKS} packs took {:.1} s", t.elapsed().as_secs_f64());
        std::thread::sleep(Duration::from_secs(2));
        let (end_mb, parts) = pss(pid);
        println!("PSS after {PACKS} packs + 2 s: {end_mb:.1} MB ({parts})");
        let at_goal = samples
            .iter()
            .find(|(n, _)| *n == GOAL_PACKS)
            .map_or(end_mb, |s| s.1);
        // From the goal's sample on: the highest and lowest samples (the web process's heap is
        // garbage-collected in steps, so single samples swing by ±10 MB).
        let later: Vec<f64> = samples
            .iter()
            .filter(|(n, _)| *n >= GOAL_PACKS)
            .map(|s| s.1)
            .collect();
        let hi = later.iter().copied().fold(f64::MIN, f64::max);
        let lo = later.iter().copied().fold(f64::MAX, f64::min);
        println!(
            "memory: start {start_mb:.1} MB, after {GOAL_PACKS} packs {at_goal:.1} MB ({:+.1} MB), \
             packs {GOAL_PACKS}..{PACKS} between {lo:.1} and {hi:.1} MB, after {PACKS} packs + 2 s {end_mb:.1} MB \
             ({:+.1} MB since {GOAL_PACKS}) (goals: <= 300 MB, no growth)",
            at_goal - start_mb,
            end_mb - at_goal
        );
        drop(child);
        let _ = std::fs::remove_dir_all(&data);
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    eprintln!("the startup/memory bench reads /proc and runs on Linux only");
}
