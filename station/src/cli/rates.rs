//! `packbench rates` and `packbench quote`: placeholder until its issue lands.

use clap::Subcommand;

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Not yet available.
    Todo,
}

/// Quote arguments.
#[derive(Debug, clap::Args)]
pub struct QuoteArgs {
    /// Rate card files.
    #[arg(long)]
    pub cards: Vec<String>,
}

/// Runs `rates`.
pub fn run(_cmd: Cmd) -> anyhow::Result<()> {
    anyhow::bail!("packbench rates is not available yet")
}

/// Runs `quote`.
pub fn quote(_a: QuoteArgs) -> anyhow::Result<()> {
    anyhow::bail!("packbench quote is not available yet")
}
