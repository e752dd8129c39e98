//! Cross-crate test support: fixtures and the order-center test server.

pub mod order_center;
pub mod sync_support;
