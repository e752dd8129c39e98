//! The SQLite store: orders cache (indexed by order no, waybill no, platform order no and
//! barcode → SKU), pack sessions, immutable pack results and the hash-chained audit log.
//!
//! Every function takes a `&Connection` (a `Transaction` derefs to one) so callers choose the
//! transaction. Nothing here reads the clock: timestamps come in as arguments.
//!
//! Architecture invariant: pack results and audit entries are never updated or deleted
//! (triggers refuse it); the audit chain head is kept in `meta` so truncation is detectable.

pub mod audit;
pub mod import;
pub mod orders;
pub mod report;
pub mod results;

use crate::db::Migration;

/// Store tables, in the order they apply.
pub const MIGRATIONS: &[Migration] = &[
    orders::MIGRATIONS[0],
    results::MIGRATIONS[0],
    audit::MIGRATIONS[0],
    report::MIGRATIONS[0],
];
