//! Customer levels and grades from the revenue ledger (DOMAIN.md, Grading).
//!
//! Annual revenue is the sum over the last 12 complete calendar months. Every
//! threshold is inclusive ("含") and lives in [`Thresholds`], one configuration.

use serde::{Deserialize, Serialize};

use crate::customer::LedgerEntry;
use crate::vocab::Line;

/// Management level by annual revenue (seed 004 一): who manages the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    Suboffice,
    Company,
    District,
}

/// Value grade (seed 001 第三章).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    None,
    Ordinary,
    Gold,
    Platinum,
    Diamond,
}

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
    pub const ALL: [Grade; 5] = [
        Grade::Diamond,
        Grade::Platinum,
        Grade::Gold,
        Grade::Ordinary,
        Grade::None,
    ];
}

/// Every grading threshold, in fen. The defaults are the seeds' figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    let (Some(y), Some(m)) = (
        this_month.get(0..4).and_then(|s| s.parse::<i32>().ok()),
        this_month.get(5..7).and_then(|s| s.parse::<i32>().ok()),
    ) else {
        return Vec::new();
    };
    let index = y * 12 + (m - 1);
    (1..=12)
        .rev()
        .map(|back| {
            let i = index - back;
            format!("{:04}-{:02}", i / 12, i % 12 + 1)
        })
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
            *disbursed.entry(e.month.as_str()).or_default() += e.disbursed_fen;
        }
    }
    (revenue, disbursed.values().copied().max().unwrap_or(0))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(yuan: i64) -> i64 {
        yuan * 100
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
        };
        let ledger = [
            e("2025-10", 1),
            e("2025-11", 10),
            e("2026-10", 100),
            e("2026-11", 1000),
        ];
        assert_eq!(annual(&ledger, "2026-11").0, 110);
    }
}
