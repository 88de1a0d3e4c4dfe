//! Customer levels and grades from the revenue ledger (docs/domain.md, Levels and
//! grades).
//!
//! Annual revenue is the sum over the last 12 complete calendar months. Every
//! threshold is inclusive ("含") and lives in [`Thresholds`], one configuration.

use serde::{Deserialize, Serialize};

use crate::customer::LedgerEntry;
use crate::vocab::Line;

/// Management level by annual revenue (docs/domain.md, Levels and grades): who manages
/// the customer.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    None,
    Suboffice,
    Company,
    District,
}

/// Value grade (docs/domain.md, Levels and grades).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    #[default]
    None,
    Ordinary,
    Gold,
    Platinum,
    Diamond,
}

/// Levels and grades are stored in documents (the book) as their words, as
/// they were when those fields were strings: books written before they were
/// typed read the same, and an unknown word reads as `None`.
macro_rules! stored_as_word {
    ($($name:ident),*) => {$(
        impl autosurgeon::Hydrate for $name {
            fn hydrate<D: autosurgeon::ReadDoc>(
                doc: &D,
                obj: &automerge::ObjId,
                prop: autosurgeon::Prop<'_>,
            ) -> Result<Self, autosurgeon::HydrateError> {
                Ok(Self::parse(crate::flex::read_string(doc, obj, prop)?.as_str()))
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(self.as_str())
            }
        }
    )*};
}

stored_as_word!(Level, Grade);

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Suboffice => "suboffice",
            Level::Company => "company",
            Level::District => "district",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Level::None => "非重点",
            Level::Suboffice => "支局级",
            Level::Company => "专业分公司级",
            Level::District => "区局级",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Level::None => "Not key",
            Level::Suboffice => "Sub-office",
            Level::Company => "Specialised company",
            Level::District => "District",
        }
    }
    /// The level named `s` (as stored); `None` for anything else.
    pub fn parse(s: &str) -> Level {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .unwrap_or(Level::None)
    }
    pub const ALL: [Level; 4] = [
        Level::District,
        Level::Company,
        Level::Suboffice,
        Level::None,
    ];
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::None => "none",
            Grade::Ordinary => "ordinary",
            Grade::Gold => "gold",
            Grade::Platinum => "platinum",
            Grade::Diamond => "diamond",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Grade::None => "未分级",
            Grade::Ordinary => "普通",
            Grade::Gold => "黄金",
            Grade::Platinum => "白金",
            Grade::Diamond => "钻石",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Grade::None => "Ungraded",
            Grade::Ordinary => "Ordinary",
            Grade::Gold => "Gold",
            Grade::Platinum => "Platinum",
            Grade::Diamond => "Diamond",
        }
    }
    /// The grade named `s` (as stored); `None` for anything else.
    pub fn parse(s: &str) -> Grade {
        Grade::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .unwrap_or(Grade::None)
    }
    pub const ALL: [Grade; 5] = [
        Grade::Diamond,
        Grade::Platinum,
        Grade::Gold,
        Grade::Ordinary,
        Grade::None,
    ];
}

/// Every grading threshold, in fen. The defaults are the operator's figures
/// (docs/domain.md, Levels and grades).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub district_annual_fen: i64,
    pub district_monthly_disbursed_fen: i64,
    pub company_annual_fen: i64,
    pub company_monthly_disbursed_fen: i64,
    pub suboffice_annual_fen: i64,
    pub suboffice_monthly_disbursed_fen: i64,
    pub diamond_fen: i64,
    pub platinum_fen: i64,
    pub gold_fen: i64,
    pub ordinary_fen: i64,
    /// City revenue-group factor applied to the grade thresholds (0.8–1.0), in permille.
    pub city_factor_permille: i64,
}

const YUAN: i64 = 100;

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            district_annual_fen: 500_000 * YUAN,
            district_monthly_disbursed_fen: 10_000_000 * YUAN,
            company_annual_fen: 100_000 * YUAN,
            company_monthly_disbursed_fen: 500_000 * YUAN,
            suboffice_annual_fen: 50_000 * YUAN,
            suboffice_monthly_disbursed_fen: 200_000 * YUAN,
            diamond_fen: 5_000_000 * YUAN,
            platinum_fen: 2_000_000 * YUAN,
            gold_fen: 200_000 * YUAN,
            ordinary_fen: 10_000 * YUAN,
            city_factor_permille: 1000,
        }
    }
}

/// The 12 complete months before `this_month` (`YYYY-MM`), oldest first.
pub fn last_twelve_months(this_month: &str) -> Vec<String> {
    let Some(month) = crate::calendar::Month::parse(this_month) else {
        return Vec::new();
    };
    (1..=12)
        .rev()
        .map(|back| month.plus(-back).to_string())
        .collect()
}

/// Revenue over the last 12 complete months, and the highest monthly disbursed volume in them.
pub fn annual(ledger: &[LedgerEntry], this_month: &str) -> (i64, i64) {
    let months = last_twelve_months(this_month);
    let mut revenue = 0i64;
    let mut disbursed: std::collections::BTreeMap<&str, i64> = Default::default();
    for e in ledger.iter().filter(|e| months.contains(&e.month)) {
        revenue = revenue.saturating_add(e.amount_fen);
        if e.line == Line::Finance {
            // Saturating, like the revenue: a document may hold any i64.
            let month = disbursed.entry(e.month.as_str()).or_default();
            *month = month.saturating_add(e.disbursed_fen);
        }
    }
    (revenue, disbursed.values().copied().max().unwrap_or(0))
}

/// Cross-city mail revenue over the last 12 complete months.
pub fn annual_cross_city(ledger: &[LedgerEntry], this_month: &str) -> i64 {
    let months = last_twelve_months(this_month);
    ledger
        .iter()
        .filter(|e| months.contains(&e.month))
        .fold(0i64, |sum, e| sum.saturating_add(e.cross_city_fen))
}

/// A customer's level and grade as the rules propose them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// Revenue over the last twelve complete months.
    pub annual_fen: i64,
    /// The highest monthly disbursed volume (finance line) in them.
    pub disbursed_fen: i64,
    pub level: Level,
    pub grade: Grade,
}

/// The rules' level and grade of a customer from its ledger, as of the
/// operator's month `this_month` (`calendar::month_of`): the one derivation
/// the tablet (`client/src/store.rs`) and the server's projector
/// (`server/src/projection/plan.rs`) both call, so they cannot disagree.
pub fn assess(ledger: &[LedgerEntry], this_month: &str, t: &Thresholds) -> Assessment {
    let (annual_fen, disbursed_fen) = annual(ledger, this_month);
    Assessment {
        annual_fen,
        disbursed_fen,
        level: level(annual_fen, disbursed_fen, t),
        grade: grade(annual_fen, t),
    }
}

/// The proposed management level.
pub fn level(annual_fen: i64, monthly_disbursed_fen: i64, t: &Thresholds) -> Level {
    if annual_fen >= t.district_annual_fen
        || monthly_disbursed_fen >= t.district_monthly_disbursed_fen
    {
        Level::District
    } else if annual_fen >= t.company_annual_fen
        || monthly_disbursed_fen >= t.company_monthly_disbursed_fen
    {
        Level::Company
    } else if annual_fen >= t.suboffice_annual_fen
        || monthly_disbursed_fen >= t.suboffice_monthly_disbursed_fen
    {
        Level::Suboffice
    } else {
        Level::None
    }
}

/// The proposed value grade (threshold grade, before any managed-as rule).
pub fn grade(annual_fen: i64, t: &Thresholds) -> Grade {
    let scaled = |fen: i64| fen * t.city_factor_permille / 1000;
    if annual_fen >= scaled(t.diamond_fen) {
        Grade::Diamond
    } else if annual_fen >= scaled(t.platinum_fen) {
        Grade::Platinum
    } else if annual_fen >= scaled(t.gold_fen) {
        Grade::Gold
    } else if annual_fen >= scaled(t.ordinary_fen) {
        Grade::Ordinary
    } else {
        Grade::None
    }
}

/// How customers are *managed*, beside their threshold grade (docs/domain.md,
/// Managed-as tiers): in a city with few big customers the largest are managed as
/// platinum and gold, and big cross-city mail customers as diamond or platinum.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagedRules {
    /// The rank rule applies where at most this many customers reach `big_customer_fen`.
    pub big_customers_at_most: usize,
    pub big_customer_fen: i64,
    /// Ranks 1..=top_platinum are managed as platinum…
    pub top_platinum: usize,
    /// …and ranks after that up to this one as gold.
    pub top_gold_to: usize,
    /// Annual cross-city mail revenue managed as diamond / platinum.
    pub cross_city_diamond_fen: i64,
    pub cross_city_platinum_fen: i64,
}

impl Default for ManagedRules {
    fn default() -> Self {
        ManagedRules {
            big_customers_at_most: 3,
            big_customer_fen: 1_000_000 * YUAN,
            top_platinum: 3,
            top_gold_to: 10,
            cross_city_diamond_fen: 3_000_000 * YUAN,
            cross_city_platinum_fen: 1_000_000 * YUAN,
        }
    }
}

/// A customer's figures for the managed-as rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub annual_fen: i64,
    pub cross_city_fen: i64,
}

/// Why a customer is managed at its tier.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ManagedWhy {
    /// Its own threshold grade.
    Threshold,
    /// Its revenue rank in a city with few big customers.
    Rank { rank: usize },
    /// Its cross-city mail revenue.
    CrossCity,
}

impl ManagedWhy {
    /// The word and rank it is stored as (the `customer_index` columns and
    /// the book's `ManagedTier`).
    pub fn to_stored(self) -> (&'static str, i64) {
        match self {
            ManagedWhy::Threshold => ("threshold", 0),
            ManagedWhy::Rank { rank } => ("rank", rank as i64),
            ManagedWhy::CrossCity => ("cross_city", 0),
        }
    }

    /// Reads a stored word and rank back (anything unknown: `Threshold`).
    pub fn from_stored(word: &str, rank: i64) -> ManagedWhy {
        match word {
            "rank" => ManagedWhy::Rank {
                rank: rank.max(0) as usize,
            },
            "cross_city" => ManagedWhy::CrossCity,
            _ => ManagedWhy::Threshold,
        }
    }

    pub fn label_zh(self) -> String {
        match self {
            ManagedWhy::Threshold => "按收入标准".into(),
            ManagedWhy::Rank { rank } => format!("本市收入第{rank}名"),
            ManagedWhy::CrossCity => "异地邮件收入".into(),
        }
    }
    pub fn label_en(self) -> String {
        match self {
            ManagedWhy::Threshold => "by revenue".into(),
            ManagedWhy::Rank { rank } => format!("no. {rank} by revenue in the city"),
            ManagedWhy::CrossCity => "cross-city mail revenue".into(),
        }
    }
}

crate::labelled!(Level, Grade, ManagedWhy);

/// The tier each customer of one city is managed as, in the order given: the
/// highest of its threshold grade, its rank tier and its cross-city tier.
/// Equal revenues rank in the order given, so callers pass a stable order.
pub fn managed_as(city: &[Standing], t: &Thresholds, m: &ManagedRules) -> Vec<(Grade, ManagedWhy)> {
    let big = city
        .iter()
        .filter(|s| s.annual_fen >= m.big_customer_fen)
        .count();
    let mut ranks = vec![None; city.len()];
    if big <= m.big_customers_at_most {
        let mut order: Vec<usize> = (0..city.len())
            .filter(|&i| city[i].annual_fen > 0)
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(city[i].annual_fen));
        for (r, i) in order.into_iter().enumerate() {
            ranks[i] = Some(r + 1);
        }
    }
    city.iter()
        .zip(ranks)
        .map(|(s, rank)| {
            let mut best = (grade(s.annual_fen, t), ManagedWhy::Threshold);
            let by_rank = match rank {
                Some(r) if r <= m.top_platinum => Some((Grade::Platinum, r)),
                Some(r) if r <= m.top_gold_to => Some((Grade::Gold, r)),
                _ => None,
            };
            if let Some((g, rank)) = by_rank
                && g > best.0
            {
                best = (g, ManagedWhy::Rank { rank });
            }
            let by_cross_city = if s.cross_city_fen >= m.cross_city_diamond_fen {
                Grade::Diamond
            } else if s.cross_city_fen >= m.cross_city_platinum_fen {
                Grade::Platinum
            } else {
                Grade::None
            };
            if by_cross_city > best.0 {
                best = (by_cross_city, ManagedWhy::CrossCity);
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(yuan: i64) -> i64 {
        yuan * 100
    }

    /// Found by the document_load fuzz target: two finance entries of one
    /// month with disbursed volumes near the i64 limit overflowed the month's
    /// sum (a panic in debug builds, a wrong level in release ones).
    #[test]
    fn disbursed_at_the_limit_does_not_overflow() {
        let e = |line: Line, disbursed| LedgerEntry {
            month: "2026-10".into(),
            line,
            amount_fen: 1,
            disbursed_fen: disbursed,
            cross_city_fen: 0,
            estimate: false,
        };
        let ledger = [
            e(Line::Finance, i64::MAX),
            e(Line::Finance, i64::MAX),
            e(Line::Delivery, i64::MAX),
        ];
        assert_eq!(annual(&ledger, "2026-11"), (3, i64::MAX));
        assert_eq!(
            annual(
                &[e(Line::Finance, i64::MIN), e(Line::Finance, -1)],
                "2026-11"
            ),
            (2, i64::MIN)
        );
    }

    #[test]
    fn bounds_are_inclusive_and_one_fen_under_is_not() {
        let t = Thresholds::default();
        assert_eq!(level(fen(500_000), 0, &t), Level::District);
        assert_eq!(level(fen(500_000) - 1, 0, &t), Level::Company);
        assert_eq!(level(fen(100_000) - 1, 0, &t), Level::Suboffice);
        assert_eq!(level(fen(50_000) - 1, 0, &t), Level::None);
        assert_eq!(level(0, fen(10_000_000), &t), Level::District);
        assert_eq!(level(0, fen(200_000) - 1, &t), Level::None);
        assert_eq!(grade(fen(5_000_000), &t), Grade::Diamond);
        assert_eq!(grade(fen(5_000_000) - 1, &t), Grade::Platinum);
        assert_eq!(grade(fen(200_000) - 1, &t), Grade::Ordinary);
        assert_eq!(grade(fen(10_000) - 1, &t), Grade::None);
        let t8 = Thresholds {
            city_factor_permille: 800,
            ..t
        };
        assert_eq!(grade(fen(4_000_000), &t8), Grade::Diamond);
    }

    #[test]
    fn more_revenue_never_lowers_a_level_or_grade() {
        // A deterministic sweep over amounts around every threshold and between them.
        let t = Thresholds::default();
        let mut amounts: Vec<i64> = vec![0, 1];
        for b in [
            t.ordinary_fen,
            t.gold_fen,
            t.platinum_fen,
            t.diamond_fen,
            t.suboffice_annual_fen,
            t.company_annual_fen,
            t.district_annual_fen,
        ] {
            amounts.extend([b - 1, b, b + 1, b * 2]);
        }
        let mut x: u64 = 7;
        for _ in 0..2000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            amounts.push((x >> 20) as i64 % 1_000_000_000);
        }
        amounts.sort();
        for pair in amounts.windows(2) {
            let (lo, hi) = (pair[0], pair[1]);
            assert!(
                grade(hi, &t) >= grade(lo, &t),
                "grade fell from {lo} to {hi}"
            );
            assert!(
                level(hi, 0, &t) >= level(lo, 0, &t),
                "level fell from {lo} to {hi}"
            );
            assert!(
                level(0, hi, &t) >= level(0, lo, &t),
                "level by disbursement fell from {lo} to {hi}"
            );
        }
    }

    fn standing(yuan: i64) -> Standing {
        Standing {
            annual_fen: fen(yuan),
            cross_city_fen: 0,
        }
    }

    #[test]
    fn a_city_with_few_big_customers_manages_its_top_ranks_higher() {
        let (t, m) = (Thresholds::default(), ManagedRules::default());
        // Three at or above 1,000,000 yuan: the rank rule applies.
        let mut city: Vec<Standing> = [1_500_000, 1_000_000, 1_200_000]
            .into_iter()
            .chain((0..10).map(|i| 50_000 + i))
            .map(standing)
            .collect();
        city.push(standing(0));
        let out = managed_as(&city, &t, &m);
        assert_eq!(out[0], (Grade::Platinum, ManagedWhy::Rank { rank: 1 }));
        assert_eq!(out[1], (Grade::Platinum, ManagedWhy::Rank { rank: 3 }));
        assert_eq!(out[2], (Grade::Platinum, ManagedWhy::Rank { rank: 2 }));
        // 50,009 yuan is rank 4, 50,003 rank 10, 50,002 rank 11.
        assert_eq!(out[12], (Grade::Gold, ManagedWhy::Rank { rank: 4 }));
        assert_eq!(out[6], (Grade::Gold, ManagedWhy::Rank { rank: 10 }));
        assert_eq!(out[5], (Grade::Ordinary, ManagedWhy::Threshold));
        assert_eq!(out[13], (Grade::None, ManagedWhy::Threshold));
        // A fourth big customer (one fen over the bound counts, one under not).
        let mut four = city.clone();
        four.push(Standing {
            annual_fen: fen(1_000_000) - 1,
            cross_city_fen: 0,
        });
        assert_eq!(managed_as(&four, &t, &m)[0].1, ManagedWhy::Rank { rank: 1 });
        four.push(standing(1_000_000));
        let out = managed_as(&four, &t, &m);
        assert_eq!(out[0], (Grade::Gold, ManagedWhy::Threshold));
    }

    #[test]
    fn cross_city_mail_sets_a_floor() {
        let (t, m) = (Thresholds::default(), ManagedRules::default());
        let s = |cross: i64| Standing {
            annual_fen: fen(300_000),
            cross_city_fen: cross,
        };
        // Five big customers so the rank rule is off.
        let mut city: Vec<Standing> = (0..5).map(|_| standing(9_000_000)).collect();
        city.extend([
            s(fen(3_000_000)),
            s(fen(3_000_000) - 1),
            s(fen(1_000_000)),
            s(fen(1_000_000) - 1),
        ]);
        let out = managed_as(&city, &t, &m);
        assert_eq!(out[5], (Grade::Diamond, ManagedWhy::CrossCity));
        assert_eq!(out[6], (Grade::Platinum, ManagedWhy::CrossCity));
        assert_eq!(out[7], (Grade::Platinum, ManagedWhy::CrossCity));
        assert_eq!(out[8], (Grade::Gold, ManagedWhy::Threshold));
    }

    #[test]
    fn managed_as_never_lowers_a_grade_and_ignores_input_order() {
        let (t, m) = (Thresholds::default(), ManagedRules::default());
        let mut x: u64 = 11;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        for case in 0..300 {
            let n = 1 + (next() % 25) as usize;
            // Distinct revenues (ties rank by position by design).
            let city: Vec<Standing> = (0..n)
                .map(|i| Standing {
                    annual_fen: (next() % 700_000_000) as i64 * 1000 + i as i64,
                    cross_city_fen: if next() % 4 == 0 {
                        (next() % 400_000_000) as i64
                    } else {
                        0
                    },
                })
                .collect();
            let out = managed_as(&city, &t, &m);
            for (s, (g, _)) in city.iter().zip(&out) {
                assert!(*g >= grade(s.annual_fen, &t), "case {case}: lowered");
            }
            let reversed: Vec<Standing> = city.iter().rev().copied().collect();
            let mut back = managed_as(&reversed, &t, &m);
            back.reverse();
            assert_eq!(back, out, "case {case}: depends on order");
        }
    }

    #[test]
    fn annual_revenue_is_the_last_twelve_complete_months() {
        assert_eq!(
            last_twelve_months("2026-01").first().map(String::as_str),
            Some("2025-01")
        );
        assert_eq!(
            last_twelve_months("2026-01").last().map(String::as_str),
            Some("2025-12")
        );
        let e = |m: &str, fen| LedgerEntry {
            month: m.into(),
            line: Line::Delivery,
            amount_fen: fen,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        };
        let ledger = [
            e("2025-10", 1),
            e("2025-11", 10),
            e("2026-10", 100),
            e("2026-11", 1000),
        ];
        assert_eq!(annual(&ledger, "2026-11").0, 110);
    }

    /// Tablet and server derive the same grade at any instant: the tablet
    /// takes the month from its day (`calendar::day_of`), the server from
    /// `calendar::month_of`, both in China time, and both call `assess`.
    /// Checked every 37 minutes over two years, with revenue that changes
    /// the grade at every turn of a month; the grade changes exactly at
    /// China's midnight (16:00 UTC), never eight hours apart.
    #[test]
    fn tablet_and_server_grade_alike_at_every_instant() {
        use crate::calendar::{day_of, month_of};
        let t = Thresholds::default();
        // Revenue on a five-month cycle: every month's window of twelve
        // sums differently, across the grade thresholds.
        let ledger: Vec<LedgerEntry> = (2024..=2026)
            .flat_map(|y| (1..=12).map(move |m| (y, m)))
            .map(|(y, m)| LedgerEntry {
                month: format!("{y}-{m:02}"),
                line: Line::Delivery,
                amount_fen: 200_000 * YUAN * ((y * 12 + m) % 5),
                ..Default::default()
            })
            .collect();
        let start = 1_735_660_800_000_i64; // 2025-01-01 00:00 UTC
        let mut ms = start;
        let mut changes = 0;
        let mut last: Option<Assessment> = None;
        while ms < start + 2 * 365 * 86_400_000 {
            let tablet = assess(&ledger, &day_of(ms)[..7], &t);
            let server = assess(&ledger, &month_of(ms), &t);
            assert_eq!(tablet, server, "at {ms}");
            if last.is_some_and(|l| l != server) {
                changes += 1;
                // A change happens only across China's midnight.
                assert_ne!(day_of(ms), day_of(ms - 37 * 60 * 1000), "at {ms}");
            }
            last = Some(server);
            ms += 37 * 60 * 1000;
        }
        assert!(changes >= 20, "the grade changed {changes} times");
    }
}
