//! Barcode encoding: data → modules. 1D codes through barcoders (with our own Code 128
//! code-set planning and GS1-128 FNC1 placement), QR through qrcode.
//!
//! The same encoding draws the bars in the PDF and PNG backends; the thermal backends send
//! the printer's native barcode command with [`Encoded::printer_data`].

use crate::template::Symbology;
use std::sync::OnceLock;

/// The modules of a 2D symbol, row-major, `true` = dark.
///
/// A QR code's size is known as soon as its data is segmented, but choosing its mask (eight
/// candidate masks scored by the standard's penalty rules) is most of the cost of encoding.
/// Thermal printers draw QR codes themselves from the data (`QRCODE`, `^BQ`), so the modules
/// are computed on first use: the PDF and PNG backends pay for them, TSPL and ZPL do not.
#[derive(Debug, Clone)]
pub struct Modules {
    cell: OnceLock<Vec<bool>>,
    /// QR data still to be encoded (EC level M), or `None` when the modules are given.
    qr: Option<String>,
}

/// Equal when the modules are equal, whether or not either side has computed them yet.
impl PartialEq for Modules {
    fn eq(&self, other: &Self) -> bool {
        match (&self.qr, &other.qr) {
            (Some(a), Some(b)) if a == b => true,
            _ => self.get() == other.get(),
        }
    }
}

impl Eq for Modules {}

impl Modules {
    /// Modules already computed.
    pub fn ready(modules: Vec<bool>) -> Self {
        Modules {
            cell: OnceLock::from(modules),
            qr: None,
        }
    }

    /// The modules of the QR code (EC level M) of `data`, computed on first use.
    fn qr(data: &str) -> Self {
        Modules {
            cell: OnceLock::new(),
            qr: Some(data.to_string()),
        }
    }

    /// The modules (encoded now if they were deferred).
    pub fn get(&self) -> &[bool] {
        self.cell.get_or_init(|| match &self.qr {
            // The same encoding already succeeded when the size was taken in [`encode`],
            // so this cannot fail; an empty symbol would be drawn if it ever did.
            Some(data) => qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M)
                .map(|code| {
                    code.to_colors()
                        .into_iter()
                        .map(|c| c == qrcode::Color::Dark)
                        .collect()
                })
                .unwrap_or_default(),
            None => Vec::new(),
        })
    }
}

/// An encoded barcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoded {
    /// A linear code: `true` = bar, one entry per module (quiet zones excluded).
    Linear {
        /// Modules.
        modules: Vec<bool>,
        /// Data as the printer command wants it (GS1 with parentheses, EAN-13 without check).
        printer_data: String,
        /// Human-readable data.
        text: String,
    },
    /// A 2D matrix, row-major, `true` = dark; `size` × `size`.
    Matrix {
        /// Side length in modules.
        size: usize,
        /// Modules (QR: computed on first use).
        modules: Modules,
        /// Data as given.
        printer_data: String,
    },
}

impl Encoded {
    /// Data for the printer's native barcode command.
    pub fn printer_data(&self) -> &str {
        match self {
            Encoded::Linear { printer_data, .. } | Encoded::Matrix { printer_data, .. } => {
                printer_data
            }
        }
    }
}

/// Encodes `data` in `sym`; the error says why it cannot be encoded.
pub fn encode(sym: Symbology, data: &str) -> Result<Encoded, String> {
    match sym {
        Symbology::Code128 => {
            let toks: Vec<Tok> = data.chars().map(Tok::Char).collect();
            let modules = code128_modules(&toks)?;
            Ok(Encoded::Linear {
                modules,
                printer_data: data.to_string(),
                text: data.to_string(),
            })
        }
        Symbology::Gs1_128 => {
            let fields = parse_gs1(data)?;
            let mut toks = vec![Tok::Fnc1];
            for (i, (ai, value)) in fields.iter().enumerate() {
                toks.extend(ai.chars().map(Tok::Char));
                toks.extend(value.chars().map(Tok::Char));
                if i + 1 < fields.len() && !is_predefined_length(ai) {
                    toks.push(Tok::Fnc1);
                }
            }
            let modules = code128_modules(&toks)?;
            Ok(Encoded::Linear {
                modules,
                printer_data: data.to_string(),
                text: data.to_string(),
            })
        }
        Symbology::Ean13 => {
            if !(data.len() == 12 || data.len() == 13) || !data.bytes().all(|b| b.is_ascii_digit())
            {
                return Err("EAN-13 needs 12 digits (or 13 with the check digit)".into());
            }
            let check = gs1_check_digit(&data[..12]);
            if data.len() == 13 && data.as_bytes()[12] != b'0' + check {
                return Err(format!("check digit is wrong: expected {check}"));
            }
            let code = barcoders::sym::ean13::EAN13::new(&data[..12]).map_err(|e| e.to_string())?;
            Ok(Encoded::Linear {
                modules: code.encode().into_iter().map(|b| b == 1).collect(),
                printer_data: data[..12].to_string(),
                text: format!("{}{}", &data[..12], check),
            })
        }
        Symbology::DataMatrix => {
            if data.is_empty() {
                return Err("Data Matrix data is empty".into());
            }
            let code = datamatrix::DataMatrix::encode(
                data.as_bytes(),
                datamatrix::SymbolList::default().enforce_square(),
            )
            .map_err(|e| format!("{e:?}"))?;
            let bmp = code.bitmap();
            if bmp.width() != bmp.height() {
                return Err("Data Matrix symbol is not square".into());
            }
            Ok(Encoded::Matrix {
                size: bmp.width(),
                modules: Modules::ready(bmp.bits().to_vec()),
                printer_data: data.to_string(),
            })
        }
        Symbology::Qr => {
            if data.is_empty() {
                return Err("QR data is empty".into());
            }
            // Segmenting the data fixes the version and so the size; the modules wait.
            let bits = qrcode::bits::encode_auto(data.as_bytes(), qrcode::EcLevel::M)
                .map_err(|e| e.to_string())?;
            let size = usize::try_from(bits.version().width())
                .map_err(|_| "QR version has no width".to_string())?;
            Ok(Encoded::Matrix {
                size,
                modules: Modules::qr(data),
                printer_data: data.to_string(),
            })
        }
    }
}

/// GS1 mod-10 check digit of a digit string (weights 3,1,3… from the right).
pub fn gs1_check_digit(digits: &str) -> u8 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// AIs whose length is fixed by the standard, so no FNC1 separator follows them.
fn is_predefined_length(ai: &str) -> bool {
    const TWO: &[&str] = &[
        "00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
        "31", "32", "33", "34", "35", "36", "41",
    ];
    ai.get(..2).is_some_and(|p| TWO.contains(&p))
}

/// Parses `(AI)value(AI)value…` into fields, checking the AI shape, GS1 characters and the
/// check digit of SSCC (00) and GTIN (01, 02).
pub fn parse_gs1(data: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = data.trim();
    if !rest.starts_with('(') {
        return Err(
            "GS1-128 data must be written as (AI)value, e.g. (00)123456789012345675".into(),
        );
    }
    while let Some(r) = rest.strip_prefix('(') {
        let Some((ai, after)) = r.split_once(')') else {
            return Err("unclosed '(' in GS1 data".into());
        };
        if !(2..=4).contains(&ai.len()) || !ai.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "({ai}) is not an application identifier (2–4 digits)"
            ));
        }
        let end = after.find('(').unwrap_or(after.len());
        let value = &after[..end];
        if value.is_empty() || value.len() > 90 {
            return Err(format!("({ai}) has an empty or over-long value"));
        }
        if !value.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
            return Err(format!(
                "({ai}) value {value:?} has characters GS1 does not allow"
            ));
        }
        let fixed = match ai {
            "00" => Some(18),
            "01" | "02" => Some(14),
            _ => None,
        };
        if let Some(n) = fixed {
            if value.len() != n || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("({ai}) needs {n} digits, got {value:?}"));
            }
            let check = gs1_check_digit(&value[..n - 1]);
            if value.as_bytes()[n - 1] != b'0' + check {
                return Err(format!("({ai}) {value}: check digit should be {check}"));
            }
        }
        out.push((ai.to_string(), value.to_string()));
        rest = &after[end..];
    }
    if !rest.is_empty() {
        return Err(format!("unexpected {rest:?} in GS1 data"));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Char(char),
    Fnc1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    A,
    B,
    C,
}

impl Set {
    fn marker(self) -> char {
        match self {
            Set::A => 'À',
            Set::B => 'Ɓ',
            Set::C => 'Ć',
        }
    }
}

fn digit_run(toks: &[Tok]) -> usize {
    toks.iter()
        .take_while(|t| matches!(t, Tok::Char(c) if c.is_ascii_digit()))
        .count()
}

/// Plans code sets (C for runs of ≥4 digits, B for printable ASCII, A for control
/// characters) and encodes with barcoders.
fn code128_modules(toks: &[Tok]) -> Result<Vec<bool>, String> {
    if toks.is_empty() {
        return Err("no data".into());
    }
    for t in toks {
        if let Tok::Char(c) = t {
            if !c.is_ascii() {
                return Err(format!("{c:?} is not ASCII (Code 128 carries ASCII only)"));
            }
        }
    }
    let mut out = String::new();
    let mut set: Option<Set> = None;
    let mut i = 0;
    while i < toks.len() {
        match toks[i] {
            Tok::Fnc1 => {
                if set.is_none() {
                    let run = digit_run(&toks[i + 1..]);
                    let s = if run >= 2 { Set::C } else { Set::B };
                    out.push(s.marker());
                    set = Some(s);
                }
                out.push('Ź');
                i += 1;
            }
            Tok::Char(c) => {
                let run = digit_run(&toks[i..]);
                let at_start = set.is_none();
                let whole = i + run == toks.len();
                let mut use_c = run >= 4
                    || (set == Some(Set::C) && run >= 2)
                    || (at_start && whole && run >= 2);
                // An odd run entered from another set: its first digit goes in that set.
                if use_c && run % 2 == 1 && set != Some(Set::C) {
                    use_c = false;
                }
                if use_c {
                    let even = run - run % 2;
                    if set != Some(Set::C) {
                        out.push(Set::C.marker());
                        set = Some(Set::C);
                    }
                    for t in &toks[i..i + even] {
                        if let Tok::Char(d) = t {
                            out.push(*d);
                        }
                    }
                    i += even;
                } else {
                    let want = if (c as u32) < 32 { Set::A } else { Set::B };
                    // Stay in A for printable characters A can also carry (upper case, digits).
                    let keep_a = set == Some(Set::A) && (c as u32) < 96;
                    if !keep_a && set != Some(want) {
                        out.push(want.marker());
                        set = Some(want);
                    }
                    out.push(c);
                    i += 1;
                }
            }
        }
    }
    let code = barcoders::sym::code128::Code128::new(&out)
        .map_err(|e| format!("barcoders refused {out:?}: {e}"))?;
    Ok(code.encode().into_iter().map(|b| b == 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules_of(sym: Symbology, data: &str) -> usize {
        match encode(sym, data).unwrap() {
            Encoded::Linear { modules, .. } => modules.len(),
            Encoded::Matrix { size, .. } => size,
        }
    }

    #[test]
    fn code128_uses_set_c_for_digits() {
        // 14 digits in C: start + 7 pairs + check + stop = 10 symbols × 11 + 2 = 112.
        assert_eq!(modules_of(Symbology::Code128, "73100012345678"), 112);
        // SF + 13 digits: start B, S, F, 1, code C, 6 pairs, check, stop = 13 × 11 + 2.
        assert_eq!(modules_of(Symbology::Code128, "SF1234567890123"), 145);
        // Start B, A, B, check, stop = 5 × 11 + 2.
        assert_eq!(modules_of(Symbology::Code128, "AB"), 57);
    }

    #[test]
    fn code128_rejects_chinese() {
        assert!(encode(Symbology::Code128, "运单")
            .unwrap_err()
            .contains("not ASCII"));
    }

    #[test]
    fn gs1_fields_and_checks() {
        assert_eq!(
            parse_gs1("(00)376104250021234569(420)200120").unwrap(),
            vec![
                ("00".to_string(), "376104250021234569".to_string()),
                ("420".to_string(), "200120".to_string())
            ]
        );
        for (bad, want) in [
            ("00123", "(AI)value"),
            ("(00)376104250021234560", "check digit should be 9"),
            ("(0)1", "not an application identifier"),
            ("(10)", "empty"),
            ("(10)AB(", "unclosed"),
        ] {
            let e = parse_gs1(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
        // FNC1 + 21 digit-pairs-ish: encodes without error.
        assert!(modules_of(Symbology::Gs1_128, "(00)376104250021234569(10)AB12") > 100);
    }

    #[test]
    fn ean13_check_digit() {
        assert_eq!(gs1_check_digit("590123412345"), 7);
        assert_eq!(gs1_check_digit("629104150021"), 3);
        assert_eq!(modules_of(Symbology::Ean13, "5901234123457"), 95);
        assert!(encode(Symbology::Ean13, "5901234123458").is_err());
        assert!(encode(Symbology::Ean13, "59012341").is_err());
    }

    #[test]
    fn datamatrix_is_square_and_grows_with_data() {
        let small = modules_of(Symbology::DataMatrix, "SO1");
        let big = modules_of(Symbology::DataMatrix, "SO20261125000123|73100012345678");
        assert!(small >= 10 && big > small, "{small} {big}");
    }

    #[test]
    fn qr_is_square() {
        let n = modules_of(Symbology::Qr, "https://t.example/73100012345678");
        assert!((21..=41).contains(&n), "{n}");
    }

    /// The size taken without masking is the size of the full encoding, and the deferred
    /// modules are exactly qrcode's.
    #[test]
    fn deferred_qr_modules_are_the_full_encoding() {
        for data in [
            "1",
            "73100012345678",
            "SO20261125000123|73100012345678",
            &"收".repeat(60),
        ] {
            let Encoded::Matrix { size, modules, .. } = encode(Symbology::Qr, data).unwrap() else {
                panic!("QR is a matrix");
            };
            let full =
                qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M).unwrap();
            assert_eq!(size, full.width(), "{data}");
            let want: Vec<bool> = full
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect();
            assert_eq!(modules.get(), want.as_slice(), "{data}");
        }
        assert!(encode(Symbology::Qr, &"x".repeat(3000)).is_err());
        // Equality does not depend on whether the modules were computed yet.
        let a = encode(Symbology::Qr, "73100012345678").unwrap();
        let b = encode(Symbology::Qr, "73100012345678").unwrap();
        if let Encoded::Matrix { modules, .. } = &a {
            assert!(!modules.get().is_empty());
        }
        assert_eq!(a, b);
        assert_ne!(a, encode(Symbology::Qr, "73100012345679").unwrap());
    }
}
