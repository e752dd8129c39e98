//! `packbench replay`: placeholder until its issue lands.

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON-lines script.
    pub file: String,
}

/// Runs the replay.
pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("packbench replay is not available yet")
}
