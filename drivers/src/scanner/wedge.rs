//! Sans-IO keyboard-wedge decoder: tells a scanner burst from human typing.
//!
//! The UI forwards every key event with a timestamp (whatever element has focus) and holds
//! it back; the decoder answers with either a [`WedgeOutput::Scan`] (the keys are consumed)
//! or [`WedgeOutput::PassThrough`] (the keys were typing: the UI lets them through, in
//! order). Nothing is ever dropped: every key fed in comes out exactly once, either inside
//! a scan or passed through.
//!
//! Rules (defaults from onscan.js / jQuery Scanner Detection): a burst is a scan when it has
//! at least `min_len` characters, its average time per character is at most
//! `avg_ms_per_char` (30 ms), no gap inside it exceeds `max_gap_ms`, and it ends with a
//! terminator key (Enter/Tab) or, when terminators are optional, with silence. A configured
//! prefix marks a scan whatever the timing. Keys from the on-screen keyboard are never
//! scanner input: they pass through at once and do not disturb a burst in progress.
//!
//! Style: `handle_key()` in, `poll()` out, `poll_timeout()`/`handle_timeout()` for the
//! silence deadline, time passed in as milliseconds. No clock, no IO, no panics.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// A key as the UI reports it (already mapped to a character by the UI where printable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter / Return (also keypad Enter).
    Enter,
    /// Tab.
    Tab,
    /// Any other key (Backspace, arrows, F-keys…), by name.
    Other(String),
}

/// Where a key event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOrigin {
    /// A hardware keyboard device (a real keyboard or a wedge scanner: indistinguishable).
    #[default]
    Hardware,
    /// The app's own on-screen keyboard: never scanner input.
    OnScreen,
}

/// One key-down event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// An id chosen by the UI so it can release exactly the keys passed through.
    pub id: u64,
    /// The key.
    pub key: Key,
    /// Timestamp in milliseconds (any monotonic origin).
    pub at_ms: u64,
    /// Source of the event.
    #[serde(default)]
    pub origin: KeyOrigin,
}

impl KeyEvent {
    /// A hardware key event.
    pub fn hw(id: u64, key: Key, at_ms: u64) -> Self {
        Self {
            id,
            key,
            at_ms,
            origin: KeyOrigin::Hardware,
        }
    }
}

/// Tunables of the decoder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WedgeConfig {
    /// Maximum average milliseconds per character of a scan.
    pub avg_ms_per_char: u64,
    /// Minimum number of characters of a scan (prefix and suffix excluded).
    pub min_len: usize,
    /// Maximum gap between two keys of the same burst; also the silence that ends a burst.
    pub max_gap_ms: u64,
    /// Enter ends a scan.
    pub enter_terminates: bool,
    /// Tab ends a scan.
    pub tab_terminates: bool,
    /// A scan must end with a terminator key or the suffix (otherwise silence ends it too).
    pub require_terminator: bool,
    /// Characters the scanner is programmed to send first (marks a scan whatever the timing).
    pub prefix: String,
    /// Characters the scanner is programmed to send last (ends a scan, removed).
    pub suffix: String,
}

/// Default maximum average time per character (onscan.js `avgTimeByChar`).
pub const DEFAULT_AVG_MS_PER_CHAR: u64 = 30;
/// Default minimum scan length (onscan.js `minLength`).
pub const DEFAULT_MIN_LEN: usize = 6;
/// Default maximum gap inside a burst and silence ending it.
pub const DEFAULT_MAX_GAP_MS: u64 = 50;
/// A pause shorter than this never breaks a burst's rhythm (USB polling jitter).
pub const RHYTHM_FLOOR_MS: u64 = 20;

impl Default for WedgeConfig {
    fn default() -> Self {
        Self {
            avg_ms_per_char: DEFAULT_AVG_MS_PER_CHAR,
            min_len: DEFAULT_MIN_LEN,
            max_gap_ms: DEFAULT_MAX_GAP_MS,
            enter_terminates: true,
            tab_terminates: true,
            require_terminator: false,
            prefix: String::new(),
            suffix: String::new(),
        }
    }
}

/// Whether a key name (`KeyboardEvent.key`) is a modifier: Shift, Control, Alt…
pub fn is_modifier(name: &str) -> bool {
    matches!(
        name,
        "Shift"
            | "Control"
            | "Alt"
            | "AltGraph"
            | "Meta"
            | "CapsLock"
            | "NumLock"
            | "Fn"
            | "OS"
            | "Super"
            | "Hyper"
    )
}

/// What the decoder decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WedgeOutput {
    /// A scan: the keys (ids listed) are consumed and must not reach the focused element.
    Scan {
        /// The scanned code (prefix, suffix and terminator removed).
        code: String,
        /// Time of the first character.
        first_ms: u64,
        /// Time of the last key (terminator included).
        last_ms: u64,
        /// Ids of the consumed key events.
        key_ids: Vec<u64>,
    },
    /// Keys that were typing: release them to the focused element, in this order.
    PassThrough {
        /// The key events.
        keys: Vec<KeyEvent>,
    },
}

/// The decoder state machine.
#[derive(Debug, Clone)]
pub struct WedgeDecoder {
    config: WedgeConfig,
    burst: Vec<KeyEvent>,
    out: VecDeque<WedgeOutput>,
}

impl WedgeDecoder {
    /// A decoder with the given configuration.
    pub fn new(config: WedgeConfig) -> Self {
        Self {
            config,
            burst: Vec::new(),
            out: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WedgeConfig {
        &self.config
    }

    /// Number of keys currently held back.
    pub fn held(&self) -> usize {
        self.burst.len()
    }

    fn last_ms(&self) -> Option<u64> {
        self.burst.last().map(|k| k.at_ms)
    }

    fn chars(&self) -> String {
        self.burst
            .iter()
            .filter_map(|k| match k.key {
                Key::Char(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    /// The code a burst would carry, or `None` when it is not a scan. `terminated` says
    /// whether a terminator key (already in the burst as its last key) or the suffix ended it.
    fn scan_code(&self, terminated: bool) -> Option<String> {
        let text = self.chars();
        let has_prefix = !self.config.prefix.is_empty() && text.starts_with(&self.config.prefix);
        let mut code = text.as_str();
        if has_prefix {
            code = &code[self.config.prefix.len()..];
        }
        let has_suffix = !self.config.suffix.is_empty() && code.ends_with(&self.config.suffix);
        if has_suffix {
            code = &code[..code.len() - self.config.suffix.len()];
        }
        if code.is_empty() {
            return None;
        }
        if !(terminated || has_suffix) && self.config.require_terminator {
            return None;
        }
        if has_prefix {
            return Some(code.to_string());
        }
        let n = code.chars().count();
        if n < self.config.min_len {
            return None;
        }
        // Timing over the characters only (a terminator may come a little later).
        let times: Vec<u64> = self
            .burst
            .iter()
            .filter(|k| matches!(k.key, Key::Char(_)))
            .map(|k| k.at_ms)
            .collect();
        let (first, last) = (times.first()?, times.last()?);
        let n_chars = u64::try_from(times.len()).unwrap_or(u64::MAX);
        if last.saturating_sub(*first) > n_chars.saturating_mul(self.config.avg_ms_per_char) {
            return None;
        }
        Some(code.to_string())
    }

    /// Decide the held burst: a scan if it qualifies, otherwise pass the keys through.
    fn flush(&mut self, terminated: bool) {
        if self.burst.is_empty() {
            return;
        }
        match self.scan_code(terminated) {
            Some(code) => {
                let first_ms = self.burst.first().map_or(0, |k| k.at_ms);
                let last_ms = self.last_ms().unwrap_or(first_ms);
                let key_ids = self.burst.iter().map(|k| k.id).collect();
                self.burst.clear();
                self.out.push_back(WedgeOutput::Scan {
                    code,
                    first_ms,
                    last_ms,
                    key_ids,
                });
            }
            None => {
                let keys = std::mem::take(&mut self.burst);
                self.out.push_back(WedgeOutput::PassThrough { keys });
            }
        }
    }

    fn is_terminator(&self, key: &Key) -> bool {
        match key {
            Key::Enter => self.config.enter_terminates,
            Key::Tab => self.config.tab_terminates,
            _ => false,
        }
    }

    /// Whether the burst has just completed the configured suffix.
    fn suffix_complete(&self) -> bool {
        !self.config.suffix.is_empty() && self.chars().ends_with(&self.config.suffix)
    }

    /// Average gap of the burst's characters so far, in ms.
    fn average_gap(&self) -> Option<u64> {
        let mut chars = self
            .burst
            .iter()
            .filter(|k| matches!(k.key, Key::Char(_)))
            .map(|k| k.at_ms);
        let first = chars.next()?;
        let (n, last) = chars.fold((0u64, first), |(n, _), t| (n + 1, t));
        (n > 0).then(|| last.saturating_sub(first) / n)
    }

    /// Feed one key-down event. Events must come in time order (an older timestamp is
    /// treated as simultaneous).
    pub fn handle_key(&mut self, ev: KeyEvent) {
        if ev.origin == KeyOrigin::OnScreen {
            self.out
                .push_back(WedgeOutput::PassThrough { keys: vec![ev] });
            return;
        }
        let at = ev.at_ms;
        if let Some(last) = self.last_ms() {
            let gap = at.saturating_sub(last);
            // A character after a gap much longer than the burst's rhythm starts a new
            // burst: a scanner does not pause mid-code. Terminators are exempt (some
            // scanners add a short delay before the suffix).
            let rhythm_break = matches!(ev.key, Key::Char(_))
                && self
                    .average_gap()
                    .is_some_and(|avg| gap > (4 * avg).max(RHYTHM_FLOOR_MS));
            if gap > self.config.max_gap_ms || rhythm_break {
                self.flush(false);
            }
        }
        match &ev.key {
            k if self.is_terminator(k) => {
                if self.burst.is_empty() {
                    self.out
                        .push_back(WedgeOutput::PassThrough { keys: vec![ev] });
                } else {
                    self.burst.push(ev);
                    self.flush(true);
                }
            }
            Key::Char(_) => {
                self.burst.push(ev);
                if self.suffix_complete() {
                    self.flush(true);
                }
            }
            Key::Enter | Key::Tab => {
                // Not configured as a terminator: decide the burst by timing, pass the key.
                self.flush(false);
                self.out
                    .push_back(WedgeOutput::PassThrough { keys: vec![ev] });
            }
            Key::Other(name) if is_modifier(name) => {
                // Scanners press Shift for capitals: a modifier neither starts nor breaks a
                // burst. It is held with the burst (and released with it if that was typing).
                if self.burst.is_empty() {
                    self.out
                        .push_back(WedgeOutput::PassThrough { keys: vec![ev] });
                } else {
                    self.burst.push(ev);
                }
            }
            Key::Other(_) => {
                // A scanner never sends editing keys: the held burst was typing.
                let mut keys = std::mem::take(&mut self.burst);
                keys.push(ev);
                self.out.push_back(WedgeOutput::PassThrough { keys });
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if keys are held.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.last_ms()
            .map(|t| t.saturating_add(self.config.max_gap_ms + 1))
    }

    /// Advance time: a burst silent for longer than `max_gap_ms` is decided.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let Some(deadline) = self.poll_timeout() {
            if now_ms >= deadline {
                self.flush(false);
            }
        }
    }

    /// The next decision, if any.
    pub fn poll(&mut self) -> Option<WedgeOutput> {
        self.out.pop_front()
    }
}

impl Default for WedgeDecoder {
    fn default() -> Self {
        Self::new(WedgeConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run a trace of (key, time) and collect outputs as compact strings:
    /// `S:code` for scans and `P:keys` for pass-through (Enter as `⏎`, Tab as `⇥`).
    fn run(config: WedgeConfig, trace: &[(Key, u64, KeyOrigin)], end_ms: u64) -> Vec<String> {
        let mut d = WedgeDecoder::new(config);
        let mut out = Vec::new();
        let drain = |d: &mut WedgeDecoder, out: &mut Vec<String>| {
            while let Some(o) = d.poll() {
                out.push(match o {
                    WedgeOutput::Scan { code, .. } => format!("S:{code}"),
                    WedgeOutput::PassThrough { keys } => format!(
                        "P:{}",
                        keys.iter()
                            .map(|k| match &k.key {
                                Key::Char(c) => c.to_string(),
                                Key::Enter => "⏎".into(),
                                Key::Tab => "⇥".into(),
                                Key::Other(n) => format!("<{n}>"),
                            })
                            .collect::<String>()
                    ),
                });
            }
        };
        for (i, (key, at, origin)) in trace.iter().enumerate() {
            // Deliver any timeout that fell before this key, as the event loop would.
            if let Some(t) = d.poll_timeout() {
                if t <= *at {
                    d.handle_timeout(t);
                }
            }
            d.handle_key(KeyEvent {
                id: i as u64,
                key: key.clone(),
                at_ms: *at,
                origin: *origin,
            });
            drain(&mut d, &mut out);
        }
        d.handle_timeout(end_ms);
        drain(&mut d, &mut out);
        assert_eq!(d.held(), 0, "keys left held");
        out
    }

    fn typed(text: &str, start: u64, step: u64) -> Vec<(Key, u64, KeyOrigin)> {
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                let key = match c {
                    '\n' => Key::Enter,
                    '\t' => Key::Tab,
                    '\u{8}' => Key::Other("Backspace".into()),
                    c => Key::Char(c),
                };
                (key, start + i as u64 * step, KeyOrigin::Hardware)
            })
            .collect()
    }

    fn check(trace: Vec<(Key, u64, KeyOrigin)>, expected: &[&str]) {
        check_cfg(WedgeConfig::default(), trace, expected);
    }

    fn check_cfg(cfg: WedgeConfig, trace: Vec<(Key, u64, KeyOrigin)>, expected: &[&str]) {
        let end = trace.last().map_or(0, |t| t.1) + 10_000;
        assert_eq!(run(cfg, &trace, end), expected);
    }

    #[test]
    fn scanner_burst_with_enter() {
        check(typed("6901234567892\n", 1000, 4), &["S:6901234567892"]);
    }

    #[test]
    fn scanner_burst_without_terminator_ends_on_silence() {
        check(typed("6901234567892", 1000, 3), &["S:6901234567892"]);
        let cfg = WedgeConfig {
            require_terminator: true,
            ..WedgeConfig::default()
        };
        check_cfg(cfg, typed("690123", 1000, 3), &["P:690123"]);
    }

    #[test]
    fn human_typing_is_passed_through() {
        // 80–250 ms per key: each key released on its own.
        let mut trace = typed("hello", 0, 80);
        trace.extend(typed("world\n", 2000, 250));
        check(
            trace,
            &[
                "P:h", "P:e", "P:l", "P:l", "P:o", "P:w", "P:o", "P:r", "P:l", "P:d", "P:⏎",
            ],
        );
    }

    #[test]
    fn short_fast_burst_is_typing() {
        check(typed("abc\n", 0, 5), &["P:abc⏎"]);
    }

    #[test]
    fn slow_average_is_typing() {
        // 45 ms per key is under the gap limit but over the 30 ms average.
        check(typed("abcdefgh\n", 0, 45), &["P:abcdefgh⏎"]);
    }

    #[test]
    fn scan_then_immediate_typing() {
        let mut trace = typed("SKU-000123\n", 0, 2);
        trace.extend(typed("ok", 40, 120));
        check(trace, &["S:SKU-000123", "P:o", "P:k"]);
    }

    #[test]
    fn scan_then_typing_without_terminator() {
        let mut trace = typed("SKU-000123", 0, 2);
        trace.extend(typed("ok", 45, 150));
        check(trace, &["S:SKU-000123", "P:o", "P:k"]);
    }

    #[test]
    fn two_scans_back_to_back() {
        let mut trace = typed("6901234567892\n", 0, 3);
        trace.extend(typed("0106901234567892\n", 45, 2));
        check(trace, &["S:6901234567892", "S:0106901234567892"]);
    }

    #[test]
    fn on_screen_keyboard_between_and_during_a_scan() {
        let mut trace: Vec<(Key, u64, KeyOrigin)> = vec![(Key::Char('1'), 0, KeyOrigin::OnScreen)];
        let mut scan = typed("JT1234567890123\n", 500, 3);
        // An on-screen key tapped while the scanner is typing.
        scan.insert(5, (Key::Char('x'), 512, KeyOrigin::OnScreen));
        trace.extend(scan);
        trace.push((Key::Char('2'), 700, KeyOrigin::OnScreen));
        check(trace, &["P:1", "P:x", "S:JT1234567890123", "P:2"]);
    }

    #[test]
    fn typing_then_scan() {
        let mut trace = typed("ab", 0, 200);
        trace.extend(typed("1234567\n", 600, 5));
        check(trace, &["P:a", "P:b", "S:1234567"]);
    }

    #[test]
    fn shift_for_capitals_does_not_break_a_scan() {
        let shift = |t| (Key::Other("Shift".into()), t, KeyOrigin::Hardware);
        let mut trace = vec![shift(0)];
        trace.push((Key::Char('S'), 1, KeyOrigin::Hardware));
        trace.push(shift(3));
        trace.push((Key::Char('F'), 4, KeyOrigin::Hardware));
        trace.extend(typed("1000000007907\n", 7, 3));
        // The Shift before the first character is released at once (it types nothing).
        check(trace, &["P:<Shift>", "S:SF1000000007907"]);
        // A lone Shift from the keyboard passes at once; typing with Shift is released whole.
        let mut trace = vec![shift(0)];
        trace.push((Key::Char('A'), 200, KeyOrigin::Hardware));
        trace.push(shift(230));
        trace.push((Key::Char('B'), 240, KeyOrigin::Hardware));
        check(trace, &["P:<Shift>", "P:A<Shift>B"]);
    }

    #[test]
    fn editing_key_flushes_as_typing() {
        check(typed("abcdefg\u{8}", 0, 3), &["P:abcdefg<Backspace>"]);
    }

    #[test]
    fn lone_terminator_passes() {
        check(typed("\n\t", 0, 300), &["P:⏎", "P:⇥"]);
    }

    #[test]
    fn prefix_and_suffix() {
        let cfg = WedgeConfig {
            prefix: "§".into(),
            suffix: "#".into(),
            ..WedgeConfig::default()
        };
        // With a prefix, even a short slow code is a scan.
        check_cfg(cfg.clone(), typed("§AB#", 0, 40), &["S:AB"]);
        check_cfg(
            cfg.clone(),
            typed("§6901234567892\n", 0, 3),
            &["S:6901234567892"],
        );
        check_cfg(cfg, typed("AB", 0, 3), &["P:AB"]);
    }

    #[test]
    fn tab_terminator_can_be_disabled() {
        let cfg = WedgeConfig {
            tab_terminates: false,
            ..WedgeConfig::default()
        };
        check_cfg(cfg, typed("1234567\t", 0, 3), &["S:1234567", "P:⇥"]);
    }

    #[test]
    fn poll_timeout_tracks_held_keys() {
        let mut d = WedgeDecoder::default();
        assert_eq!(d.poll_timeout(), None);
        d.handle_key(KeyEvent::hw(1, Key::Char('a'), 100));
        assert_eq!(d.poll_timeout(), Some(151));
        d.handle_timeout(150);
        assert_eq!(d.poll(), None);
        d.handle_timeout(151);
        assert!(matches!(d.poll(), Some(WedgeOutput::PassThrough { .. })));
        assert_eq!(d.poll_timeout(), None);
    }
}
