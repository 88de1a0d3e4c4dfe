//! Revenue anomalies 异动 and churn 流失 (docs/domain.md, Revenue alerts): a sharp
//! change against the previous month or the same month last year, and customers
//! whose revenue stopped. Thresholds are configurable; drops are reported first.

use serde::{Deserialize, Serialize};

use crate::customer::LedgerEntry;

/// When to raise an alert.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyRules {
    /// A fall of at least this many percent alerts (default 20; docs/domain.md, Revenue
    /// alerts).
    pub fall_percent: i64,
    /// A rise of at least this many percent alerts (default 30).
    pub rise_percent: i64,
    /// This many complete months with no revenue: possibly lost (default 3).
    pub lost_after_months: u32,
}

impl Default for AnomalyRules {
    fn default() -> Self {
        AnomalyRules {
            fall_percent: 20,
            rise_percent: 30,
            lost_after_months: 3,
        }
    }
}

/// What changed.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// No revenue in the last `months` complete months, after revenue before.
    Lost {
        months: u32,
    },
    /// Month-on-month fall, in percent.
    FallMonthOnMonth {
        month: String,
        percent: i64,
    },
    /// Year-on-year fall, in percent.
    FallYearOnYear {
        month: String,
        percent: i64,
    },
    RiseMonthOnMonth {
        month: String,
        percent: i64,
    },
    RiseYearOnYear {
        month: String,
        percent: i64,
    },
}

impl Alert {
    /// The alert's kind, as its JSON `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::Lost { .. } => "lost",
            Alert::FallMonthOnMonth { .. } => "fall_month_on_month",
            Alert::FallYearOnYear { .. } => "fall_year_on_year",
            Alert::RiseMonthOnMonth { .. } => "rise_month_on_month",
            Alert::RiseYearOnYear { .. } => "rise_year_on_year",
        }
    }
}

fn month_index(m: &str) -> Option<i32> {
    i32::try_from(crate::calendar::Month::parse(m)?.index()).ok()
}

fn month_name(i: i32) -> String {
    format!("{:04}-{:02}", i / 12, i % 12 + 1)
}

/// Alerts for the last complete month before `this_month` (`YYYY-MM`), drops first.
pub fn alerts(ledger: &[LedgerEntry], this_month: &str, rules: &AnomalyRules) -> Vec<Alert> {
    let Some(now) = month_index(this_month) else {
        return Vec::new();
    };
    // In i128: a document may hold any i64 (negative, or near the limits), and
    // neither the sum of a month nor the change in percent may overflow.
    let total = |i: i32| -> i128 {
        let name = month_name(i);
        ledger
            .iter()
            .filter(|e| e.month == name)
            .map(|e| i128::from(e.amount_fen))
            .sum()
    };
    let last = now - 1;
    let mut out = Vec::new();
    let quiet = (1..=rules.lost_after_months as i32).all(|back| total(now - back) == 0);
    let earlier = ledger
        .iter()
        .filter_map(|e| month_index(&e.month))
        .any(|i| i < now - rules.lost_after_months as i32);
    if quiet && earlier && ledger.iter().any(|e| e.amount_fen > 0) {
        out.push(Alert::Lost {
            months: rules.lost_after_months,
        });
        return out;
    }
    let cur = total(last);
    let mut compare = |base: i128,
                       fall: fn(String, i64) -> Alert,
                       rise: fn(String, i64) -> Alert| {
        if base <= 0 {
            return;
        }
        let percent = (cur - base) * 100 / base;
        let clamp = |p: i128| i64::try_from(p).unwrap_or(if p < 0 { i64::MIN } else { i64::MAX });
        if -percent >= i128::from(rules.fall_percent) {
            out.push(fall(month_name(last), clamp(-percent)));
        } else if percent >= i128::from(rules.rise_percent) {
            out.push(rise(month_name(last), clamp(percent)));
        }
    };
    compare(
        total(last - 1),
        |month, percent| Alert::FallMonthOnMonth { month, percent },
        |month, percent| Alert::RiseMonthOnMonth { month, percent },
    );
    compare(
        total(last - 12),
        |month, percent| Alert::FallYearOnYear { month, percent },
        |month, percent| Alert::RiseYearOnYear { month, percent },
    );
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Line;

    fn e(month: &str, fen: i64) -> LedgerEntry {
        LedgerEntry {
            month: month.into(),
            line: Line::Delivery,
            amount_fen: fen,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        }
    }

    #[test]
    fn falls_and_rises_at_their_thresholds() {
        let r = AnomalyRules::default();
        // Exactly 20% down month on month alerts; 19% does not.
        assert_eq!(
            alerts(&[e("2026-09", 100), e("2026-10", 80)], "2026-11", &r),
            vec![Alert::FallMonthOnMonth {
                month: "2026-10".into(),
                percent: 20
            }]
        );
        assert!(alerts(&[e("2026-09", 100), e("2026-10", 81)], "2026-11", &r).is_empty());
        // Exactly 30% up alerts; 29% does not.
        assert_eq!(
            alerts(&[e("2026-09", 100), e("2026-10", 130)], "2026-11", &r),
            vec![Alert::RiseMonthOnMonth {
                month: "2026-10".into(),
                percent: 30
            }]
        );
        assert!(alerts(&[e("2026-09", 100), e("2026-10", 129)], "2026-11", &r).is_empty());
        // Year on year.
        let yoy = alerts(
            &[e("2025-10", 200), e("2026-09", 100), e("2026-10", 100)],
            "2026-11",
            &r,
        );
        assert_eq!(
            yoy,
            vec![Alert::FallYearOnYear {
                month: "2026-10".into(),
                percent: 50
            }]
        );
    }

    #[test]
    fn three_quiet_months_after_revenue_is_lost() {
        let r = AnomalyRules::default();
        let ledger = [e("2026-06", 500), e("2026-07", 500)];
        assert_eq!(
            alerts(&ledger, "2026-11", &r),
            vec![Alert::Lost { months: 3 }]
        );
        assert!(!alerts(&[e("2026-08", 500)], "2026-11", &r).contains(&Alert::Lost { months: 3 }));
        assert!(alerts(&[], "2026-11", &r).is_empty());
    }

    /// Found by the document_load fuzz target: a month's revenue near the i64
    /// limits (a document may hold any figure) overflowed the sum and the
    /// percentage, a panic in debug builds and a wrong alert in release ones.
    #[test]
    fn figures_at_the_limits_do_not_overflow() {
        let r = AnomalyRules::default();
        assert_eq!(
            alerts(&[e("2026-09", 1), e("2026-10", i64::MIN)], "2026-11", &r),
            vec![Alert::FallMonthOnMonth {
                month: "2026-10".into(),
                percent: i64::MAX
            }]
        );
        assert_eq!(
            alerts(&[e("2026-09", 1), e("2026-10", i64::MAX)], "2026-11", &r),
            vec![Alert::RiseMonthOnMonth {
                month: "2026-10".into(),
                percent: i64::MAX
            }]
        );
        // Two lines at the limit in one month: the sum is past i64.
        let mut finance = e("2026-10", i64::MAX);
        finance.line = Line::Finance;
        assert_eq!(
            alerts(
                &[e("2026-09", 100), e("2026-10", i64::MAX), finance],
                "2026-11",
                &r
            ),
            vec![Alert::RiseMonthOnMonth {
                month: "2026-10".into(),
                percent: i64::MAX
            }]
        );
        let year_ago = [e("2025-10", i64::MAX), e("2026-09", 5), e("2026-10", 5)];
        assert_eq!(
            alerts(&year_ago, "2026-11", &r),
            vec![Alert::FallYearOnYear {
                month: "2026-10".into(),
                percent: 99
            }]
        );
    }
}
