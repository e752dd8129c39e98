//! The reference order-center test server: its own SQLite store, dedupe by `result_id`, fault
//! injection. It lives in `station::sync::test_server` so that `packbench order-center serve`
//! can start it too (station cannot depend on this crate); this module re-exports it and adds
//! helpers for the scenarios.

pub use station::sync::test_server::{Fault, OrderCenterServer, ServerError, ServerOptions, Stats};

/// Starts a server on an ephemeral 127.0.0.1 port with a private database, optionally
/// requiring a bearer token.
pub fn start(token: Option<&str>) -> Result<OrderCenterServer, ServerError> {
    OrderCenterServer::start(ServerOptions {
        port: 0,
        db_path: None,
        token: token.map(str::to_string),
    })
}
