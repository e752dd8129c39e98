//! Cross-crate test support: fixtures and the order-center test server.

pub mod app_support;
pub mod order_center;
pub mod sync_support;
