//! `packbench print` and `packbench printer`: placeholder until its issue lands.

use clap::Subcommand;

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Not yet available.
    Todo,
}

/// Print arguments.
#[derive(Debug, clap::Args)]
pub struct PrintArgs {
    /// Printer address.
    #[arg(long)]
    pub printer: String,
    /// File to send.
    pub file: String,
}

/// Runs `printer`.
pub fn run(_cmd: Cmd) -> anyhow::Result<()> {
    anyhow::bail!("packbench printer is not available yet")
}

/// Runs `print`.
pub fn print(_a: PrintArgs) -> anyhow::Result<()> {
    anyhow::bail!("packbench print is not available yet")
}
