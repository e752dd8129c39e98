//! Linux evdev scanner source: finds the scanner's `/dev/input/event*` node (by path,
//! USB VID/PID or name), grabs it exclusively (EVIOCGRAB, so the desktop never sees the
//! keystrokes and focus does not matter) and decodes key codes with a US layout.

use std::path::{Path, PathBuf};

use super::keymap::{KeyDecoder, KeyDecoderConfig};
use super::ScannerError;

/// How to find the scanner's event node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvdevSelector {
    /// A device node path, e.g. `/dev/input/event5` or a `/dev/input/by-id/…` link.
    Path(PathBuf),
    /// The first keyboard-like device with this USB vendor and product id.
    UsbId {
        /// Vendor id.
        vid: u16,
        /// Product id.
        pid: u16,
    },
    /// The first device whose name contains this text (case-insensitive).
    Name(String),
}

impl std::fmt::Display for EvdevSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(p) => write!(f, "{}", p.display()),
            Self::UsbId { vid, pid } => write!(f, "usb:{vid:04x}:{pid:04x}"),
            Self::Name(n) => write!(f, "name:{n}"),
        }
    }
}

fn io(device: &str) -> impl FnOnce(std::io::Error) -> ScannerError + '_ {
    move |source| ScannerError::Io {
        device: device.to_string(),
        source,
    }
}

/// Resolve a selector to a device node path.
pub fn find_device(sel: &EvdevSelector) -> Result<PathBuf, ScannerError> {
    match sel {
        EvdevSelector::Path(p) => Ok(p.clone()),
        EvdevSelector::UsbId { vid, pid } => evdev::enumerate()
            .find(|(_, d)| {
                let id = d.input_id();
                id.vendor() == *vid && id.product() == *pid && d.supported_keys().is_some()
            })
            .map(|(p, _)| p)
            .ok_or_else(|| ScannerError::NotFound {
                what: format!("input device {sel}"),
            }),
        EvdevSelector::Name(name) => {
            let needle = name.to_lowercase();
            evdev::enumerate()
                .find(|(_, d)| d.name().is_some_and(|n| n.to_lowercase().contains(&needle)))
                .map(|(p, _)| p)
                .ok_or_else(|| ScannerError::NotFound {
                    what: format!("input device {sel}"),
                })
        }
    }
}

/// A grabbed scanner device.
pub struct EvdevScanner {
    device: evdev::Device,
    path: String,
    decoder: KeyDecoder,
}

impl std::fmt::Debug for EvdevScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EvdevScanner({})", self.path)
    }
}

impl EvdevScanner {
    /// Open and exclusively grab the device node.
    pub fn open(path: &Path, config: KeyDecoderConfig) -> Result<Self, ScannerError> {
        let name = path.display().to_string();
        let mut device = evdev::Device::open(path).map_err(io(&name))?;
        device.grab().map_err(io(&name))?;
        // Non-blocking reads let the owner thread enforce the end-of-scan silence and stop.
        device.set_nonblocking(true).map_err(io(&name))?;
        Ok(Self {
            device,
            path: name,
            decoder: KeyDecoder::new(config),
        })
    }

    /// The device node.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Read what the kernel has, feed the decoder, and return completed codes with their
    /// time (`now_ms` of the caller's clock). Call at least every few ms while running.
    pub fn pump(&mut self, now_ms: u64) -> Result<Vec<(String, u64)>, ScannerError> {
        match self.device.fetch_events() {
            Ok(events) => {
                for ev in events {
                    self.decoder
                        .handle_event(ev.event_type().0, ev.code(), ev.value(), now_ms);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(io(&self.path)(e)),
        }
        self.decoder.handle_timeout(now_ms);
        let mut out = Vec::new();
        while let Some(code) = self.decoder.poll() {
            out.push(code);
        }
        Ok(out)
    }
}

impl Drop for EvdevScanner {
    fn drop(&mut self) {
        let _ = self.device.ungrab();
    }
}
