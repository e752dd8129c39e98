//! `packbench barcode`: barcode semantics from the command line.
//!
//! * `parse CODE` (or `parse -` for one code per stdin line) prints one JSON object per code:
//!   `raw`, `aim`, `symbology` (from the AIM id), `text` (data without the AIM id), `gtin`
//!   (14 digits, when the code is or contains one), `ais` (AI → value, GS1 only),
//!   `match_key` (what the verification matches on), `valid`, `error`, `courier`.
//!   A GS (FNC1) may be written as `\x1d`, `<GS>` or `{GS}` since shells cannot type it.
//! * `check-digit PAYLOAD` prints the GS1 mod-10 check digit and the completed code.
//!
//! An invalid code is not a command error: it is reported in the JSON (`valid: false`).

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use domain::barcode::{analyze, gs1_check_digit};
use std::io::{BufRead, Write};

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Parse a code (AIM id, GS1 element string, GTIN, courier waybill) into JSON.
    Parse(ParseArgs),
    /// Compute the GS1 mod-10 check digit of a payload.
    CheckDigit(CheckDigitArgs),
}

/// `barcode parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The code as scanned, or `-` to read one code per line from stdin.
    pub code: String,
    /// Pretty-print the JSON.
    #[arg(long)]
    pub pretty: bool,
}

/// `barcode check-digit`.
#[derive(Debug, Args)]
pub struct CheckDigitArgs {
    /// Digits without the check digit (e.g. 12 digits of an EAN-13, 17 of an SSCC).
    pub payload: String,
}

/// Replaces the spellings of GS a shell can type with the real character.
pub fn unescape_gs(code: &str) -> String {
    code.replace("\\x1d", "\u{1d}")
        .replace("\\x1D", "\u{1d}")
        .replace("<GS>", "\u{1d}")
        .replace("{GS}", "\u{1d}")
}

fn print(out: &mut impl Write, code: &str, pretty: bool) -> anyhow::Result<()> {
    let info = analyze(&unescape_gs(code));
    let text = if pretty {
        serde_json::to_string_pretty(&info)?
    } else {
        serde_json::to_string(&info)?
    };
    writeln!(out, "{text}")?;
    Ok(())
}

/// Runs the subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd {
        Cmd::Parse(a) if a.code == "-" => {
            for (i, line) in std::io::stdin().lock().lines().enumerate() {
                let line = line.with_context(|| format!("reading stdin line {}", i + 1))?;
                // Only the line ending goes; anything else (spaces included) is the code.
                let code = line.strip_suffix('\r').unwrap_or(&line);
                if code.is_empty() {
                    continue;
                }
                print(&mut out, code, a.pretty)?;
            }
            Ok(())
        }
        Cmd::Parse(a) => print(&mut out, &a.code, a.pretty),
        Cmd::CheckDigit(a) => {
            let Some(d) = gs1_check_digit(&a.payload) else {
                bail!("check-digit: {:?} is not a string of digits", a.payload);
            };
            writeln!(
                out,
                "{}",
                serde_json::json!({ "payload": a.payload, "check_digit": d, "code": format!("{}{d}", a.payload) })
            )?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs_spellings() {
        assert_eq!(
            unescape_gs("]C1010690123456789210A<GS>21B"),
            "]C1010690123456789210A\u{1d}21B"
        );
        assert_eq!(unescape_gs("10A\\x1d21B{GS}"), "10A\u{1d}21B\u{1d}");
    }

    #[test]
    fn prints_json() {
        let mut buf = Vec::new();
        print(&mut buf, "]E06901234567892", false).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["gtin"], "06901234567892");
        assert_eq!(v["symbology"], "EAN-13/UPC-A/UPC-E");
        assert_eq!(v["valid"], true);
        assert!(v["error"].is_null());
    }
}
