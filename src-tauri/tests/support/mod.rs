//! Harness for end-to-end tests of the real app window: a private Xvfb when `DISPLAY` is unset,
//! tauri-driver (which starts WebKitWebDriver), and a fantoccini WebDriver client over plain
//! HTTP (hyper-util connector, no TLS stack). Child processes are killed when dropped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tauri-driver's fixed WebDriver port (it forwards to WebKitWebDriver on 4445).
pub const DRIVER_PORT: u16 = 4444;
/// How long to wait for Xvfb, the driver and the window.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for an element or a condition in the page.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A child process killed on drop, with its process group when it leads one (tauri-driver
/// starts WebKitWebDriver, which would otherwise outlive it and keep port 4445).
pub struct Proc {
    name: &'static str,
    child: Child,
    group: bool,
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first so Xvfb removes its lock file and tauri-driver's group goes with it.
        let target = if self.group {
            format!("-{}", self.child.id())
        } else {
            self.child.id().to_string()
        };
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &target])
            .status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("e2e: stopped {}", self.name);
    }
}

/// The running environment: display, driver and a WebDriver session on the app.
pub struct Env {
    pub client: Client,
    pub shots: PathBuf,
    pub data_dir: PathBuf,
    display: String,
    _driver: Proc,
    _xvfb: Option<Proc>,
    shot_no: u32,
}

fn target_dir() -> PathBuf {
    if let Ok(d) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
}

fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo").join("bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < timeout,
            "e2e: timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts Xvfb on a free display number and returns it with the display name.
fn start_xvfb() -> (Proc, String) {
    let xvfb = which("Xvfb").expect("e2e: Xvfb not found (apt-get install xvfb xauth)");
    let n = (90..190)
        .find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists())
        .expect("e2e: no free X display number between :90 and :189");
    let child = Command::new(xvfb)
        .args([
            format!(":{n}"),
            "-screen".into(),
            "0".into(),
            "1920x1080x24".into(),
            "-nolisten".into(),
            "tcp".into(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("e2e: Xvfb did not start");
    let sock = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
    let mut child = child;
    wait_until("the Xvfb socket", START_TIMEOUT, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("e2e: Xvfb :{n} exited at start: {status}");
        }
        sock.exists()
    });
    eprintln!("e2e: Xvfb on :{n}");
    (
        Proc {
            name: "Xvfb",
            child,
            group: false,
        },
        format!(":{n}"),
    )
}

impl Env {
    /// Starts everything and opens a session on the built app binary in demo mode with a fresh
    /// data directory.
    pub async fn start(app_bin: &str, data_dir: PathBuf) -> Env {
        let (xvfb, display) = match std::env::var("DISPLAY") {
            Ok(d) if !d.is_empty() => (None, d),
            _ => {
                let (p, d) = start_xvfb();
                (Some(p), d)
            }
        };
        for port in [DRIVER_PORT, DRIVER_PORT + 1] {
            assert!(
                TcpStream::connect(("127.0.0.1", port)).is_err(),
                "e2e: port {port} is busy: another tauri-driver/WebKitWebDriver is running (only one at a time)"
            );
        }
        let driver_bin = which("tauri-driver").expect(
            "e2e: tauri-driver not found; install it with `cargo install tauri-driver --version ^2 --locked`",
        );
        assert!(
            which("WebKitWebDriver").is_some(),
            "e2e: WebKitWebDriver not found (apt-get install webkit2gtk-driver)"
        );
        std::fs::create_dir_all(&data_dir).unwrap();
        let mut cmd = Command::new(driver_bin);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let driver = cmd
            .env("DISPLAY", &display)
            .env("PACKBENCH_DATA_DIR", &data_dir)
            .env("PACKBENCH_DEMO", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("e2e: tauri-driver did not start");
        let driver = Proc {
            name: "tauri-driver",
            child: driver,
            group: cfg!(unix),
        };
        wait_until("tauri-driver on port 4444", START_TIMEOUT, || {
            TcpStream::connect(("127.0.0.1", DRIVER_PORT)).is_ok()
        });

        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app_bin }),
        );
        // tauri-driver accepts connections before WebKitWebDriver is up: retry the session.
        let start = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{DRIVER_PORT}"))
                .await
            {
                Ok(c) => {
                    eprintln!("e2e: WebDriver session on the app");
                    break c;
                }
                Err(e) if start.elapsed() < START_TIMEOUT => {
                    eprintln!("e2e: no session yet ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("e2e: no WebDriver session on the app: {e}"),
            }
        };
        let shots = target_dir().join("e2e-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Env {
            client,
            shots,
            data_dir,
            display,
            _driver: driver,
            _xvfb: xvfb,
            shot_no: 0,
        }
    }

    /// Saves a screenshot as `target/e2e-screenshots/NN-name.png` and returns its path.
    pub async fn shot(&mut self, name: &str) -> PathBuf {
        self.shot_no += 1;
        // Let the page paint what it last rendered before WebKit snapshots it.
        let _ = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done(true), 50)));",
                vec![],
            )
            .await;
        // The X server's picture of the screen, i.e. what the packer sees. (WebKitWebDriver's
        // own screenshot waits forever when WebKitGTK renders without its DMA-BUF compositor,
        // which is how the app runs; see src/webkit.rs.)
        let path = self.shots.join(format!("{:02}-{name}.png", self.shot_no));
        let out = Command::new("import")
            .env("DISPLAY", &self.display)
            .args(["-silent", "-window", "root"])
            .arg(format!("png:{}", path.display()))
            .output()
            .expect("e2e: `import` not found (apt-get install imagemagick)");
        assert!(
            out.status.success(),
            "e2e: screenshot failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let png = std::fs::read(&path).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "e2e: screenshot is not a PNG");
        eprintln!("e2e: screenshot {}", path.display());
        path
    }

    /// Waits until `css` matches an element and returns it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let start = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return e;
            }
            assert!(
                start.elapsed() < WAIT_TIMEOUT,
                "e2e: no element matches {css}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matching `css` (waiting for it to exist and be enabled).
    pub async fn click(&self, css: &str) {
        let start = Instant::now();
        loop {
            let e = self.find(css).await;
            let enabled = e.is_enabled().await.unwrap_or(false);
            let shown = e.is_displayed().await.unwrap_or(false);
            if enabled && shown {
                e.click()
                    .await
                    .unwrap_or_else(|err| panic!("e2e: click {css}: {err}"));
                return;
            }
            assert!(
                start.elapsed() < WAIT_TIMEOUT,
                "e2e: {css} stayed disabled or hidden"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    /// Runs JavaScript in the page and returns its value.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("e2e: script failed: {e}\n{script}"))
    }

    /// Waits until the script returns `true`; on timeout fails with `what` and the last value
    /// of `probe` (a script that returns something useful for the message).
    pub async fn wait_js(&self, what: &str, cond: &str, probe: &str) {
        let start = Instant::now();
        loop {
            if self.js(cond).await == serde_json::Value::Bool(true) {
                return;
            }
            if start.elapsed() > WAIT_TIMEOUT {
                let seen = self.js(probe).await;
                panic!("e2e: timed out waiting for {what}; page shows {seen}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
