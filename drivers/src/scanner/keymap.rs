//! Linux input key codes → characters with a fixed US layout, and a sans-IO decoder that
//! turns a grabbed scanner's key events into codes.
//!
//! The desktop's layout (AZERTY, a Chinese IME) never matters: the scanner types US key
//! codes, and we decode them ourselves. Shift and Caps Lock are tracked; Ctrl + `]` gives
//! GS (0x1D, FNC1 in GS1 data) and Ctrl + letter the other control characters; Alt +
//! keypad digits (Windows-style `Alt+0029`) gives the character with that code on Alt
//! release. Enter, keypad Enter and (optionally) Tab end a scan; silence ends it too.

use std::collections::VecDeque;

/// `EV_KEY` event type.
pub const EV_KEY: u16 = 1;
/// Key codes used by the decoder (from `linux/input-event-codes.h`).
pub mod code {
    /// Tab.
    pub const TAB: u16 = 15;
    /// Enter.
    pub const ENTER: u16 = 28;
    /// Keypad Enter.
    pub const KP_ENTER: u16 = 96;
    /// Left Ctrl.
    pub const LEFT_CTRL: u16 = 29;
    /// Right Ctrl.
    pub const RIGHT_CTRL: u16 = 97;
    /// Left Shift.
    pub const LEFT_SHIFT: u16 = 42;
    /// Right Shift.
    pub const RIGHT_SHIFT: u16 = 54;
    /// Left Alt.
    pub const LEFT_ALT: u16 = 56;
    /// Right Alt.
    pub const RIGHT_ALT: u16 = 100;
    /// Caps Lock.
    pub const CAPS_LOCK: u16 = 58;
    /// `]` key.
    pub const RIGHT_BRACE: u16 = 27;
}

/// The US-layout characters of a key code: (unshifted, shifted).
pub fn us_key(code: u16) -> Option<(char, char)> {
    const ROW1: &[(char, char)] = &[
        ('1', '!'),
        ('2', '@'),
        ('3', '#'),
        ('4', '$'),
        ('5', '%'),
        ('6', '^'),
        ('7', '&'),
        ('8', '*'),
        ('9', '('),
        ('0', ')'),
        ('-', '_'),
        ('=', '+'),
    ];
    Some(match code {
        2..=13 => ROW1[usize::from(code - 2)],
        16..=25 => {
            let c = b"qwertyuiop"[usize::from(code - 16)];
            (char::from(c), char::from(c.to_ascii_uppercase()))
        }
        26 => ('[', '{'),
        27 => (']', '}'),
        30..=38 => {
            let c = b"asdfghjkl"[usize::from(code - 30)];
            (char::from(c), char::from(c.to_ascii_uppercase()))
        }
        39 => (';', ':'),
        40 => ('\'', '"'),
        41 => ('`', '~'),
        43 => ('\\', '|'),
        44..=50 => {
            let c = b"zxcvbnm"[usize::from(code - 44)];
            (char::from(c), char::from(c.to_ascii_uppercase()))
        }
        51 => (',', '<'),
        52 => ('.', '>'),
        53 => ('/', '?'),
        55 => ('*', '*'),
        57 => (' ', ' '),
        74 => ('-', '-'),
        78 => ('+', '+'),
        83 => ('.', '.'),
        98 => ('/', '/'),
        _ => return keypad_digit(code).map(|d| (d, d)),
    })
}

/// Keypad digit of a key code.
pub fn keypad_digit(code: u16) -> Option<char> {
    Some(match code {
        71 => '7',
        72 => '8',
        73 => '9',
        75 => '4',
        76 => '5',
        77 => '6',
        79 => '1',
        80 => '2',
        81 => '3',
        82 => '0',
        _ => return None,
    })
}

/// The character a US keyboard types for a DOM `KeyboardEvent.code` (the physical key, which
/// does not depend on the desktop's layout) with or without Shift. The UI can send `code` and
/// `shiftKey` so a wedge scanner reads the same on an AZERTY or IME desktop.
pub fn us_char_for_dom_code(code: &str, shift: bool) -> Option<char> {
    let pick = |(lower, upper): (char, char)| if shift { upper } else { lower };
    if let Some(letter) = code.strip_prefix("Key") {
        let mut it = letter.chars();
        return match (it.next(), it.next()) {
            (Some(c), None) if c.is_ascii_uppercase() => Some(pick((c.to_ascii_lowercase(), c))),
            _ => None,
        };
    }
    if let Some(d) = code.strip_prefix("Digit") {
        let n: u16 = d.parse().ok().filter(|n| *n <= 9)?;
        // Linux key codes: 1..9 are 2..10, 0 is 11.
        return us_key(if n == 0 { 11 } else { n + 1 }).map(pick);
    }
    if let Some(d) = code.strip_prefix("Numpad") {
        if let Ok(n) = d.parse::<u32>() {
            return char::from_digit(n, 10).filter(|_| n <= 9);
        }
    }
    let key = match code {
        "Minus" => 12,
        "Equal" => 13,
        "BracketLeft" => 26,
        "BracketRight" => 27,
        "Semicolon" => 39,
        "Quote" => 40,
        "Backquote" => 41,
        "Backslash" => 43,
        "Comma" => 51,
        "Period" => 52,
        "Slash" => 53,
        "NumpadMultiply" => 55,
        "Space" => 57,
        "NumpadSubtract" => 74,
        "NumpadAdd" => 78,
        "NumpadDecimal" => 83,
        "NumpadDivide" => 98,
        _ => return None,
    };
    us_key(key).map(pick)
}

/// Settings of the key decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDecoderConfig {
    /// Tab ends a scan (Enter always does).
    pub tab_terminates: bool,
    /// Silence that ends a scan without terminator, in ms.
    pub idle_end_ms: u64,
}

impl Default for KeyDecoderConfig {
    fn default() -> Self {
        Self {
            tab_terminates: true,
            idle_end_ms: 100,
        }
    }
}

/// Sans-IO decoder of a dedicated scanner's key events.
#[derive(Debug, Clone, Default)]
pub struct KeyDecoder {
    config: KeyDecoderConfig,
    shift: u8,
    ctrl: u8,
    alt: u8,
    caps: bool,
    alt_code: Option<u32>,
    buf: String,
    last_ms: Option<u64>,
    out: VecDeque<(String, u64)>,
}

impl KeyDecoder {
    /// A decoder with the given settings.
    pub fn new(config: KeyDecoderConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    fn finish(&mut self, at_ms: u64) {
        if !self.buf.is_empty() {
            self.out.push_back((std::mem::take(&mut self.buf), at_ms));
        }
        self.last_ms = None;
    }

    fn modifier(count: &mut u8, value: i32) {
        match value {
            1 => *count = count.saturating_add(1).min(2),
            0 => *count = count.saturating_sub(1),
            _ => {}
        }
    }

    /// Feed one input event (`type`, `code`, `value` as in `struct input_event`).
    /// Non-key events and auto-repeat (value 2) are ignored.
    pub fn handle_event(&mut self, ev_type: u16, key: u16, value: i32, at_ms: u64) {
        if ev_type != EV_KEY {
            return;
        }
        match key {
            code::LEFT_SHIFT | code::RIGHT_SHIFT => return Self::modifier(&mut self.shift, value),
            code::LEFT_CTRL | code::RIGHT_CTRL => return Self::modifier(&mut self.ctrl, value),
            code::LEFT_ALT | code::RIGHT_ALT => {
                Self::modifier(&mut self.alt, value);
                if value == 0 && self.alt == 0 {
                    if let Some(c) = self.alt_code.take().and_then(char::from_u32) {
                        self.buf.push(c);
                        self.last_ms = Some(at_ms);
                    }
                }
                return;
            }
            _ => {}
        }
        if value != 1 {
            return;
        }
        match key {
            code::CAPS_LOCK => self.caps = !self.caps,
            code::ENTER | code::KP_ENTER => self.finish(at_ms),
            code::TAB if self.config.tab_terminates => self.finish(at_ms),
            code::TAB => {
                self.buf.push('\t');
                self.last_ms = Some(at_ms);
            }
            _ if self.alt > 0 => {
                if let Some(d) = keypad_digit(key).and_then(|d| d.to_digit(10)) {
                    let v = self.alt_code.unwrap_or(0);
                    self.alt_code = Some(v.saturating_mul(10).saturating_add(d) % 0x11_0000);
                }
            }
            _ => {
                let Some((lower, upper)) = us_key(key) else {
                    return;
                };
                let c = if self.ctrl > 0 {
                    // Ctrl + key → control character (Ctrl+] = GS, Ctrl+A = SOH…).
                    let control = [lower, upper].into_iter().find_map(|c| match c {
                        'a'..='z' => char::from_u32(u32::from(c) - 0x60),
                        '@'..='_' => char::from_u32(u32::from(c) - 0x40),
                        _ => None,
                    });
                    let Some(c) = control else { return };
                    c
                } else {
                    let letter = lower.is_ascii_alphabetic();
                    let shifted = (self.shift > 0) != (self.caps && letter);
                    if shifted {
                        upper
                    } else {
                        lower
                    }
                };
                self.buf.push(c);
                self.last_ms = Some(at_ms);
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called, if a code is pending.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.last_ms.map(|t| t + self.config.idle_end_ms)
    }

    /// End a pending code after silence.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let Some(t) = self.poll_timeout() {
            if now_ms >= t {
                self.finish(now_ms);
            }
        }
    }

    /// The next complete code and its time.
    pub fn poll(&mut self) -> Option<(String, u64)> {
        self.out.pop_front()
    }
}

/// Key events (code, shift) that type `text` on a US keyboard: the inverse of [`us_key`],
/// for simulators and uinput tests. Characters with no US key are skipped.
pub fn us_keystrokes(text: &str) -> Vec<(u16, bool)> {
    text.chars()
        .filter_map(|c| {
            if c == '\u{1d}' {
                return Some((code::RIGHT_BRACE, false)); // with Ctrl: see KeyDecoder
            }
            (1..=120u16).find_map(|k| match us_key(k) {
                Some((l, _)) if l == c && keypad_digit(k).is_none() => Some((k, false)),
                Some((l, u)) if u == c && l != u => Some((k, true)),
                _ => None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(d: &mut KeyDecoder, k: u16, t: u64) {
        d.handle_event(EV_KEY, k, 1, t);
        d.handle_event(EV_KEY, k, 0, t);
    }

    fn type_text(d: &mut KeyDecoder, text: &str, t0: u64) -> u64 {
        let mut t = t0;
        for c in text.chars() {
            if c == '\u{1d}' {
                d.handle_event(EV_KEY, code::LEFT_CTRL, 1, t);
                press(d, code::RIGHT_BRACE, t);
                d.handle_event(EV_KEY, code::LEFT_CTRL, 0, t);
            } else {
                let (k, shift) = us_keystrokes(&c.to_string())[0];
                if shift {
                    d.handle_event(EV_KEY, code::LEFT_SHIFT, 1, t);
                }
                press(d, k, t);
                if shift {
                    d.handle_event(EV_KEY, code::LEFT_SHIFT, 0, t);
                }
            }
            t += 3;
        }
        t
    }

    fn check(text: &str) {
        let mut d = KeyDecoder::default();
        let t = type_text(&mut d, text, 0);
        press(&mut d, code::ENTER, t);
        assert_eq!(d.poll(), Some((text.to_string(), t)), "text {text:?}");
        assert_eq!(d.poll(), None);
    }

    #[test]
    fn us_layout_round_trip() {
        check("6901234567892");
        check("SKU-001/a_b+C");
        check("]C10106901234567892\u{1d}10ABC");
        check("https://example.com/?q=1&r=\"x\"");
        check("~!@#$%^&*()_+{}|:<>?`-=[]\\;',./");
    }

    fn dom(code: &str, shift: bool, expected: Option<char>) {
        assert_eq!(
            us_char_for_dom_code(code, shift),
            expected,
            "{code} shift={shift}"
        );
    }

    #[test]
    fn dom_codes_with_us_layout() {
        dom("KeyA", false, Some('a'));
        dom("KeyQ", true, Some('Q'));
        dom("Digit1", false, Some('1'));
        dom("Digit1", true, Some('!'));
        dom("Digit0", false, Some('0'));
        dom("Digit0", true, Some(')'));
        dom("Minus", false, Some('-'));
        dom("BracketRight", false, Some(']'));
        dom("Slash", true, Some('?'));
        dom("Numpad7", false, Some('7'));
        dom("NumpadDecimal", false, Some('.'));
        dom("Space", false, Some(' '));
        dom("Enter", false, None);
        dom("KeyAB", false, None);
        dom("Digit10", false, None);
        dom("ShiftLeft", false, None);
    }

    #[test]
    fn caps_lock_and_repeat_and_silence() {
        let mut d = KeyDecoder::default();
        press(&mut d, code::CAPS_LOCK, 0);
        press(&mut d, 30, 1); // a → A
        d.handle_event(EV_KEY, code::LEFT_SHIFT, 1, 2);
        press(&mut d, 30, 2); // Shift + a with Caps → a
        d.handle_event(EV_KEY, code::LEFT_SHIFT, 0, 2);
        d.handle_event(EV_KEY, 2, 2, 3); // auto-repeat ignored
        d.handle_event(3, 0, 55, 3); // EV_ABS ignored
        press(&mut d, 2, 4);
        assert_eq!(d.poll_timeout(), Some(104));
        d.handle_timeout(103);
        assert_eq!(d.poll(), None);
        d.handle_timeout(104);
        assert_eq!(d.poll(), Some(("Aa1".into(), 104)));
        // Enter alone gives nothing.
        press(&mut d, code::ENTER, 200);
        assert_eq!(d.poll(), None);
    }

    #[test]
    fn alt_numpad_and_tab() {
        let mut d = KeyDecoder::default();
        d.handle_event(EV_KEY, code::LEFT_ALT, 1, 0);
        for k in [82, 82, 81, 73] {
            press(&mut d, k, 0); // Alt + 0039 → '\''
        }
        d.handle_event(EV_KEY, code::LEFT_ALT, 0, 0);
        press(&mut d, 30, 1);
        press(&mut d, code::TAB, 2);
        assert_eq!(d.poll(), Some(("'a".into(), 2)));
        let mut d = KeyDecoder::new(KeyDecoderConfig {
            tab_terminates: false,
            ..KeyDecoderConfig::default()
        });
        press(&mut d, 30, 0);
        press(&mut d, code::TAB, 1);
        press(&mut d, 48, 2);
        press(&mut d, code::KP_ENTER, 3);
        assert_eq!(d.poll(), Some(("a\tb".into(), 3)));
    }
}
