//! Quoting: billable weight, zone price, minimum charge, surcharges, insurance, explanation,
//! and rate shopping over a [`RateBook`].

use super::card::{
    AboveMode, Boundary, Bracket, Compiled, Pricing, RateBook, RateCard, Rounding, Volumetric, Zone,
};
use crate::region::{CityCode, Region};
use crate::units::{Fen, Grams};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// What is being shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Parcel {
    /// Weight on the scale.
    pub actual: Grams,
    /// Length, width, height in millimetres, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dims_mm: Option<[u32; 3]>,
    /// Declared value for insurance (保价), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<Fen>,
}

/// Why a card gives no quote. Not an error: a rate shop simply leaves the card out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoQuote {
    /// The service does not deliver to the destination.
    #[error("does not deliver to this destination")]
    Unserviceable,
    /// The billable weight is above what the service or zone accepts.
    #[error("billable weight {billable} above the maximum {max}")]
    Overweight {
        /// Billable weight of the parcel.
        billable: Grams,
        /// Heaviest accepted.
        max: Grams,
    },
    /// The declared value is above what the insurance accepts.
    #[error("declared value {declared} above the insurable maximum {max}")]
    DeclaredTooHigh {
        /// Declared value.
        declared: Fen,
        /// Highest insurable value.
        max: Fen,
    },
    /// Insurance asked for, but the card offers none.
    #[error("declared value given but the card offers no insurance")]
    NoInsurance,
    /// The parcel weighs less than nothing.
    #[error("negative weight {actual}")]
    NegativeWeight {
        /// The weight given.
        actual: Grams,
    },
    /// No version of the card is in force at the instant asked.
    #[error("no version of the card is in force at that time")]
    NotInForce,
}

/// How the zone price was made up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum FeeDetail {
    /// 首重 + `steps` × 续重.
    FirstAdditional {
        /// First weight.
        first_g: Grams,
        /// First weight price.
        first_fen: Fen,
        /// Additional steps charged.
        steps: i64,
        /// Step size.
        step_g: Grams,
        /// Price per step.
        step_fen: Fen,
    },
    /// The bracket the weight fell in.
    Bracket {
        /// Boundary semantics.
        boundary: Boundary,
        /// The bracket.
        bracket: Bracket,
    },
    /// Above the last bracket: its price + `steps` × step price.
    AboveSteps {
        /// The last bracket.
        last: Bracket,
        /// Steps above it.
        steps: i64,
        /// Step size.
        step_g: Grams,
        /// Price per step.
        step_fen: Fen,
    },
    /// Above the last bracket: the whole weight in steps × step price.
    WholeWeight {
        /// Steps in the whole weight.
        steps: i64,
        /// Step size.
        step_g: Grams,
        /// Price per step.
        step_fen: Fen,
    },
    /// One price.
    Flat {
        /// The price.
        fen: Fen,
    },
}

/// One surcharge in a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurchargeLine<'a> {
    /// Name from the card (or `保价` for insurance).
    pub name: &'a str,
    /// Amount.
    pub fen: Fen,
    /// The percentage it was computed from, if a percentage.
    pub percent_bp: Option<u32>,
}

/// Name of the insurance line in a quote.
pub const INSURANCE_NAME: &str = "保价";

/// A quote: the full breakdown, borrowing the card it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote<'a> {
    /// The card (and version) that priced it.
    pub card: &'a RateCard,
    /// The zone used.
    pub zone: &'a Zone,
    /// The destination.
    pub region: Region,
    /// Weight on the scale.
    pub actual: Grams,
    /// Volumetric weight, when dimensions were given and the card has a divisor.
    pub volumetric: Option<Grams>,
    /// Whether the volumetric weight counted (it may be computed but below a threshold).
    pub volumetric_applied: bool,
    /// Weight before rounding: max(actual, volumetric if applied).
    pub unrounded: Grams,
    /// Weight after the card's rounding: the one priced.
    pub billable: Grams,
    /// How the zone price was made up.
    pub fee: FeeDetail,
    /// Zone price before the minimum charge.
    pub pricing_fen: Fen,
    /// Whether the minimum charge raised the base.
    pub min_charge_applied: bool,
    /// Base after the minimum charge.
    pub base_fen: Fen,
    /// Surcharges and insurance.
    pub surcharges: Vec<SurchargeLine<'a>>,
    /// Base + surcharges.
    pub total_fen: Fen,
}

/// A card that gave no quote in a rate shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped<'a> {
    /// Carrier.
    pub carrier: &'a str,
    /// Service.
    pub service: &'a str,
    /// Why.
    pub reason: NoQuote,
}

/// The result of a rate shop: quotes sorted by total (cheapest first), and the cards that
/// could not quote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shop<'a> {
    /// Quotes, cheapest first (ties by carrier, then service).
    pub quotes: Vec<Quote<'a>>,
    /// Cards without a quote and why.
    pub skipped: Vec<Skipped<'a>>,
}

/// One surcharge in a [`QuoteRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurchargeRecord {
    /// Name.
    pub name: String,
    /// Amount.
    pub fen: Fen,
}

/// An owned, serialisable quote: what the CLI prints and what a pack result records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRecord {
    /// Carrier code.
    pub carrier: String,
    /// Service.
    pub service: String,
    /// Card version label (may be empty).
    pub card_version: String,
    /// Start of the card version's validity: identifies the version with carrier + service.
    pub card_effective_from: DateTime<Utc>,
    /// Zone name.
    pub zone: String,
    /// Destination province code.
    pub province: u8,
    /// Destination city code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<u16>,
    /// Weight on the scale.
    pub actual_g: Grams,
    /// Volumetric weight, when computed.
    pub volumetric_g: Option<Grams>,
    /// Whether the volumetric weight counted.
    pub volumetric_applied: bool,
    /// Weight before rounding.
    pub unrounded_g: Grams,
    /// Billable weight after rounding.
    pub billable_g: Grams,
    /// The rounding rule applied.
    pub rounding: Rounding,
    /// Zone price before the minimum charge.
    pub pricing_fen: Fen,
    /// Whether the minimum charge raised the base.
    pub min_charge_applied: bool,
    /// Base after the minimum charge.
    pub base_fen: Fen,
    /// Surcharges and insurance.
    pub surcharges: Vec<SurchargeRecord>,
    /// Total.
    pub total_fen: Fen,
    /// One-line explanation in Chinese.
    pub explain: String,
    /// One-line explanation in English.
    pub explain_en: String,
}

fn ceil_div(a: i64, b: i64) -> i64 {
    if b <= 0 {
        return 0;
    }
    a.div_euclid(b) + i64::from(a.rem_euclid(b) != 0)
}

fn mul_fen(n: i64, fen: Fen) -> Fen {
    Fen(n.saturating_mul(fen.0))
}

/// `amount × bp / 10000`, rounded half up (amount ≥ 0).
fn percent_of(amount: Fen, bp: u32) -> Fen {
    let v = i128::from(amount.0) * i128::from(bp);
    let r = (v + 5_000).div_euclid(10_000);
    Fen(i64::try_from(r).unwrap_or(i64::MAX))
}

/// Formats grams as a short kilogram figure: 1000 → `1kg`, 500 → `0.5kg`, 2350 → `2.35kg`.
pub fn format_kg(g: Grams) -> String {
    Kg(g).to_string()
}

/// Kilograms as [`format_kg`] writes them, without allocating.
struct Kg(Grams);

impl std::fmt::Display for Kg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.0 .0;
        let sign = if g < 0 { "-" } else { "" };
        let a = g.unsigned_abs();
        let (kg, mut frac) = (a / 1000, a % 1000);
        if frac == 0 {
            return write!(f, "{sign}{kg}kg");
        }
        let mut width = 3;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        write!(f, "{sign}{kg}.{frac:0width$}kg")
    }
}

/// Yuan with two decimals (`28.00`), without allocating.
struct Yuan(Fen);

impl std::fmt::Display for Yuan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0 .0;
        let sign = if v < 0 { "-" } else { "" };
        let a = v.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

/// Zone price for a billable weight, or `None` above the last bracket without `above`.
fn price(p: &Pricing, w: Grams) -> Result<(Fen, FeeDetail), Grams> {
    match *p {
        Pricing::FirstAdditional {
            first_g,
            first_fen,
            step_g,
            step_fen,
        } => {
            let steps = if w <= first_g {
                0
            } else {
                ceil_div(w.0 - first_g.0, step_g.0)
            };
            Ok((
                first_fen + mul_fen(steps, step_fen),
                FeeDetail::FirstAdditional {
                    first_g,
                    first_fen,
                    steps,
                    step_g,
                    step_fen,
                },
            ))
        }
        Pricing::Flat { fen } => Ok((fen, FeeDetail::Flat { fen })),
        Pricing::Brackets {
            boundary,
            ref brackets,
            above,
        } => {
            let idx = match boundary {
                Boundary::LowerInclusive => brackets.partition_point(|b| b.to_g <= w),
                Boundary::UpperInclusive => brackets.partition_point(|b| b.to_g < w),
            };
            if let Some(b) = brackets.get(idx) {
                return Ok((
                    b.fen,
                    FeeDetail::Bracket {
                        boundary,
                        bracket: *b,
                    },
                ));
            }
            let last = brackets.last().copied().unwrap_or(Bracket {
                from_g: Grams(0),
                to_g: Grams(0),
                fen: Fen(0),
            });
            let Some(a) = above else {
                return Err(last.to_g);
            };
            match a.mode {
                AboveMode::AddSteps => {
                    let over = w.0 - last.to_g.0;
                    let steps = match boundary {
                        Boundary::UpperInclusive => ceil_div(over, a.step_g.0),
                        Boundary::LowerInclusive => over.div_euclid(a.step_g.0.max(1)) + 1,
                    };
                    Ok((
                        last.fen + mul_fen(steps, a.step_fen),
                        FeeDetail::AboveSteps {
                            last,
                            steps,
                            step_g: a.step_g,
                            step_fen: a.step_fen,
                        },
                    ))
                }
                AboveMode::WholeWeight => {
                    let steps = ceil_div(w.0, a.step_g.0);
                    Ok((
                        mul_fen(steps, a.step_fen),
                        FeeDetail::WholeWeight {
                            steps,
                            step_g: a.step_g,
                            step_fen: a.step_fen,
                        },
                    ))
                }
            }
        }
    }
}

/// Volumetric grams for the dimensions, and whether the card's thresholds let it count.
pub(super) fn volumetric(v: &Volumetric, dims: [u32; 3], actual: Grams) -> Option<(Grams, bool)> {
    let divisor = u64::from(v.divisor?);
    let sides = dims.map(|d| {
        let d = u64::from(d);
        if v.round_sides_up_to_cm {
            d.div_ceil(10) * 10
        } else {
            d
        }
    });
    let mm3 = sides[0].saturating_mul(sides[1]).saturating_mul(sides[2]);
    let grams = i64::try_from(mm3.div_ceil(divisor.max(1))).unwrap_or(i64::MAX);
    let longest = sides.iter().copied().max().unwrap_or(0);
    let sum: u64 = sides.iter().sum();
    let mut applies = true;
    if let Some(x) = v.only_above_longest_side_mm {
        applies &= longest > u64::from(x);
    }
    if let Some(x) = v.only_above_sides_sum_mm {
        applies &= sum > u64::from(x);
    }
    if let Some(x) = v.only_above_volume_cm3 {
        applies &= mm3 > x.saturating_mul(1000);
    }
    if let Some(bp) = v.only_above_ratio_bp {
        applies &= i128::from(grams) * 10_000 > i128::from(actual.0) * i128::from(bp);
    }
    Some((Grams(grams), applies))
}

impl Compiled {
    pub(super) fn quote<'a>(
        &'a self,
        region: &Region,
        parcel: &Parcel,
    ) -> Result<Quote<'a>, NoQuote> {
        let card = &self.card;
        if parcel.actual.0 < 0 {
            return Err(NoQuote::NegativeWeight {
                actual: parcel.actual,
            });
        }
        let zone = self.zone_for(region).ok_or(NoQuote::Unserviceable)?;
        let vol = parcel
            .dims_mm
            .and_then(|d| volumetric(&card.volumetric, d, parcel.actual));
        let volumetric_applied = vol.is_some_and(|(g, applies)| applies && g > parcel.actual);
        let unrounded = match vol {
            Some((g, true)) => parcel.actual.max(g),
            _ => parcel.actual,
        };
        let billable = card.rounding.apply(unrounded);
        if let Some(max) = card.max_weight_g {
            if billable > max {
                return Err(NoQuote::Overweight { billable, max });
            }
        }
        let (pricing_fen, fee) =
            price(&zone.pricing, billable).map_err(|max| NoQuote::Overweight { billable, max })?;
        let min_charge_applied = pricing_fen < card.min_charge_fen;
        let base_fen = pricing_fen.max(card.min_charge_fen);
        let mut surcharges = Vec::new();
        let mut total = base_fen;
        for (s, area) in card.surcharges.iter().zip(&self.surcharge_areas) {
            if area.as_ref().is_some_and(|a| !a.contains(region)) {
                continue;
            }
            let fen = match (s.fixed_fen, s.percent_bp) {
                (Some(f), _) => f,
                (None, Some(bp)) => percent_of(base_fen, bp),
                (None, None) => Fen(0),
            };
            total = total + fen;
            surcharges.push(SurchargeLine {
                name: &s.name,
                fen,
                percent_bp: s.fixed_fen.is_none().then_some(s.percent_bp).flatten(),
            });
        }
        if let Some(declared) = parcel.declared.filter(|d| d.0 > 0) {
            let ins = card.insurance.ok_or(NoQuote::NoInsurance)?;
            if let Some(max) = ins.max_declared_fen {
                if declared > max {
                    return Err(NoQuote::DeclaredTooHigh { declared, max });
                }
            }
            let fen = percent_of(declared, ins.rate_bp).max(ins.min_fen);
            total = total + fen;
            surcharges.push(SurchargeLine {
                name: INSURANCE_NAME,
                fen,
                percent_bp: Some(ins.rate_bp),
            });
        }
        Ok(Quote {
            card,
            zone,
            region: *region,
            actual: parcel.actual,
            volumetric: vol.map(|(g, _)| g),
            volumetric_applied,
            unrounded,
            billable,
            fee,
            pricing_fen,
            min_charge_applied,
            base_fen,
            surcharges,
            total_fen: total,
        })
    }
}

impl RateBook {
    /// Quotes `parcel` to `region` with every card in force at `at` whose carrier is in
    /// `carriers` (case-insensitive; empty = all), cheapest first.
    pub fn shop<'a>(
        &'a self,
        region: &Region,
        parcel: &Parcel,
        at: DateTime<Utc>,
        carriers: &[&str],
    ) -> Shop<'a> {
        let mut shop = Shop {
            quotes: Vec::with_capacity(self.products.len()),
            skipped: Vec::new(),
        };
        for p in &self.products {
            if !carriers.is_empty() && !carriers.iter().any(|c| c.eq_ignore_ascii_case(p.carrier()))
            {
                continue;
            }
            let result = match p.in_force(at) {
                Some(v) => v.quote(region, parcel),
                None => Err(NoQuote::NotInForce),
            };
            match result {
                Ok(q) => shop.quotes.push(q),
                Err(reason) => shop.skipped.push(Skipped {
                    carrier: p.carrier(),
                    service: p.service(),
                    reason,
                }),
            }
        }
        shop.quotes.sort_by(|a, b| {
            (a.total_fen, &a.card.carrier, &a.card.service).cmp(&(
                b.total_fen,
                &b.card.carrier,
                &b.card.service,
            ))
        });
        shop
    }

    /// Quotes with one carrier's services only (the order's assigned carrier), cheapest first.
    pub fn quote_carrier<'a>(
        &'a self,
        carrier: &str,
        region: &Region,
        parcel: &Parcel,
        at: DateTime<Utc>,
    ) -> Shop<'a> {
        self.shop(region, parcel, at, &[carrier])
    }
}

fn region_label_en(region: &Region) -> String {
    let p = region.province.info();
    match region.city.and_then(CityCode::info) {
        Some(c) if !c.placeholder => format!("{} {}", p.name_en, c.name),
        _ => p.name_en.to_string(),
    }
}

fn steps_zh(out: &mut String, steps: i64, step_g: Grams, step_fen: Fen) {
    if step_g.0 == 1000 {
        let _ = write!(out, "{steps}kg×{}元", Yuan(step_fen));
    } else {
        let _ = write!(out, "{steps}×{}×{}元", Kg(step_g), Yuan(step_fen));
    }
}

fn bracket_text(boundary: Boundary, b: &Bracket) -> String {
    let (l, r) = match boundary {
        Boundary::LowerInclusive => ('[', ')'),
        Boundary::UpperInclusive => ('(', ']'),
    };
    let from = format_kg(b.from_g);
    let from = from.trim_end_matches("kg");
    format!("{l}{from},{}{r}", format_kg(b.to_g))
}

impl Quote<'_> {
    /// One-line explanation in Chinese, e.g.
    /// `新疆 三区：首重1kg 12.00元 + 续重2kg×8.00元 = 28.00元（计费3kg：实重2.35kg）`.
    pub fn explain_zh(&self) -> String {
        let mut s = String::with_capacity(128);
        let _ = write!(s, "{} {}：", self.region.label_zh(), self.zone.name);
        match self.fee {
            FeeDetail::FirstAdditional {
                first_g,
                first_fen,
                steps,
                step_g,
                step_fen,
            } => {
                let _ = write!(s, "首重{} {}元", Kg(first_g), Yuan(first_fen));
                if steps > 0 {
                    s.push_str(" + 续重");
                    steps_zh(&mut s, steps, step_g, step_fen);
                }
            }
            FeeDetail::Bracket { boundary, bracket } => {
                let _ = write!(
                    s,
                    "{} {}元",
                    bracket_text(boundary, &bracket),
                    Yuan(bracket.fen)
                );
            }
            FeeDetail::AboveSteps {
                last,
                steps,
                step_g,
                step_fen,
            } => {
                let _ = write!(s, "{}以内 {}元 + 超出", Kg(last.to_g), Yuan(last.fen));
                steps_zh(&mut s, steps, step_g, step_fen);
            }
            FeeDetail::WholeWeight {
                steps,
                step_g,
                step_fen,
            } => {
                s.push_str("全重");
                steps_zh(&mut s, steps, step_g, step_fen);
            }
            FeeDetail::Flat { fen } => {
                let _ = write!(s, "一口价 {}元", Yuan(fen));
            }
        }
        let _ = write!(s, " = {}元", Yuan(self.pricing_fen));
        if self.min_charge_applied {
            let _ = write!(s, "，按最低收费 {}元", Yuan(self.base_fen));
        }
        if !self.surcharges.is_empty() {
            for l in &self.surcharges {
                let _ = write!(s, "；{} {}元", l.name, Yuan(l.fen));
            }
            let _ = write!(s, "；合计 {}元", Yuan(self.total_fen));
        }
        let _ = write!(s, "（计费{}：实重{}", Kg(self.billable), Kg(self.actual));
        if let Some(v) = self.volumetric {
            let note = if self.volumetric_applied {
                ""
            } else {
                "，不计"
            };
            let _ = write!(s, "，体积重{}{note}", Kg(v));
        }
        s.push('）');
        s
    }

    /// One-line explanation in English, e.g.
    /// `Xinjiang zone 三区: first 1kg 12.00 + 2 × 1kg × 8.00 = 28.00 CNY (billable 3kg: actual 2.35kg)`.
    pub fn explain_en(&self) -> String {
        let mut s = String::with_capacity(128);
        let _ = write!(
            s,
            "{} zone {}: ",
            region_label_en(&self.region),
            self.zone.name
        );
        let steps_en = |s: &mut String, steps: i64, step_g: Grams, step_fen: Fen| {
            let _ = write!(s, "{steps} × {} × {}", Kg(step_g), Yuan(step_fen));
        };
        match self.fee {
            FeeDetail::FirstAdditional {
                first_g,
                first_fen,
                steps,
                step_g,
                step_fen,
            } => {
                let _ = write!(s, "first {} {}", Kg(first_g), Yuan(first_fen));
                if steps > 0 {
                    s.push_str(" + ");
                    steps_en(&mut s, steps, step_g, step_fen);
                }
            }
            FeeDetail::Bracket { boundary, bracket } => {
                let _ = write!(
                    s,
                    "bracket {} {}",
                    bracket_text(boundary, &bracket),
                    Yuan(bracket.fen)
                );
            }
            FeeDetail::AboveSteps {
                last,
                steps,
                step_g,
                step_fen,
            } => {
                let _ = write!(s, "up to {} {} + ", Kg(last.to_g), Yuan(last.fen));
                steps_en(&mut s, steps, step_g, step_fen);
            }
            FeeDetail::WholeWeight {
                steps,
                step_g,
                step_fen,
            } => {
                s.push_str("whole weight ");
                steps_en(&mut s, steps, step_g, step_fen);
            }
            FeeDetail::Flat { fen } => {
                let _ = write!(s, "flat {}", Yuan(fen));
            }
        }
        let _ = write!(s, " = {}", Yuan(self.pricing_fen));
        if self.min_charge_applied {
            let _ = write!(s, ", minimum charge {}", Yuan(self.base_fen));
        }
        for l in &self.surcharges {
            let name = if l.name == INSURANCE_NAME {
                "insurance"
            } else {
                l.name
            };
            let _ = write!(s, "; {name} {}", Yuan(l.fen));
        }
        if !self.surcharges.is_empty() {
            let _ = write!(s, "; total {}", Yuan(self.total_fen));
        }
        let _ = write!(
            s,
            " CNY (billable {}: actual {}",
            Kg(self.billable),
            Kg(self.actual)
        );
        if let Some(v) = self.volumetric {
            let note = if self.volumetric_applied {
                ""
            } else {
                ", not counted"
            };
            let _ = write!(s, ", volumetric {}{note}", Kg(v));
        }
        s.push(')');
        s
    }

    /// The owned, serialisable form with both explanations.
    pub fn record(&self) -> QuoteRecord {
        QuoteRecord {
            carrier: self.card.carrier.clone(),
            service: self.card.service.clone(),
            card_version: self.card.version.clone(),
            card_effective_from: self.card.effective_from,
            zone: self.zone.name.clone(),
            province: self.region.province.get(),
            city: self.region.city.map(CityCode::get),
            actual_g: self.actual,
            volumetric_g: self.volumetric,
            volumetric_applied: self.volumetric_applied,
            unrounded_g: self.unrounded,
            billable_g: self.billable,
            rounding: self.card.rounding,
            pricing_fen: self.pricing_fen,
            min_charge_applied: self.min_charge_applied,
            base_fen: self.base_fen,
            surcharges: self
                .surcharges
                .iter()
                .map(|l| SurchargeRecord {
                    name: l.name.to_string(),
                    fen: l.fen,
                })
                .collect(),
            total_fen: self.total_fen,
            explain: self.explain_zh(),
            explain_en: self.explain_en(),
        }
    }
}
