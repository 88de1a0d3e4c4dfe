//! The operator's calendar: the day and month as the operator counts them
//! (China, UTC+8), whatever zone a tablet's clock is set to and whatever zone
//! the server runs in. Grades, cadence and reminders are "as of this month";
//! the tablet and the server must agree on which month that is, so both call
//! these functions (before, the tablet used its local time and the server
//! UTC: for eight hours around the turn of a month they showed different
//! grades).

/// The operator's offset from UTC.
pub const OPERATOR_UTC_OFFSET_SECS: i64 = 8 * 3600;

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
    let local_secs = unix_ms.div_euclid(1000) + OPERATOR_UTC_OFFSET_SECS;
    let (y, m, d) = civil_from_days(local_secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The operator's month, `YYYY-MM`, at `unix_ms`.
pub fn month_of(unix_ms: i64) -> String {
    let mut day = day_of(unix_ms);
    day.truncate(7);
    day
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
}
