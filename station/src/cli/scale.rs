//! `packbench scale`: decode bytes, monitor a port, probe a port, run a simulated scale.
//!
//! * `decode --protocol NAME [--hex]`: bytes (or hex text) on stdin → one JSON line per frame
//!   with `kind`, `value` (as the device shows it, sign included), `unit`, `stable`, `net`,
//!   `tare` (when the frame carries one), `error` (for errors) and `raw` (hex).
//! * `monitor --port PATH [--protocol NAME|auto] [--baud N …]`: JSON lines of live readings,
//!   captures and connection events; type `tare`, `zero`, `clear` or `rearm` on stdin.
//! * `probe --port PATH`: tries the common bauds and every protocol; prints what was found.
//! * `simulate --protocol NAME`: creates a pseudo-terminal, prints its path, runs a script.

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use drivers::scale::probe::{self, ProbeOptions};
use drivers::scale::transport::{
    self, DataBits, DeviceConfig, DeviceEvent, FlowControl, Parity, PortSelector, ProtocolChoice,
    SerialSettings, Source, StopBits,
};
use drivers::scale::{CaptureConfig, DecoderOptions, FrameDecoder, Protocol, ScaleCommand, Unit};
use std::io::{BufRead, Read, Write};
use std::time::{Duration, Instant};

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Decode scale bytes from stdin: one JSON line per frame.
    Decode(DecodeArgs),
    /// Watch a scale: live readings, captures, connection events (JSON lines).
    Monitor(MonitorArgs),
    /// Detect protocol and baud on a serial port.
    Probe(ProbeArgs),
    /// Run a virtual scale on a pseudo-terminal (unix).
    Simulate(SimulateArgs),
    /// List serial ports (with USB ids).
    Ports,
}

/// `scale decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Protocol: mt-sics, toledo, xk3190, xk3190-cmd, xk3190-a12, xk3190-eq, xk3190-eq-fwd, sma, and, ohaus, nci, hid-pos.
    #[arg(long)]
    pub protocol: Protocol,
    /// Stdin is hex text (whitespace, `0x`, `:` and `,` ignored) instead of raw bytes.
    #[arg(long)]
    pub hex: bool,
    /// Unit of protocols whose frames carry none (XK3190 tF=0 and `=` formats).
    #[arg(long, default_value = "kg")]
    pub unit: Unit,
}

/// Serial line options.
#[derive(Debug, Clone, Args)]
pub struct LineArgs {
    /// Baud rate.
    #[arg(long, default_value_t = 9600)]
    pub baud: u32,
    /// Data bits.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(7..=8))]
    pub data_bits: u8,
    /// Parity.
    #[arg(long, value_enum, default_value_t = ParityArg::None)]
    pub parity: ParityArg,
    /// Stop bits.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub stop_bits: u8,
    /// Flow control.
    #[arg(long, value_enum, default_value_t = FlowArg::None)]
    pub flow: FlowArg,
}

/// Parity option.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ParityArg {
    /// None.
    None,
    /// Odd.
    Odd,
    /// Even.
    Even,
}

/// Flow control option.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FlowArg {
    /// None.
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

impl LineArgs {
    fn settings(&self) -> SerialSettings {
        SerialSettings {
            baud: self.baud,
            data_bits: if self.data_bits == 7 {
                DataBits::Seven
            } else {
                DataBits::Eight
            },
            parity: match self.parity {
                ParityArg::None => Parity::None,
                ParityArg::Odd => Parity::Odd,
                ParityArg::Even => Parity::Even,
            },
            stop_bits: if self.stop_bits == 2 {
                StopBits::Two
            } else {
                StopBits::One
            },
            flow_control: match self.flow {
                FlowArg::None => FlowControl::None,
                FlowArg::Software => FlowControl::Software,
                FlowArg::Hardware => FlowControl::Hardware,
            },
            ..SerialSettings::default()
        }
    }
}

/// `scale monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Serial port (or use --usb, or --protocol hid-pos).
    #[arg(long)]
    pub port: Option<String>,
    /// USB ids of a USB-serial scale, `VID:PID` in hex (found again after replug).
    #[arg(long)]
    pub usb: Option<String>,
    /// Protocol name, or `auto` to probe.
    #[arg(long, default_value = "auto")]
    pub protocol: String,
    /// Serial line.
    #[command(flatten)]
    pub line: LineArgs,
    /// Unit of protocols whose frames carry none.
    #[arg(long, default_value = "kg")]
    pub unit: Unit,
    /// N readings within δ over T ms (protocols without a stability flag).
    #[arg(long, default_value_t = drivers::scale::capture::DEFAULT_STABLE_READINGS)]
    pub readings: u32,
    /// δ in grams.
    #[arg(long, default_value_t = 5)]
    pub delta_g: i64,
    /// T in milliseconds.
    #[arg(long, default_value_t = drivers::scale::capture::DEFAULT_STABLE_WINDOW_MS)]
    pub window_ms: u64,
    /// Minimum weight to capture, grams.
    #[arg(long, default_value_t = 20)]
    pub min_weight_g: i64,
    /// Also print every decoded frame.
    #[arg(long)]
    pub frames: bool,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub seconds: Option<u64>,
}

/// `scale probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Serial port.
    #[arg(long)]
    pub port: String,
    /// Bauds to try, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [9600u32, 4800, 2400, 1200, 19200, 38400])]
    pub bauds: Vec<u32>,
    /// Listening time per baud, milliseconds.
    #[arg(long, default_value_t = 1200)]
    pub listen_ms: u64,
    /// Unit of protocols whose frames carry none.
    #[arg(long, default_value = "kg")]
    pub unit: Unit,
}

/// `scale simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Protocol the virtual scale speaks.
    #[arg(long)]
    pub protocol: Protocol,
    /// Display unit.
    #[arg(long, default_value = "kg")]
    pub unit: Unit,
    /// Script text (`place 1250 settle=800; wait 2000; remove; …`); default: the demo loop.
    #[arg(long)]
    pub script: Option<String>,
    /// Read the script from a file.
    #[arg(long, conflicts_with = "script")]
    pub script_file: Option<std::path::PathBuf>,
    /// Also create this symlink to the pty (a stable name for configs).
    #[arg(long)]
    pub link: Option<std::path::PathBuf>,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub seconds: Option<u64>,
}

/// Runs the subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Decode(a) => decode(
            a,
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
        ),
        Cmd::Monitor(a) => monitor(a),
        Cmd::Probe(a) => probe_cmd(a),
        Cmd::Simulate(a) => simulate(a),
        Cmd::Ports => ports(),
    }
}

/// Incremental hex text → bytes, remembering a dangling nibble between chunks.
#[derive(Debug, Default)]
struct HexText {
    pending: Option<u8>,
    offset: usize,
    prev: u8,
}

impl HexText {
    fn push(&mut self, text: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        for &c in text {
            self.offset += 1;
            let prev = std::mem::replace(&mut self.prev, c);
            let nib = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                b'x' | b'X' if prev == b'0' && self.pending == Some(0) => {
                    // `0x` prefix: drop the 0.
                    self.pending = None;
                    continue;
                }
                b' ' | b'\t' | b'\r' | b'\n' | b':' | b',' | b'-' => {
                    continue;
                }
                _ => bail!(
                    "stdin byte {}: {:?} is not a hex digit",
                    self.offset,
                    char::from(c)
                ),
            };
            match self.pending.take() {
                Some(hi) => out.push(hi << 4 | nib),
                None => self.pending = Some(nib),
            }
        }
        Ok(())
    }
}

/// `decode`, over any reader and writer (tests use buffers).
pub fn decode(a: DecodeArgs, input: &mut impl Read, out: &mut impl Write) -> anyhow::Result<()> {
    let opts = DecoderOptions {
        unit: a.unit,
        ..DecoderOptions::default()
    };
    let mut decoder = a.protocol.decoder(&opts);
    let mut hex = HexText::default();
    let mut buf = [0u8; 4096];
    let mut bytes = Vec::new();
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("read stdin"),
        };
        let chunk = buf.get(..n).unwrap_or(&[]);
        bytes.clear();
        if a.hex {
            hex.push(chunk, &mut bytes)?;
        } else {
            bytes.extend_from_slice(chunk);
        }
        decoder.feed(&bytes);
        while let Some(f) = decoder.poll() {
            writeln!(out, "{}", f.to_json())?;
        }
        out.flush()?;
    }
    if hex.pending.is_some() {
        bail!("hex input ends with half a byte (odd number of hex digits)");
    }
    Ok(())
}

fn parse_usb(s: &str) -> anyhow::Result<(u16, u16)> {
    let (v, p) = s
        .split_once(':')
        .with_context(|| format!("--usb {s:?}: expected VID:PID in hex, e.g. 067b:2303"))?;
    let v = u16::from_str_radix(v.trim_start_matches("0x"), 16)
        .with_context(|| format!("--usb {s:?}: bad vendor id"))?;
    let p = u16::from_str_radix(p.trim_start_matches("0x"), 16)
        .with_context(|| format!("--usb {s:?}: bad product id"))?;
    Ok((v, p))
}

fn print_json(v: &impl serde::Serialize) {
    if let Ok(s) = serde_json::to_string(v) {
        println!("{s}");
    }
}

fn monitor(a: MonitorArgs) -> anyhow::Result<()> {
    let protocol = match a.protocol.as_str() {
        "auto" => ProtocolChoice::Auto,
        name => ProtocolChoice::Fixed(name.parse::<Protocol>().map_err(anyhow::Error::msg)?),
    };
    let source = if protocol == ProtocolChoice::Fixed(Protocol::HidPos) {
        let ids = a
            .usb
            .as_deref()
            .map(parse_usb)
            .transpose()?
            .into_iter()
            .collect();
        Source::HidUsb { ids }
    } else {
        let port = match (&a.port, &a.usb) {
            (Some(p), _) => PortSelector::Name { port: p.clone() },
            (None, Some(u)) => {
                let (vid, pid) = parse_usb(u)?;
                PortSelector::Usb {
                    vid,
                    pid,
                    serial_number: None,
                }
            }
            (None, None) => bail!("give --port PATH or --usb VID:PID (or --protocol hid-pos)"),
        };
        Source::Serial {
            port,
            settings: a.line.settings(),
        }
    };
    let config = DeviceConfig {
        source,
        protocol,
        decoder: DecoderOptions {
            unit: a.unit,
            ..DecoderOptions::default()
        },
        capture: CaptureConfig {
            stable_readings: a.readings.max(1),
            stable_delta_mg: a.delta_g.saturating_mul(1000),
            stable_window_ms: a.window_ms,
            min_weight_mg: a.min_weight_g.saturating_mul(1000),
            ..CaptureConfig::default()
        },
        backoff: transport::Backoff::default(),
        live_interval_ms: 100,
        emit_frames: a.frames,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = transport::spawn(config, move |ev| {
        let _ = tx.send(ev);
    })?;
    // Commands typed on stdin.
    let (ctl_tx, ctl_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if ctl_tx.send(line.trim().to_ascii_lowercase()).is_err() {
                break;
            }
        }
    });
    let deadline = a.seconds.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(DeviceEvent::Stopped) => break,
            Ok(ev) => print_json(&ev),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        while let Ok(cmd) = ctl_rx.try_recv() {
            let r = match cmd.as_str() {
                "tare" | "t" => handle.command(ScaleCommand::Tare),
                "zero" | "z" => handle.command(ScaleCommand::Zero),
                "clear" | "c" => handle.command(ScaleCommand::ClearTare),
                "rearm" | "r" => handle.rearm(),
                "" => Ok(()),
                other => {
                    eprintln!("unknown command {other:?} (tare, zero, clear, rearm)");
                    Ok(())
                }
            };
            r?;
        }
    }
    handle.stop();
    Ok(())
}

fn probe_cmd(a: ProbeArgs) -> anyhow::Result<()> {
    eprintln!(
        "probing {} at {} baud settings, {} ms each…",
        a.port,
        a.bauds.len(),
        a.listen_ms
    );
    let opts = ProbeOptions {
        bauds: a.bauds,
        listen_ms: a.listen_ms,
        decoder: DecoderOptions {
            unit: a.unit,
            ..DecoderOptions::default()
        },
        ..ProbeOptions::default()
    };
    match probe::probe_port(&a.port, &opts)? {
        Some(r) => {
            print_json(&r);
            Ok(())
        }
        None => bail!(
            "{}: no scale protocol recognised at any tried setting",
            a.port
        ),
    }
}

fn ports() -> anyhow::Result<()> {
    for p in transport::list_ports()? {
        print_json(&p);
    }
    Ok(())
}

#[cfg(unix)]
fn simulate(a: SimulateArgs) -> anyhow::Result<()> {
    use drivers::scale::sim::{parse_script, PtySimulator, VirtualScale, DEMO_SCRIPT};
    let text = match (&a.script, &a.script_file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("read {}", f.display()))?
        }
        (None, None) => DEMO_SCRIPT.to_owned(),
    };
    let steps = parse_script(&text)?;
    let sim = PtySimulator::start(VirtualScale::new(a.protocol, a.unit, steps), a.link.clone())
        .context("create pseudo-terminal")?;
    print_json(&serde_json::json!({
        "port": sim.path().display().to_string(),
        "protocol": a.protocol,
        "unit": a.unit,
    }));
    std::io::stdout().flush()?;
    match a.seconds {
        Some(s) => std::thread::sleep(Duration::from_secs(s)),
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
    drop(sim);
    if let Some(l) = &a.link {
        let _ = std::fs::remove_file(l);
    }
    Ok(())
}

#[cfg(not(unix))]
fn simulate(_a: SimulateArgs) -> anyhow::Result<()> {
    bail!("scale simulate needs a unix pseudo-terminal; on Windows pair two ports with com0com and run it under WSL, or use demo mode")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_decode(
        protocol: &str,
        hex: bool,
        input: &[u8],
    ) -> anyhow::Result<Vec<serde_json::Value>> {
        let args = DecodeArgs {
            protocol: protocol.parse().map_err(anyhow::Error::msg)?,
            hex,
            unit: Unit::Kg,
        };
        let mut out = Vec::new();
        decode(args, &mut &input[..], &mut out)?;
        Ok(String::from_utf8(out)?
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect())
    }

    #[test]
    fn decode_prints_the_documented_fields() {
        let v = run_decode("mt-sics", false, b"S D    -12.50 kg\r\n").unwrap();
        assert_eq!(v.len(), 1);
        let f = &v[0];
        assert_eq!(f["kind"], "weight");
        assert_eq!(f["value"], "-12.50");
        assert_eq!(f["unit"], "kg");
        assert_eq!(f["stable"], false);
        assert!(f["net"].is_null());
        assert!(f.get("tare").is_none());
        let v = run_decode(
            "toledo",
            true,
            b"02 2c 31 20 31 32 33 34 35 36 30 31 30 30 30 30 0d 1e",
        )
        .unwrap();
        assert_eq!(v[0]["value"], "1234.56");
        assert_eq!(v[0]["net"], true);
        assert_eq!(v[0]["tare"], "100.00");
        let v = run_decode("xk3190", true, b"0x02 0x2b 30 30 31 35 36 30 30 31 39 03").unwrap();
        assert_eq!(v[0]["value"], "1560");
        assert!(v[0]["stable"].is_null());
        let v = run_decode("hid-pos", true, b"03 04 0b ff 64 01").unwrap();
        assert_eq!(
            (v[0]["value"].as_str(), v[0]["unit"].as_str()),
            (Some("35.6"), Some("oz"))
        );
        let v = run_decode("xk3190-a12", false, b"         OL23\r\n").unwrap();
        assert_eq!(v[0]["kind"], "overload");
    }

    #[test]
    fn decode_rejects_bad_hex_with_position() {
        let e = run_decode("sma", true, b"0a 2g").unwrap_err().to_string();
        assert!(e.contains("byte 5") && e.contains("'g'"), "{e}");
        let e = run_decode("sma", true, b"0a 2").unwrap_err().to_string();
        assert!(e.contains("half a byte"), "{e}");
    }

    #[test]
    fn usb_ids() {
        assert_eq!(parse_usb("067b:2303").unwrap(), (0x067b, 0x2303));
        assert!(parse_usb("067b").is_err());
        assert!(parse_usb("zz:1").is_err());
    }
}
