//! Visit cadence (docs/domain.md, Visit cadence): a manager visits each key customer at
//! least once a calendar month, the unit's head at least once a calendar quarter. Dates
//! are `YYYY-MM-DD` strings; the caller passes today.

use crate::calendar::Month;
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

/// The month of a `YYYY-MM-DD` date.
fn month(date: &str) -> Option<Month> {
    Month::of_date(date)
}

fn previous(m: Month) -> Month {
    m.plus(-1)
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

/// A customer's cadence: as [`cadence`], except that a customer registered
/// this month and not yet visited is due, not overdue (a new prospect).
pub fn cadence_of(c: &Customer, today: &str) -> Cadence {
    cadence_since(c.last_visit(), &c.registered_on, today)
}

/// [`cadence_of`] from a customer's last visit and day of registration (the
/// tablet's list index keeps only these).
pub fn cadence_since(last_visit: Option<&str>, registered_on: &str, today: &str) -> Cadence {
    match (last_visit, month(registered_on), month(today)) {
        (None, Some(registered), Some(now)) if registered >= now => Cadence::Due,
        (last, _, _) => cadence(last, today),
    }
}

/// Open follow-ups of a customer, with the date of the visit they came from.
pub fn open_follow_ups(c: &Customer) -> Vec<(&str, &crate::customer::FollowUp)> {
    c.visits
        .iter()
        .flat_map(|v| {
            v.follow_ups
                .iter()
                .filter(|f| f.is_open())
                .map(move |f| (v.date.as_str(), f))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_prospect_is_due_in_its_first_month_then_overdue() {
        let mut c = Customer::new("新客户", "", crate::vocab::Nature::Enterprise, vec![]);
        assert_eq!(
            cadence_of(&c, "2026-11-20"),
            Cadence::Overdue,
            "no date: as before"
        );
        c.registered_on = "2026-11-03".into();
        assert_eq!(cadence_of(&c, "2026-11-20"), Cadence::Due);
        assert_eq!(cadence_of(&c, "2026-12-01"), Cadence::Overdue);
        c.visits.push(crate::customer::Visit {
            date: "2026-11-05".into(),
            ..Default::default()
        });
        assert_eq!(cadence_of(&c, "2026-11-20"), Cadence::Visited);
    }

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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

/// The calendar quarter of a `YYYY-MM…` date, as `YYYY-Qn`.
pub fn quarter_of(date: &str) -> Option<String> {
    Some(month(date)?.quarter().to_string())
}

/// Whether `username` took part in a visit within `quarter` (`YYYY-Qn`).
pub fn visited_by_in_quarter(c: &Customer, username: &str, quarter: &str) -> bool {
    c.visits.iter().any(|v| {
        quarter_of(&v.date).as_deref() == Some(quarter) && v.visitors.iter().any(|x| x == username)
    })
}

/// A unit head's own visits in one quarter (docs/domain.md, Visit cadence: at least one
/// a quarter).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeadCompliance {
    pub head: String,
    pub quarter: String,
    /// Customers of the head's unit: each due a visit by the head this quarter.
    pub due: usize,
    /// Those the head visited in person (named among the visitors).
    pub visited: usize,
    pub not_visited: Vec<String>,
}

/// A visit as the head cadence needs it: (date, visitors).
pub type VisitBy = (String, Vec<String>);

/// Per head, how many customers of their unit they visited themselves in
/// `quarter`. Input: (doc id, head, visits).
pub fn head_compliance(
    rows: &[(String, String, Vec<VisitBy>)],
    quarter: &str,
) -> Vec<HeadCompliance> {
    let mut by: std::collections::BTreeMap<&str, HeadCompliance> = Default::default();
    for (doc, head, visits) in rows {
        let c = by.entry(head.as_str()).or_insert_with(|| HeadCompliance {
            head: head.clone(),
            quarter: quarter.to_string(),
            due: 0,
            visited: 0,
            not_visited: Vec::new(),
        });
        c.due += 1;
        let went = visits.iter().any(|(date, who)| {
            quarter_of(date).as_deref() == Some(quarter) && who.iter().any(|w| w == head)
        });
        if went {
            c.visited += 1;
        } else {
            c.not_visited.push(doc.clone());
        }
    }
    by.into_values().collect()
}

#[cfg(test)]
mod head_tests {
    use super::*;

    #[test]
    fn quarters_and_the_heads_own_visits() {
        assert_eq!(quarter_of("2026-01-01").as_deref(), Some("2026-Q1"));
        assert_eq!(quarter_of("2026-03-31").as_deref(), Some("2026-Q1"));
        assert_eq!(quarter_of("2026-04-01").as_deref(), Some("2026-Q2"));
        assert_eq!(quarter_of("2026-12-31").as_deref(), Some("2026-Q4"));
        assert_eq!(quarter_of("2026-13-01"), None);
        let v =
            |d: &str, who: &[&str]| (d.to_string(), who.iter().map(|s| s.to_string()).collect());
        let rows = vec![
            // The head went along in October: counts for Q4.
            (
                "a".to_string(),
                "h".to_string(),
                vec![v("2026-10-02", &["m1", "h"])],
            ),
            // Only the manager went: does not count for the head.
            (
                "b".to_string(),
                "h".to_string(),
                vec![v("2026-11-02", &["m1"])],
            ),
            // The head went, but last quarter.
            (
                "c".to_string(),
                "h".to_string(),
                vec![v("2026-09-30", &["h"])],
            ),
        ];
        let c = head_compliance(&rows, "2026-Q4");
        assert_eq!(
            c,
            vec![HeadCompliance {
                head: "h".into(),
                quarter: "2026-Q4".into(),
                due: 3,
                visited: 1,
                not_visited: vec!["b".into(), "c".into()],
            }]
        );
    }
}
