//! `packbench rates check FILE…` and `packbench quote …`: validate rate cards and spreadsheets,
//! and quote a parcel against them.
//!
//! `rates check` prints one JSON object per file (`{"file", "ok", "cards": […], "notes": […]}`
//! or `{"file", "ok": false, "code", "error", "issues": [{file, sheet, row, column, header,
//! message}…], "more_issues"}` with every problem, up to 200) and exits 1 when any file is bad.
//! `quote` prints a JSON array: one object per quoted carrier/service, cheapest first, with
//! `carrier, service, zone, actual_g, volumetric_g, billable_g, base_fen, surcharges[{name, fen}],
//! total_fen, explain` (plus `explain_en`, the card version and the rounding applied). Cards
//! that cannot quote are listed on stderr with the reason.

use crate::rating::{
    import_file, load_book, load_file, parse_dims, parse_weight, MAX_IMPORT_ISSUES,
};
use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use domain::rates::{Parcel, QuoteRecord, RateCard};
use domain::region::{CityCode, Region};
use domain::Fen;
use serde_json::json;
use std::io::Write as _;
use std::path::PathBuf;

/// Subcommands of `packbench rates`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Validate card files and spreadsheets and print what they contain.
    Check {
        /// Card files (.toml, .json, .csv, .xlsx) or directories of them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Arguments of `packbench quote`.
#[derive(Debug, clap::Args)]
pub struct QuoteArgs {
    /// Rate card files (.toml, .json, .csv, .xlsx) or directories of them.
    #[arg(long, required = true, num_args = 1..)]
    pub cards: Vec<PathBuf>,
    /// Destination: province or city code (65, 650000, 4403), a name, or a Chinese address.
    #[arg(long)]
    pub to: String,
    /// Actual weight: 2350g, 2.35kg (a bare number is grams).
    #[arg(long)]
    pub weight: String,
    /// Dimensions L×W×H: 400x300x200mm or 40x30x20cm.
    #[arg(long)]
    pub dims: Option<String>,
    /// Declared value for insurance in yuan (1999.00).
    #[arg(long)]
    pub declared: Option<String>,
    /// Only these carriers (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub carrier: Vec<String>,
    /// Quote with the cards in force at this instant (RFC 3339); default now.
    #[arg(long)]
    pub at: Option<String>,
}

fn card_summary(c: &RateCard) -> serde_json::Value {
    let zones: Vec<serde_json::Value> = c
        .zones
        .iter()
        .map(|z| {
            json!({
                "name": z.name,
                "provinces": z.provinces.iter().map(|p| p.info().short_name).collect::<Vec<_>>(),
                "cities": z.cities.iter().map(|c| c.info().map_or_else(|| c.to_string(), |i| i.name.to_string())).collect::<Vec<_>>(),
                "pricing": z.pricing.to_string(),
            })
        })
        .collect();
    json!({
        "carrier": c.carrier,
        "service": c.service,
        "version": c.version,
        "effective_from": c.effective_from.to_rfc3339(),
        "effective_to": c.effective_to.map(|t| t.to_rfc3339()),
        "volumetric_divisor": c.volumetric.divisor,
        "rounding": c.rounding,
        "min_charge_fen": c.min_charge_fen,
        "zones": zones,
        "default_zone": c.default_zone,
        "unserviceable": c.unserviceable.provinces.iter().map(|p| p.info().short_name.to_string())
            .chain(c.unserviceable.cities.iter().map(|c| c.info().map_or_else(|| c.to_string(), |i| i.name.to_string())))
            .collect::<Vec<_>>(),
        "surcharges": c.surcharges,
        "insurance": c.insurance,
    })
}

/// Runs `packbench rates …`.
pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Check { files } => {
            let files = crate::rating::expand_dirs(&files).map_err(|e| anyhow!("{e}"))?;
            let mut bad = 0usize;
            let mut stdout = std::io::stdout().lock();
            for f in &files {
                let out = match load_file(f) {
                    Ok(loaded) => json!({
                        "file": loaded.path,
                        "ok": true,
                        "cards": loaded.cards.iter().map(card_summary).collect::<Vec<_>>(),
                        "notes": loaded.notes,
                    }),
                    Err(e) => {
                        bad += 1;
                        // Every problem of the file with its place, not only the first.
                        let (issues, more) = match import_file(f, MAX_IMPORT_ISSUES, &mut |_, _| {})
                        {
                            Err(failure) => (failure.issues, failure.more),
                            Ok(_) => (Vec::new(), 0),
                        };
                        json!({"file": f.display().to_string(), "ok": false, "code": e.code(), "error": e.to_string(),
                               "issues": issues, "more_issues": more})
                    }
                };
                writeln!(stdout, "{}", serde_json::to_string_pretty(&out)?)?;
            }
            if bad == 0 {
                // Files that are good one by one may still conflict (overlapping versions).
                load_book(&files).map_err(|e| anyhow!("{e}"))?;
            }
            if bad > 0 {
                bail!("{bad} of {} file(s) have errors", files.len());
            }
            Ok(())
        }
    }
}

fn parse_at(at: Option<&str>) -> anyhow::Result<DateTime<Utc>> {
    match at {
        None => Ok(Utc::now()),
        Some(s) => domain::rates::parse_instant(s)
            .ok_or_else(|| anyhow!("--at {s:?}: expected RFC 3339 (2025-06-01T10:00:00+08:00)")),
    }
}

/// The result of `packbench quote`: the destination, the quotes (cheapest first) and the
/// cards that could not quote, as `carrier/service: reason`.
#[derive(Debug, Clone)]
pub struct QuoteOutput {
    /// Destination resolved from `--to`.
    pub destination: Region,
    /// Quotes, cheapest first.
    pub records: Vec<QuoteRecord>,
    /// Cards without a quote.
    pub skipped: Vec<String>,
}

/// Computes what `packbench quote` prints (no output, no exit code).
pub fn quote_records(a: &QuoteArgs) -> anyhow::Result<QuoteOutput> {
    let (book, _) = load_book(&a.cards).map_err(|e| anyhow!("{e}"))?;
    let region = Region::parse(&a.to).ok_or_else(|| {
        anyhow!(
            "--to {:?}: not a province/city code nor a name or address that starts with a provincial or city name",
            a.to
        )
    })?;
    let actual = parse_weight(&a.weight).map_err(|e| anyhow!("--weight: {e}"))?;
    let dims_mm = a
        .dims
        .as_deref()
        .map(parse_dims)
        .transpose()
        .map_err(|e| anyhow!("--dims: {e}"))?;
    let declared = a
        .declared
        .as_deref()
        .map(|d| {
            Fen::parse_yuan(d)
                .filter(|f| f.0 >= 0)
                .ok_or_else(|| anyhow!("--declared {d:?}: expected yuan like 1999.00"))
        })
        .transpose()?;
    let at = parse_at(a.at.as_deref()).context("--at")?;
    let parcel = Parcel {
        actual,
        dims_mm,
        declared,
    };
    let carriers: Vec<&str> = a.carrier.iter().map(String::as_str).collect();
    let shop = book.shop(&region, &parcel, at, &carriers);
    Ok(QuoteOutput {
        destination: region,
        records: shop.quotes.iter().map(|q| q.record()).collect(),
        skipped: shop
            .skipped
            .iter()
            .map(|s| format!("{}/{}: {}", s.carrier, s.service, s.reason))
            .collect(),
    })
}

/// Runs `packbench quote …`.
pub fn quote(a: QuoteArgs) -> anyhow::Result<()> {
    let out = quote_records(&a)?;
    let region = out.destination;
    let label = region.label_zh();
    eprintln!(
        "destination: {label} (province {}{})",
        region.province,
        region
            .city
            .map(|c: CityCode| format!(", city {c}"))
            .unwrap_or_default()
    );
    for s in &out.skipped {
        eprintln!("no quote: {s}");
    }
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&out.records)?
    )?;
    if out.records.is_empty() {
        bail!("no card quotes this parcel to {label}");
    }
    Ok(())
}
