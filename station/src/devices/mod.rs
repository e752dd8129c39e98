//! Device supervision: each device is owned by one thread, restarted and reported when it dies,
//! and forwards its events (scans, captured weights) to the station as intents.

pub mod light;
pub mod scale;
pub mod scanner;
