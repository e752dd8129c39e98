//! `packbench sync`: placeholder until its issue lands.

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Order-center base URL.
    #[arg(long)]
    pub order_center: Option<String>,
}

/// Runs the sync.
pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("packbench sync is not available yet")
}
