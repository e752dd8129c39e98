//! Pseudo-terminal pairs for the device simulators (unix only): the simulator keeps the master
//! side and the host opens the slave by name, like a USB-serial adapter.

use serialport::{SerialPort, TTYPort};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Opens a pty pair and returns the master (5 ms read timeout) with the path the host opens:
/// the slave's name, or the symlink `link` to it (a stable name across replugs).
pub(crate) fn open_pair(link: Option<&Path>) -> std::io::Result<(TTYPort, PathBuf)> {
    let (mut master, slave) = TTYPort::pair().map_err(std::io::Error::other)?;
    let slave_path = slave
        .name()
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other("pty has no name"))?;
    // The host opens the slave by name (exclusively); do not keep it open here.
    drop(slave);
    master
        .set_timeout(Duration::from_millis(5))
        .map_err(std::io::Error::other)?;
    let path = match link {
        Some(l) => {
            let _ = std::fs::remove_file(l);
            std::os::unix::fs::symlink(&slave_path, l)?;
            l.to_path_buf()
        }
        None => slave_path,
    };
    Ok((master, path))
}
