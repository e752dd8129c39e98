//! Scanner simulator: scripted scans with realistic keyboard-wedge timing, for demo mode
//! and tests. Deterministic: the jitter comes from a seeded generator, not the clock.

use super::wedge::{Key, KeyEvent, KeyOrigin};

/// Timing of a simulated wedge scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WedgeTiming {
    /// Smallest gap between two characters (ms).
    pub min_gap_ms: u64,
    /// Largest gap between two characters (ms).
    pub max_gap_ms: u64,
    /// Send Enter after the code.
    pub enter_suffix: bool,
    /// Press Shift (a `Shift` key event) before each capital, as browsers report it.
    pub shift_keys: bool,
}

impl Default for WedgeTiming {
    fn default() -> Self {
        // USB HID wedge scanners type at 1–10 ms per key.
        Self {
            min_gap_ms: 1,
            max_gap_ms: 10,
            enter_suffix: true,
            shift_keys: true,
        }
    }
}

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        if hi <= lo {
            lo
        } else {
            lo + z % (hi - lo + 1)
        }
    }
}

/// Generates key events as a wedge scanner (or a human) would type them.
#[derive(Debug, Clone)]
pub struct KeySimulator {
    jitter: Jitter,
    next_id: u64,
}

impl KeySimulator {
    /// A simulator with a seed for its timing jitter.
    pub fn new(seed: u64) -> Self {
        Self {
            jitter: Jitter::new(seed),
            next_id: 1,
        }
    }

    fn event(&mut self, key: Key, at_ms: u64, origin: KeyOrigin) -> KeyEvent {
        let id = self.next_id;
        self.next_id += 1;
        KeyEvent {
            id,
            key,
            at_ms,
            origin,
        }
    }

    /// Key events of a scan of `code` starting at `start_ms`; returns them and the time of
    /// the last event.
    pub fn scan(
        &mut self,
        code: &str,
        start_ms: u64,
        timing: &WedgeTiming,
    ) -> (Vec<KeyEvent>, u64) {
        let mut t = start_ms;
        let mut out = Vec::with_capacity(code.len() + 1);
        for (i, c) in code.chars().enumerate() {
            if i > 0 {
                t += self.jitter.range(timing.min_gap_ms, timing.max_gap_ms);
            }
            if timing.shift_keys && c.is_ascii_uppercase() {
                out.push(self.event(Key::Other("Shift".into()), t, KeyOrigin::Hardware));
            }
            out.push(self.event(Key::Char(c), t, KeyOrigin::Hardware));
        }
        if timing.enter_suffix {
            t += self.jitter.range(timing.min_gap_ms, timing.max_gap_ms);
            out.push(self.event(Key::Enter, t, KeyOrigin::Hardware));
        }
        (out, t)
    }

    /// Key events of a human typing `text` at `min_ms..=max_ms` per key.
    pub fn human(
        &mut self,
        text: &str,
        start_ms: u64,
        min_ms: u64,
        max_ms: u64,
        origin: KeyOrigin,
    ) -> (Vec<KeyEvent>, u64) {
        let mut t = start_ms;
        let mut out = Vec::new();
        for (i, c) in text.chars().enumerate() {
            if i > 0 {
                t += self.jitter.range(min_ms, max_ms);
            }
            let key = match c {
                '\n' => Key::Enter,
                '\t' => Key::Tab,
                c => Key::Char(c),
            };
            out.push(self.event(key, t, origin));
        }
        (out, t)
    }
}

/// A scripted scan for the threaded simulator source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedScan {
    /// Delay before this scan, from the previous one (ms).
    pub after_ms: u64,
    /// The code (AIM id included if wanted).
    pub code: String,
}

/// Parse a script `CODE[@DELAY_MS],CODE…` (default delay 1500 ms).
pub fn parse_script(text: &str) -> Vec<ScriptedScan> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|item| match item.rsplit_once('@') {
            Some((code, ms)) if ms.parse::<u64>().is_ok() => ScriptedScan {
                after_ms: ms.parse().unwrap_or(1500),
                code: code.to_string(),
            },
            _ => ScriptedScan {
                after_ms: 1500,
                code: item.to_string(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_timing_is_in_range_and_deterministic() {
        let mut a = KeySimulator::new(7);
        let mut b = KeySimulator::new(7);
        let (ea, end) = a.scan("6901234567892", 100, &WedgeTiming::default());
        let (eb, _) = b.scan("6901234567892", 100, &WedgeTiming::default());
        assert_eq!(ea, eb);
        assert_eq!(ea.len(), 14);
        assert_eq!(ea.last().map(|e| &e.key), Some(&Key::Enter));
        for w in ea.windows(2) {
            let gap = w[1].at_ms - w[0].at_ms;
            assert!((1..=10).contains(&gap), "gap {gap}");
        }
        assert_eq!(end, ea[13].at_ms);
    }

    #[test]
    fn script() {
        assert_eq!(
            parse_script("A@10,B,,C@x"),
            vec![
                ScriptedScan {
                    after_ms: 10,
                    code: "A".into()
                },
                ScriptedScan {
                    after_ms: 1500,
                    code: "B".into()
                },
                ScriptedScan {
                    after_ms: 1500,
                    code: "C@x".into()
                },
            ]
        );
    }
}
