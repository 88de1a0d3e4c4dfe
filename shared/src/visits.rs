//! Visit cadence (DOMAIN.md, Visits): a manager visits each key customer at least
//! once a calendar month. Dates are `YYYY-MM-DD` strings; the caller passes today.

use crate::customer::Customer;

/// Where a customer stands this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cadence {
    /// Visited this month.
    Visited,
    /// Not yet visited this month, but last month.
    Due,
    /// Neither this month nor last month: overdue.
    Overdue,
}

/// `YYYY-MM` of a `YYYY-MM-DD` date.
fn month(date: &str) -> Option<(i32, u32)> {
    let y = date.get(0..4)?.parse().ok()?;
    let m = date.get(5..7)?.parse().ok()?;
    (1..=12).contains(&m).then_some((y, m))
}

fn previous((y, m): (i32, u32)) -> (i32, u32) {
    if m == 1 { (y - 1, 12) } else { (y, m - 1) }
}

/// The cadence of a customer whose latest visit was on `last_visit`.
pub fn cadence(last_visit: Option<&str>, today: &str) -> Cadence {
    let (Some(now), Some(last)) = (month(today), last_visit.and_then(month)) else {
        return Cadence::Overdue;
    };
    if last >= now {
        Cadence::Visited
    } else if last == previous(now) {
        Cadence::Due
    } else {
        Cadence::Overdue
    }
}

/// Open follow-ups of a customer, with the date of the visit they came from.
pub fn open_follow_ups(c: &Customer) -> Vec<(&str, &crate::customer::FollowUp)> {
    c.visits
        .iter()
        .flat_map(|v| {
            v.follow_ups
                .iter()
                .filter(|f| !f.closed)
                .map(move |f| (v.date.as_str(), f))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_boundaries() {
        assert_eq!(cadence(Some("2026-11-01"), "2026-11-22"), Cadence::Visited);
        assert_eq!(cadence(Some("2026-10-31"), "2026-11-22"), Cadence::Due);
        assert_eq!(cadence(Some("2026-09-30"), "2026-11-22"), Cadence::Overdue);
        assert_eq!(cadence(Some("2025-12-31"), "2026-01-05"), Cadence::Due);
        assert_eq!(cadence(Some("2025-11-30"), "2026-01-05"), Cadence::Overdue);
        assert_eq!(cadence(None, "2026-01-05"), Cadence::Overdue);
        assert_eq!(cadence(Some("garbage"), "2026-01-05"), Cadence::Overdue);
    }
}

/// Visit compliance of one manager in one month.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Compliance {
    pub manager: String,
    pub month: String,
    /// Customers the manager is primary for: each due a visit this month.
    pub due: usize,
    pub visited: usize,
    /// Document ids of the customers not visited in the month.
    pub not_visited: Vec<String>,
}

/// Per manager, how many of their customers had a visit (on site, phone or event)
/// in `month` (`YYYY-MM`). Input: (doc id, primary manager, visit dates).
pub fn compliance(customers: &[(String, String, Vec<String>)], month: &str) -> Vec<Compliance> {
    let mut by: std::collections::BTreeMap<&str, Compliance> = Default::default();
    for (doc, manager, dates) in customers {
        let c = by.entry(manager.as_str()).or_insert_with(|| Compliance {
            manager: manager.clone(),
            month: month.to_string(),
            due: 0,
            visited: 0,
            not_visited: Vec::new(),
        });
        c.due += 1;
        if dates.iter().any(|d| d.get(0..7) == Some(month)) {
            c.visited += 1;
        } else {
            c.not_visited.push(doc.clone());
        }
    }
    by.into_values().collect()
}

#[cfg(test)]
mod compliance_tests {
    use super::*;

    #[test]
    fn counts_per_manager_and_month() {
        let rows = vec![
            (
                "a".to_string(),
                "m1".to_string(),
                vec!["2026-11-03".to_string()],
            ),
            (
                "b".to_string(),
                "m1".to_string(),
                vec!["2026-10-30".to_string()],
            ),
            ("c".to_string(), "m2".to_string(), vec![]),
        ];
        let c = compliance(&rows, "2026-11");
        assert_eq!(
            c[0],
            Compliance {
                manager: "m1".into(),
                month: "2026-11".into(),
                due: 2,
                visited: 1,
                not_visited: vec!["b".into()]
            }
        );
        assert_eq!((c[1].due, c[1].visited), (1, 0));
    }
}
