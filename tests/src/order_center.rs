//! The reference order-center test server: its own SQLite store, dedupe by result_id, fault injection.
