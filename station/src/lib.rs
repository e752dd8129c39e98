//! PackBench station: the headless application.
//!
//! Owns the SQLite store (orders cache, pack results, outbox, audit), order-center sync,
//! device supervision and the [`Station`](crate::station) handle that the Tauri shell and the
//! tests drive. Also the `packbench` command-line tool ([`cli`]).
//!
//! Architecture invariant: SQLite, serial and USB calls never run on an async runtime.
//! SQLite lives on its own thread or is called from blocking contexts only.

pub mod app;
pub mod cli;
pub mod config;
pub mod config_edit;
pub mod db;
pub mod devices;
pub mod error;
pub mod outbox;
pub mod printing;
pub mod rating;
pub mod station;
pub mod store;
pub mod sync;

pub use error::{Error, Result};
