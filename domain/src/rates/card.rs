//! The rate-card model (what a card file says), its validation, and the compiled [`RateBook`].

use crate::region::{provinces, CityCode, ProvinceCode, ProvinceKind, Region};
use crate::units::{Fen, Grams};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

fn default_service() -> String {
    "standard".to_string()
}

fn default_currency() -> String {
    "CNY".to_string()
}

/// One carrier contract for one service, valid from `effective_from` (inclusive) to
/// `effective_to` (exclusive, open-ended when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateCard {
    /// Carrier code as orders carry it (SF, ZTO, YTO, STO, YUNDA, JD, EMS, JT…).
    pub carrier: String,
    /// Display name of the carrier (顺丰速运), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_name: Option<String>,
    /// Service or product (标快, 特快, standard…).
    #[serde(default = "default_service")]
    pub service: String,
    /// Origin the contract applies from (a city or warehouse), informational.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub origin: String,
    /// Currency of all amounts; only `CNY` is priced in fen today.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Version label recorded with every quote (e.g. `2025-03`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// First instant the card is in force. Files may write an RFC 3339 instant or a date
    /// (`2025-01-01`, meaning 00:00 China time, UTC+8).
    #[serde(deserialize_with = "de_instant")]
    pub effective_from: DateTime<Utc>,
    /// First instant the card is no longer in force (exclusive); none = open-ended.
    #[serde(
        default,
        deserialize_with = "de_opt_instant",
        skip_serializing_if = "Option::is_none"
    )]
    pub effective_to: Option<DateTime<Utc>>,
    /// Heaviest billable weight the service accepts, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_weight_g: Option<Grams>,
    /// Volumetric (抛重) rule.
    #[serde(default)]
    pub volumetric: Volumetric,
    /// Rounding (进位) of the billable weight.
    #[serde(default)]
    pub rounding: Rounding,
    /// The base is raised to this amount when the zone price is lower (0 = none).
    #[serde(default)]
    pub min_charge_fen: Fen,
    /// Price zones.
    pub zones: Vec<Zone>,
    /// Zone used for mainland provinces that no zone lists (must name one of `zones`). Hong
    /// Kong, Macao and Taiwan are never in the default zone: list them to serve them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_zone: Option<String>,
    /// Areas the service does not deliver to.
    #[serde(default)]
    pub unserviceable: Areas,
    /// Surcharges (remote area, fuel, others), each fixed or a percentage of the base.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surcharges: Vec<Surcharge>,
    /// Declared-value insurance (保价), if offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurance: Option<Insurance>,
}

impl RateCard {
    /// `SF/标快 v2025-03` — how errors and logs name the card.
    pub fn label(&self) -> String {
        if self.version.is_empty() {
            format!(
                "{}/{} from {}",
                self.carrier,
                self.service,
                self.effective_from.to_rfc3339()
            )
        } else {
            format!("{}/{} v{}", self.carrier, self.service, self.version)
        }
    }

    /// Whether the card is in force at `at`.
    pub fn in_force(&self, at: DateTime<Utc>) -> bool {
        self.effective_from <= at && self.effective_to.is_none_or(|to| at < to)
    }
}

/// A list of provinces and cities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Areas {
    /// Provincial divisions (codes or names in files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<ProvinceCode>,
    /// Cities (codes or unique names in files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cities: Vec<CityCode>,
}

impl Areas {
    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.provinces.is_empty() && self.cities.is_empty()
    }
}

/// A price zone: the provinces and cities it covers and how it prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// Zone name as the contract calls it (一区, 江浙沪, 新疆西藏…).
    pub name: String,
    /// Provinces in this zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<ProvinceCode>,
    /// Cities priced by this zone whatever their province's zone (city overrides).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cities: Vec<CityCode>,
    /// How the zone prices a billable weight.
    pub pricing: Pricing,
}

/// How a zone turns a billable weight into a price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pricing {
    /// 首重/续重: `first_fen` up to `first_g`, then `step_fen` per started `step_g`:
    /// fee = first + ⌈(w − first_g) / step_g⌉ × step_fen.
    FirstAdditional {
        /// First weight (首重), e.g. 1000.
        first_g: Grams,
        /// Price of the first weight.
        first_fen: Fen,
        /// Additional step (续重 unit), e.g. 1000 or 500.
        step_g: Grams,
        /// Price per additional step.
        step_fen: Fen,
    },
    /// Weight brackets with absolute prices; contiguous from 0; optionally priced per step
    /// above the last bracket.
    Brackets {
        /// Which end of each bracket is included.
        boundary: Boundary,
        /// The brackets, in ascending order.
        brackets: Vec<Bracket>,
        /// Pricing above the last bracket; none = heavier parcels are not accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        above: Option<Above>,
    },
    /// One price whatever the weight (up to the card's maximum weight).
    Flat {
        /// The price.
        fen: Fen,
    },
}

/// Which end of a weight bracket belongs to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Boundary {
    /// `[a,b)`: a ≤ w < b (karrio's rule; the upper bound belongs to the next bracket).
    #[serde(rename = "[a,b)")]
    LowerInclusive,
    /// `(a,b]`: a < w ≤ b (Chinese tables `0-1, 1.01-2`: 1 kg is in the first bracket).
    /// The first bracket also includes its lower bound.
    #[serde(rename = "(a,b]")]
    UpperInclusive,
}

impl Boundary {
    /// `[a,b)` or `(a,b]`.
    pub fn notation(self) -> &'static str {
        match self {
            Boundary::LowerInclusive => "[a,b)",
            Boundary::UpperInclusive => "(a,b]",
        }
    }
}

/// One weight bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bracket {
    /// Lower bound.
    pub from_g: Grams,
    /// Upper bound.
    pub to_g: Grams,
    /// Price of a parcel in the bracket.
    pub fen: Fen,
}

/// Pricing above the last bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Above {
    /// How the weight above the threshold is priced.
    pub mode: AboveMode,
    /// Step size (usually 1000 g).
    pub step_g: Grams,
    /// Price per step.
    pub step_fen: Fen,
}

/// How weight above the last bracket is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AboveMode {
    /// Last bracket's price + a price per started step above its upper bound.
    AddSteps,
    /// The whole billable weight × price per step (e.g. ≥ 21 kg: 8.00 元/kg × weight).
    WholeWeight,
}

/// Volumetric weight (抛重 / 体积重): billable = max(actual, L×W×H ÷ divisor).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volumetric {
    /// Divisor in cm³ per kg (6000, 8000, 12000, 5000…); none = volumetric weight off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divisor: Option<u32>,
    /// Round each side up to a whole centimetre before multiplying.
    #[serde(default)]
    pub round_sides_up_to_cm: bool,
    /// Volumetric counts only when the longest side is above this many mm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_above_longest_side_mm: Option<u32>,
    /// Volumetric counts only when L+W+H is above this many mm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_above_sides_sum_mm: Option<u32>,
    /// Volumetric counts only when the volume is above this many cm³.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_above_volume_cm3: Option<u64>,
    /// Volumetric counts only when it is above actual × this ratio (basis points:
    /// 15000 = 1.5 × actual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_above_ratio_bp: Option<u32>,
}

/// Rounding (进位) of the billable weight: up to the next `step_g`, except that a remainder
/// below `tolerance_g` is dropped; then at least `min_g`.
///
/// SF's common rule is `{step_g = 500, tolerance_g = 50, min_g = 1000}`: 1.04 kg → 1 kg,
/// 1.3 kg → 1.5 kg, 1.56 kg → 2 kg, 0.2 kg → 1 kg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rounding {
    /// Step in grams (10, 100, 500, 1000…; 1 = no rounding).
    #[serde(default = "one_gram")]
    pub step_g: Grams,
    /// A remainder strictly below this is dropped instead of rounded up (0 = always up).
    #[serde(default)]
    pub tolerance_g: Grams,
    /// Minimum billable weight.
    #[serde(default)]
    pub min_g: Grams,
}

fn one_gram() -> Grams {
    Grams(1)
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding {
            step_g: Grams(1),
            tolerance_g: Grams(0),
            min_g: Grams(0),
        }
    }
}

impl Rounding {
    /// Applies the rule to a weight.
    pub fn apply(&self, w: Grams) -> Grams {
        let step = self.step_g.0.max(1);
        let w = w.0.max(0);
        let rem = w % step;
        let rounded = if rem == 0 || rem < self.tolerance_g.0 {
            w - rem
        } else {
            w - rem + step
        };
        Grams(rounded.max(self.min_g.0))
    }
}

/// A surcharge: a fixed amount or a percentage of the base, for all destinations or only the
/// listed provinces/cities (remote areas).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surcharge {
    /// Name shown in the breakdown (偏远附加费, 燃油附加费…).
    pub name: String,
    /// Fixed amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_fen: Option<Fen>,
    /// Percentage of the base in basis points (1000 = 10 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_bp: Option<u32>,
    /// Only for these provinces (empty together with `cities` = everywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<ProvinceCode>,
    /// Only for these cities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cities: Vec<CityCode>,
}

/// Declared-value insurance: fee = max(declared × rate, minimum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insurance {
    /// Rate in basis points of the declared value (30 = 0.3 %).
    pub rate_bp: u32,
    /// Minimum fee.
    #[serde(default)]
    pub min_fen: Fen,
    /// Highest declared value accepted, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_declared_fen: Option<Fen>,
}

/// A card that does not make sense, with the place inside the card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{card}: {place}: {message}")]
pub struct CardError {
    /// Which card (`SF/标快 v2025-03`).
    pub card: String,
    /// Where in the card (`zones[2] "三区" brackets[1]`).
    pub place: String,
    /// What is wrong.
    pub message: String,
}

fn de_instant<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        // The `toml` crate hands native TOML datetimes over as a one-entry map.
        M(BTreeMap<String, String>),
    }
    let s = match Raw::deserialize(d)? {
        Raw::S(s) => s,
        Raw::M(m) => m.into_values().next().unwrap_or_default(),
    };
    parse_instant(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "bad instant {s:?} (expected RFC 3339 like 2025-01-01T00:00:00+08:00 or a date 2025-01-01)"
        ))
    })
}

fn de_opt_instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    de_instant(d).map(Some)
}

/// Parses an RFC 3339 instant, or a date `YYYY-MM-DD` meaning 00:00 China time (UTC+8).
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y/%m/%d"))
        .ok()?;
    let china = FixedOffset::east_opt(8 * 3600)?;
    date.and_hms_opt(0, 0, 0)?
        .and_local_timezone(china)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Marker in the province table: no zone, the service does not deliver there.
pub(super) const UNSERVICEABLE: u16 = u16::MAX;

/// A bit set over GB/T 2260 codes (all are below 100) plus a sorted list of cities.
#[derive(Debug, Clone, Default)]
pub(super) struct AreaSet {
    provinces: u128,
    cities: Vec<u16>,
}

impl AreaSet {
    fn new(provinces: &[ProvinceCode], cities: &[CityCode]) -> AreaSet {
        let mut set = AreaSet::default();
        for p in provinces {
            set.provinces |= 1u128 << p.get().min(127);
        }
        set.cities = cities.iter().map(|c| c.get()).collect();
        set.cities.sort_unstable();
        set.cities.dedup();
        set
    }

    pub(super) fn contains(&self, region: &Region) -> bool {
        self.provinces & (1u128 << region.province.get().min(127)) != 0
            || region
                .city
                .is_some_and(|c| self.cities.binary_search(&c.get()).is_ok())
    }
}

/// A validated card with its lookup tables.
#[derive(Debug, Clone)]
pub(super) struct Compiled {
    pub(super) card: RateCard,
    /// Zone index (or [`UNSERVICEABLE`]) per province code, default zone filled in.
    province_zone: [u16; 100],
    /// City overrides: (city code, zone index or [`UNSERVICEABLE`]), sorted.
    city_zone: Vec<(u16, u16)>,
    /// Where each surcharge applies (`None` = everywhere), parallel to `card.surcharges`.
    pub(super) surcharge_areas: Vec<Option<AreaSet>>,
}

impl Compiled {
    /// The zone for a destination, or `None` when the service does not deliver there.
    pub(super) fn zone_for(&self, region: &Region) -> Option<&Zone> {
        let by_city = region.city.and_then(|c| {
            self.city_zone
                .binary_search_by_key(&c.get(), |(code, _)| *code)
                .ok()
                .and_then(|i| self.city_zone.get(i))
                .map(|(_, z)| *z)
        });
        let z = match by_city {
            Some(z) => z,
            None => *self
                .province_zone
                .get(usize::from(region.province.get()))
                .unwrap_or(&UNSERVICEABLE),
        };
        if z == UNSERVICEABLE {
            None
        } else {
            self.card.zones.get(usize::from(z))
        }
    }
}

struct Checker<'a> {
    card: &'a RateCard,
    errors: Vec<CardError>,
}

impl Checker<'_> {
    fn err(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.errors.push(CardError {
            card: self.card.label(),
            place: place.into(),
            message: message.into(),
        });
    }
}

fn zone_place(i: usize, z: &Zone) -> String {
    format!("zones[{i}] \"{}\"", z.name)
}

fn check_pricing(c: &mut Checker<'_>, place: &str, p: &Pricing) {
    match p {
        Pricing::FirstAdditional {
            first_g,
            first_fen,
            step_g,
            step_fen,
        } => {
            if first_g.0 < 0 {
                c.err(place, format!("first_g {} is negative", first_g.0));
            }
            if step_g.0 <= 0 {
                c.err(place, format!("step_g {} must be positive", step_g.0));
            }
            if first_fen.0 < 0 {
                c.err(place, format!("negative price first_fen {}", first_fen.0));
            }
            if step_fen.0 < 0 {
                c.err(place, format!("negative price step_fen {}", step_fen.0));
            }
        }
        Pricing::Flat { fen } => {
            if fen.0 < 0 {
                c.err(place, format!("negative price fen {}", fen.0));
            }
        }
        Pricing::Brackets {
            boundary: _,
            brackets,
            above,
        } => {
            if brackets.is_empty() {
                c.err(place, "no brackets");
            }
            let mut expect_from = Grams(0);
            for (i, b) in brackets.iter().enumerate() {
                let bp = format!("{place} brackets[{i}]");
                if b.fen.0 < 0 {
                    c.err(&bp, format!("negative price fen {}", b.fen.0));
                }
                if b.to_g <= b.from_g {
                    c.err(
                        &bp,
                        format!("empty bracket: to_g {} ≤ from_g {}", b.to_g.0, b.from_g.0),
                    );
                }
                if b.from_g > expect_from {
                    c.err(
                        &bp,
                        format!(
                            "gap: nothing prices {}–{} g (from_g {} should be {})",
                            expect_from.0, b.from_g.0, b.from_g.0, expect_from.0
                        ),
                    );
                } else if b.from_g < expect_from {
                    c.err(
                        &bp,
                        format!(
                            "overlap: {}–{} g is also in the previous bracket (from_g {} should be {})",
                            b.from_g.0, expect_from.0, b.from_g.0, expect_from.0
                        ),
                    );
                }
                expect_from = b.to_g;
            }
            if let Some(a) = above {
                if a.step_g.0 <= 0 {
                    c.err(
                        format!("{place} above"),
                        format!("step_g {} must be positive", a.step_g.0),
                    );
                }
                if a.step_fen.0 < 0 {
                    c.err(
                        format!("{place} above"),
                        format!("negative price step_fen {}", a.step_fen.0),
                    );
                }
            }
        }
    }
}

/// Validates one card and builds its tables.
pub(super) fn compile(card: RateCard) -> Result<Compiled, Vec<CardError>> {
    let mut c = Checker {
        card: &card,
        errors: Vec::new(),
    };
    if card.carrier.trim().is_empty() {
        c.err("carrier", "empty carrier");
    }
    if card.service.trim().is_empty() {
        c.err("service", "empty service");
    }
    if card.currency != "CNY" {
        c.err(
            "currency",
            format!("currency {:?} is not supported (only CNY)", card.currency),
        );
    }
    if let Some(to) = card.effective_to {
        if to <= card.effective_from {
            c.err(
                "effective_to",
                format!(
                    "effective_to {} is not after effective_from {}",
                    to.to_rfc3339(),
                    card.effective_from.to_rfc3339()
                ),
            );
        }
    }
    if card.max_weight_g.is_some_and(|m| m.0 <= 0) {
        c.err("max_weight_g", "must be positive");
    }
    if card.volumetric.divisor == Some(0) {
        c.err(
            "volumetric.divisor",
            "divisor 0 (omit it to turn volumetric off)",
        );
    }
    let r = card.rounding;
    if r.step_g.0 <= 0 {
        c.err(
            "rounding.step_g",
            format!("{} must be positive", r.step_g.0),
        );
    }
    if r.tolerance_g.0 < 0 || (r.step_g.0 > 0 && r.tolerance_g.0 >= r.step_g.0) {
        c.err(
            "rounding.tolerance_g",
            format!(
                "{} must be in 0..{} (below the step)",
                r.tolerance_g.0, r.step_g.0
            ),
        );
    }
    if r.min_g.0 < 0 {
        c.err("rounding.min_g", format!("{} is negative", r.min_g.0));
    } else if r.step_g.0 > 0 && r.min_g.0 % r.step_g.0 != 0 {
        c.err(
            "rounding.min_g",
            format!(
                "{} is not a multiple of the step {} (a minimum off the step would be re-rounded)",
                r.min_g.0, r.step_g.0
            ),
        );
    }
    if card.min_charge_fen.0 < 0 {
        c.err(
            "min_charge_fen",
            format!("negative price {}", card.min_charge_fen.0),
        );
    }
    if card.zones.is_empty() {
        c.err("zones", "no zones");
    }
    if card.zones.len() > 10_000 {
        c.err("zones", "too many zones");
    }

    let mut province_zone = [u16::MAX - 1; 100];
    const UNSET: u16 = u16::MAX - 1;
    let mut province_owner: [Option<String>; 100] = std::array::from_fn(|_| None);
    let mut city_zone: Vec<(u16, u16)> = Vec::new();
    let mut city_owner: BTreeMap<u16, String> = BTreeMap::new();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, z) in card.zones.iter().enumerate() {
        let place = zone_place(i, z);
        if z.name.trim().is_empty() {
            c.err(&place, "zone without a name");
        }
        if let Some(prev) = names.insert(z.name.as_str(), i) {
            c.err(&place, format!("zone name also used by zones[{prev}]"));
        }
        check_pricing(&mut c, &format!("{place} pricing"), &z.pricing);
        let zi = u16::try_from(i).unwrap_or(UNSET);
        for p in &z.provinces {
            let slot = usize::from(p.get());
            if let Some(owner) = &province_owner[slot] {
                c.err(
                    &place,
                    format!("province {} is already in {owner}", p.info().short_name),
                );
            } else {
                province_owner[slot] = Some(place.clone());
                province_zone[slot] = zi;
            }
        }
        for city in &z.cities {
            if let Some(owner) = city_owner.get(&city.get()) {
                c.err(&place, format!("city {city} is already in {owner}"));
            } else {
                city_owner.insert(city.get(), place.clone());
                city_zone.push((city.get(), zi));
            }
        }
    }
    for p in &card.unserviceable.provinces {
        let slot = usize::from(p.get());
        if let Some(owner) = &province_owner[slot] {
            c.err(
                "unserviceable",
                format!(
                    "province {} is unserviceable but also in {owner}",
                    p.info().short_name
                ),
            );
        } else {
            province_owner[slot] = Some("unserviceable".into());
            province_zone[slot] = UNSERVICEABLE;
        }
    }
    for city in &card.unserviceable.cities {
        if let Some(owner) = city_owner.get(&city.get()) {
            c.err(
                "unserviceable",
                format!("city {city} is unserviceable but also in {owner}"),
            );
        } else {
            city_owner.insert(city.get(), "unserviceable".into());
            city_zone.push((city.get(), UNSERVICEABLE));
        }
    }
    city_zone.sort_unstable();

    let default = match &card.default_zone {
        Some(name) => match names.get(name.as_str()) {
            Some(&i) => Some(u16::try_from(i).unwrap_or(UNSERVICEABLE)),
            None => {
                c.err(
                    "default_zone",
                    format!("default zone {name:?} is not one of the zones"),
                );
                None
            }
        },
        None => None,
    };
    let mut missing = Vec::new();
    for p in provinces() {
        let slot = usize::from(p.code.get());
        if province_zone[slot] != UNSET {
            continue;
        }
        // Hong Kong, Macao and Taiwan are outside domestic contracts: the default zone never
        // covers them; a card that serves them lists them in a zone.
        let outside = p.kind == ProvinceKind::SpecialAdministrativeRegion || p.code.get() == 71;
        match default {
            _ if outside => province_zone[slot] = UNSERVICEABLE,
            Some(d) => province_zone[slot] = d,
            None => missing.push(p.short_name),
        }
    }
    if !missing.is_empty() {
        c.err(
            "default_zone",
            format!(
                "missing default zone: no zone for {} (add them to a zone, to unserviceable, or set default_zone)",
                missing.join("、")
            ),
        );
    }
    for slot in province_zone.iter_mut() {
        if *slot == UNSET {
            *slot = UNSERVICEABLE;
        }
    }

    let mut surcharge_areas = Vec::with_capacity(card.surcharges.len());
    for (i, s) in card.surcharges.iter().enumerate() {
        let place = format!("surcharges[{i}] \"{}\"", s.name);
        if s.name.trim().is_empty() {
            c.err(&place, "surcharge without a name");
        }
        match (s.fixed_fen, s.percent_bp) {
            (Some(_), Some(_)) | (None, None) => {
                c.err(&place, "set exactly one of fixed_fen and percent_bp")
            }
            (Some(f), None) if f.0 < 0 => c.err(&place, format!("negative price {}", f.0)),
            _ => {}
        }
        surcharge_areas.push(if s.provinces.is_empty() && s.cities.is_empty() {
            None
        } else {
            Some(AreaSet::new(&s.provinces, &s.cities))
        });
    }
    if let Some(ins) = &card.insurance {
        if ins.min_fen.0 < 0 {
            c.err(
                "insurance.min_fen",
                format!("negative price {}", ins.min_fen.0),
            );
        }
        if ins.max_declared_fen.is_some_and(|m| m.0 <= 0) {
            c.err("insurance.max_declared_fen", "must be positive");
        }
    }

    if c.errors.is_empty() {
        Ok(Compiled {
            card,
            province_zone,
            city_zone,
            surcharge_areas,
        })
    } else {
        Err(c.errors)
    }
}

/// All versions of one carrier's service.
#[derive(Debug, Clone)]
pub(super) struct Product {
    pub(super) versions: Vec<Compiled>,
}

impl Product {
    pub(super) fn in_force(&self, at: DateTime<Utc>) -> Option<&Compiled> {
        self.versions.iter().find(|v| v.card.in_force(at))
    }

    pub(super) fn carrier(&self) -> &str {
        self.versions
            .first()
            .map_or("", |v| v.card.carrier.as_str())
    }

    pub(super) fn service(&self) -> &str {
        self.versions
            .first()
            .map_or("", |v| v.card.service.as_str())
    }
}

/// A validated set of rate cards, grouped by carrier and service, ready to quote.
#[derive(Debug, Clone, Default)]
pub struct RateBook {
    pub(super) products: Vec<Product>,
}

impl RateBook {
    /// Validates every card and the set (versions of one carrier/service must not overlap in
    /// time) and compiles them. All problems are reported, not just the first.
    pub fn new(cards: Vec<RateCard>) -> Result<RateBook, Vec<CardError>> {
        let mut errors = Vec::new();
        let mut products: Vec<Product> = Vec::new();
        for card in cards {
            match compile(card) {
                Ok(compiled) => {
                    let key = (
                        compiled.card.carrier.to_ascii_uppercase(),
                        compiled.card.service.clone(),
                    );
                    match products
                        .iter_mut()
                        .find(|p| p.carrier().to_ascii_uppercase() == key.0 && p.service() == key.1)
                    {
                        Some(p) => p.versions.push(compiled),
                        None => products.push(Product {
                            versions: vec![compiled],
                        }),
                    }
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        for p in &mut products {
            p.versions.sort_by_key(|v| v.card.effective_from);
            for w in p.versions.windows(2) {
                let (a, b) = (&w[0].card, &w[1].card);
                if a.effective_to.is_none_or(|to| to > b.effective_from) {
                    errors.push(CardError {
                        card: b.label(),
                        place: "effective_from".into(),
                        message: format!(
                            "overlaps {} (in force until {}); versions of one service must not overlap",
                            a.label(),
                            a.effective_to
                                .map_or_else(|| "open-ended".to_string(), |t| t.to_rfc3339())
                        ),
                    });
                }
            }
        }
        if errors.is_empty() {
            Ok(RateBook { products })
        } else {
            Err(errors)
        }
    }

    /// Every card, all versions.
    pub fn cards(&self) -> impl Iterator<Item = &RateCard> {
        self.products
            .iter()
            .flat_map(|p| p.versions.iter().map(|v| &v.card))
    }

    /// Number of cards (all versions).
    pub fn len(&self) -> usize {
        self.products.iter().map(|p| p.versions.len()).sum()
    }

    /// Whether the book holds no card.
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// The zone a card in force at `at` uses for `region` (none: not served or no card).
    pub fn zone_name(
        &self,
        carrier: &str,
        service: &str,
        region: &Region,
        at: DateTime<Utc>,
    ) -> Option<&str> {
        self.products
            .iter()
            .filter(|p| p.carrier().eq_ignore_ascii_case(carrier) && p.service() == service)
            .find_map(|p| p.in_force(at))
            .and_then(|v| v.zone_for(region))
            .map(|z| z.name.as_str())
    }
}

impl fmt::Display for Pricing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use super::quote::format_kg;
        match self {
            Pricing::FirstAdditional {
                first_g,
                first_fen,
                step_g,
                step_fen,
            } => write!(
                f,
                "首重{} {}元 + 续重每{} {}元",
                format_kg(*first_g),
                first_fen.yuan_string(),
                format_kg(*step_g),
                step_fen.yuan_string()
            ),
            Pricing::Flat { fen } => write!(f, "一口价 {}元", fen.yuan_string()),
            Pricing::Brackets {
                boundary,
                brackets,
                above,
            } => {
                write!(f, "{} ", boundary.notation())?;
                for (i, b) in brackets.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(
                        f,
                        "{}–{} {}元",
                        format_kg(b.from_g),
                        format_kg(b.to_g),
                        b.fen.yuan_string()
                    )?;
                }
                if let Some(a) = above {
                    let mode = match a.mode {
                        AboveMode::AddSteps => "超出部分",
                        AboveMode::WholeWeight => "全重",
                    };
                    write!(
                        f,
                        "; 以上{}每{} {}元",
                        mode,
                        format_kg(a.step_g),
                        a.step_fen.yuan_string()
                    )?;
                }
                Ok(())
            }
        }
    }
}
