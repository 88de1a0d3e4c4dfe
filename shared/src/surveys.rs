//! Satisfaction surveys 客户满意度调查 (docs/domain.md, Satisfaction surveys):
//! every customer is asked periodically (every six months by default, in the
//! rules), a score from 1 to 5 per question and comments, entered by the
//! manager on the tablet, offline too. A survey is due when the customer has
//! none within the period; the scorecard and the reports average the scores.

use autosurgeon::{Doc, Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::calendar::{Day, Month};
use crate::customer::Customer;
use crate::{SchemaError, flex};

/// How often and what customers are asked.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyRules {
    /// A survey is due this many months after the last (1 to 24).
    pub every_months: i64,
    /// The questions, each scored 1 to 5.
    pub questions: Vec<String>,
}

impl Default for SurveyRules {
    fn default() -> Self {
        SurveyRules {
            every_months: 6,
            questions: ["服务态度", "收寄时效", "投递质量", "价格", "问题处理"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// One question's score.
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
pub struct Answer {
    #[autosurgeon(with = "flex::string")]
    pub question: String,
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[autosurgeon(with = "flex::int")]
    pub score: i64,
}

/// A survey of the customer.
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
pub struct Survey {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub date: String,
    /// Username of who asked.
    #[autosurgeon(with = "flex::string")]
    pub by: String,
    /// Who answered (a contact's name).
    #[autosurgeon(with = "flex::string")]
    pub respondent: String,
    #[autosurgeon(missing = "Vec::new")]
    pub answers: Vec<Answer>,
    #[autosurgeon(with = "flex::string")]
    pub comment: String,
}

impl Survey {
    /// The average score ×10 (0 without answers).
    pub fn average_x10(&self) -> i64 {
        let scored: Vec<i64> = self
            .answers
            .iter()
            .map(|a| a.score)
            .filter(|s| (1..=5).contains(s))
            .collect();
        (scored.iter().sum::<i64>() * 10)
            .checked_div(scored.len() as i64)
            .unwrap_or(0)
    }
}

/// Records a survey: a day, and every score from 1 to 5.
pub fn record<T: Doc>(tx: &mut T, s: &Survey) -> Result<(), SchemaError> {
    if Day::parse(&s.date).is_none() || s.answers.is_empty() {
        return Err(SchemaError::Invalid(
            "满意度调查需要日期和评分 / a survey needs a day and scores".into(),
        ));
    }
    if let Some(a) = s.answers.iter().find(|a| !(1..=5).contains(&a.score)) {
        return Err(SchemaError::Invalid(format!(
            "“{0}”的评分应为 1 到 5 / the score of {0} must be 1 to 5",
            a.question
        )));
    }
    flex::append(tx, &automerge::ROOT, "surveys", s)
}

/// Whether the customer is due a survey on `today`: none yet, or the last
/// is `every_months` months old or more (by month).
pub fn due(c: &Customer, today: &str, rules: &SurveyRules) -> bool {
    let Some(now) = Month::of_date(today) else {
        return false;
    };
    let last = c
        .surveys
        .iter()
        .filter_map(|s| Month::of_date(&s.date))
        .max();
    match last {
        None => true,
        Some(m) => now.index() - m.index() >= rules.every_months.clamp(1, 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Nature;
    use automerge::AutoCommit;

    fn survey(date: &str, scores: &[i64]) -> Survey {
        Survey {
            id: format!("s-{date}"),
            date: date.into(),
            by: "m1".into(),
            respondent: "王经理".into(),
            answers: scores
                .iter()
                .enumerate()
                .map(|(i, s)| Answer {
                    question: format!("q{i}"),
                    score: *s,
                })
                .collect(),
            comment: String::new(),
        }
    }

    #[test]
    fn a_survey_is_due_every_six_months_and_averaged() {
        let rules = SurveyRules::default();
        let mut c = Customer::new("调查公司", "", Nature::Enterprise, vec![]);
        assert!(due(&c, "2026-11-20", &rules), "never surveyed");
        c.surveys.push(survey("2026-06-01", &[5, 4, 4, 3, 5]));
        assert!(!due(&c, "2026-11-20", &rules), "five months");
        assert!(due(&c, "2026-12-01", &rules), "six months");
        assert_eq!(c.surveys[0].average_x10(), 42);
    }

    #[test]
    fn a_survey_needs_scores_from_one_to_five() {
        let mut doc = AutoCommit::new();
        Customer::new("调查公司", "", Nature::Enterprise, vec![])
            .create(&mut doc)
            .unwrap();
        assert!(record(&mut doc, &survey("2026-11-20", &[5, 0])).is_err());
        assert!(record(&mut doc, &survey("2026-11-20", &[])).is_err());
        record(&mut doc, &survey("2026-11-20", &[5, 4])).unwrap();
        let c = Customer::load(&doc).unwrap();
        assert_eq!(c.surveys.len(), 1);
    }
}
