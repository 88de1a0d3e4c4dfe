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
