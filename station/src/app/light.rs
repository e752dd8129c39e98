//! The app's side of the tower light: which [`BenchLight`] the bench shows, derived from the
//! view model every time the view is built (so scans, alarms, acknowledgements, sign-out,
//! recorded packs and order-center alarms all reach the lamps the same way), the device
//! thread of a configured light, and a simulated light in demo mode.
//!
//! What this module must never do: classify an outcome. The alarm class comes from the
//! verification engine through [`AppView::alarm`]; this module only maps it to lamps.

use super::{App, AppEvent, AppView, DeviceView, DiagResult, RawBytes};
use crate::devices::light::{
    test_program, BenchLight, LightDevice, LightWire, TowerLightConfig, TEST_STEP_MS,
};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use domain::verify::AlarmClass;
use drivers::light::{Light, Program};

/// The device id of the tower light on the devices page and in diagnostics.
pub const LIGHT_DEVICE_ID: &str = "tower-light";

/// What was last sent to the lamps (a new alarm of the same class is a new key, so its
/// buzzer sounds again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shown {
    state: BenchLight,
    fallback: BenchLight,
    alarm_seq: Option<u64>,
    /// When this state (with this alarm) was first shown.
    since: DateTime<Utc>,
}

/// The tower light as the app holds it.
#[derive(Debug, Default)]
pub(super) struct LightSide {
    cfg: TowerLightConfig,
    device: Option<LightDevice>,
    error: Option<String>,
    /// Demo mode: the lamps' state machine without a port.
    simulated: Option<Light>,
    shown: Option<Shown>,
}

impl LightSide {
    /// Switches the lamps off and stops the device thread.
    pub(super) fn stop(&mut self) {
        if let Some(d) = self.device.take() {
            d.stop();
        }
    }

    /// The state on the lamps now, if any was sent.
    pub(super) fn state(&self) -> Option<BenchLight> {
        self.shown.map(|s| s.state)
    }
}

fn hex(bytes: &[u8]) -> String {
    drivers::light::hex_string(bytes).to_lowercase()
}

impl App {
    /// Starts the configured tower light, or the simulated one in demo mode. A light that
    /// cannot start is shown on the devices page; the bench works without it.
    pub(super) fn start_light(&mut self) {
        let cfg = self.station.config().tower_light.clone();
        if cfg.is_configured() {
            let out = self.out.clone();
            let spawned = LightDevice::spawn(&cfg, move |w| {
                let (dir, bytes) = match w {
                    LightWire::Tx(b) => ("tx", b),
                    LightWire::Rx(b) => ("rx", b),
                };
                let _ = out.send(AppEvent::Raw(RawBytes {
                    device: LIGHT_DEVICE_ID.into(),
                    dir,
                    hex: hex(&bytes),
                    text: crate::devices::scale::raw_text(&bytes),
                }));
            });
            match spawned {
                Ok(d) => self.light.device = Some(d),
                Err(e) => {
                    eprintln!("packbench: tower light not started: {e}");
                    self.light.error = Some(e.to_string());
                }
            }
        } else if self.demo {
            match cfg.light_config() {
                Ok(lc) => {
                    let mut l = Light::new(lc);
                    l.connected(0);
                    self.light.simulated = Some(l);
                }
                Err(e) => self.light.error = Some(e.to_string()),
            }
        }
        self.light.cfg = cfg;
    }

    /// The bench state without alarms: off when nobody is signed in at a station with
    /// operators, ready with an order open, idle otherwise.
    fn base_light(&self, view: &AppView) -> BenchLight {
        let signed_out = view.session.is_none() && !self.station.config().operators.is_empty();
        if signed_out {
            BenchLight::Off
        } else if view.pack.order.is_some() && view.pack.state != "recorded" {
            BenchLight::Ready
        } else {
            BenchLight::Idle
        }
    }

    /// Sends the bench state to the lamps when it changed (called whenever the view is built).
    /// A stop alarm shows even when nobody is signed in; a warning does not.
    pub(super) fn show_light(&mut self, view: &AppView, now: DateTime<Utc>) {
        if self.light.device.is_none() && self.light.simulated.is_none() {
            return;
        }
        let fallback = self.base_light(view);
        let (state, alarm_seq) = match view.alarm.as_ref() {
            Some(a) if a.class == AlarmClass::Stop => (BenchLight::Stop, Some(a.seq)),
            Some(a) if a.class == AlarmClass::Warn && fallback != BenchLight::Off => {
                (BenchLight::Warning, Some(a.seq))
            }
            _ => (fallback, None),
        };
        let same_alarm = self
            .light
            .shown
            .filter(|p| p.state == state && p.alarm_seq == alarm_seq);
        if same_alarm.is_some_and(|p| p.fallback == fallback) {
            return;
        }
        let since = same_alarm.map_or(now, |p| p.since);
        self.light.shown = Some(Shown {
            state,
            fallback,
            alarm_seq,
            since,
        });
        // Only a warning depends on its fallback; a stop alarm's buzzer must not restart.
        if same_alarm.is_some() && state != BenchLight::Warning {
            return;
        }
        let elapsed = u64::try_from((now - since).num_milliseconds()).unwrap_or(0);
        let program = state.program_after(fallback, &self.light.cfg, elapsed);
        self.play(program, now);
    }

    fn play(&mut self, program: Program, now: DateTime<Utc>) {
        if let Some(d) = &self.light.device {
            if let Err(e) = d.set(program.clone()) {
                self.light.error = Some(e.to_string());
            }
        }
        if let Some(l) = self.light.simulated.as_mut() {
            l.set(program, App::ms(now));
        }
    }

    /// The tower light's entry on the devices page (none when neither configured nor demo).
    pub(super) fn light_device_view(&self, now: DateTime<Utc>) -> Option<DeviceView> {
        let state = self.light.state().map_or("—", BenchLight::name);
        if let Some(e) = &self.light.error {
            return Some(DeviceView {
                id: LIGHT_DEVICE_ID.into(),
                kind: "light".into(),
                name: self.light.cfg.port.clone().unwrap_or_default(),
                status: "error".into(),
                detail: e.clone(),
            });
        }
        if let Some(l) = &self.light.simulated {
            return Some(DeviceView {
                id: LIGHT_DEVICE_ID.into(),
                kind: "light".into(),
                name: "tower light (simulated)".into(),
                status: "simulated".into(),
                detail: format!(
                    "{state} · showing {} · lamps now {}",
                    l.signal(),
                    l.outputs(App::ms(now))
                ),
            });
        }
        let d = self.light.device.as_ref()?;
        let s = d.status();
        let status = match (s.connected, s.answering) {
            (true, Some(false)) => "error",
            (true, _) => "ok",
            (false, _) => "offline",
        };
        Some(DeviceView {
            id: LIGHT_DEVICE_ID.into(),
            kind: "light".into(),
            name: s.port.clone(),
            status: status.into(),
            detail: format!(
                "{} · {state} · showing {} · board {} · {} frames · {}",
                s.protocol, s.showing, s.board, s.frames, s.detail
            ),
        })
    }

    /// Diagnostics: green, yellow, red, buzzer in turn, then back to the bench state.
    pub(super) fn light_test(&mut self, now: DateTime<Utc>) -> Result<DiagResult> {
        if self.light.device.is_none() && self.light.simulated.is_none() {
            return Err(Error::Invalid {
                place: format!("diagnostics of {LIGHT_DEVICE_ID}"),
                message: self.light.error.clone().unwrap_or_else(|| {
                    "no tower light configured: add a [tower_light] section".into()
                }),
            });
        }
        let back = self
            .light
            .state()
            .map(|s| {
                let fallback = self.light.shown.map_or(s, |x| x.fallback);
                // A timed warning is not replayed: after the test the lamps show what it
                // falls back to.
                let s = if s == BenchLight::Warning {
                    fallback
                } else {
                    s
                };
                s.signal(&self.light.cfg)
            })
            .unwrap_or_default();
        let program = test_program(back);
        let lines: Vec<String> = program
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{:>5} ms: {}",
                    u64::try_from(i).unwrap_or(0) * TEST_STEP_MS,
                    s.signal
                )
            })
            .chain(std::iter::once(format!(
                "{:>5} ms: back to {}",
                u64::try_from(program.steps.len()).unwrap_or(0) * TEST_STEP_MS,
                program.then
            )))
            .collect();
        self.play(program, now);
        let target = match &self.light.device {
            Some(d) => {
                let s = d.status();
                format!("{} ({})", s.port, s.protocol)
            }
            None => "the simulated light".into(),
        };
        Ok(DiagResult {
            summary: format!("lamp test running on {target}: green → yellow → red → buzzer → off"),
            lines,
        })
    }
}
