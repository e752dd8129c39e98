//! PackBench devices: scales, scanners and printers.
//!
//! Architecture invariant: every byte protocol is a sans-IO decoder that you `feed(&[u8])`
//! and `poll()` for frames. It resynchronises on garbage, never assumes one read is one frame
//! and never panics. Transports own the port and the thread; decoders own the meaning.
//! This crate knows nothing about orders.

pub mod light;
pub mod printer;
#[cfg(unix)]
mod pty;
pub mod scale;
pub mod scanner;
