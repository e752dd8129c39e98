//! `packbench scanner`: HID-POS report decoding and a live monitor of scanner sources.
//!
//! * `decode-hid --hex [FILE]`: one 64-byte HID-POS report per line, as hex (spaces, `:`
//!   and `0x` ignored), from FILE or stdin. Multi-report scans are concatenated. Each
//!   complete scan prints the `barcode parse` JSON plus `reports` (how many were joined).
//! * `monitor --source evdev:PATH|serial:PATH[@BAUD]|hidpos:VID:PID|sim:…`: prints a JSON
//!   line per scan (`seq`, `at_ms`, `source` and the `barcode parse` fields) and per device
//!   event; double reads within `--dedup-ms` are reported, not delivered.
//! * `wedge [TRACE]`: replays recorded key events (JSON lines `{"key","t_ms"}`) through the
//!   keyboard-wedge decoder and prints its decisions: to tune `[scanner.wedge]` on a bench.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use domain::barcode::analyze;
use drivers::scanner::hidpos::{HidPosDecoder, HidPosLayout};
use drivers::scanner::serial::{SerialScannerConfig, Terminator};
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use crate::devices::scanner::{HubEvent, ScannerConfig, ScannerHub};

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Decode HID-POS reports (hex, one per line) into scans.
    DecodeHid(DecodeHidArgs),
    /// Print scans from a source as they happen (JSON lines).
    Monitor(MonitorArgs),
    /// Replay a recorded key trace through the keyboard-wedge decoder (tuning aid).
    Wedge(WedgeArgs),
}

/// `scanner wedge`.
#[derive(Debug, Args)]
pub struct WedgeArgs {
    /// JSON lines `{"key":"A","t_ms":123}` (`key` as `KeyboardEvent.key`; optional `id` and
    /// `"origin":"on_screen"`), from FILE or stdin.
    pub trace: Option<std::path::PathBuf>,
    /// Maximum average ms per character of a scan.
    #[arg(long, default_value_t = drivers::scanner::wedge::DEFAULT_AVG_MS_PER_CHAR)]
    pub avg_ms: u64,
    /// Minimum scan length.
    #[arg(long, default_value_t = drivers::scanner::wedge::DEFAULT_MIN_LEN)]
    pub min_len: usize,
    /// Maximum gap inside a burst (ms).
    #[arg(long, default_value_t = drivers::scanner::wedge::DEFAULT_MAX_GAP_MS)]
    pub max_gap_ms: u64,
}

#[derive(serde::Deserialize)]
struct TraceKey {
    #[serde(default)]
    id: Option<u64>,
    key: String,
    t_ms: u64,
    #[serde(default)]
    origin: drivers::scanner::wedge::KeyOrigin,
}

/// Replays key-trace lines through a wedge decoder; one JSON value per decision.
pub fn replay_wedge(
    lines: impl Iterator<Item = std::io::Result<String>>,
    config: drivers::scanner::wedge::WedgeConfig,
) -> anyhow::Result<Vec<serde_json::Value>> {
    use drivers::scanner::wedge::{Key, KeyEvent, WedgeDecoder};
    let mut d = WedgeDecoder::new(config);
    let mut out = Vec::new();
    let drain = |d: &mut WedgeDecoder, out: &mut Vec<serde_json::Value>| -> anyhow::Result<()> {
        while let Some(o) = d.poll() {
            out.push(serde_json::to_value(o)?);
        }
        Ok(())
    };
    for (i, line) in lines.enumerate() {
        let lineno = i + 1;
        let line = line.with_context(|| format!("reading line {lineno}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let k: TraceKey =
            serde_json::from_str(&line).with_context(|| format!("line {lineno}: bad key event"))?;
        let mut chars = k.key.chars();
        let key = match (k.key.as_str(), chars.next(), chars.next()) {
            ("Enter", _, _) => Key::Enter,
            ("Tab", _, _) => Key::Tab,
            (_, Some(c), None) => Key::Char(c),
            (other, _, _) => Key::Other(other.to_string()),
        };
        if let Some(t) = d.poll_timeout().filter(|t| *t <= k.t_ms) {
            d.handle_timeout(t);
        }
        d.handle_key(KeyEvent {
            id: k.id.unwrap_or(lineno as u64),
            key,
            at_ms: k.t_ms,
            origin: k.origin,
        });
        drain(&mut d, &mut out)?;
    }
    d.handle_timeout(u64::MAX / 2);
    drain(&mut d, &mut out)?;
    Ok(out)
}

fn wedge(a: WedgeArgs) -> anyhow::Result<()> {
    let config = drivers::scanner::wedge::WedgeConfig {
        avg_ms_per_char: a.avg_ms,
        min_len: a.min_len,
        max_gap_ms: a.max_gap_ms,
        ..Default::default()
    };
    let values = match &a.trace {
        Some(path) => {
            let f =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            replay_wedge(std::io::BufReader::new(f).lines(), config)?
        }
        None => replay_wedge(std::io::stdin().lock().lines(), config)?,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for v in values {
        writeln!(out, "{v}")?;
    }
    Ok(())
}

/// `scanner decode-hid`.
#[derive(Debug, Args)]
pub struct DecodeHidArgs {
    /// Input lines are hex text (the only input format; kept explicit for scripts).
    #[arg(long)]
    pub hex: bool,
    /// File with one report per line (default: stdin).
    pub file: Option<std::path::PathBuf>,
}

/// `scanner monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Source: `evdev:/dev/input/eventN`, `evdev:usb:VID:PID`, `evdev:name:TEXT`,
    /// `serial:PORT[@BAUD]`, `hidpos:VID:PID` or `sim:CODE@MS,…`.
    #[arg(long)]
    pub source: String,
    /// Serial frame terminator: cr, lf, crlf or any.
    #[arg(long, default_value = "any")]
    pub terminator: Terminator,
    /// Serial prefix bytes to strip, as hex (e.g. `02` for STX).
    #[arg(long)]
    pub prefix_hex: Option<String>,
    /// Double-read window in ms.
    #[arg(long, default_value_t = drivers::scanner::DEFAULT_DEDUP_WINDOW_MS)]
    pub dedup_ms: u64,
    /// Stop after this many scans.
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub seconds: Option<u64>,
}

fn parse_hex_line(line: &str, lineno: usize) -> anyhow::Result<Vec<u8>> {
    let cleaned: String = line
        .replace("0x", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':' && *c != ',')
        .collect();
    hex::decode(&cleaned).with_context(|| format!("line {lineno}: not hex: {line:?}"))
}

/// Decodes report lines into scan JSON values (one per complete scan).
pub fn decode_hid_lines(
    lines: impl Iterator<Item = std::io::Result<String>>,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut dec = HidPosDecoder::new(HidPosLayout::default());
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let lineno = i + 1;
        let line = line.with_context(|| format!("reading line {lineno}"))?;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let report = parse_hex_line(&line, lineno)?;
        match dec.feed(&report) {
            Ok(Some(scan)) => {
                let mut v = serde_json::to_value(analyze(&scan.code))?;
                v["reports"] = scan.reports.into();
                out.push(v);
            }
            Ok(None) => {}
            Err(e) => bail!("line {lineno}: {e}"),
        }
    }
    Ok(out)
}

fn decode_hid(a: DecodeHidArgs) -> anyhow::Result<()> {
    if !a.hex {
        bail!("decode-hid reads hex text: pass --hex");
    }
    let values = match &a.file {
        Some(path) => {
            let f =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            decode_hid_lines(std::io::BufReader::new(f).lines())?
        }
        None => decode_hid_lines(std::io::stdin().lock().lines())?,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for v in values {
        writeln!(out, "{v}")?;
    }
    Ok(())
}

fn monitor(a: MonitorArgs) -> anyhow::Result<()> {
    let prefix = match &a.prefix_hex {
        Some(h) => hex::decode(h).with_context(|| format!("--prefix-hex {h:?} is not hex"))?,
        None => Vec::new(),
    };
    let cfg = ScannerConfig {
        sources: vec![a.source.clone()],
        dedup_window_ms: a.dedup_ms,
        serial: SerialScannerConfig {
            terminator: a.terminator,
            prefix,
            ..SerialScannerConfig::default()
        },
        ..ScannerConfig::default()
    };
    let start = Instant::now();
    let mut hub = ScannerHub::start(&cfg, start)?;
    eprintln!("monitoring {} (Ctrl-C to stop)", a.source);
    let stdout = std::io::stdout();
    let mut scans = 0u64;
    loop {
        if a.seconds
            .is_some_and(|s| start.elapsed() >= Duration::from_secs(s))
        {
            break;
        }
        let Some(ev) = hub.next(Duration::from_millis(100)) else {
            continue;
        };
        let line = match &ev {
            HubEvent::Scan(s) => {
                scans += 1;
                let mut v = serde_json::to_value(analyze(&s.code))?;
                v["event"] = "scan".into();
                v["seq"] = s.seq.into();
                v["at_ms"] = s.at_ms.into();
                v["source"] = serde_json::to_value(s.source)?;
                v
            }
            other => {
                let mut v = serde_json::to_value(other)?;
                v["event"] = v["kind"].take();
                v.as_object_mut().map(|o| o.remove("kind"));
                v
            }
        };
        let mut out = stdout.lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        if a.count.is_some_and(|c| scans >= c) || matches!(ev, HubEvent::Ended { .. }) {
            break;
        }
    }
    hub.stop();
    Ok(())
}

/// Runs the subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::DecodeHid(a) => decode_hid(a),
        Cmd::Monitor(a) => monitor(a),
        Cmd::Wedge(a) => wedge(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivers::scanner::hidpos::encode_scan;

    #[test]
    fn decode_lines_concatenates() {
        let data =
            b"0106901234567892\x1d10LOT-2026-0001\x1d21SERIAL0001\x1d92ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let reports = encode_scan("]C1", data);
        assert_eq!(reports.len(), 2);
        let mut text: Vec<std::io::Result<String>> = reports
            .iter()
            .map(|r| Ok(r.iter().map(|b| format!("{b:02x} ")).collect()))
            .collect();
        text.insert(0, Ok("# captured".into()));
        let v = decode_hid_lines(text.into_iter()).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0]["reports"], 2);
        assert_eq!(v[0]["gtin"], "06901234567892");
        assert_eq!(v[0]["ais"]["10"], "LOT-2026-0001");
        assert_eq!(v[0]["symbology"], "GS1-128");
    }

    #[test]
    fn wedge_replay() {
        let mut lines: Vec<std::io::Result<String>> = "SKU-00012"
            .chars()
            .enumerate()
            .map(|(i, c)| Ok(format!("{{\"key\":\"{c}\",\"t_ms\":{}}}", 1000 + 3 * i)))
            .collect();
        lines.push(Ok("{\"key\":\"Enter\",\"t_ms\":1030}".into()));
        lines.push(Ok("{\"key\":\"x\",\"t_ms\":3000}".into()));
        let v = replay_wedge(lines.into_iter(), Default::default()).unwrap();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0]["kind"], "scan");
        assert_eq!(v[0]["code"], "SKU-00012");
        assert_eq!(v[1]["kind"], "pass_through");
        assert_eq!(v[1]["keys"][0]["key"]["value"], "x");
        let e =
            replay_wedge(vec![Ok("{}".to_string())].into_iter(), Default::default()).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn bad_hex_names_the_line() {
        let e = decode_hid_lines(vec![Ok("zz".to_string())].into_iter()).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = decode_hid_lines(vec![Ok("0201".to_string())].into_iter()).unwrap_err();
        assert!(e.to_string().contains("line 1: report of 2 bytes"), "{e}");
    }
}
