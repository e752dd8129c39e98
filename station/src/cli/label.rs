//! `packbench label`: render a template with data to PDF, TSPL, ZPL or PNG; check a
//! template; list the fields a template may bind.

use anyhow::Context as _;
use clap::Subcommand;
use labels::{FontConfig, Fonts, Format, LabelData, Template};
use std::path::PathBuf;

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Render a template with data: `--format pdf|tspl|zpl|png`.
    Render(RenderArgs),
    /// Load and check a template (sizes, positions, fields, images) without rendering.
    Check {
        /// Template file (.toml or .json).
        #[arg(long)]
        template: PathBuf,
    },
    /// List the fields templates may bind (`{{order.no}}` …).
    Fields,
    /// Print sample label data as JSON (a starting point for `--data`).
    SampleData,
}

/// Arguments of `label render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Template file (.toml or .json).
    #[arg(long)]
    pub template: PathBuf,
    /// Label data (JSON, see `packbench label sample-data`); omitted = the sample data.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_parser = ["pdf", "tspl", "zpl", "png"])]
    pub format: String,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// CJK font file (.ttf/.otf/.ttc); default: search the usual system locations.
    #[arg(long)]
    pub font: Option<PathBuf>,
    /// Face index inside a font collection.
    #[arg(long)]
    pub font_index: Option<u32>,
    /// Print on another stock size than the template's (`100x150`, `100x180`, `76x130`,
    /// `4x6in`, `WxH` mm); elements keep their millimetre positions.
    #[arg(long)]
    pub size: Option<String>,
    /// Print at another resolution than the template's (203 or 300).
    #[arg(long)]
    pub dpi: Option<u32>,
    /// Copies (TSPL/ZPL print them; a PDF gets one page per copy).
    #[arg(long, default_value_t = 1)]
    pub copies: u32,
}

/// Runs the subcommand.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Render(a) => render(a),
        Cmd::Check { template } => {
            let t = Template::load(&template)?;
            println!(
                "{}",
                serde_json::json!({
                    "template": t.file.name,
                    "size": t.file.size,
                    "dpi": t.file.dpi.dpi(),
                    "elements": t.file.elements.len(),
                    "ok": true
                })
            );
            Ok(())
        }
        Cmd::Fields => {
            for f in labels::data::FIELDS {
                println!("{f}");
            }
            println!("extra.<name>");
            Ok(())
        }
        Cmd::SampleData => {
            println!("{}", serde_json::to_string_pretty(&LabelData::sample())?);
            Ok(())
        }
    }
}

fn render(a: RenderArgs) -> anyhow::Result<()> {
    let format = Format::parse(&a.format).context("unknown format")?;
    let mut template = Template::load(&a.template)?;
    if a.size.is_some() || a.dpi.is_some() {
        let mut file = template.file.clone();
        if let Some(size) = &a.size {
            file.size.clone_from(size);
        }
        if let Some(dpi) = a.dpi {
            file.dpi = dpi
                .try_into()
                .map_err(|m: String| anyhow::anyhow!("--dpi: {m}"))?;
        }
        let base = a.template.parent().unwrap_or(std::path::Path::new("."));
        template = Template::check(file, &a.template.display().to_string(), base)?;
    }
    let data = match &a.data {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading label data {}", p.display()))?;
            LabelData::from_json(&text, &p.display().to_string())?
        }
        None => LabelData::sample(),
    };
    let cfg = FontConfig {
        path: a.font.clone(),
        index: a.font_index,
        ..FontConfig::default()
    };
    // TSPL with resident fonts and no bitmap text can do without the font file.
    let fonts = match Fonts::load(&cfg) {
        Ok(f) => Some(f),
        Err(e) if format == Format::Tspl && a.font.is_none() => {
            eprintln!("warning: {e}; measuring text by estimate");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let started = std::time::Instant::now();
    let layout = labels::layout(&template, &data, fonts.as_ref())?;
    let bytes = labels::render(&layout, format, fonts.as_ref(), a.copies)?;
    let elapsed = started.elapsed();
    std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}",
        serde_json::json!({
            "out": a.out.display().to_string(),
            "format": format.extension(),
            "bytes": bytes.len(),
            "width_dots": layout.width,
            "height_dots": layout.height,
            "render_ms": elapsed.as_secs_f64() * 1000.0,
        })
    );
    Ok(())
}
