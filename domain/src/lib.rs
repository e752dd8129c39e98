//! PackBench domain: the pure core of the packing bench.
//!
//! Architecture invariant: this crate does no IO and never reads the clock.
//! Time comes in as an argument (`chrono::DateTime<Utc>` or a millisecond
//! instant), bytes come in as slices, and everything returns values.
//! Money is integer fen ([`units::Fen`]), weight integer grams ([`units::Grams`]).

pub mod barcode;
pub mod order;
pub mod rates;
pub mod region;
pub mod units;
pub mod verify;

pub use order::{Barcode as OrderBarcode, Destination, Order, OrderLine, OrderStatus};
pub use units::{Fen, Grams};
