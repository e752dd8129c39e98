#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Keyboard-wedge decoding over realistic timing traces from the simulator (human typing at
//! 80–250 ms per key, scanners at 1–10 ms per key, scan then typing, scans back to back,
//! on-screen keyboard in between), and bounded property tests: every key comes out exactly
//! once, typing order is preserved, and scanner bursts are always recognised.

use drivers::scanner::sim::{KeySimulator, WedgeTiming};
use drivers::scanner::wedge::{
    is_modifier, Key, KeyEvent, KeyOrigin, WedgeConfig, WedgeDecoder, WedgeOutput,
};
use proptest::prelude::*;

/// Feeds events like the app's event loop (timeouts delivered before each key and at the
/// end) and returns the outputs.
fn decode(cfg: WedgeConfig, events: &[KeyEvent]) -> Vec<WedgeOutput> {
    let mut d = WedgeDecoder::new(cfg);
    let mut out = Vec::new();
    for e in events {
        if let Some(t) = d.poll_timeout().filter(|t| *t <= e.at_ms) {
            d.handle_timeout(t);
        }
        d.handle_key(e.clone());
        while let Some(o) = d.poll() {
            out.push(o);
        }
    }
    d.handle_timeout(u64::MAX / 2);
    while let Some(o) = d.poll() {
        out.push(o);
    }
    assert_eq!(d.held(), 0);
    out
}

fn scans(out: &[WedgeOutput]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            WedgeOutput::Scan { code, .. } => Some(code.clone()),
            WedgeOutput::PassThrough { .. } => None,
        })
        .collect()
}

fn released_text(out: &[WedgeOutput]) -> String {
    out.iter()
        .flat_map(|o| match o {
            WedgeOutput::PassThrough { keys } => keys.clone(),
            WedgeOutput::Scan { .. } => Vec::new(),
        })
        .filter_map(|k| match k.key {
            Key::Char(c) => Some(c),
            Key::Enter => Some('\n'),
            Key::Tab => Some('\t'),
            // A released modifier types nothing.
            Key::Other(name) if is_modifier(&name) => None,
            Key::Other(_) => Some('?'),
        })
        .collect()
}

#[test]
fn human_typing_never_becomes_a_scan() {
    for seed in 0..50 {
        let mut sim = KeySimulator::new(seed);
        let (keys, _) = sim.human("SF1000000007907\n", 0, 80, 250, KeyOrigin::Hardware);
        let out = decode(WedgeConfig::default(), &keys);
        assert!(scans(&out).is_empty(), "seed {seed}: {out:?}");
        assert_eq!(released_text(&out), "SF1000000007907\n");
    }
}

#[test]
fn scanner_bursts_are_scans() {
    for seed in 0..50 {
        let mut sim = KeySimulator::new(seed);
        let (keys, _) = sim.scan("]C10106901234567892", 0, &WedgeTiming::default());
        let out = decode(WedgeConfig::default(), &keys);
        assert_eq!(scans(&out), ["]C10106901234567892"], "seed {seed}");
        assert_eq!(released_text(&out), "");
    }
}

#[test]
fn scan_then_immediate_typing_and_back_to_back_scans() {
    let mut sim = KeySimulator::new(3);
    let mut keys = Vec::new();
    let (a, t) = sim.scan("6901230010002", 0, &WedgeTiming::default());
    keys.extend(a);
    let (b, t) = sim.scan("6901230011375", t + 15, &WedgeTiming::default());
    keys.extend(b);
    let (c, _) = sim.human("12", t + 60, 80, 250, KeyOrigin::Hardware);
    keys.extend(c);
    let out = decode(WedgeConfig::default(), &keys);
    assert_eq!(scans(&out), ["6901230010002", "6901230011375"]);
    assert_eq!(released_text(&out), "12");
}

#[test]
fn on_screen_keyboard_between_scans() {
    let mut sim = KeySimulator::new(9);
    let mut keys = Vec::new();
    let (a, t) = sim.scan("JT1234567890123", 0, &WedgeTiming::default());
    keys.extend(a);
    // On-screen taps arrive as fast as the touchscreen sends them: still typing.
    let (osk, t) = sim.human("1234567", t + 5, 1, 3, KeyOrigin::OnScreen);
    keys.extend(osk);
    let (b, _) = sim.scan("YT1234567890123", t + 5, &WedgeTiming::default());
    keys.extend(b);
    let out = decode(WedgeConfig::default(), &keys);
    assert_eq!(scans(&out), ["JT1234567890123", "YT1234567890123"]);
    assert_eq!(released_text(&out), "1234567");
}

fn key_strategy() -> impl Strategy<Value = Key> {
    prop_oneof![
        8 => proptest::char::range('0', 'z').prop_map(Key::Char),
        1 => Just(Key::Enter),
        1 => Just(Key::Tab),
        1 => Just(Key::Other("Backspace".into())),
        1 => Just(Key::Other("Shift".into())),
    ]
}

fn trace_strategy() -> impl Strategy<Value = Vec<KeyEvent>> {
    proptest::collection::vec((key_strategy(), 0u64..300, any::<bool>()), 0..60).prop_map(|v| {
        let mut t = 0;
        v.into_iter()
            .enumerate()
            .map(|(i, (key, gap, osk))| {
                t += gap;
                KeyEvent {
                    id: i as u64,
                    key,
                    at_ms: t,
                    origin: if osk && gap % 5 == 0 {
                        KeyOrigin::OnScreen
                    } else {
                        KeyOrigin::Hardware
                    },
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Nothing is lost or doubled: every key id comes out exactly once.
    #[test]
    fn every_key_comes_out_exactly_once(trace in trace_strategy()) {
        let out = decode(WedgeConfig::default(), &trace);
        let mut ids: Vec<u64> = out
            .iter()
            .flat_map(|o| match o {
                WedgeOutput::Scan { key_ids, .. } => key_ids.clone(),
                WedgeOutput::PassThrough { keys } => keys.iter().map(|k| k.id).collect(),
            })
            .collect();
        ids.sort_unstable();
        let want: Vec<u64> = (0..trace.len() as u64).collect();
        prop_assert_eq!(ids, want);
    }

    /// Hardware keys that are released keep their order.
    #[test]
    fn released_hardware_keys_keep_their_order(trace in trace_strategy()) {
        let out = decode(WedgeConfig::default(), &trace);
        let released: Vec<u64> = out
            .iter()
            .flat_map(|o| match o {
                WedgeOutput::PassThrough { keys } => keys
                    .iter()
                    .filter(|k| k.origin == KeyOrigin::Hardware)
                    .map(|k| k.id)
                    .collect(),
                WedgeOutput::Scan { .. } => Vec::new(),
            })
            .collect();
        let mut sorted = released.clone();
        sorted.sort_unstable();
        prop_assert_eq!(released, sorted);
    }

    /// A scanner burst of any printable code after any human typing is recognised intact.
    #[test]
    fn scanner_burst_after_typing_is_recognised(
        code in "[0-9A-Za-z\\-]{6,40}",
        typed in "[a-z]{0,5}",
        seed in any::<u64>(),
    ) {
        let mut sim = KeySimulator::new(seed);
        let (mut keys, t) = sim.human(&typed, 0, 80, 250, KeyOrigin::Hardware);
        let (scan, _) = sim.scan(&code, t + 300, &WedgeTiming::default());
        keys.extend(scan);
        let out = decode(WedgeConfig::default(), &keys);
        prop_assert_eq!(scans(&out), vec![code]);
        prop_assert_eq!(released_text(&out), typed);
    }
}
