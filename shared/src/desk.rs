//! A user's desk 工作台: the one document of their own, created by their
//! tablet and private to them. It holds what belongs to no customer: the
//! work log's free notes 工作日志 and its month-end submissions 月末提交, and
//! the decisions a head or the center took on the tablet (approvals, grades,
//! bad-credit rulings), which the server carries out, or refuses, when the
//! desk reaches it, writing the outcome back here. A decision is only ever a
//! *request*: what the tablet shows as decided is what the server wrote.
//!
//! Two devices offline may each create a desk; the server lists every desk of
//! the user in their book, and [`Desk::merged`] reads them as one.

use automerge::{ObjType, ROOT};
use autosurgeon::{Doc, Hydrate, ReadDoc, Reconcile, hydrate};

use crate::grading::{Grade, Level};
use crate::onepass::OnePass;
use crate::{SCHEMA_VERSION, SchemaError, flex};

/// The `type` of a desk document.
pub const DESK_TYPE: &str = "desk";

/// The longest free note kept (characters).
pub const NOTE_MAX_CHARS: usize = 2000;

/// The lists a desk holds, made when it is created so that two devices
/// appending at once append to the same list.
const LISTS: [&str; 4] = ["notes", "submissions", "requests", "outcomes"];

/// A user's desk.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Desk {
    #[autosurgeon(rename = "type", with = "flex::string")]
    pub doc_type: String,
    #[autosurgeon(with = "flex::int")]
    pub schema: i64,
    /// The username it belongs to (as its creator wrote it; the server goes
    /// by who created the document, not by this).
    #[autosurgeon(with = "flex::string")]
    pub user: String,
    #[autosurgeon(missing = "Vec::new")]
    pub notes: Vec<DayNote>,
    #[autosurgeon(missing = "Vec::new")]
    pub submissions: Vec<Submission>,
    #[autosurgeon(missing = "Vec::new")]
    pub requests: Vec<Request>,
    /// Written by the server only.
    #[autosurgeon(missing = "Vec::new")]
    pub outcomes: Vec<Outcome>,
}

/// A free note in the day's work log.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct DayNote {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub day: String,
    /// HH:MM, local.
    #[autosurgeon(with = "flex::string")]
    pub time: String,
    #[autosurgeon(with = "flex::string")]
    pub text: String,
}

/// A month's work log handed in 月末提交.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Submission {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// YYYY-MM.
    #[autosurgeon(with = "flex::string")]
    pub month: String,
    /// When, on the tablet (YYYY-MM-DD HH:MM, local).
    #[autosurgeon(with = "flex::string")]
    pub at: String,
    /// A word to the head, if any.
    #[autosurgeon(with = "flex::string")]
    pub note: String,
}

/// A decision taken on the tablet, for the server to carry out.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Request {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// When, on the tablet (YYYY-MM-DD HH:MM, local).
    #[autosurgeon(with = "flex::string")]
    pub at: String,
    /// What: one of [`Decision`]'s words.
    #[autosurgeon(with = "flex::string")]
    pub kind: String,
    /// The customer's document id, or the bad-credit report's id.
    #[autosurgeon(with = "flex::string")]
    pub target: String,
    /// The agreement's id; the level and grade as `level:grade`.
    #[autosurgeon(with = "flex::string")]
    pub value: String,
    /// Why (a registration sent back).
    #[autosurgeon(with = "flex::string")]
    pub reason: String,
    /// The customer's name, in a bad-credit report; an event's title.
    #[autosurgeon(with = "flex::string")]
    pub name: String,
    /// An event's day (YYYY-MM-DD).
    #[autosurgeon(with = "flex::string")]
    pub date: String,
    /// An event's invitees (customer document ids).
    #[autosurgeon(with = "flex::strings")]
    pub docs: Vec<String>,
    /// What it is about, as the tablet showed it (the customer's name):
    /// for the list of one's decisions only, never read by the server.
    #[autosurgeon(with = "flex::string")]
    pub about: String,
}

/// What the server did with a request or a submission (same id).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Outcome {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// Carried out (or recorded); false: refused.
    #[autosurgeon(with = "flex::boolean")]
    pub ok: bool,
    /// What happened, "中文 / English".
    #[autosurgeon(with = "flex::string")]
    pub message: String,
    /// When the server decided (RFC 3339).
    #[autosurgeon(with = "flex::string")]
    pub at: String,
}

/// A decision a head or the center can take on the tablet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 批准 a registration 报备.
    ApproveRegistration { doc: String },
    /// 退回 a registration, with the reason the manager will read.
    ReturnRegistration { doc: String, reason: String },
    /// 定级: fix the customer's level and grade.
    Grade {
        doc: String,
        level: Level,
        grade: Grade,
    },
    /// 批准 a service agreement.
    ApproveAgreement { doc: String, agreement: String },
    /// The center confirms a bad-credit report (it reaches every device).
    ConfirmWarning { report: i64 },
    /// The center rejects one.
    RejectWarning { report: i64 },
    /// 裁定: a line two units registered belongs to this registration.
    RuleLine {
        doc: String,
        line: crate::vocab::Line,
    },
    /// 月末核实: a head marks a manager's month reviewed, with a comment the
    /// manager reads.
    ReviewMonth {
        manager: String,
        month: String,
        comment: String,
    },
    /// 抽查: a head spot-checks a visit, with what they found.
    SpotCheck {
        doc: String,
        visit: String,
        comment: String,
    },
    /// 联谊活动 / 座谈会: a head or the center holds an event and invites
    /// customers of their subtree.
    CreateEvent {
        id: String,
        kind: String,
        title: String,
        date: String,
        place: String,
        invitees: Vec<String>,
    },
    /// A customer's manager asks for it to be handed to another manager
    /// (username), with why; a head decides.
    RequestHandover {
        doc: String,
        to: String,
        reason: String,
    },
    /// A head decides a hand-over request (its id in the inbox).
    DecideHandover { request: i64, approve: bool },
    /// Anyone reports a customer for bad credit 不良资信 (the center decides).
    ReportWarning {
        name: String,
        credit_code: String,
        kind: crate::credit::WarningKind,
        note: String,
    },
}

impl Decision {
    /// The request that carries this decision.
    pub fn request(&self, id: &str, at: &str) -> Request {
        let (kind, target, value, reason) = match self {
            Decision::ApproveRegistration { doc } => ("approve_registration", doc.clone(), "", ""),
            Decision::ReturnRegistration { doc, reason } => {
                ("return_registration", doc.clone(), "", reason.as_str())
            }
            Decision::Grade { doc, level, grade } => {
                return Request {
                    id: id.into(),
                    at: at.into(),
                    kind: "grade".into(),
                    target: doc.clone(),
                    value: format!("{}:{}", level.as_str(), grade.as_str()),
                    reason: String::new(),
                    name: String::new(),
                    about: String::new(),
                    date: String::new(),
                    docs: Vec::new(),
                };
            }
            Decision::ApproveAgreement { doc, agreement } => {
                ("approve_agreement", doc.clone(), agreement.as_str(), "")
            }
            Decision::CreateEvent {
                id: event,
                kind,
                title,
                date,
                place,
                invitees,
            } => {
                return Request {
                    id: id.into(),
                    at: at.into(),
                    kind: "create_event".into(),
                    target: event.clone(),
                    value: kind.clone(),
                    reason: place.clone(),
                    name: title.clone(),
                    about: title.clone(),
                    date: date.clone(),
                    docs: invitees.clone(),
                };
            }
            Decision::ReportWarning {
                name,
                credit_code,
                kind,
                note,
            } => {
                return Request {
                    id: id.into(),
                    at: at.into(),
                    kind: "report_warning".into(),
                    target: credit_code.clone(),
                    value: kind.as_str().into(),
                    reason: note.clone(),
                    name: name.clone(),
                    about: name.clone(),
                    date: String::new(),
                    docs: Vec::new(),
                };
            }
            Decision::ReviewMonth {
                manager,
                month,
                comment,
            } => (
                "review_month",
                manager.clone(),
                month.as_str(),
                comment.as_str(),
            ),
            Decision::SpotCheck {
                doc,
                visit,
                comment,
            } => ("spot_check", doc.clone(), visit.as_str(), comment.as_str()),
            Decision::RuleLine { doc, line } => ("rule_line", doc.clone(), line.as_str(), ""),
            Decision::RequestHandover { doc, to, reason } => (
                "request_handover",
                doc.clone(),
                to.as_str(),
                reason.as_str(),
            ),
            Decision::DecideHandover { request, approve } => (
                "decide_handover",
                request.to_string(),
                if *approve { "approve" } else { "reject" },
                "",
            ),
            Decision::ConfirmWarning { report } => ("confirm_warning", report.to_string(), "", ""),
            Decision::RejectWarning { report } => ("reject_warning", report.to_string(), "", ""),
        };
        Request {
            id: id.into(),
            at: at.into(),
            kind: kind.into(),
            target,
            value: value.into(),
            reason: reason.into(),
            name: String::new(),
            about: String::new(),
            date: String::new(),
            docs: Vec::new(),
        }
    }

    /// The customer document it is about, if one.
    pub fn doc(&self) -> Option<&str> {
        match self {
            Decision::ApproveRegistration { doc }
            | Decision::ReturnRegistration { doc, .. }
            | Decision::Grade { doc, .. }
            | Decision::ApproveAgreement { doc, .. }
            | Decision::SpotCheck { doc, .. }
            | Decision::RuleLine { doc, .. }
            | Decision::RequestHandover { doc, .. } => Some(doc),
            Decision::ReviewMonth { .. }
            | Decision::DecideHandover { .. }
            | Decision::CreateEvent { .. }
            | Decision::ConfirmWarning { .. }
            | Decision::RejectWarning { .. }
            | Decision::ReportWarning { .. } => None,
        }
    }
}

impl Request {
    /// The decision this request carries, or what is wrong with it
    /// ("中文 / English").
    pub fn decision(&self) -> Result<Decision, String> {
        let doc = || {
            if self.target.is_empty() || self.target.len() > 64 {
                Err("请求缺少客户 / the request names no customer".to_string())
            } else {
                Ok(self.target.clone())
            }
        };
        let report = || {
            self.target
                .parse::<i64>()
                .map_err(|_| "请求缺少不良资信报告编号 / the request names no report".to_string())
        };
        Ok(match self.kind.as_str() {
            "approve_registration" => Decision::ApproveRegistration { doc: doc()? },
            "return_registration" => {
                let reason = self.reason.trim();
                if reason.is_empty() {
                    return Err(
                        "退回报备须写明原因 / a registration is sent back with a reason".into(),
                    );
                }
                Decision::ReturnRegistration {
                    doc: doc()?,
                    reason: reason.chars().take(NOTE_MAX_CHARS).collect(),
                }
            }
            "grade" => {
                let parsed = self.value.split_once(':').and_then(|(l, g)| {
                    let level = Level::ALL.into_iter().find(|x| x.as_str() == l)?;
                    let grade = Grade::ALL.into_iter().find(|x| x.as_str() == g)?;
                    Some((level, grade))
                });
                let Some((level, grade)) = parsed else {
                    return Err(format!(
                        "看不懂的级别 {} / not a level and grade: {}",
                        self.value, self.value
                    ));
                };
                Decision::Grade {
                    doc: doc()?,
                    level,
                    grade,
                }
            }
            "approve_agreement" if !self.value.is_empty() => Decision::ApproveAgreement {
                doc: doc()?,
                agreement: self.value.clone(),
            },
            "review_month" => {
                if self.target.is_empty() || self.target.len() > 64 || !is_month(&self.value) {
                    return Err(
                        "核实须指明客户经理和月份 / a review names a manager and a month".into(),
                    );
                }
                Decision::ReviewMonth {
                    manager: self.target.clone(),
                    month: self.value.clone(),
                    comment: self.reason.trim().chars().take(NOTE_MAX_CHARS).collect(),
                }
            }
            "request_handover" => {
                let to = self.value.trim();
                if to.is_empty() || to.len() > 64 {
                    return Err("请写明接手的客户经理 / name the manager to hand over to".into());
                }
                Decision::RequestHandover {
                    doc: doc()?,
                    to: to.to_string(),
                    reason: self.reason.trim().chars().take(NOTE_MAX_CHARS).collect(),
                }
            }
            "decide_handover" => Decision::DecideHandover {
                request: self.target.parse::<i64>().map_err(|_| {
                    "请求缺少交接申请编号 / the request names no hand-over request".to_string()
                })?,
                approve: match self.value.as_str() {
                    "approve" => true,
                    "reject" => false,
                    other => {
                        return Err(format!("看不懂的决定 {other} / not a decision: {other}"));
                    }
                },
            },
            "rule_line" => match crate::vocab::Line::parse(&self.value) {
                crate::vocab::Line::Unknown(other) => {
                    return Err(format!("没有业务 {other} / no line {other}"));
                }
                line => Decision::RuleLine { doc: doc()?, line },
            },
            "spot_check" if !self.value.is_empty() && self.value.len() <= 64 => {
                Decision::SpotCheck {
                    doc: doc()?,
                    visit: self.value.clone(),
                    comment: self.reason.trim().chars().take(NOTE_MAX_CHARS).collect(),
                }
            }
            "create_event" => {
                let title = self.name.trim();
                if title.is_empty()
                    || crate::calendar::Day::parse(&self.date).is_none()
                    || self.docs.is_empty()
                {
                    return Err(
                        "活动须有名称、日期和受邀客户 / an event needs a title, a day and invitees"
                            .into(),
                    );
                }
                if !crate::events::KINDS.contains(&self.value.as_str()) {
                    return Err(format!(
                        "没有这种活动 {} / no such kind of event: {}",
                        self.value, self.value
                    ));
                }
                if self.target.is_empty() || self.target.len() > 64 || self.docs.len() > 500 {
                    return Err(
                        "活动的编号或受邀客户不对 / the event's id or invitees are wrong".into(),
                    );
                }
                Decision::CreateEvent {
                    id: self.target.clone(),
                    kind: self.value.clone(),
                    title: title.chars().take(200).collect(),
                    date: self.date.clone(),
                    place: self.reason.trim().chars().take(200).collect(),
                    invitees: self.docs.clone(),
                }
            }
            "report_warning" => {
                let name = self.name.trim();
                let code = self.target.trim();
                if name.is_empty() && code.is_empty() {
                    return Err("报告须写明客户名称或统一社会信用代码 / a report needs the customer's name or credit code".into());
                }
                let Some(kind) = crate::credit::WarningKind::parse(&self.value) else {
                    return Err(format!(
                        "没有这种不良资信 {} / no such kind of bad credit: {}",
                        self.value, self.value
                    ));
                };
                Decision::ReportWarning {
                    name: name.chars().take(200).collect(),
                    credit_code: code.chars().take(40).collect(),
                    kind,
                    note: self.reason.chars().take(NOTE_MAX_CHARS).collect(),
                }
            }
            "confirm_warning" => Decision::ConfirmWarning { report: report()? },
            "reject_warning" => Decision::RejectWarning { report: report()? },
            other => {
                return Err(format!(
                    "不认识的请求 {other} / an unknown request: {other}"
                ));
            }
        })
    }
}

impl Desk {
    /// An empty desk for `user`.
    pub fn new(user: &str) -> Desk {
        Desk {
            doc_type: DESK_TYPE.into(),
            schema: SCHEMA_VERSION as i64,
            user: user.into(),
            ..Desk::default()
        }
    }

    /// Writes this desk as the whole content of a fresh document.
    pub fn create<T: Doc>(&self, tx: &mut T) -> Result<(), SchemaError> {
        autosurgeon::reconcile(tx, self)?;
        for key in LISTS {
            if tx.get(&ROOT, key)?.is_none() {
                tx.put_object(ROOT, key, ObjType::List)?;
            }
        }
        Ok(())
    }

    /// Reads a desk document.
    pub fn load<D: ReadDoc>(doc: &D) -> Result<Desk, SchemaError> {
        let found = flex::read_string(doc, &ROOT, "type".into())?;
        if found != DESK_TYPE {
            return Err(SchemaError::WrongType {
                expected: DESK_TYPE,
                found,
            });
        }
        let version = flex::read_int(doc, &ROOT, "schema".into())?;
        if version > SCHEMA_VERSION as i64 {
            return Err(SchemaError::TooNew(version as u64));
        }
        Ok(hydrate(&OnePass::new(doc))?)
    }

    /// Several desks of one user read as one: every entry once (by id),
    /// notes in the order of the day.
    pub fn merged(desks: impl IntoIterator<Item = Desk>) -> Desk {
        fn add<T: Clone>(into: &mut Vec<T>, from: Vec<T>, id: impl Fn(&T) -> &str) {
            for x in from {
                if !into.iter().any(|y| id(y) == id(&x)) {
                    into.push(x);
                }
            }
        }
        let mut out = Desk::default();
        for d in desks {
            if out.user.is_empty() {
                out.doc_type = d.doc_type.clone();
                out.schema = d.schema;
                out.user = d.user.clone();
            }
            add(&mut out.notes, d.notes, |n| &n.id);
            add(&mut out.submissions, d.submissions, |s| &s.id);
            add(&mut out.requests, d.requests, |r| &r.id);
            add(&mut out.outcomes, d.outcomes, |o| &o.id);
        }
        out.notes
            .sort_by(|a, b| (&a.day, &a.time, &a.id).cmp(&(&b.day, &b.time, &b.id)));
        out.submissions
            .sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
        out.requests
            .sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
        out
    }

    /// The free notes of a day.
    pub fn notes_of<'a>(&'a self, day: &'a str) -> impl Iterator<Item = &'a DayNote> + 'a {
        self.notes.iter().filter(move |n| n.day == day)
    }

    /// What the server did with request or submission `id`, once it has.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.id == id)
    }

    /// Requests and submissions the server has not answered yet.
    pub fn unanswered(&self) -> Vec<&Request> {
        self.requests
            .iter()
            .filter(|r| self.outcome(&r.id).is_none())
            .collect()
    }

    /// The latest submission of `month`, if any.
    pub fn submission(&self, month: &str) -> Option<&Submission> {
        self.submissions.iter().rfind(|s| s.month == month)
    }
}

/// Adds a free note to the work log of its day.
pub fn add_note<T: Doc>(tx: &mut T, note: &DayNote) -> Result<(), SchemaError> {
    if crate::calendar::Day::parse(&note.day).is_none() || note.text.trim().is_empty() {
        return Err(SchemaError::Invalid(
            "工作日志的备注需要日期和内容 / a note needs a day and some text".into(),
        ));
    }
    if note.text.chars().count() > NOTE_MAX_CHARS {
        return Err(SchemaError::Invalid(format!(
            "备注最多 {NOTE_MAX_CHARS} 字 / a note is at most {NOTE_MAX_CHARS} characters"
        )));
    }
    flex::append(tx, &ROOT, "notes", note)
}

/// Hands in a month's work log. Only a month that has begun can be handed in.
pub fn submit<T: Doc>(tx: &mut T, s: &Submission, this_month: &str) -> Result<(), SchemaError> {
    if !is_month(&s.month) || s.month.as_str() > this_month {
        return Err(SchemaError::Invalid(format!(
            "不能提交 {} 的工作日志 / the work log of {} cannot be handed in",
            s.month, s.month
        )));
    }
    flex::append(tx, &ROOT, "submissions", s)
}

/// Records a decision for the server.
pub fn request<T: Doc>(tx: &mut T, r: &Request) -> Result<(), SchemaError> {
    r.decision().map_err(SchemaError::Invalid)?;
    flex::append(tx, &ROOT, "requests", r)
}

/// The server's answer to request or submission `o.id` (once: a second
/// answer to the same id is ignored).
pub fn answer<T: Doc>(tx: &mut T, o: &Outcome) -> Result<bool, SchemaError> {
    let desk: Desk = hydrate(tx)?;
    if desk.outcome(&o.id).is_some() {
        return Ok(false);
    }
    flex::append(tx, &ROOT, "outcomes", o)?;
    Ok(true)
}

/// Whether `s` is a month, YYYY-MM.
pub fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_digit)
        && matches!(s[5..].parse::<u8>(), Ok(1..=12))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::AutoCommit;

    fn desk_doc(user: &str) -> AutoCommit {
        let mut doc = AutoCommit::new();
        Desk::new(user).create(&mut doc).unwrap();
        doc
    }

    #[test]
    fn notes_submissions_and_requests_are_kept_and_answered_once() {
        let mut doc = desk_doc("m1");
        add_note(
            &mut doc,
            &DayNote {
                id: "n1".into(),
                day: "2026-12-04".into(),
                time: "17:30".into(),
                text: "整理本周走访材料".into(),
            },
        )
        .unwrap();
        let bad = DayNote {
            id: "n2".into(),
            day: "昨天".into(),
            time: String::new(),
            text: "x".into(),
        };
        assert!(add_note(&mut doc, &bad).is_err());
        let s = Submission {
            id: "s1".into(),
            month: "2026-11".into(),
            at: "2026-12-01 09:00".into(),
            note: String::new(),
        };
        submit(&mut doc, &s, "2026-12").unwrap();
        let future = Submission {
            month: "2027-01".into(),
            ..s.clone()
        };
        assert!(submit(&mut doc, &future, "2026-12").is_err());
        let r = Decision::ReturnRegistration {
            doc: "d1".into(),
            reason: "名称与营业执照不符".into(),
        }
        .request("r1", "2026-12-04 10:00");
        request(&mut doc, &r).unwrap();
        let desk = Desk::load(&doc).unwrap();
        assert_eq!(desk.notes_of("2026-12-04").count(), 1);
        assert_eq!(desk.submission("2026-11").unwrap().id, "s1");
        assert_eq!(desk.unanswered().len(), 1);
        assert_eq!(desk.requests[0].decision().unwrap(), r.decision().unwrap());

        let o = Outcome {
            id: "r1".into(),
            ok: true,
            message: "已退回 / sent back".into(),
            at: "2026-12-04T02:00:01Z".into(),
        };
        assert!(answer(&mut doc, &o).unwrap());
        assert!(!answer(&mut doc, &o).unwrap(), "answered once");
        let desk = Desk::load(&doc).unwrap();
        assert!(desk.unanswered().is_empty());
        assert_eq!(desk.outcomes.len(), 1);
    }

    #[test]
    fn a_request_says_what_is_wrong_with_it() {
        let base = Request {
            id: "r".into(),
            at: String::new(),
            kind: "return_registration".into(),
            target: "d1".into(),
            value: String::new(),
            reason: "  ".into(),
            name: String::new(),
            about: String::new(),
            date: String::new(),
            docs: Vec::new(),
        };
        assert!(base.decision().unwrap_err().contains("原因"));
        let grade = Request {
            kind: "grade".into(),
            value: "district:platinum".into(),
            ..base.clone()
        };
        assert_eq!(
            grade.decision().unwrap(),
            Decision::Grade {
                doc: "d1".into(),
                level: Level::District,
                grade: Grade::Platinum
            }
        );
        let nonsense = Request {
            value: "district:mithril".into(),
            ..grade
        };
        assert!(nonsense.decision().unwrap_err().contains("mithril"));
        let unknown = Request {
            kind: "delete_everything".into(),
            ..base.clone()
        };
        assert!(unknown.decision().is_err());
        let report = Request {
            kind: "confirm_warning".into(),
            target: "x".into(),
            ..base
        };
        assert!(report.decision().is_err());
        for d in [
            Decision::ApproveRegistration { doc: "d".into() },
            Decision::ApproveAgreement {
                doc: "d".into(),
                agreement: "a1".into(),
            },
            Decision::ConfirmWarning { report: 7 },
            Decision::RejectWarning { report: 7 },
            Decision::ReviewMonth {
                manager: "zhang.wei".into(),
                month: "2026-11".into(),
                comment: "走访记录完整".into(),
            },
            Decision::SpotCheck {
                doc: "d".into(),
                visit: "v1".into(),
                comment: "已电话核实".into(),
            },
            Decision::RuleLine {
                doc: "d".into(),
                line: crate::vocab::Line::Finance,
            },
            Decision::RequestHandover {
                doc: "d".into(),
                to: "li.na".into(),
                reason: "调岗".into(),
            },
            Decision::DecideHandover {
                request: 3,
                approve: false,
            },
            Decision::CreateEvent {
                id: "e1".into(),
                kind: "forum".into(),
                title: "座谈会".into(),
                date: "2026-11-20".into(),
                place: "会议室".into(),
                invitees: vec!["d1".into(), "d2".into()],
            },
            Decision::ReportWarning {
                name: "快达电商有限公司".into(),
                credit_code: String::new(),
                kind: crate::credit::WarningKind::DeliberateArrears,
                note: "连续三个月拒付".into(),
            },
        ] {
            assert_eq!(d.request("i", "").decision().unwrap(), d);
        }
    }

    #[test]
    fn two_desks_of_one_user_read_as_one() {
        let mut a = desk_doc("m1");
        let mut b = desk_doc("m1");
        for (doc, id, time) in [(&mut a, "n1", "18:00"), (&mut b, "n2", "09:00")] {
            add_note(
                doc,
                &DayNote {
                    id: id.into(),
                    day: "2026-12-04".into(),
                    time: time.into(),
                    text: "记".into(),
                },
            )
            .unwrap();
        }
        let both = Desk::merged([
            Desk::load(&a).unwrap(),
            Desk::load(&b).unwrap(),
            Desk::load(&a).unwrap(),
        ]);
        let ids: Vec<&str> = both.notes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["n2", "n1"], "once each, by time");
        assert_eq!(both.user, "m1");
    }

    #[test]
    fn two_devices_appending_to_one_desk_keep_both() {
        let mut a = desk_doc("m1");
        let mut b = a.fork();
        for (doc, id) in [(&mut a, "n1"), (&mut b, "n2")] {
            add_note(
                doc,
                &DayNote {
                    id: id.into(),
                    day: "2026-12-04".into(),
                    time: "10:00".into(),
                    text: "记".into(),
                },
            )
            .unwrap();
        }
        a.merge(&mut b).unwrap();
        assert_eq!(Desk::load(&a).unwrap().notes.len(), 2);
    }

    #[test]
    fn months() {
        assert!(is_month("2026-12"));
        assert!(!is_month("2026-13"));
        assert!(!is_month("2026-1"));
        assert!(!is_month("202612x"));
    }
}
