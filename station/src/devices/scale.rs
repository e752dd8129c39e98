//! The scale device in the station: the `[scale]` configuration section, the device thread
//! (from [`drivers::scale::transport`]) and the mapping of its events to station terms:
//! captures become [`Intent::Weight`] (raw frame kept for the audit), live readings become a
//! throttled [`LiveWeight`] stream for the UI, connection changes become [`ScaleStatus`].
//!
//! What this module must never do: judge a weight. Tolerances and the expected-weight check
//! live in the verification engine; this module only delivers stable captured weights.
//!
//! ```toml
//! [scale]
//! port = "COM3"            # or usb_vid/usb_pid (hot-plug safe), or protocol = "hid-pos"
//! protocol = "auto"        # mt-sics, toledo, xk3190, xk3190-cmd, xk3190-a12, xk3190-eq, sma, and, ohaus, nci, hid-pos
//! baud = 9600
//! data_bits = 8
//! parity = "none"          # none, odd, even
//! stop_bits = 1
//! flow_control = "none"    # none, software, hardware
//! unit = "kg"              # for protocols whose frames carry no unit (XK3190)
//! stable_readings = 5      # N readings …
//! stable_delta_g = 5       # … within δ grams …
//! stable_window_ms = 400   # … spanning T ms, when the protocol has no stability flag
//! min_weight_g = 20
//! ```

use crate::error::{Error, Result};
use crate::station::{Intent, Station};
use chrono::{DateTime, Utc};
use drivers::scale::capture::{CaptureConfig, Captured, Reading};
use drivers::scale::toledo;
use drivers::scale::transport::{
    self, Backoff, DataBits, DeviceConfig, DeviceEvent, FlowControl, Parity, PortSelector,
    ProtocolChoice, ScaleHandle, SerialSettings, Source, StopBits,
};
use drivers::scale::{DecoderOptions, FrameKind, Protocol, ScaleCommand, Unit};
use serde::{Deserialize, Serialize};
use std::sync::mpsc;
use std::sync::Arc;

/// The `[scale]` section of the station configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScaleConfig {
    /// Serial port name (`COM3`, `/dev/ttyUSB0`, `/dev/serial/by-id/…`). Empty: use the USB ids.
    pub port: Option<String>,
    /// USB vendor id of a USB-serial scale (hot-plug: the port is found again after replug),
    /// or of a HID-POS scale.
    pub usb_vid: Option<u16>,
    /// USB product id.
    pub usb_pid: Option<u16>,
    /// USB serial number, to tell two identical adapters apart.
    pub usb_serial: Option<String>,
    /// `auto` or a protocol name.
    pub protocol: String,
    /// Baud rate.
    pub baud: u32,
    /// 7 or 8.
    pub data_bits: u8,
    /// Parity.
    pub parity: Parity,
    /// 1 or 2.
    pub stop_bits: u8,
    /// Flow control.
    pub flow_control: FlowControl,
    /// Unit of protocols whose frames carry none.
    pub unit: Unit,
    /// Toledo continuous: checksum byte handling.
    pub toledo_checksum: toledo::ChecksumMode,
    /// Toledo continuous: unit coding (mettler, liden).
    pub toledo_unit_map: toledo::UnitMap,
    /// N: readings that must agree (protocols without a stability flag).
    pub stable_readings: u32,
    /// δ in grams.
    pub stable_delta_g: i64,
    /// T in milliseconds.
    pub stable_window_ms: u64,
    /// Trust the protocol's stability flag when it has one.
    pub trust_protocol_flag: bool,
    /// With a protocol flag, also require the weight to hold this long.
    pub confirm_ms: u64,
    /// Minimum parcel weight in grams.
    pub min_weight_g: i64,
    /// |weight| at or below this many grams counts as an empty scale.
    pub zero_band_g: i64,
    /// Live readings to the UI at most this often.
    pub live_interval_ms: u64,
    /// Reconnect backoff: first wait.
    pub reconnect_initial_ms: u64,
    /// Reconnect backoff: longest wait.
    pub reconnect_max_ms: u64,
}

impl Default for ScaleConfig {
    fn default() -> Self {
        let c = CaptureConfig::default();
        let s = SerialSettings::default();
        let b = Backoff::default();
        ScaleConfig {
            port: None,
            usb_vid: None,
            usb_pid: None,
            usb_serial: None,
            protocol: "auto".into(),
            baud: s.baud,
            data_bits: 8,
            parity: s.parity,
            stop_bits: 1,
            flow_control: s.flow_control,
            unit: Unit::Kg,
            toledo_checksum: toledo::ChecksumMode::default(),
            toledo_unit_map: toledo::UnitMap::default(),
            stable_readings: c.stable_readings,
            stable_delta_g: c.stable_delta_mg / 1000,
            stable_window_ms: c.stable_window_ms,
            trust_protocol_flag: c.trust_protocol_flag,
            confirm_ms: c.confirm_ms,
            min_weight_g: c.min_weight_mg / 1000,
            zero_band_g: c.zero_band_mg / 1000,
            live_interval_ms: 100,
            reconnect_initial_ms: b.initial_ms,
            reconnect_max_ms: b.max_ms,
        }
    }
}

impl ScaleConfig {
    /// True when a scale is configured (a port, USB ids or a HID-POS protocol).
    pub fn is_configured(&self) -> bool {
        self.port.as_deref().is_some_and(|p| !p.trim().is_empty())
            || self.usb_vid.is_some()
            || self.protocol.trim() == Protocol::HidPos.name()
    }

    /// Validates and converts to the driver's device configuration. Errors name the field.
    pub fn device_config(&self) -> Result<DeviceConfig> {
        let bad = |field: &str, message: String| Error::Invalid {
            place: format!("scale.{field}"),
            message,
        };
        let protocol = match self.protocol.trim() {
            "auto" | "" => ProtocolChoice::Auto,
            name => {
                ProtocolChoice::Fixed(name.parse::<Protocol>().map_err(|e| bad("protocol", e))?)
            }
        };
        let data_bits = match self.data_bits {
            7 => DataBits::Seven,
            8 => DataBits::Eight,
            n => return Err(bad("data_bits", format!("must be 7 or 8, not {n}"))),
        };
        let stop_bits = match self.stop_bits {
            1 => StopBits::One,
            2 => StopBits::Two,
            n => return Err(bad("stop_bits", format!("must be 1 or 2, not {n}"))),
        };
        if !(300..=921_600).contains(&self.baud) {
            return Err(bad(
                "baud",
                format!("{} is not a serial baud rate", self.baud),
            ));
        }
        for (field, v) in [
            ("stable_delta_g", self.stable_delta_g),
            ("min_weight_g", self.min_weight_g),
            ("zero_band_g", self.zero_band_g),
        ] {
            if v < 0 {
                return Err(bad(field, "must be 0 or more".into()));
            }
        }
        if self.stable_readings == 0 {
            return Err(bad("stable_readings", "must be at least 1".into()));
        }
        let source = if protocol == ProtocolChoice::Fixed(Protocol::HidPos) {
            let ids = match (self.usb_vid, self.usb_pid) {
                (Some(v), Some(p)) => vec![(v, p)],
                (None, None) => Vec::new(),
                _ => return Err(bad("usb_pid", "usb_vid and usb_pid go together".into())),
            };
            Source::HidUsb { ids }
        } else {
            let port = match (
                self.port.as_deref().map(str::trim),
                self.usb_vid,
                self.usb_pid,
            ) {
                (Some(p), _, _) if !p.is_empty() => PortSelector::Name { port: p.to_owned() },
                (_, Some(vid), Some(pid)) => PortSelector::Usb {
                    vid,
                    pid,
                    serial_number: self.usb_serial.clone(),
                },
                _ => {
                    return Err(bad(
                        "port",
                        "set port, or usb_vid and usb_pid, or protocol = \"hid-pos\"".into(),
                    ))
                }
            };
            Source::Serial {
                port,
                settings: SerialSettings {
                    baud: self.baud,
                    data_bits,
                    parity: self.parity,
                    stop_bits,
                    flow_control: self.flow_control,
                    ..SerialSettings::default()
                },
            }
        };
        Ok(DeviceConfig {
            source,
            protocol,
            decoder: DecoderOptions {
                unit: self.unit,
                toledo: toledo::Options {
                    checksum: self.toledo_checksum,
                    unit_map: self.toledo_unit_map,
                },
            },
            capture: CaptureConfig {
                stable_readings: self.stable_readings,
                stable_delta_mg: self.stable_delta_g.saturating_mul(1000),
                stable_window_ms: self.stable_window_ms,
                trust_protocol_flag: self.trust_protocol_flag,
                confirm_ms: self.confirm_ms,
                min_weight_mg: self.min_weight_g.saturating_mul(1000),
                zero_band_mg: self.zero_band_g.saturating_mul(1000),
                ..CaptureConfig::default()
            },
            backoff: Backoff {
                initial_ms: self.reconnect_initial_ms.max(10),
                max_ms: self.reconnect_max_ms.max(self.reconnect_initial_ms),
            },
            live_interval_ms: self.live_interval_ms,
            emit_frames: false,
        })
    }
}

/// A live weight for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveWeight {
    /// Grams (rounded), when the reading is a weight.
    pub grams: Option<i64>,
    /// Stable by the rule in force.
    pub stable: bool,
    /// `weight`, `overload`, `underload`, `error`.
    pub kind: FrameKind,
    /// What the display shows, e.g. `1.250 kg`, `OL`, or the error text.
    pub text: String,
    /// Device-thread milliseconds.
    pub at_ms: u64,
}

/// Connection state for the devices page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaleStatus {
    /// Port in use or being retried.
    pub port: String,
    /// Connected now.
    pub connected: bool,
    /// Protocol, once known.
    pub protocol: Option<Protocol>,
    /// Line settings or the reason for the last disconnect.
    pub detail: String,
}

/// What the scale reports to the station side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleEvent {
    /// A captured parcel weight, ready for [`Station::handle`].
    Weight(Intent),
    /// A live reading (throttled).
    Live(LiveWeight),
    /// Connection state changed.
    Status(ScaleStatus),
    /// The reading is stale (no frames).
    Stale,
}

/// Escapes a raw frame for the audit log: printable ASCII as is, everything else `\xNN`
/// (so the exact bytes can be recovered), trailing CR/LF dropped.
pub fn raw_text(raw: &[u8]) -> String {
    let trimmed = match raw.iter().rposition(|&b| b != b'\r' && b != b'\n') {
        Some(end) => raw.get(..=end).unwrap_or(raw),
        None => &[],
    };
    let mut s = String::with_capacity(trimmed.len());
    for &b in trimmed {
        if (0x20..0x7F).contains(&b) && b != b'\\' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// The weight intent for a capture.
pub fn intent_for(c: &Captured) -> Intent {
    Intent::Weight {
        grams: c.grams,
        stable: true,
        raw: Some(raw_text(&c.raw)),
    }
}

/// The UI reading for a live reading.
pub fn live_for(r: &Reading) -> LiveWeight {
    let text = match r.kind {
        FrameKind::Overload => "OL".to_owned(),
        FrameKind::Underload => "UL".to_owned(),
        FrameKind::Error => r.error.clone().unwrap_or_else(|| "error".into()),
        _ => r.weight.map(|w| w.to_string()).unwrap_or_default(),
    };
    LiveWeight {
        grams: r
            .mg
            .map(|mg| (mg + if mg >= 0 { 500 } else { -500 }) / 1000),
        stable: r.stable,
        kind: r.kind,
        text,
        at_ms: r.at_ms,
    }
}

/// Maps a device event to station terms (`None` for diagnostics the station does not use).
pub fn map_event(ev: DeviceEvent) -> Option<ScaleEvent> {
    match ev {
        DeviceEvent::Captured(c) => Some(ScaleEvent::Weight(intent_for(&c))),
        DeviceEvent::Live(r) => Some(ScaleEvent::Live(live_for(&r))),
        DeviceEvent::Connected {
            port,
            protocol,
            settings,
            ..
        } => Some(ScaleEvent::Status(ScaleStatus {
            port,
            connected: true,
            protocol: Some(protocol),
            detail: settings.unwrap_or_default(),
        })),
        DeviceEvent::Disconnected { port, reason, .. } => Some(ScaleEvent::Status(ScaleStatus {
            port,
            connected: false,
            protocol: None,
            detail: reason,
        })),
        DeviceEvent::Stale { .. } => Some(ScaleEvent::Stale),
        DeviceEvent::Frame { .. } | DeviceEvent::CommandFailed { .. } | DeviceEvent::Stopped => {
            None
        }
    }
}

/// A running scale: its device thread. Dropping it stops the thread.
#[derive(Debug)]
pub struct ScaleDevice {
    handle: ScaleHandle,
}

impl ScaleDevice {
    /// Starts the scale thread; its events, mapped to station terms, go to `sink` (called on
    /// the device thread: keep it short, e.g. a channel send).
    pub fn spawn(
        cfg: &ScaleConfig,
        mut sink: impl FnMut(ScaleEvent) + Send + 'static,
    ) -> Result<ScaleDevice> {
        let device = cfg.device_config()?;
        let handle = transport::spawn(device, move |ev| {
            if let Some(e) = map_event(ev) {
                sink(e);
            }
        })
        .map_err(|e| Error::Invalid {
            place: "scale".into(),
            message: e.to_string(),
        })?;
        Ok(ScaleDevice { handle })
    }

    /// Starts the scale and a forwarder thread that hands captures to the station (SQLite work
    /// stays off the device thread) and everything else to `ui`. `clock` gives the time for
    /// the intents (injected, so tests control it).
    pub fn spawn_for_station(
        cfg: &ScaleConfig,
        station: Station,
        clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
        ui: mpsc::Sender<ScaleEvent>,
    ) -> Result<ScaleDevice> {
        let (tx, rx) = mpsc::channel::<ScaleEvent>();
        let device = ScaleDevice::spawn(cfg, move |e| {
            let _ = tx.send(e);
        })?;
        std::thread::Builder::new()
            .name("scale-forward".into())
            .spawn(move || {
                for ev in rx {
                    if let ScaleEvent::Weight(intent) = &ev {
                        if let Err(e) = station.handle(intent.clone(), clock()) {
                            let _ = ui.send(ScaleEvent::Status(ScaleStatus {
                                port: String::new(),
                                connected: true,
                                protocol: None,
                                detail: format!("weight not recorded: {e}"),
                            }));
                        }
                    }
                    if ui.send(ev).is_err() {
                        // Nobody listens to the UI stream; keep forwarding weights.
                    }
                }
            })
            .map_err(|e| Error::Invalid {
                place: "scale".into(),
                message: format!("start scale forwarder: {e}"),
            })?;
        Ok(device)
    }

    /// Tares the scale (where the protocol has a tare command).
    pub fn tare(&self) -> Result<()> {
        self.send(ScaleCommand::Tare)
    }

    /// Zeroes the scale.
    pub fn zero(&self) -> Result<()> {
        self.send(ScaleCommand::Zero)
    }

    /// Forgets the last capture, so the parcel on the scale is captured again (re-weigh).
    pub fn rearm(&self) -> Result<()> {
        self.handle.rearm().map_err(|e| Error::Invalid {
            place: "scale".into(),
            message: e.to_string(),
        })
    }

    fn send(&self, c: ScaleCommand) -> Result<()> {
        self.handle.command(c).map_err(|e| Error::Invalid {
            place: "scale".into(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivers::scale::{Decimal, Weight};

    #[test]
    fn config_defaults_and_errors() {
        let c = ScaleConfig::default();
        assert!(!c.is_configured());
        let e = c.device_config().unwrap_err().to_string();
        assert!(e.starts_with("scale.port"), "{e}");
        let c = ScaleConfig {
            port: Some("COM3".into()),
            protocol: "toledo".into(),
            data_bits: 7,
            parity: Parity::Even,
            ..ScaleConfig::default()
        };
        let d = c.device_config().unwrap();
        assert_eq!(d.protocol, ProtocolChoice::Fixed(Protocol::Toledo));
        match d.source {
            Source::Serial { port, settings } => {
                assert_eq!(port.to_string(), "COM3");
                assert_eq!(settings.to_string(), "9600 7E1");
            }
            Source::HidUsb { .. } => panic!("serial expected"),
        }
        for (c, field) in [
            (
                ScaleConfig {
                    port: Some("x".into()),
                    protocol: "nope".into(),
                    ..ScaleConfig::default()
                },
                "scale.protocol",
            ),
            (
                ScaleConfig {
                    port: Some("x".into()),
                    data_bits: 6,
                    ..ScaleConfig::default()
                },
                "scale.data_bits",
            ),
            (
                ScaleConfig {
                    port: Some("x".into()),
                    stop_bits: 3,
                    ..ScaleConfig::default()
                },
                "scale.stop_bits",
            ),
            (
                ScaleConfig {
                    port: Some("x".into()),
                    baud: 7,
                    ..ScaleConfig::default()
                },
                "scale.baud",
            ),
            (
                ScaleConfig {
                    port: Some("x".into()),
                    min_weight_g: -1,
                    ..ScaleConfig::default()
                },
                "scale.min_weight_g",
            ),
            (
                ScaleConfig {
                    protocol: "hid-pos".into(),
                    usb_vid: Some(1),
                    ..ScaleConfig::default()
                },
                "scale.usb_pid",
            ),
        ] {
            let e = c.device_config().unwrap_err().to_string();
            assert!(e.starts_with(field), "{e}");
        }
        let hid = ScaleConfig {
            protocol: "hid-pos".into(),
            ..ScaleConfig::default()
        };
        assert!(hid.is_configured());
        assert!(
            matches!(hid.device_config().unwrap().source, Source::HidUsb { ids } if ids.is_empty())
        );
        let usb = ScaleConfig {
            usb_vid: Some(0x067b),
            usb_pid: Some(0x2303),
            ..ScaleConfig::default()
        };
        assert!(matches!(
            usb.device_config().unwrap().source,
            Source::Serial {
                port: PortSelector::Usb { .. },
                ..
            }
        ));
    }

    #[test]
    fn toml_section() {
        let c: ScaleConfig = toml::from_str(
            "port = \"/dev/ttyUSB0\"\nprotocol = \"xk3190\"\nunit = \"kg\"\nparity = \"odd\"\nstable_readings = 3\n",
        )
        .unwrap();
        assert_eq!(c.stable_readings, 3);
        assert_eq!(c.parity, Parity::Odd);
        assert!(toml::from_str::<ScaleConfig>("prot = 1").is_err());
    }

    #[test]
    fn station_config_carries_the_scale_section() {
        let c = crate::config::StationConfig::from_toml(
            "[scale]\nusb_vid = 0x067b\nusb_pid = 0x2303\nprotocol = \"and\"\nmin_weight_g = 50\n",
            "station.toml",
        )
        .unwrap();
        assert_eq!(
            (c.scale.usb_vid, c.scale.usb_pid),
            (Some(0x067b), Some(0x2303))
        );
        let d = c.scale.device_config().unwrap();
        assert_eq!(d.capture.min_weight_mg, 50_000);
        let e =
            crate::config::StationConfig::from_toml("[scale]\nbaud = \"fast\"\n", "station.toml")
                .unwrap_err()
                .to_string();
        assert!(e.starts_with("station.toml:2:"), "{e}");
    }

    #[test]
    fn raw_text_is_reversible_escaping() {
        assert_eq!(raw_text(b"S S      1.250 kg\r\n"), "S S      1.250 kg");
        assert_eq!(
            raw_text(b"\x02,1 123456010000\r\x1e"),
            "\\x02,1 123456010000\\x0d\\x1e"
        );
        assert_eq!(raw_text(b"a\\b"), "a\\x5cb");
    }

    #[test]
    fn capture_becomes_weight_intent() {
        let c = Captured {
            weight: Weight::new(Decimal::parse("1.250").unwrap(), Unit::Kg),
            mg: 1_250_000,
            grams: 1250,
            raw: b"S S      1.250 kg\r\n".to_vec(),
            at_ms: 10,
            stable_since_ms: 5,
        };
        assert_eq!(
            intent_for(&c),
            Intent::Weight {
                grams: 1250,
                stable: true,
                raw: Some("S S      1.250 kg".into())
            }
        );
    }
}
