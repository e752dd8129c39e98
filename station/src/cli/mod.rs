//! The `packbench` command line. Each subcommand lives in its own module with its own
//! clap types and a `run` function; this file only dispatches.
//!
//! Output contract: machine-readable results go to stdout as JSON (one object per line where
//! the command streams); progress and human messages go to stderr. Exit code 0 on success,
//! 1 on an error (printed to stderr as `error: …` with its place), 2 on usage errors (clap).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub mod audit;
pub mod barcode;
pub mod label;
pub mod order_center;
pub mod orders;
pub mod printer;
pub mod queue;
pub mod rates;
pub mod replay;
pub mod scale;
pub mod scanner;
pub mod sync;

/// PackBench — the packing-bench terminal, headless.
#[derive(Debug, Parser)]
#[command(name = "packbench", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import and inspect cached orders.
    #[command(subcommand)]
    Orders(orders::Cmd),
    /// Feed a JSON-lines script of scans, weights and overrides through the real engine and store.
    Replay(replay::Args),
    /// Verify the hash-chained audit log.
    #[command(subcommand)]
    Audit(audit::Cmd),
    /// Scale protocols: decode, monitor, probe, simulate.
    #[command(subcommand)]
    Scale(scale::Cmd),
    /// Scanner sources: HID-POS decoding, live monitor.
    #[command(subcommand)]
    Scanner(scanner::Cmd),
    /// Barcode semantics: AIM, GS1, check digits, courier recognition.
    #[command(subcommand)]
    Barcode(barcode::Cmd),
    /// Rate cards: validate and show.
    #[command(subcommand)]
    Rates(rates::Cmd),
    /// Quote a parcel against rate cards.
    Quote(rates::QuoteArgs),
    /// Render labels.
    #[command(subcommand)]
    Label(label::Cmd),
    /// Send a file to a printer.
    Print(printer::PrintArgs),
    /// Printer status.
    #[command(subcommand)]
    Printer(printer::Cmd),
    /// Upload pack results and download orders.
    Sync(sync::Args),
    /// Outbox: status, retry, export.
    #[command(subcommand)]
    Queue(queue::Cmd),
    /// The reference order-center server (for demos and tests).
    #[command(subcommand)]
    OrderCenter(order_center::Cmd),
}

/// Entry point used by the `packbench` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Dispatches one command.
pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Orders(c) => orders::run(c),
        Command::Replay(a) => replay::run(a),
        Command::Audit(c) => audit::run(c),
        Command::Scale(c) => scale::run(c),
        Command::Scanner(c) => scanner::run(c),
        Command::Barcode(c) => barcode::run(c),
        Command::Rates(c) => rates::run(c),
        Command::Quote(a) => rates::quote(a),
        Command::Label(c) => label::run(c),
        Command::Print(a) => printer::print(a),
        Command::Printer(c) => printer::run(c),
        Command::Sync(a) => sync::run(a),
        Command::Queue(c) => queue::run(c),
        Command::OrderCenter(c) => order_center::run(c),
    }
}
