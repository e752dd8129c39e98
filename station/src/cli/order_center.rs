//! `packbench order-center`: placeholder until its issue lands.

use clap::Subcommand;

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Not yet available.
    Todo,
}

/// Runs the subcommand.
pub fn run(_cmd: Cmd) -> anyhow::Result<()> {
    anyhow::bail!("packbench order-center is not available yet")
}
