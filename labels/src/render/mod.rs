//! Backends that draw a resolved [`Layout`](crate::layout::Layout): PDF, TSPL, ZPL and PNG.

pub mod pdf;
pub mod raster;
pub mod tspl;
pub mod zpl;
