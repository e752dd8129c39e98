//! Rate engine: carrier rate cards (zones, 首重/续重, brackets, volumetric weight, rounding,
//! surcharges, insurance) → explained quotes. Money in fen, weight in grams. No IO.
//!
//! The pieces:
//! - [`RateCard`] is the contract as written in a card file (TOML/JSON, see `docs/rate-cards.md`)
//!   or imported from a carrier's spreadsheet: carrier, service, validity, zones by GB/T 2260
//!   province with city overrides, a default zone, unserviceable areas, a [`Pricing`] per zone,
//!   [`Volumetric`] and [`Rounding`] rules, a minimum charge, [`Surcharge`]s and [`Insurance`].
//! - [`RateBook`] validates a set of cards (every card on its own, and versions of one
//!   carrier/service must not overlap in time) and compiles them into lookup tables.
//! - [`RateBook::shop`] quotes a [`Parcel`] to a [`Region`](crate::region::Region) with every
//!   card in force at the given instant and returns the [`Quote`]s sorted by total, plus the
//!   cards that could not quote and why ([`NoQuote`]).
//! - A [`Quote`] borrows from its card (cheap to compute, no strings); [`Quote::record`] turns it
//!   into an owned, serialisable [`QuoteRecord`] with the one-line Chinese and English
//!   explanation, e.g. `新疆 三区：首重1kg 12.00元 + 续重2kg×8.00元 = 28.00元`.
//!
//! Arithmetic rules (written down once, used everywhere):
//! - weights are integer grams, money integer fen, percentages basis points (1 bp = 0.01 %);
//! - volumetric grams = ⌈L×W×H (mm³) ÷ divisor⌉ — with L, W, H in mm and the divisor in
//!   cm³/kg this is exactly the usual `L×W×H(cm) ÷ divisor` kilograms, in grams;
//! - a percentage of an amount is rounded half up to the fen;
//! - step counts are ceilings: a started step is a whole step.
//!
//! This module never reads the clock: the instant that selects a card version is an argument.

mod card;
mod quote;

pub use card::{
    parse_instant, Above, AboveMode, Areas, Boundary, Bracket, CardError, Insurance, Pricing,
    RateBook, RateCard, Rounding, Surcharge, Volumetric, Zone,
};
pub use quote::{
    format_kg, FeeDetail, NoQuote, Parcel, Quote, QuoteRecord, Shop, Skipped, SurchargeLine,
    SurchargeRecord,
};

#[cfg(test)]
mod tests;
