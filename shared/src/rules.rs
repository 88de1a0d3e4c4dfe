//! The operator's adjustable rules in one place (docs/domain.md, Adjustable rules):
//! grading thresholds, the managed-as tiers, anomaly alerts and complaint time limits.
//! The center's admin changes them on the server; tablets receive them in their book,
//! so the rules applied offline are the same as the server's.

use serde::{Deserialize, Serialize};

use crate::anomaly::AnomalyRules;
use crate::complaints::ComplaintRules;
use crate::grading::{ManagedRules, Thresholds};

/// Every adjustable rule. Missing parts of a stored or uploaded configuration take
/// their defaults (docs/domain.md, Adjustable rules), so a file may name only what it
/// changes.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    pub grading: Thresholds,
    pub managed: ManagedRules,
    pub anomaly: AnomalyRules,
    pub complaints: ComplaintRules,
    /// How the office's spreadsheets name things (server-side: imports).
    pub imports: ImportRules,
    /// The operator's time zone.
    pub calendar: CalendarRules,
    /// How customer numbers 客户编号 are made (server-side).
    pub numbers: crate::numbering::NumberRules,
    /// Satisfaction surveys 客户满意度调查: how often, which questions.
    pub surveys: crate::surveys::SurveyRules,
    /// Which service agreements need approval.
    pub agreements: crate::agreements::AgreementRules,
}

/// The operator's time zone: which day and month it is (`shared::calendar`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarRules {
    /// Minutes east of UTC (China: 480).
    pub utc_offset_minutes: i64,
}

impl Default for CalendarRules {
    fn default() -> Self {
        CalendarRules {
            utc_offset_minutes: crate::calendar::DEFAULT_UTC_OFFSET_MINUTES,
        }
    }
}

/// How the office's own spreadsheets write what an import reads.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportRules {
    /// Other names of the business lines (`快递包裹` → `delivery`), matched
    /// whole and ignoring ASCII case, besides each line's code and Chinese name.
    pub line_aliases: std::collections::BTreeMap<String, crate::vocab::Line>,
}

impl Default for ImportRules {
    fn default() -> Self {
        use crate::vocab::Line;
        let mut line_aliases = std::collections::BTreeMap::new();
        for (names, line) in [
            (
                &[
                    "快递",
                    "包裹",
                    "快递包裹",
                    "EMS",
                    "特快",
                    "特快专递",
                    "标快",
                    "国内快递",
                    "国际快递",
                    "物流",
                ][..],
                Line::Delivery,
            ),
            (
                &["代发", "代发工资", "储蓄", "理财", "邮政储蓄", "代理金融"][..],
                Line::Finance,
            ),
            (
                &["报刊", "报刊发行", "集邮", "邮政便民", "分销"][..],
                Line::Postal,
            ),
            (
                &["信函", "商函", "账单", "广告函件", "数据函件"][..],
                Line::Letter,
            ),
        ] {
            for n in names {
                line_aliases.insert((*n).to_string(), line.clone());
            }
        }
        ImportRules { line_aliases }
    }
}

/// One problem with a proposed configuration, named so an admin can fix it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleProblem {
    /// The setting, as `section.field`.
    pub field: String,
    pub message: String,
}

impl Rules {
    /// Reads a configuration (JSON); unknown fields are refused, not ignored, so
    /// a misspelt setting cannot silently keep its old value.
    pub fn from_json(text: &str) -> Result<Rules, Vec<RuleProblem>> {
        let rules: Rules = serde_json::from_str(text).map_err(|e| {
            vec![RuleProblem {
                field: String::new(),
                message: format!("not a valid rules document: {e}"),
            }]
        })?;
        rules.validate()?;
        Ok(rules)
    }

    /// The configuration as the server stores and sends it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The rules as tablets read them, in books: without the import section,
    /// which only the server uses (and which a tablet of an earlier release,
    /// refusing unknown fields, could not read), and without the calendar
    /// while it is the default, for the same reason (a tablet of an earlier
    /// release counts China time, the default).
    pub fn to_tablet_json(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.remove("imports");
            // Numbers are the server's to give (and a tablet of an earlier
            // release refuses a section it does not know).
            m.remove("numbers");
            if self.calendar == CalendarRules::default() {
                m.remove("calendar");
            }
            // A tablet of an earlier release refuses a section it does not
            // know: the defaults are left out, which it reads the same.
            if self.surveys == crate::surveys::SurveyRules::default() {
                m.remove("surveys");
            }
            if self.agreements == crate::agreements::AgreementRules::default() {
                m.remove("agreements");
            }
        }
        v.to_string()
    }

    /// Puts the rules' time zone in force for `shared::calendar`.
    pub fn apply_calendar(&self) {
        crate::calendar::set_utc_offset_minutes(self.calendar.utc_offset_minutes);
    }

    /// The rules carried by a book, or the defaults if the book has none (an
    /// older server) or they cannot be read.
    pub fn from_book(text: &str) -> Rules {
        if text.is_empty() {
            return Rules::default();
        }
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Checks that the thresholds are ordered and the numbers make sense.
    pub fn validate(&self) -> Result<(), Vec<RuleProblem>> {
        let mut problems = Vec::new();
        if self
            .imports
            .line_aliases
            .keys()
            .any(|k| k.trim().is_empty())
        {
            problems.push(RuleProblem {
                field: "imports.line_aliases".into(),
                message: "an alias cannot be empty".into(),
            });
        }
        let mut check = |ok: bool, field: &str, message: &str| {
            if !ok {
                problems.push(RuleProblem {
                    field: field.into(),
                    message: message.into(),
                });
            }
        };
        let g = &self.grading;
        check(
            g.district_annual_fen > g.company_annual_fen
                && g.company_annual_fen > g.suboffice_annual_fen
                && g.suboffice_annual_fen > 0,
            "grading.suboffice_annual_fen",
            "annual thresholds must rise: sub-office < specialised company < district, all above 0",
        );
        check(
            g.district_monthly_disbursed_fen > g.company_monthly_disbursed_fen
                && g.company_monthly_disbursed_fen > g.suboffice_monthly_disbursed_fen
                && g.suboffice_monthly_disbursed_fen > 0,
            "grading.suboffice_monthly_disbursed_fen",
            "disbursement thresholds must rise: sub-office < specialised company < district, all above 0",
        );
        check(
            g.diamond_fen > g.platinum_fen
                && g.platinum_fen > g.gold_fen
                && g.gold_fen > g.ordinary_fen
                && g.ordinary_fen > 0,
            "grading.ordinary_fen",
            "grade thresholds must rise: ordinary < gold < platinum < diamond, all above 0",
        );
        check(
            (-720..=840).contains(&self.calendar.utc_offset_minutes),
            "calendar.utc_offset_minutes",
            "the operator's offset from UTC is -720 to 840 minutes (UTC-12 to UTC+14)",
        );
        check(
            (800..=1000).contains(&g.city_factor_permille),
            "grading.city_factor_permille",
            "the city-group factor is 800–1000 permille (0.8–1.0)",
        );
        let m = &self.managed;
        check(
            m.top_platinum >= 1 && m.top_gold_to > m.top_platinum,
            "managed.top_gold_to",
            "the platinum ranks (top N) must be at least 1 and the gold ranks must end after them",
        );
        check(
            m.big_customer_fen > 0,
            "managed.big_customer_fen",
            "must be above 0",
        );
        check(
            m.cross_city_diamond_fen > m.cross_city_platinum_fen && m.cross_city_platinum_fen > 0,
            "managed.cross_city_platinum_fen",
            "cross-city thresholds must rise: platinum < diamond, both above 0",
        );
        let a = &self.anomaly;
        check(
            (1..=100).contains(&a.fall_percent),
            "anomaly.fall_percent",
            "a fall is 1–100 percent",
        );
        check(
            a.rise_percent >= 1,
            "anomaly.rise_percent",
            "a rise is at least 1 percent",
        );
        check(
            (1..=24).contains(&a.lost_after_months),
            "anomaly.lost_after_months",
            "1–24 months",
        );
        let c = &self.complaints;
        for (days, field) in [
            (c.recorded_days, "complaints.recorded_days"),
            (c.assigned_days, "complaints.assigned_days"),
            (c.in_progress_days, "complaints.in_progress_days"),
            (c.replied_days, "complaints.replied_days"),
        ] {
            check(
                (1..=365).contains(&days),
                field,
                "a step's time limit is 1–365 days",
            );
        }
        if let Err(why) = crate::numbering::Pattern::parse(&self.numbers.pattern) {
            problems.push(RuleProblem {
                field: "numbers.pattern".into(),
                message: why,
            });
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_round_trip() {
        let r = Rules::default();
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(Rules::from_json(&r.to_json()), Ok(r.clone()));
        assert_eq!(Rules::from_book(&r.to_json()), r);
        assert_eq!(Rules::from_book(""), r);
    }

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let r = Rules::from_json(r#"{"anomaly": {"fall_percent": 15}}"#).unwrap();
        assert_eq!(r.anomaly.fall_percent, 15);
        assert_eq!(r.anomaly.rise_percent, 30);
        assert_eq!(r.grading, Thresholds::default());
    }

    #[test]
    fn bad_settings_are_named() {
        let e = Rules::from_json(r#"{"grading": {"city_factor_permille": 700}}"#).unwrap_err();
        assert_eq!(e[0].field, "grading.city_factor_permille");
        let e = Rules::from_json(r#"{"grading": {"gold_fen": 1}}"#).unwrap_err();
        assert_eq!(e[0].field, "grading.ordinary_fen");
        let e = Rules::from_json(r#"{"anomaly": {"fall_pct": 15}}"#).unwrap_err();
        assert!(e[0].message.contains("fall_pct"), "{e:?}");
        assert!(Rules::from_json("not json").is_err());
    }

    /// Rules stored before the import section take its defaults; books carry
    /// the rules without it, as tablets of the earlier release can read them.
    #[test]
    fn the_import_section_is_new_and_stays_on_the_server() {
        let r = Rules::default();
        let tablet = r.to_tablet_json();
        assert!(!tablet.contains("imports"), "{tablet}");
        assert!(!tablet.contains("快递包裹"));
        let back = Rules::from_json(&tablet).unwrap();
        assert_eq!(back, r, "read back whole, the import section by default");
        assert_eq!(
            back.imports.line_aliases.get("快递包裹"),
            Some(&crate::vocab::Line::Delivery)
        );
        let mut empty = r.clone();
        empty
            .imports
            .line_aliases
            .insert(" ".into(), crate::vocab::Line::Letter);
        assert!(empty.validate().is_err());
    }

    /// The operator's time zone is a rule: validated, sent to tablets only
    /// when it is not the default (a tablet of the previous release refuses
    /// unknown sections and would fall back to every default), and read back.
    #[test]
    fn the_time_zone_is_a_rule_tablets_get_only_when_changed() {
        let r = Rules::default();
        assert_eq!(r.calendar.utc_offset_minutes, 480);
        assert!(!r.to_tablet_json().contains("calendar"));
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct PreviousRelease {
            grading: Thresholds,
            managed: ManagedRules,
            anomaly: AnomalyRules,
            complaints: ComplaintRules,
        }
        assert!(serde_json::from_str::<PreviousRelease>(&r.to_tablet_json()).is_ok());

        let tokyo = Rules::from_json(r#"{"calendar": {"utc_offset_minutes": 540}}"#).unwrap();
        assert_eq!(Rules::from_book(&tokyo.to_tablet_json()), tokyo);
        let problems =
            Rules::from_json(r#"{"calendar": {"utc_offset_minutes": 900}}"#).unwrap_err();
        assert_eq!(problems[0].field, "calendar.utc_offset_minutes");
    }
}
