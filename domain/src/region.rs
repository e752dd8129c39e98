//! Chinese administrative regions: the 34 provincial divisions (GB/T 2260 two-digit codes) and
//! their prefecture-level cities, plus a free-text address matcher.
//!
//! The tables are embedded from `domain/data/cn_provinces_gbt2260.csv` (国家统计局 codes, full
//! and short names, 旺店通 names) and `domain/data/cn_cities_modood.csv` (4-digit city codes);
//! nothing is read at run time. They are parsed once, on first use, into static tables.
//!
//! Address matching rules (see [`match_address`]):
//! - a provincial name is recognised **only at the start** of the text (after an optional
//!   `中国`), never inside it: `青海省海南藏族自治州` is 青海, not 海南;
//! - the **longest** name wins, so full names beat short ones (`新疆维吾尔自治区` before `新疆`)
//!   and a city name that begins with a provincial short name beats it
//!   (`海南藏族自治州…` is the 青海 prefecture, `吉林市…` is the city 吉林市 in 吉林省);
//! - after the province, cities of that province are matched at the start of the rest, full
//!   names (`深圳市`) before short ones (`深圳`; short forms drop `市`, `地区` or `盟`);
//! - a 直辖市 (北京, 天津, 上海, 重庆) gets its `市辖区` city code.
//!
//! This module must never do IO or substring matching inside names.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::OnceLock;

const PROVINCES_CSV: &str = include_str!("../data/cn_provinces_gbt2260.csv");
const CITIES_CSV: &str = include_str!("../data/cn_cities_modood.csv");

/// English names by GB/T 2260 code (pinyin, as used on waybills and in customs).
const NAMES_EN: &[(u8, &str)] = &[
    (11, "Beijing"),
    (12, "Tianjin"),
    (13, "Hebei"),
    (14, "Shanxi"),
    (15, "Inner Mongolia"),
    (21, "Liaoning"),
    (22, "Jilin"),
    (23, "Heilongjiang"),
    (31, "Shanghai"),
    (32, "Jiangsu"),
    (33, "Zhejiang"),
    (34, "Anhui"),
    (35, "Fujian"),
    (36, "Jiangxi"),
    (37, "Shandong"),
    (41, "Henan"),
    (42, "Hubei"),
    (43, "Hunan"),
    (44, "Guangdong"),
    (45, "Guangxi"),
    (46, "Hainan"),
    (50, "Chongqing"),
    (51, "Sichuan"),
    (52, "Guizhou"),
    (53, "Yunnan"),
    (54, "Tibet"),
    (61, "Shaanxi"),
    (62, "Gansu"),
    (63, "Qinghai"),
    (64, "Ningxia"),
    (65, "Xinjiang"),
    (71, "Taiwan"),
    (81, "Hong Kong"),
    (82, "Macao"),
];

/// City rows that are placeholders for "the districts of a 直辖市" or "county-level units
/// directly under the province"; they have codes but no name to match.
const PLACEHOLDER_CITY_NAMES: &[&str] = &[
    "市辖区",
    "县",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
];

/// A provincial division's two-digit GB/T 2260 code (11 北京 … 65 新疆, 71 台湾, 81 香港, 82 澳门).
///
/// In card files it may be written as a number (`65`), a code string (`"65"`, `"650000"`) or a
/// name (`"新疆"`, `"新疆维吾尔自治区"`); it is always written back as the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProvinceCode(u8);

impl ProvinceCode {
    /// The code if it names one of the 34 provincial divisions.
    pub fn new(code: u8) -> Option<ProvinceCode> {
        tables().province_index[usize::from(code.min(99))].map(|_| ProvinceCode(code))
    }

    /// The two-digit code.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The division's data.
    pub fn info(self) -> &'static Province {
        let t = tables();
        // `new` and the parsers only build codes that are in the table.
        match t.province_index[usize::from(self.0.min(99))] {
            Some(i) => &t.provinces[usize::from(i)],
            None => &t.provinces[0],
        }
    }

    /// Parses a code (`"65"`, `"650000"`) or a provincial name (full, short or 旺店通 form).
    pub fn parse(text: &str) -> Option<ProvinceCode> {
        let s = text.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            let n: u32 = s.parse().ok()?;
            let code = match s.len() {
                1 | 2 => n,
                6 if n % 10_000 == 0 => n / 10_000,
                _ => return None,
            };
            return ProvinceCode::new(u8::try_from(code).ok()?);
        }
        province_by_name(s).map(|p| p.code)
    }
}

/// Deserialises a region code written either as a number or as a string (code or name).
fn deserialize_code<'de, D: Deserializer<'de>, T>(
    d: D,
    from_number: impl FnOnce(u64) -> Option<T>,
    from_text: impl FnOnce(&str) -> Option<T>,
    unknown: &'static str,
) -> Result<T, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(u64),
        S(String),
    }
    let parsed = match Raw::deserialize(d)? {
        Raw::N(n) => from_number(n),
        Raw::S(s) => from_text(&s),
    };
    parsed.ok_or_else(|| serde::de::Error::custom(unknown))
}

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl Serialize for ProvinceCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for ProvinceCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_code(
            d,
            |n| u8::try_from(n).ok().and_then(ProvinceCode::new),
            ProvinceCode::parse,
            "unknown province (expected a GB/T 2260 code or a name)",
        )
    }
}

/// A prefecture-level city's four-digit code (e.g. 4403 深圳市; 1101 is 北京's `市辖区`).
///
/// In card files it may be a number (`4403`), a code string (`"4403"`, `"440300"`) or a city
/// name that is unique in the country (`"深圳市"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CityCode(u16);

impl CityCode {
    /// The code if it is in the city table.
    pub fn new(code: u16) -> Option<CityCode> {
        city_by_code(code).map(|c| c.code)
    }

    /// The four-digit code.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The province the city belongs to.
    pub fn province(self) -> ProvinceCode {
        ProvinceCode(u8::try_from(self.0 / 100).unwrap_or(0))
    }

    /// The city's data.
    pub fn info(self) -> Option<&'static City> {
        city_by_code(self.0)
    }

    /// Parses a code (`"4403"`, `"440300"`) or a full city name unique in the country.
    pub fn parse(text: &str) -> Option<CityCode> {
        let s = text.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            let n: u32 = s.parse().ok()?;
            let code = match s.len() {
                4 => n,
                6 if n % 100 == 0 => n / 100,
                _ => return None,
            };
            return CityCode::new(u16::try_from(code).ok()?);
        }
        city_by_unique_name(s).map(|c| c.code)
    }
}

impl fmt::Display for CityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

impl Serialize for CityCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.0)
    }
}

impl<'de> Deserialize<'de> for CityCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_code(
            d,
            |n| u16::try_from(n).ok().and_then(CityCode::new),
            CityCode::parse,
            "unknown city (expected a 4-digit code or a unique city name)",
        )
    }
}

/// The kind of a provincial division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvinceKind {
    /// 省.
    Province,
    /// 自治区.
    AutonomousRegion,
    /// 直辖市.
    Municipality,
    /// 特别行政区.
    SpecialAdministrativeRegion,
}

/// One provincial division.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Province {
    /// GB/T 2260 two-digit code.
    pub code: ProvinceCode,
    /// Full name (新疆维吾尔自治区).
    pub full_name: &'static str,
    /// Short name (新疆).
    pub short_name: &'static str,
    /// The name 旺店通旗舰版 uses.
    pub wdt_name: &'static str,
    /// English (pinyin) name.
    pub name_en: &'static str,
    /// 省 / 自治区 / 直辖市 / 特别行政区.
    pub kind: ProvinceKind,
}

/// One prefecture-level city (or a placeholder row such as `市辖区`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    /// Four-digit code.
    pub code: CityCode,
    /// Name as in the statistics table (深圳市, 海南藏族自治州, 市辖区).
    pub name: &'static str,
    /// Short form used in free text (深圳), when the name has a droppable suffix.
    pub short_name: Option<&'static str>,
    /// Whether the row is a placeholder without a matchable name.
    pub placeholder: bool,
}

impl City {
    /// The province this city belongs to.
    pub fn province(&self) -> ProvinceCode {
        self.code.province()
    }
}

/// A destination: a province and, where known, the city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Region {
    /// Provincial division.
    pub province: ProvinceCode,
    /// Prefecture-level city, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<CityCode>,
}

impl Region {
    /// A province-level destination.
    pub fn province(province: ProvinceCode) -> Region {
        Region {
            province,
            city: None,
        }
    }

    /// A city-level destination (the province is the city's).
    pub fn city(city: CityCode) -> Region {
        Region {
            province: city.province(),
            city: Some(city),
        }
    }

    /// Parses a destination given as a code (`65`, `650000`, `4403`, `440300`), an exact
    /// provincial or city name, or a free-text address ([`match_address`]).
    pub fn parse(text: &str) -> Option<Region> {
        let s = text.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return match s.len() {
                1 | 2 => ProvinceCode::parse(s).map(Region::province),
                4 => CityCode::parse(s).map(Region::city),
                6 if s.ends_with("0000") => ProvinceCode::parse(s).map(Region::province),
                6 => CityCode::parse(s).map(Region::city),
                _ => None,
            };
        }
        match_address(s).map(|m| m.region)
    }

    /// A display label: `新疆` or `广东深圳市`.
    pub fn label_zh(&self) -> String {
        let p = self.province.info();
        match self.city.and_then(CityCode::info) {
            Some(c) if !c.placeholder => format!("{}{}", p.short_name, c.name),
            _ => p.short_name.to_string(),
        }
    }
}

/// The result of matching a free-text address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressMatch {
    /// Province and city found.
    pub region: Region,
    /// Bytes of the input (after leading whitespace) taken by the names matched.
    pub consumed: usize,
}

struct Tables {
    provinces: Vec<Province>,
    province_index: [Option<u8>; 100],
    cities: Vec<City>,
    /// Names that may start an address, longest first: provincial names and full city names.
    leading: Vec<(&'static str, Target)>,
}

#[derive(Clone, Copy)]
enum Target {
    Province(ProvinceCode),
    City(usize),
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(build_tables)
}

fn data_rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(str::trim).collect())
}

fn build_tables() -> Tables {
    let mut provinces = Vec::new();
    let mut province_index = [None; 100];
    for row in data_rows(PROVINCES_CSV) {
        let (Some(code), Some(full), Some(short), Some(kind), Some(wdt)) =
            (row.first(), row.get(2), row.get(3), row.get(4), row.get(5))
        else {
            continue;
        };
        let Ok(code) = code.parse::<u8>() else {
            continue;
        };
        if code >= 100 {
            continue;
        }
        let kind = match *kind {
            "直辖市" => ProvinceKind::Municipality,
            "自治区" => ProvinceKind::AutonomousRegion,
            "特别行政区" => ProvinceKind::SpecialAdministrativeRegion,
            _ => ProvinceKind::Province,
        };
        let name_en = NAMES_EN
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(*short, |(_, n)| *n);
        province_index[usize::from(code)] = u8::try_from(provinces.len()).ok();
        provinces.push(Province {
            code: ProvinceCode(code),
            full_name: full,
            short_name: short,
            wdt_name: wdt,
            name_en,
            kind,
        });
    }
    let mut cities = Vec::new();
    for row in data_rows(CITIES_CSV) {
        let (Some(code), Some(name)) = (row.first(), row.get(1)) else {
            continue;
        };
        let Ok(code) = code.parse::<u16>() else {
            continue;
        };
        if province_index[usize::from(code / 100).min(99)].is_none() {
            continue;
        }
        let placeholder = PLACEHOLDER_CITY_NAMES.contains(name);
        let short_name = if placeholder {
            None
        } else {
            ["地区", "市", "盟"]
                .iter()
                .find_map(|suf| name.strip_suffix(suf))
                .filter(|s| s.chars().count() >= 2)
        };
        cities.push(City {
            code: CityCode(code),
            name,
            short_name,
            placeholder,
        });
    }
    let mut leading: Vec<(&'static str, Target)> = Vec::new();
    for p in &provinces {
        for n in [p.full_name, p.short_name, p.wdt_name] {
            if !leading.iter().any(|(m, _)| *m == n) {
                leading.push((n, Target::Province(p.code)));
            }
        }
    }
    for (i, c) in cities.iter().enumerate() {
        if !c.placeholder {
            leading.push((c.name, Target::City(i)));
        }
    }
    // Longest first; on equal length a provincial name comes first (stable sort keeps order).
    leading.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    Tables {
        provinces,
        province_index,
        cities,
        leading,
    }
}

/// All 34 provincial divisions, in code order.
pub fn provinces() -> &'static [Province] {
    &tables().provinces
}

/// All cities (including placeholder rows such as `市辖区`), in code order.
pub fn cities() -> &'static [City] {
    &tables().cities
}

/// The province with exactly this name: full (`广西壮族自治区`), short (`广西`) or 旺店通 form.
pub fn province_by_name(name: &str) -> Option<&'static Province> {
    let n = name.trim();
    tables()
        .provinces
        .iter()
        .find(|p| p.full_name == n || p.short_name == n || p.wdt_name == n)
}

/// The city with this four-digit code.
pub fn city_by_code(code: u16) -> Option<&'static City> {
    let t = tables();
    t.cities
        .binary_search_by_key(&code, |c| c.code.0)
        .ok()
        .and_then(|i| t.cities.get(i))
}

/// The city of `province` whose full or short name is exactly `name`.
pub fn city_in_province(province: ProvinceCode, name: &str) -> Option<&'static City> {
    let n = name.trim();
    tables()
        .cities
        .iter()
        .filter(|c| c.province() == province && !c.placeholder)
        .find(|c| c.name == n || c.short_name == Some(n))
}

/// The city whose full name is exactly `name`, if exactly one city in the country has it.
pub fn city_by_unique_name(name: &str) -> Option<&'static City> {
    let n = name.trim();
    let mut it = tables()
        .cities
        .iter()
        .filter(|c| !c.placeholder && c.name == n);
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

fn municipality_city(province: ProvinceCode) -> Option<CityCode> {
    if province.info().kind != ProvinceKind::Municipality {
        return None;
    }
    CityCode::new(u16::from(province.0) * 100 + 1)
}

/// Matches a free-text Chinese address (`新疆维吾尔自治区乌鲁木齐市…`, `广东深圳南山区…`,
/// `吉林市船营区…`) to a province and, where possible, a city. See the module docs for the rules.
/// Returns `None` when the text does not start with a provincial or city name.
pub fn match_address(text: &str) -> Option<AddressMatch> {
    let t = tables();
    let trimmed = text.trim_start();
    let (s, skipped) = match trimmed.strip_prefix("中国") {
        Some(rest) => (rest.trim_start(), trimmed.len() - rest.trim_start().len()),
        None => (trimmed, 0),
    };
    let (name, target) = t.leading.iter().find(|(n, _)| s.starts_with(n))?;
    match *target {
        Target::City(i) => {
            let c = t.cities.get(i)?;
            Some(AddressMatch {
                region: Region::city(c.code),
                consumed: skipped + name.len(),
            })
        }
        Target::Province(p) => {
            let rest = &s[name.len()..];
            let rest_trim = rest.trim_start();
            let gap = rest.len() - rest_trim.len();
            let mut best: Option<(&City, usize)> = None;
            for c in t
                .cities
                .iter()
                .filter(|c| c.province() == p && !c.placeholder)
            {
                for n in [Some(c.name), c.short_name].into_iter().flatten() {
                    if rest_trim.starts_with(n) && best.is_none_or(|(_, l)| n.len() > l) {
                        best = Some((c, n.len()));
                    }
                }
            }
            Some(match best {
                Some((c, l)) => AddressMatch {
                    region: Region::city(c.code),
                    consumed: skipped + name.len() + gap + l,
                },
                None => AddressMatch {
                    region: Region {
                        province: p,
                        city: municipality_city(p),
                    },
                    consumed: skipped + name.len(),
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(address: &str, province: u8, city: Option<u16>) {
        let m = match_address(address).unwrap_or_else(|| panic!("no match for {address}"));
        assert_eq!(m.region.province.get(), province, "province of {address}");
        assert_eq!(m.region.city.map(CityCode::get), city, "city of {address}");
    }

    #[test]
    fn tables_are_complete() {
        assert_eq!(provinces().len(), 34);
        assert!(cities().len() > 330, "{}", cities().len());
        assert!(provinces().iter().all(|p| p.name_en != p.short_name));
    }

    #[test]
    fn all_provincial_names_full_and_short() {
        for p in provinces() {
            let code = p.code.get();
            let muni = municipality_city(p.code).map(CityCode::get);
            check(p.full_name, code, muni);
            check(p.short_name, code, muni);
            check(&format!("{}某某路1号", p.full_name), code, muni);
            assert_eq!(ProvinceCode::parse(p.full_name), Some(p.code));
            assert_eq!(ProvinceCode::parse(p.short_name), Some(p.code));
            assert_eq!(ProvinceCode::parse(p.wdt_name), Some(p.code));
            assert_eq!(ProvinceCode::parse(&format!("{code}0000")), Some(p.code));
        }
    }

    #[test]
    fn traps() {
        // A 青海 prefecture whose name starts with 海南.
        check("海南藏族自治州共和县恰卜恰镇", 63, Some(6325));
        check("青海省海南藏族自治州共和县", 63, Some(6325));
        check("海南省海口市龙华区", 46, Some(4601));
        check("海南海口龙华区", 46, Some(4601));
        // 吉林市 is a city of 吉林省.
        check("吉林市船营区", 22, Some(2202));
        check("吉林省吉林市船营区", 22, Some(2202));
        check("吉林省长春市朝阳区", 22, Some(2201));
        check("吉林长春", 22, Some(2201));
        // Full names before short ones.
        check("内蒙古自治区呼和浩特市新城区", 15, Some(1501));
        check("内蒙古呼和浩特市", 15, Some(1501));
        check("新疆维吾尔自治区乌鲁木齐市天山区", 65, Some(6501));
        check("新疆乌鲁木齐", 65, Some(6501));
        check("黑龙江省哈尔滨市南岗区", 23, Some(2301));
        check("黑龙江大兴安岭地区", 23, Some(2327));
        check("广西壮族自治区南宁市", 45, Some(4501));
        check("宁夏回族自治区银川市", 64, Some(6401));
        check("西藏拉萨市", 54, Some(5401));
        check("  中国 广东省深圳市南山区", 44, Some(4403));
        check("广东深圳南山区", 44, Some(4403));
        check("北京市朝阳区", 11, Some(1101));
        check("重庆市渝中区", 50, Some(5001));
        check("香港特别行政区九龙", 81, None);
        check("澳门", 82, None);
        check("台湾省台北市", 71, None);
        // 山西 and 陕西 are different provinces.
        check("陕西省西安市", 61, Some(6101));
        check("山西省太原市", 14, Some(1401));
        // A city alone at the start gives its province.
        check("深圳市南山区", 44, Some(4403));
    }

    #[test]
    fn names_inside_text_never_match() {
        for s in [
            "收货人在海南",
            "某某路新疆饭店",
            "蒙古国乌兰巴托",
            "",
            "   ",
            "abc",
        ] {
            assert_eq!(match_address(s), None, "{s}");
        }
    }

    #[test]
    fn region_parse_codes_and_names() {
        let r = |s: &str| Region::parse(s).map(|r| (r.province.get(), r.city.map(CityCode::get)));
        assert_eq!(r("65"), Some((65, None)));
        assert_eq!(r("650000"), Some((65, None)));
        assert_eq!(r("4403"), Some((44, Some(4403))));
        assert_eq!(r("440300"), Some((44, Some(4403))));
        assert_eq!(r("99"), None);
        assert_eq!(r("9999"), None);
        assert_eq!(r("新疆"), Some((65, None)));
        assert_eq!(CityCode::parse("深圳市").map(CityCode::get), Some(4403));
        assert_eq!(
            city_in_province(ProvinceCode::new(44).unwrap(), "深圳").map(|c| c.code.get()),
            Some(4403)
        );
    }

    #[test]
    fn serde_accepts_codes_and_names() {
        let v: Vec<ProvinceCode> =
            serde_json::from_str(r#"[65, "54", "新疆维吾尔自治区", "西藏", "460000"]"#).unwrap();
        let codes: Vec<u8> = v.iter().map(|p| p.get()).collect();
        assert_eq!(codes, vec![65, 54, 65, 54, 46]);
        assert!(serde_json::from_str::<ProvinceCode>(r#""火星""#).is_err());
        assert!(serde_json::from_str::<ProvinceCode>("10").is_err());
        assert_eq!(
            serde_json::to_string(&ProvinceCode::new(65).unwrap()).unwrap(),
            "65"
        );
    }
}
