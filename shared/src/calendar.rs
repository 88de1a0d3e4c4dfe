//! The operator's calendar: the day and month as the operator counts them
//! (China, UTC+8), whatever zone a tablet's clock is set to and whatever zone
//! the server runs in. Grades, cadence and reminders are "as of this month";
//! the tablet and the server must agree on which month that is, so both call
//! these functions (before, the tablet used its local time and the server
//! UTC: for eight hours around the turn of a month they showed different
//! grades).

use std::sync::atomic::{AtomicI64, Ordering};

/// The operator's offset from UTC unless the rules say otherwise (China).
pub const DEFAULT_UTC_OFFSET_MINUTES: i64 = 8 * 60;
/// The default, in seconds.
pub const OPERATOR_UTC_OFFSET_SECS: i64 = DEFAULT_UTC_OFFSET_MINUTES * 60;

/// The offset in force: set from the rules (`calendar.utc_offset_minutes`)
/// by the server when it loads or changes them and by the tablet when its
/// book brings them, so both count days alike.
static OFFSET_SECS: AtomicI64 = AtomicI64::new(OPERATOR_UTC_OFFSET_SECS);

/// Sets the operator's offset from UTC (the rules validate -720 to 840).
pub fn set_utc_offset_minutes(minutes: i64) {
    OFFSET_SECS.store(minutes.clamp(-720, 840) * 60, Ordering::Relaxed);
}

/// The operator's offset from UTC in force, in seconds.
pub fn utc_offset_secs() -> i64 {
    OFFSET_SECS.load(Ordering::Relaxed)
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's
/// civil_from_days).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The operator's date, `YYYY-MM-DD`, at `unix_ms` milliseconds since the epoch.
pub fn day_of(unix_ms: i64) -> String {
    day_at(unix_ms, utc_offset_secs())
}

/// The date, `YYYY-MM-DD`, at `unix_ms` in a zone `offset_secs` from UTC.
pub fn day_at(unix_ms: i64, offset_secs: i64) -> String {
    let local_secs = unix_ms.div_euclid(1000) + offset_secs;
    let (y, m, d) = civil_from_days(local_secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The operator's time of day, `HH:MM`, at `unix_ms`.
pub fn time_of(unix_ms: i64) -> String {
    let secs = (unix_ms.div_euclid(1000) + utc_offset_secs()).rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// The operator's month, `YYYY-MM`, at `unix_ms`.
pub fn month_of(unix_ms: i64) -> String {
    let mut day = day_of(unix_ms);
    day.truncate(7);
    day
}

/// Parses exactly `n` ASCII digits (no sign, no spaces: `str::parse` takes
/// "+1").
fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// A calendar month, written `YYYY-MM` everywhere (documents, tables, API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i64,
    /// 1 to 12.
    pub month: i64,
}

impl Month {
    /// Exactly `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = (s.get(0..4)?, s.get(5..7)?);
        if s.len() != 7 || s.as_bytes()[4] != b'-' {
            return None;
        }
        let (year, month) = (digits(y)?, digits(m)?);
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The month of a date that starts `YYYY-MM` (`YYYY-MM-DD`, or a month).
    pub fn of_date(s: &str) -> Option<Month> {
        match s.as_bytes().get(7) {
            None | Some(b'-') => Month::parse(s.get(0..7)?),
            Some(_) => None,
        }
    }

    /// Months since year 0, for arithmetic.
    pub fn index(self) -> i64 {
        self.year * 12 + self.month - 1
    }

    pub fn from_index(i: i64) -> Month {
        Month {
            year: i.div_euclid(12),
            month: i.rem_euclid(12) + 1,
        }
    }

    /// The month `n` months later (earlier if negative).
    pub fn plus(self, n: i64) -> Month {
        Month::from_index(self.index() + n)
    }

    pub fn quarter(self) -> Quarter {
        Quarter {
            year: self.year,
            quarter: (self.month - 1) / 3 + 1,
        }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A calendar quarter, written `YYYY-Qn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i64,
    /// 1 to 4.
    pub quarter: i64,
}

impl Quarter {
    /// Exactly `YYYY-Qn`, n from 1 to 4.
    pub fn parse(s: &str) -> Option<Quarter> {
        let (y, q) = (s.get(0..4)?, s.get(6..7)?);
        if s.len() != 7 || s.get(4..6)? != "-Q" {
            return None;
        }
        let (year, quarter) = (digits(y)?, digits(q)?);
        (1..=4)
            .contains(&quarter)
            .then_some(Quarter { year, quarter })
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.quarter)
    }
}

/// A calendar day, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    pub year: i64,
    pub month: i64,
    pub day: i64,
}

impl Day {
    /// Exactly `YYYY-MM-DD`, a day that exists.
    pub fn parse(s: &str) -> Option<Day> {
        let month = Month::parse(s.get(0..7)?)?;
        if s.len() != 10 || s.as_bytes()[7] != b'-' {
            return None;
        }
        let day = digits(s.get(8..10)?)?;
        let d = Day {
            year: month.year,
            month: month.month,
            day,
        };
        // Exists: it survives the round trip through a day count.
        (day >= 1 && civil_from_days(d.days_since_epoch()) == (d.year, d.month, d.day)).then_some(d)
    }

    pub fn month(self) -> Month {
        Month {
            year: self.year,
            month: self.month,
        }
    }

    /// The day `n` days later (earlier when negative).
    pub fn plus(self, n: i64) -> Day {
        let (year, month, day) = civil_from_days(self.days_since_epoch() + n);
        Day { year, month, day }
    }

    /// Days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
    /// days_from_civil).
    pub fn days_since_epoch(self) -> i64 {
        let (y, m) = if self.month <= 2 {
            (self.year - 1, self.month + 12)
        } else {
            (self.year, self.month)
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m - 3) + 2) / 5 + self.day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_day_turns_at_midnight_in_china() {
        // 2026-11-30 15:59:59 UTC is 23:59:59 in China; a second later, December.
        let before = 1_796_054_399_000;
        assert_eq!(day_of(before), "2026-11-30");
        assert_eq!(month_of(before + 1_000), "2026-12");
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(-1), "1970-01-01", "08:00 in China");
        assert_eq!(day_of(-8 * 3600 * 1000 - 1), "1969-12-31");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // Every day of a leap century round-trips through care::day_number.
        for days in (10_957..10_957 + 800).chain(-800..0) {
            let (y, m, d) = civil_from_days(days);
            let text = format!("{y:04}-{m:02}-{d:02}");
            assert_eq!(crate::care::day_number(&text), Some(days), "{text}");
        }
    }

    #[test]
    fn months_quarters_and_days_parse_strictly_and_never_panic() {
        assert_eq!(
            Month::parse("2026-03"),
            Some(Month {
                year: 2026,
                month: 3
            })
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-+1",
            "2026-3",
            "2026/03",
            "2026-03-01",
            "",
            "abc€x",
            "20€6-03",
            "2026-0€",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Month::of_date("2026-03-31")
                .map(|m| m.to_string())
                .as_deref(),
            Some("2026-03")
        );
        assert_eq!(Month::of_date("2026-03"), Month::parse("2026-03"));
        assert_eq!(Month::of_date("2026-031"), None);
        assert_eq!(
            Month::parse("2026-01").unwrap().plus(-1).to_string(),
            "2025-12"
        );
        assert_eq!(
            Month::parse("2026-12").unwrap().plus(1).to_string(),
            "2027-01"
        );
        assert_eq!(
            Month::parse("2026-11").unwrap().quarter().to_string(),
            "2026-Q4"
        );
        assert_eq!(
            Quarter::parse("2026-Q2"),
            Some(Quarter {
                year: 2026,
                quarter: 2
            })
        );
        for bad in [
            "2026-Q5",
            "2026-Q0",
            "2026Q1",
            "2026-q1",
            "abc€x",
            "123é-Q1",
            "2026-Q€",
        ] {
            assert_eq!(Quarter::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Day::parse("2024-02-29").map(|d| d.to_string()).as_deref(),
            Some("2024-02-29")
        );
        for bad in [
            "2026-02-29",
            "2026-04-31",
            "2026-01-00",
            "199年0501",
            "2026-01-1",
            "2026-01-011",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
        assert_eq!(Day::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        // The day count and day_of agree for every day of four years.
        let start = Day::parse("2024-01-01").unwrap().days_since_epoch();
        for n in start..start + 4 * 366 {
            let d = Day::parse(&day_of(n * 86_400_000 - OPERATOR_UTC_OFFSET_SECS * 1000)).unwrap();
            assert_eq!(d.days_since_epoch(), n);
        }
    }

    #[test]
    fn another_offset_turns_the_day_at_its_own_midnight() {
        // 2026-11-30 15:30 UTC: 23:30 in China, 00:30 on 1 December in Japan.
        let ms = 1_796_052_600_000;
        assert_eq!(day_at(ms, 8 * 3600), "2026-11-30");
        assert_eq!(day_at(ms, 9 * 3600), "2026-12-01");
        assert_eq!(day_at(ms, -5 * 3600), "2026-11-30");
        assert_eq!(
            day_at(ms, OPERATOR_UTC_OFFSET_SECS),
            day_of(ms),
            "the default in force"
        );
    }
}
