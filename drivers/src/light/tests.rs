//! Data-driven tests of the light state machine: a script of inputs at times, the frames that
//! must appear on the wire (with their times) and the events.

use super::codec::{lcus, modbus_write_coil};
use super::*;

/// An input at a time.
#[derive(Debug, Clone)]
enum In {
    Connect,
    Disconnect,
    Set(Program),
    /// Bytes from the board.
    Rx(Vec<u8>),
}

/// Runs the script until `until_ms`, stepping time from deadline to deadline like a device
/// thread; returns `(ms, frame hex)` for every frame written.
fn run(light: &mut Light, script: &[(u64, In)], until_ms: u64) -> Vec<(u64, String)> {
    let mut wire = Vec::new();
    let mut inputs = script.iter().peekable();
    let mut now = 0u64;
    loop {
        while let Some((_, input)) = inputs.next_if(|(t, _)| *t <= now) {
            match input {
                In::Connect => light.connected(now),
                In::Disconnect => light.disconnected(),
                In::Set(p) => light.set(p.clone(), now),
                In::Rx(b) => light.feed(b, now),
            }
        }
        light.handle_timeout(now);
        while let Some(f) = light.poll_transmit(now) {
            wire.push((now, hex_string(&f)));
        }
        let next_input = inputs.peek().map(|(t, _)| *t);
        let next = match (light.poll_timeout(), next_input) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => break,
            },
        };
        let next = next.max(now + 1);
        if next > until_ms {
            break;
        }
        now = next;
    }
    wire
}

fn check(cfg: LightConfig, script: &[(u64, In)], until_ms: u64, expected: &[(u64, &str)]) {
    let mut light = Light::new(cfg);
    let got = run(&mut light, script, until_ms);
    let want: Vec<(u64, String)> = expected.iter().map(|(t, s)| (*t, s.to_string())).collect();
    assert_eq!(got, want, "script {script:?}");
}

fn lcus_cfg() -> LightConfig {
    LightConfig {
        frame_gap_ms: 0,
        ..LightConfig::new(RelayProtocol::Lcus)
    }
}

fn modbus_cfg(check_answers: bool, multiple_coils: bool) -> LightConfig {
    LightConfig {
        frame_gap_ms: 0,
        ..LightConfig::new(RelayProtocol::Modbus {
            address: 1,
            check_answers,
            multiple_coils,
        })
    }
}

fn green() -> Signal {
    Signal::only(Lamp::Green, Mode::On)
}

fn stop() -> Signal {
    Signal {
        red: Mode::On,
        buzzer: Mode::On,
        ..Signal::OFF
    }
}

fn h(b: &[u8]) -> String {
    hex_string(b)
}

#[test]
fn lcus_sends_only_changes_and_everything_after_reconnect() {
    let g_on = h(&lcus(1, true));
    let g_off = h(&lcus(1, false));
    let y_off = h(&lcus(2, false));
    let r_on = h(&lcus(3, true));
    let r_off = h(&lcus(3, false));
    let b_on = h(&lcus(4, true));
    let b_off = h(&lcus(4, false));
    check(
        lcus_cfg(),
        &[
            (0, In::Set(Program::steady(green()))),
            (5, In::Connect),
            (100, In::Set(Program::steady(stop()))),
            (200, In::Set(Program::steady(green()))),
            // Same signal again: nothing to send.
            (250, In::Set(Program::steady(green()))),
            (300, In::Disconnect),
            (400, In::Connect),
        ],
        1_000,
        &[
            // Connect: the board's state is unknown, every wired output is sent.
            (5, &g_on),
            (5, &y_off),
            (5, &r_off),
            (5, &b_off),
            (100, &g_off),
            (100, &r_on),
            (100, &b_on),
            (200, &g_on),
            (200, &r_off),
            (200, &b_off),
            (400, &g_on),
            (400, &y_off),
            (400, &r_off),
            (400, &b_off),
        ],
    );
}

#[test]
fn blinking_and_buzzer_auto_off() {
    let cfg = LightConfig {
        channels: Channels {
            green: Some(1),
            yellow: None,
            red: Some(2),
            buzzer: Some(3),
        },
        blink_ms: 500,
        buzzer_max_ms: Some(1_200),
        ..lcus_cfg()
    };
    let blink_green = Signal::only(Lamp::Green, Mode::Blink);
    check(
        cfg,
        &[
            (0, In::Connect),
            (0, In::Set(Program::steady(blink_green))),
            (1_100, In::Set(Program::steady(stop()))),
        ],
        3_000,
        &[
            (0, &h(&lcus(1, true))),
            (0, &h(&lcus(2, false))),
            (0, &h(&lcus(3, false))),
            (500, &h(&lcus(1, false))),
            (1_000, &h(&lcus(1, true))),
            (1_100, &h(&lcus(1, false))),
            (1_100, &h(&lcus(2, true))),
            (1_100, &h(&lcus(3, true))),
            // The buzzer goes quiet 1.2 s after the alarm started; the red lamp stays.
            (2_300, &h(&lcus(3, false))),
        ],
    );
}

#[test]
fn timed_program_then_holds() {
    let yellow = Signal::only(Lamp::Yellow, Mode::On);
    let cfg = LightConfig {
        channels: Channels {
            green: Some(1),
            yellow: Some(2),
            red: None,
            buzzer: None,
        },
        ..lcus_cfg()
    };
    check(
        cfg,
        &[
            (0, In::Connect),
            (0, In::Set(Program::steady(green()))),
            (100, In::Set(Program::timed(yellow, 5_000, green()))),
        ],
        10_000,
        &[
            (0, &h(&lcus(1, true))),
            (0, &h(&lcus(2, false))),
            (100, &h(&lcus(1, false))),
            (100, &h(&lcus(2, true))),
            (5_100, &h(&lcus(1, true))),
            (5_100, &h(&lcus(2, false))),
        ],
    );
}

#[test]
fn frame_gap_spaces_frames() {
    let cfg = LightConfig {
        frame_gap_ms: 20,
        channels: Channels {
            green: Some(1),
            yellow: Some(2),
            red: None,
            buzzer: None,
        },
        ..lcus_cfg()
    };
    check(
        cfg,
        &[(0, In::Connect), (0, In::Set(Program::steady(green())))],
        1_000,
        &[(0, &h(&lcus(1, true))), (20, &h(&lcus(2, false)))],
    );
}

#[test]
fn modbus_single_coils_wait_for_each_echo() {
    let echo = |coil, on| modbus_write_coil(1, coil, on);
    check(
        modbus_cfg(true, false),
        &[
            (0, In::Connect),
            (0, In::Set(Program::steady(green()))),
            (10, In::Rx(echo(0, true))),
            (20, In::Rx(echo(1, false))),
            (30, In::Rx(echo(2, false))),
            (40, In::Rx(echo(3, false))),
        ],
        100,
        &[
            (0, &h(&echo(0, true))),
            (10, &h(&echo(1, false))),
            (20, &h(&echo(2, false))),
            (30, &h(&echo(3, false))),
        ],
    );
}

#[test]
fn modbus_multiple_coils_switch_together() {
    let all = |g, y, r, b| codec::modbus_write_coils(1, 0, &[g, y, r, b]).unwrap();
    let ack = {
        let mut f = vec![1, 0x0F, 0, 0, 0, 4];
        let crc = codec::crc16(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        f
    };
    check(
        modbus_cfg(true, true),
        &[
            (0, In::Connect),
            (0, In::Set(Program::steady(green()))),
            (10, In::Rx(ack.clone())),
            (50, In::Set(Program::steady(stop()))),
            (60, In::Rx(ack.clone())),
        ],
        200,
        &[
            (0, &h(&all(true, false, false, false))),
            (50, &h(&all(false, false, true, true))),
        ],
    );
}

#[test]
fn silent_modbus_board_is_reported_and_retried() {
    let cfg = LightConfig {
        answer_timeout_ms: 300,
        retry_ms: 2_000,
        ..modbus_cfg(true, false)
    };
    let mut light = Light::new(cfg);
    let first = h(&modbus_write_coil(1, 0, true));
    let wire = run(
        &mut light,
        &[(0, In::Connect), (0, In::Set(Program::steady(green())))],
        4_700,
    );
    // Sent, no answer for 300 ms, retry 2 s later, again.
    assert_eq!(
        wire,
        vec![
            (0, first.clone()),
            (2_300, first.clone()),
            (4_600, first.clone())
        ]
    );
    assert_eq!(light.answering(), Some(false));
    // One report per outage, not one per retry.
    assert_eq!(
        std::iter::from_fn(|| light.poll_event()).collect::<Vec<_>>(),
        vec![LightEvent::NoAnswer {
            request: first,
            waited_ms: 300
        }]
    );
    // The board comes back: it answers, the rest follows.
    light.feed(&modbus_write_coil(1, 0, true), 4_650);
    assert_eq!(
        light.poll_event(),
        Some(LightEvent::BoardAnswers { address: 1 })
    );
    assert_eq!(
        light.poll_transmit(4_650).map(|f| h(&f)),
        Some(h(&modbus_write_coil(1, 1, false)))
    );
}

#[test]
fn modbus_exception_is_reported() {
    let mut light = Light::new(modbus_cfg(true, false));
    light.connected(0);
    light.set(Program::steady(green()), 0);
    assert!(light.poll_transmit(0).is_some());
    let mut exc = vec![1, 0x85, 2];
    let crc = codec::crc16(&exc);
    exc.extend_from_slice(&crc.to_le_bytes());
    // Another slave's answer is ignored; ours is the refusal.
    light.feed(&modbus_write_coil(7, 0, true), 5);
    light.feed(&exc, 10);
    assert_eq!(
        light.poll_event(),
        Some(LightEvent::Refused {
            code: 2,
            reason: "illegal data address (no such relay)"
        })
    );
    assert_eq!(light.poll_transmit(20), None, "waits before retrying");
    assert!(light.poll_transmit(10 + DEFAULT_RETRY_MS).is_some());
}

#[test]
fn modbus_without_answers_is_fire_and_forget() {
    check(
        modbus_cfg(false, false),
        &[(0, In::Connect), (0, In::Set(Program::steady(green())))],
        100,
        &[
            (0, &h(&modbus_write_coil(1, 0, true))),
            (0, &h(&modbus_write_coil(1, 1, false))),
            (0, &h(&modbus_write_coil(1, 2, false))),
            (0, &h(&modbus_write_coil(1, 3, false))),
        ],
    );
}

#[test]
fn ascii_templates() {
    let cfg = LightConfig {
        channels: Channels {
            green: Some(1),
            yellow: None,
            red: Some(3),
            buzzer: None,
        },
        ..LightConfig {
            frame_gap_ms: 0,
            ..LightConfig::new(RelayProtocol::Ascii {
                on: "AT+CH{ch}=1\r\n".into(),
                off: "AT+CH{ch}=0\r\n".into(),
            })
        }
    };
    check(
        cfg,
        &[(0, In::Connect), (0, In::Set(Program::steady(green())))],
        100,
        &[(0, &h(b"AT+CH1=1\r\n")), (0, &h(b"AT+CH3=0\r\n"))],
    );
}

#[test]
fn periodic_refresh_resends() {
    let cfg = LightConfig {
        refresh_ms: Some(1_000),
        channels: Channels {
            green: Some(1),
            yellow: None,
            red: None,
            buzzer: None,
        },
        ..lcus_cfg()
    };
    let on = h(&lcus(1, true));
    check(
        cfg,
        &[(0, In::Connect), (0, In::Set(Program::steady(green())))],
        2_500,
        &[(0, &on), (1_000, &on), (2_000, &on)],
    );
}

#[test]
fn config_validation_names_the_field() {
    fn check(cfg: LightConfig, want: Option<&str>) {
        match (cfg.validate(), want) {
            (Ok(()), None) => {}
            (Err(e), Some(w)) => assert!(e.to_string().contains(w), "{e}"),
            (got, w) => panic!("got {got:?}, want {w:?}"),
        }
    }
    check(lcus_cfg(), None);
    check(
        LightConfig {
            channels: Channels {
                green: Some(1),
                yellow: Some(1),
                red: None,
                buzzer: None,
            },
            ..lcus_cfg()
        },
        Some("green and yellow are both on channel 1"),
    );
    check(
        LightConfig {
            channels: Channels {
                green: None,
                yellow: None,
                red: None,
                buzzer: None,
            },
            ..lcus_cfg()
        },
        Some("tower_light.channels"),
    );
    check(
        LightConfig {
            channels: Channels {
                green: Some(0),
                ..Channels::default()
            },
            ..lcus_cfg()
        },
        Some("count from 1"),
    );
    check(modbus_cfg(true, true), None);
    check(
        LightConfig::new(RelayProtocol::Modbus {
            address: 0,
            check_answers: true,
            multiple_coils: false,
        }),
        Some("tower_light.modbus_address"),
    );
    check(
        LightConfig::new(RelayProtocol::Ascii {
            on: String::new(),
            off: "x".into(),
        }),
        Some("ascii_on"),
    );
}

#[test]
fn displays() {
    assert_eq!(Signal::OFF.to_string(), "off");
    assert_eq!(stop().to_string(), "red + buzzer");
    assert_eq!(
        Signal::only(Lamp::Green, Mode::Blink).to_string(),
        "green blinking"
    );
    let mut light = Light::new(lcus_cfg());
    light.set(Program::steady(stop()), 0);
    assert_eq!(light.outputs(0).to_string(), "red + buzzer");
    assert_eq!(light.board().to_string(), "all off");
}

mod properties {
    use super::super::codec::ModbusDecoder;
    use super::super::sim::VirtualBoard;
    use super::*;
    use proptest::prelude::*;

    fn mode() -> impl Strategy<Value = Mode> {
        prop_oneof![Just(Mode::Off), Just(Mode::On), Just(Mode::Blink)]
    }

    fn signal() -> impl Strategy<Value = Signal> {
        (mode(), mode(), mode(), mode()).prop_map(|(green, yellow, red, buzzer)| Signal {
            green,
            yellow,
            red,
            buzzer,
        })
    }

    fn protocol() -> impl Strategy<Value = RelayProtocol> {
        prop_oneof![
            Just(RelayProtocol::Lcus),
            any::<bool>().prop_map(|multiple_coils| RelayProtocol::Modbus {
                address: 1,
                check_answers: true,
                multiple_coils,
            }),
            Just(RelayProtocol::Ascii {
                on: "ON{ch};".into(),
                off: "OFF{ch};".into(),
            }),
        ]
    }

    /// (ms after the previous event, signal) pairs.
    fn script() -> impl Strategy<Value = Vec<(u64, Signal)>> {
        proptest::collection::vec((0u64..1_500, signal()), 1..12)
    }

    proptest! {
        /// Whatever is asked, and whenever, a board that answers ends up showing what the
        /// light wants (frames through a virtual board of the same protocol).
        #[test]
        fn the_board_converges(protocol in protocol(), script in script(), gap in 0u64..20) {
            let cfg = LightConfig {
                frame_gap_ms: gap,
                buzzer_max_ms: Some(2_000),
                ..LightConfig::new(protocol.clone())
            };
            let mut light = Light::new(cfg);
            let mut board = VirtualBoard::new(protocol);
            let mut now = 0u64;
            light.connected(now);
            let step = |light: &mut Light, board: &mut VirtualBoard, now: u64| {
                light.handle_timeout(now);
                while let Some(f) = light.poll_transmit(now) {
                    board.feed(&f);
                    let answer = board.take_output();
                    light.feed(&answer, now);
                }
            };
            for (after, signal) in script {
                let until = now + after;
                while let Some(t) = light.poll_timeout().filter(|t| *t <= until) {
                    now = t.max(now);
                    step(&mut light, &mut board, now);
                    if light.poll_timeout() == Some(t) { break; }
                }
                now = until;
                light.set(Program::steady(signal), now);
                step(&mut light, &mut board, now);
            }
            // End on a steady version of the last signal (a blinking lamp never settles), and
            // give every output its frame gap.
            let steady = |m: Mode| if m == Mode::Blink { Mode::On } else { m };
            let last = light.signal();
            light.set(
                Program::steady(Signal {
                    green: steady(last.green),
                    yellow: steady(last.yellow),
                    red: steady(last.red),
                    buzzer: steady(last.buzzer),
                }),
                now,
            );
            step(&mut light, &mut board, now);
            let settle = now + 4 * gap + 1;
            while let Some(t) = light.poll_timeout().filter(|t| *t <= settle) {
                now = t.max(now);
                step(&mut light, &mut board, now);
                if light.poll_timeout() == Some(t) { break; }
            }
            let want = light.outputs(now);
            for (lamp, ch) in light.config().channels.wired() {
                prop_assert_eq!(board.is_on(u16::from(ch)), want.get(lamp), "{:?} at {}", lamp, now);
            }
            prop_assert_eq!(light.board(), want);
        }

        /// The Modbus answer decoder never panics and gives the same answers fed whole or
        /// byte by byte.
        #[test]
        fn modbus_decoder_total(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut whole = ModbusDecoder::new();
            whole.feed(&bytes);
            let a: Vec<_> = std::iter::from_fn(|| whole.poll()).collect();
            let mut each = ModbusDecoder::new();
            let mut b = Vec::new();
            for x in &bytes {
                each.feed(&[*x]);
                b.extend(std::iter::from_fn(|| each.poll()));
            }
            prop_assert_eq!(a, b);
        }

        /// The virtual board never panics on garbage, whatever its protocol.
        #[test]
        fn virtual_board_total(protocol in protocol(), bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut board = VirtualBoard::new(protocol);
            board.feed(&bytes);
            let _ = board.take_output();
        }
    }
}
