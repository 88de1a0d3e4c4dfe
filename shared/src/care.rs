//! Care reminders 礼仪公关 (docs/domain.md, Care reminders): key contacts' birthdays and
//! the main festivals in the coming days, so the manager can call or visit.

use autosurgeon::{Doc, Hydrate, Reconcile};

use crate::customer::Customer;
use crate::{SchemaError, flex};

/// A dated event in a contact's family (婚丧嫁娶, 子女升学 …).
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
pub struct FamilyEvent {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub date: String,
    /// What it is: 婚礼, 子女升学, 乔迁 …
    #[autosurgeon(with = "flex::string")]
    pub occasion: String,
    #[autosurgeon(with = "flex::string")]
    pub note: String,
}

/// One act of care for the customer's people (客户关怀 / 礼仪公关).
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
pub struct CareEntry {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub date: String,
    /// The occasion: a birthday, a festival, a family event, a visit …
    #[autosurgeon(with = "flex::string")]
    pub occasion: String,
    /// The contact it was for, if one (id).
    #[autosurgeon(with = "flex::string")]
    pub contact_id: String,
    /// What was done or given.
    #[autosurgeon(with = "flex::string")]
    pub what: String,
    /// What it cost, in fen.
    #[autosurgeon(with = "flex::int")]
    pub cost_fen: i64,
    /// Username of who did it.
    #[autosurgeon(with = "flex::string")]
    pub by: String,
}

/// Yuan as a person types them (`1200`, `1,200.5`, `¥80`) into fen,
/// exactly; `None` for anything else (a negative amount included).
pub fn parse_yuan(s: &str) -> Option<i64> {
    let t: String = s
        .trim()
        .trim_start_matches(['¥', '￥'])
        .trim_end_matches('元')
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if t.is_empty() {
        return Some(0);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 2 || whole.len() > 12 {
        return None;
    }
    let frac_fen: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(whole.parse::<i64>().ok()? * 100 + frac_fen)
}

/// Records care given to a customer: a day, what was done, a cost of zero
/// or more.
pub fn log_care<T: Doc>(tx: &mut T, entry: &CareEntry) -> Result<(), SchemaError> {
    if crate::calendar::Day::parse(&entry.date).is_none() || entry.what.trim().is_empty() {
        return Err(SchemaError::Invalid(
            "关怀记录需要日期和内容 / a care entry needs a date and what was done".into(),
        ));
    }
    if entry.cost_fen < 0 {
        return Err(SchemaError::Invalid(
            "费用不能为负 / the cost cannot be negative".into(),
        ));
    }
    flex::append(tx, &automerge::ROOT, "care_log", entry)
}

/// How far ahead reminders look, by default.
pub const DEFAULT_DAYS: i64 = 14;

/// One reminder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reminder {
    /// YYYY-MM-DD of the occasion.
    pub date: String,
    /// Days from today (0 = today).
    pub in_days: i64,
    pub what: Occasion,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Occasion {
    /// A contact's birthday: (customer name, contact name).
    Birthday { customer: String, contact: String },
    /// A festival, by its Chinese name.
    Festival(&'static str),
    /// A dated event in a contact's family: (customer, contact, what).
    FamilyEvent {
        customer: String,
        contact: String,
        occasion: String,
    },
}

/// Lunar festivals by Gregorian date (Spring Festival 春节, Dragon Boat 端午,
/// Mid-Autumn 中秋). They move every year, so they come from a table; extend it
/// before 2031 (the dates must come from the official calendar).
const LUNAR: &[(&str, &str)] = &[
    ("2025-01-29", "春节"),
    ("2025-05-31", "端午节"),
    ("2025-10-06", "中秋节"),
    ("2026-02-17", "春节"),
    ("2026-06-19", "端午节"),
    ("2026-09-25", "中秋节"),
    ("2027-02-06", "春节"),
    ("2027-06-09", "端午节"),
    ("2027-09-15", "中秋节"),
    ("2028-01-26", "春节"),
    ("2028-05-28", "端午节"),
    ("2028-10-03", "中秋节"),
    ("2029-02-13", "春节"),
    ("2029-06-16", "端午节"),
    ("2029-09-22", "中秋节"),
    ("2030-02-03", "春节"),
    ("2030-06-05", "端午节"),
    ("2030-09-12", "中秋节"),
];

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
pub fn day_number(date: &str) -> Option<i64> {
    Some(crate::calendar::Day::parse(date)?.days_since_epoch())
}

/// Birthdays and festivals within `days` of `today` (inclusive), soonest first.
pub fn upcoming(customers: &[Customer], today: &str, days: i64) -> Vec<Reminder> {
    let Some(now) = day_number(today) else {
        return Vec::new();
    };
    let year: i64 = crate::calendar::Day::parse(today).map_or(0, |d| d.year);
    let mut out = Vec::new();
    let mut push = |date: String, what: Occasion| {
        if let Some(n) = day_number(&date) {
            let in_days = n - now;
            if (0..=days).contains(&in_days) {
                out.push(Reminder {
                    date,
                    in_days,
                    what,
                });
            }
        }
    };
    for y in [year, year + 1] {
        for (md, name) in [("01-01", "元旦"), ("10-01", "国庆节")] {
            push(format!("{y}-{md}"), Occasion::Festival(name));
        }
    }
    for (date, name) in LUNAR {
        push(date.to_string(), Occasion::Festival(name));
    }
    for c in customers {
        // A birthday is typed on a tablet: slice it only where a character
        // ends (`get`), so a stray multi-byte character is no panic.
        for (k, md) in c
            .contacts
            .iter()
            .filter(|k| k.birthday.len() == 10)
            .filter_map(|k| Some((k, k.birthday.get(4..)?)))
        {
            for y in [year, year + 1] {
                // Born on 29 February: the 28th in other years.
                let date = match format!("{y}{md}") {
                    d if md == "-02-29" && day_number(&d).is_none() => format!("{y}-02-28"),
                    d => d,
                };
                push(
                    date,
                    Occasion::Birthday {
                        customer: c.name.clone(),
                        contact: k.name.clone(),
                    },
                );
            }
        }
    }
    // Family events fall once, on their day.
    for c in customers {
        for k in &c.contacts {
            for e in &k.events {
                push(
                    e.date.clone(),
                    Occasion::FamilyEvent {
                        customer: c.name.clone(),
                        contact: k.name.clone(),
                        occasion: e.occasion.clone(),
                    },
                );
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Contact;
    use crate::vocab::Nature;

    #[test]
    fn yuan_as_typed_into_fen() {
        assert_eq!(parse_yuan("1200"), Some(120_000));
        assert_eq!(parse_yuan("¥1,200.5"), Some(120_050));
        assert_eq!(parse_yuan(" 80元 "), Some(8_000));
        assert_eq!(parse_yuan(""), Some(0));
        for bad in ["-5", "1.234", "abc", ".5", "1e3"] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_family_event_is_reminded_once_on_its_day() {
        let mut c = Customer::new("甲", "", Nature::Enterprise, vec![]);
        c.contacts.push(Contact {
            id: "k".into(),
            name: "王总".into(),
            events: vec![FamilyEvent {
                id: "e".into(),
                date: "2026-11-25".into(),
                occasion: "女儿婚礼".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        let family = |today: &str| -> Vec<(String, i64)> {
            upcoming(std::slice::from_ref(&c), today, DEFAULT_DAYS)
                .into_iter()
                .filter(|r| matches!(r.what, Occasion::FamilyEvent { .. }))
                .map(|r| (r.date, r.in_days))
                .collect()
        };
        assert_eq!(family("2026-11-22"), [("2026-11-25".to_string(), 3)]);
        assert!(family("2026-11-26").is_empty(), "past");
        assert!(family("2025-11-22").is_empty(), "not yearly");
    }

    #[test]
    fn care_needs_a_day_and_what_was_done() {
        let mut doc = automerge::AutoCommit::new();
        Customer::new("甲", "", Nature::Enterprise, vec![])
            .create(&mut doc)
            .unwrap();
        let entry = CareEntry {
            id: "g1".into(),
            date: "2026-11-25".into(),
            occasion: "生日".into(),
            what: "送花篮".into(),
            cost_fen: 30_000,
            by: "m1".into(),
            ..Default::default()
        };
        log_care(&mut doc, &entry).unwrap();
        for bad in [
            CareEntry {
                what: " ".into(),
                ..entry.clone()
            },
            CareEntry {
                date: "2026-13-01".into(),
                ..entry.clone()
            },
            CareEntry {
                cost_fen: -1,
                ..entry.clone()
            },
        ] {
            assert!(log_care(&mut doc, &bad).is_err(), "{bad:?}");
        }
        assert_eq!(Customer::load(&doc).unwrap().care_log, [entry]);
    }

    #[test]
    fn day_numbers() {
        assert_eq!(day_number("1970-01-01"), Some(0));
        assert_eq!(
            day_number("2026-11-22").unwrap() - day_number("2026-11-08").unwrap(),
            14
        );
        assert_eq!(
            day_number("2027-01-01").unwrap() - day_number("2026-12-31").unwrap(),
            1
        );
        assert_eq!(day_number("2026-13-01"), None);
    }

    #[test]
    fn birthdays_and_festivals_in_the_window_across_the_new_year() {
        let mut c = Customer::new("甲", "", Nature::Enterprise, vec![]);
        c.contacts.push(Contact {
            id: "k".into(),
            name: "王总".into(),
            birthday: "1975-01-03".into(),
            ..Default::default()
        });
        c.contacts.push(Contact {
            id: "l".into(),
            name: "李总".into(),
            birthday: "1980-02-01".into(),
            ..Default::default()
        });
        let r = upcoming(&[c], "2026-12-25", 14);
        let whats: Vec<_> = r.iter().map(|x| (x.date.as_str(), x.in_days)).collect();
        assert_eq!(whats, [("2027-01-01", 7), ("2027-01-03", 9)]);
        assert!(matches!(&r[1].what, Occasion::Birthday { contact, .. } if contact == "王总"));
        // Exactly 14 days ahead is in, 15 is not.
        let r = upcoming(&[], "2026-09-11", 14);
        assert_eq!(
            r.iter().map(|x| x.what.clone()).collect::<Vec<_>>(),
            [Occasion::Festival("中秋节")]
        );
        assert!(upcoming(&[], "2026-09-10", 14).is_empty());
    }

    /// A birthday is typed on a tablet; ten bytes with a multi-byte character
    /// across byte 4 made the slice panic (on every device and the server
    /// that listed reminders for that customer).
    #[test]
    fn a_birthday_with_a_stray_character_is_skipped_not_a_panic() {
        let mut c = Customer::new("甲", "", Nature::Enterprise, vec![]);
        c.contacts.push(Contact {
            id: "k".into(),
            name: "王总".into(),
            birthday: "123€4567".into(),
            ..Default::default()
        });
        assert_eq!(c.contacts[0].birthday.len(), 10);
        assert!(
            upcoming(&[c], "2026-12-25", 14)
                .iter()
                .all(|r| matches!(r.what, Occasion::Festival(_)))
        );
    }

    #[test]
    fn a_leap_day_birthday_is_remembered_on_the_28th_in_other_years() {
        let mut c = Customer::new("闰日公司", "", Nature::Enterprise, vec![]);
        c.contacts.push(Contact {
            name: "王五".into(),
            birthday: "1996-02-29".into(),
            ..Default::default()
        });
        let r = upcoming(&[c], "2027-02-20", 10);
        assert!(r.iter().any(|r| r.date == "2027-02-28"), "{r:?}");
        let c2 = {
            let mut c = Customer::new("闰日公司", "", Nature::Enterprise, vec![]);
            c.contacts.push(Contact {
                name: "王五".into(),
                birthday: "1996-02-29".into(),
                ..Default::default()
            });
            c
        };
        let r = upcoming(&[c2], "2028-02-20", 10);
        assert!(r.iter().any(|r| r.date == "2028-02-29"), "{r:?}");
    }
}
