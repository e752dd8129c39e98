//! The SQLite store: orders cache, pack sessions and results, hash-chained audit log.
