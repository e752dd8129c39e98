//! Printer status replies, decoded sans-IO: TSPL `<ESC>!?` (one status byte) and ZPL `~HS`
//! (three `STX … ETX CR LF` strings). Feed bytes as they arrive, poll for a status.

use serde::Serialize;

/// The TSPL status request `<ESC>!?`.
pub const TSPL_STATUS_REQUEST: &[u8] = b"\x1b!?";
/// The ZPL host status request `~HS`.
pub const ZPL_STATUS_REQUEST: &[u8] = b"~HS";

/// Printer command languages that have a status query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// TSPL / TSPL2.
    Tspl,
    /// ZPL II.
    Zpl,
}

impl Language {
    /// The status request bytes.
    pub fn status_request(self) -> &'static [u8] {
        match self {
            Language::Tspl => TSPL_STATUS_REQUEST,
            Language::Zpl => ZPL_STATUS_REQUEST,
        }
    }
}

/// Something the printer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Out of labels.
    PaperOut,
    /// Print head open (lid up).
    HeadOpen,
    /// Cover open.
    CoverOpen,
    /// Ribbon out (thermal transfer).
    RibbonOut,
    /// Labels jammed.
    PaperJam,
    /// Paused by the operator.
    Paused,
    /// Busy printing (not an error).
    Printing,
    /// Head too hot.
    OverTemperature,
    /// Head too cold.
    UnderTemperature,
    /// Receive buffer full.
    BufferFull,
    /// RAM corrupted (needs a restart).
    CorruptRam,
}

impl Condition {
    /// True when printing cannot proceed until someone acts.
    pub fn is_error(self) -> bool {
        !matches!(self, Condition::Printing)
    }

    /// What to tell the packer, in Chinese and English.
    pub fn message(self) -> &'static str {
        match self {
            Condition::PaperOut => "缺纸：请装入标签纸 / paper out: load labels",
            Condition::HeadOpen => "打印头未合上：请合上打印头 / print head open: close the head",
            Condition::CoverOpen => "上盖打开：请关闭上盖 / cover open: close the cover",
            Condition::RibbonOut => "碳带用完：请更换碳带 / ribbon out: replace the ribbon",
            Condition::PaperJam => "卡纸：请清理标签纸 / paper jam: clear the labels",
            Condition::Paused => {
                "打印机已暂停：请按暂停键恢复 / printer paused: press pause to resume"
            }
            Condition::Printing => "正在打印 / printing",
            Condition::OverTemperature => "打印头过热：请稍候 / head too hot: wait",
            Condition::UnderTemperature => "打印头温度过低 / head too cold",
            Condition::BufferFull => "打印机缓存已满 / printer buffer full",
            Condition::CorruptRam => {
                "打印机内存错误：请重启打印机 / printer RAM error: restart the printer"
            }
        }
    }
}

/// A decoded printer status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterStatus {
    /// Conditions reported (empty = ready).
    pub conditions: Vec<Condition>,
    /// ZPL: formats waiting in the receive buffer.
    pub formats_in_buffer: Option<u32>,
    /// ZPL: labels remaining in the batch.
    pub labels_remaining: Option<u32>,
    /// The raw reply, hex, for logs.
    pub raw_hex: String,
}

impl PrinterStatus {
    /// True when no condition stops printing.
    pub fn is_ready(&self) -> bool {
        !self.conditions.iter().any(|c| c.is_error())
    }

    /// One line for the bench: "ready" or the messages joined.
    pub fn message(&self) -> String {
        let errs: Vec<&str> = self
            .conditions
            .iter()
            .filter(|c| c.is_error())
            .map(|c| c.message())
            .collect();
        if errs.is_empty() {
            if self.conditions.contains(&Condition::Printing) {
                "就绪（正在打印） / ready (printing)".into()
            } else {
                "就绪 / ready".into()
            }
        } else {
            errs.join("; ")
        }
    }
}

/// Decodes the TSPL `<ESC>!?` status byte: bit 0 head open, 1 paper jam, 2 paper out,
/// 3 ribbon out, 4 paused, 5 printing, 6 cover open, 7 temperature out of range.
pub fn decode_tspl(byte: u8) -> PrinterStatus {
    const BITS: [(u8, Condition); 8] = [
        (0x01, Condition::HeadOpen),
        (0x02, Condition::PaperJam),
        (0x04, Condition::PaperOut),
        (0x08, Condition::RibbonOut),
        (0x10, Condition::Paused),
        (0x20, Condition::Printing),
        (0x40, Condition::CoverOpen),
        (0x80, Condition::OverTemperature),
    ];
    PrinterStatus {
        conditions: BITS
            .iter()
            .filter(|(m, _)| byte & m != 0)
            .map(|(_, c)| *c)
            .collect(),
        formats_in_buffer: None,
        labels_remaining: None,
        raw_hex: format!("{byte:02x}"),
    }
}

/// Why a `~HS` reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("~HS reply string {string}: {message}")]
pub struct HsError {
    /// Which of the three strings (1-based).
    pub string: usize,
    /// What is wrong.
    pub message: String,
}

/// Decodes the three `~HS` strings (without STX/ETX). String 1: `aaa,b,c,dddd,eee,f,g,h,iii,
/// j,k,l` (b paper out, c pause, eee formats in buffer, f buffer full, j corrupt RAM, k under
/// temperature, l over temperature). String 2: `mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www` (o head up,
/// p ribbon out, uuuuuuuu labels remaining).
pub fn decode_zpl_hs(strings: &[String; 3], raw: &[u8]) -> Result<PrinterStatus, HsError> {
    let f1: Vec<&str> = strings[0].split(',').map(str::trim).collect();
    let f2: Vec<&str> = strings[1].split(',').map(str::trim).collect();
    if f1.len() < 12 {
        return Err(HsError {
            string: 1,
            message: format!("expected 12 fields, got {}: {:?}", f1.len(), strings[0]),
        });
    }
    if f2.len() < 11 {
        return Err(HsError {
            string: 2,
            message: format!("expected 11 fields, got {}: {:?}", f2.len(), strings[1]),
        });
    }
    let flag = |v: &str| v == "1";
    let mut c = Vec::new();
    let checks = [
        (flag(f1[1]), Condition::PaperOut),
        (flag(f1[2]), Condition::Paused),
        (flag(f1[5]), Condition::BufferFull),
        (flag(f1[9]), Condition::CorruptRam),
        (flag(f1[10]), Condition::UnderTemperature),
        (flag(f1[11]), Condition::OverTemperature),
        (flag(f2[2]), Condition::HeadOpen),
        (flag(f2[3]), Condition::RibbonOut),
    ];
    for (on, cond) in checks {
        if on {
            c.push(cond);
        }
    }
    Ok(PrinterStatus {
        conditions: c,
        formats_in_buffer: f1[4].parse().ok(),
        labels_remaining: f2[8].parse().ok(),
        raw_hex: hex::encode(raw),
    })
}

/// Sans-IO status reader: feed bytes, poll for the decoded status.
#[derive(Debug)]
pub struct StatusDecoder {
    lang: Language,
    buf: Vec<u8>,
}

/// What [`StatusDecoder::poll`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Not enough bytes yet.
    Pending,
    /// A full status.
    Ready(PrinterStatus),
    /// The bytes are not a status reply of this language.
    Invalid(String),
}

/// Cap on buffered bytes: a `~HS` reply is under 100 bytes.
const MAX_BUF: usize = 1024;

impl StatusDecoder {
    /// A decoder for `lang`.
    pub fn new(lang: Language) -> Self {
        StatusDecoder {
            lang,
            buf: Vec::new(),
        }
    }

    /// The language this decoder reads.
    pub fn language(&self) -> Language {
        self.lang
    }

    /// Feeds bytes as they arrive (any split).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > MAX_BUF {
            let cut = self.buf.len() - MAX_BUF;
            self.buf.drain(..cut);
        }
    }

    /// Decodes what has arrived.
    pub fn poll(&mut self) -> Poll {
        match self.lang {
            Language::Tspl => match self.buf.first() {
                Some(b) => Poll::Ready(decode_tspl(*b)),
                None => Poll::Pending,
            },
            Language::Zpl => {
                // Resynchronise: skip to the first STX.
                let Some(start) = self.buf.iter().position(|b| *b == 0x02) else {
                    self.buf.clear();
                    return Poll::Pending;
                };
                let frames = &self.buf[start..];
                let mut strings: Vec<String> = Vec::new();
                let mut i = 0;
                while strings.len() < 3 {
                    let Some(s) = frames[i..].iter().position(|b| *b == 0x02) else {
                        return Poll::Pending;
                    };
                    let Some(e) = frames[i + s..].iter().position(|b| *b == 0x03) else {
                        return Poll::Pending;
                    };
                    let body = &frames[i + s + 1..i + s + e];
                    strings.push(String::from_utf8_lossy(body).into_owned());
                    i += s + e + 1;
                }
                let arr = [strings[0].clone(), strings[1].clone(), strings[2].clone()];
                match decode_zpl_hs(&arr, &frames[..i]) {
                    Ok(s) => Poll::Ready(s),
                    Err(e) => Poll::Invalid(e.to_string()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_tspl(byte: u8, want: &[Condition], ready: bool) {
        let s = decode_tspl(byte);
        assert_eq!(s.conditions, want, "{byte:#04x}");
        assert_eq!(s.is_ready(), ready, "{byte:#04x}");
    }

    #[test]
    fn tspl_bits() {
        check_tspl(0x00, &[], true);
        check_tspl(0x01, &[Condition::HeadOpen], false);
        check_tspl(0x04, &[Condition::PaperOut], false);
        check_tspl(0x20, &[Condition::Printing], true);
        check_tspl(0x05, &[Condition::HeadOpen, Condition::PaperOut], false);
        check_tspl(0x80, &[Condition::OverTemperature], false);
    }

    const HS_OK: &[u8] = b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";

    fn zpl(bytes: &[u8]) -> Poll {
        let mut d = StatusDecoder::new(Language::Zpl);
        d.feed(bytes);
        d.poll()
    }

    #[test]
    fn zpl_hs_ready_split_anywhere() {
        for cut in 0..HS_OK.len() {
            let mut d = StatusDecoder::new(Language::Zpl);
            d.feed(&HS_OK[..cut]);
            if cut < HS_OK.len() - 3 {
                assert_eq!(d.poll(), Poll::Pending, "cut {cut}");
            }
            d.feed(&HS_OK[cut..]);
            match d.poll() {
                Poll::Ready(s) => {
                    assert!(s.is_ready());
                    assert_eq!(s.formats_in_buffer, Some(0));
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn zpl_hs_conditions() {
        let paper_out_head_up = b"garbage\x02030,1,0,1245,002,0,0,0,000,0,0,0\x03\r\n\x02001,0,1,0,1,2,6,0,00000003,1,000\x03\r\n\x021234,0\x03\r\n";
        match zpl(paper_out_head_up) {
            Poll::Ready(s) => {
                assert_eq!(s.conditions, vec![Condition::PaperOut, Condition::HeadOpen]);
                assert_eq!(s.formats_in_buffer, Some(2));
                assert_eq!(s.labels_remaining, Some(3));
                assert!(s.message().contains("缺纸"), "{}", s.message());
            }
            other => panic!("{other:?}"),
        }
        match zpl(b"\x021,2\x03\x02a\x03\x02b\x03") {
            Poll::Invalid(m) => assert!(m.contains("string 1"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        /// Whatever a printer (or line noise) sends, the decoder neither panics nor grows
        /// without bound.
        #[test]
        fn decoder_survives_any_bytes(chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), 0..32)) {
            for lang in [Language::Tspl, Language::Zpl] {
                let mut d = StatusDecoder::new(lang);
                for c in &chunks {
                    d.feed(c);
                    let _ = d.poll();
                    proptest::prop_assert!(d.buf.len() <= MAX_BUF);
                }
            }
        }
    }
}
