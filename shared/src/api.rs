//! The JSON shapes of the REST API, shared by the server and the browser client.

use serde::{Deserialize, Serialize};

use crate::anomaly::Alert;
use crate::grading::ManagedWhy;
use crate::vocab::{Line, Nature, Role};

/// `POST /api/login` body.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `POST /api/login` answer. `peer_id` is the automerge-repo peer id this session
/// must announce on `/sync`; the server binds the connection to it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub peer_id: String,
    pub user: Me,
}

/// `GET /api/me` answer.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: String,
    pub unit_name: String,
    /// `automerge:` URL of the user's book document.
    pub book_url: String,
    /// `automerge:` URL of the shared bad-credit warning list.
    #[serde(default)]
    pub warnings_url: String,
}

/// One row of `GET /api/customers`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerSummary {
    /// The document id (bs58check), as in the URL.
    pub id: String,
    /// Its number 客户编号 (server-given), empty until approved or imported.
    #[serde(default)]
    pub customer_no: String,
    /// `automerge:` URL of the customer document.
    pub url: String,
    pub name: String,
    pub credit_code: String,
    pub nature: Nature,
    pub lines: Vec<Line>,
    /// Username of the primary manager.
    pub owner: String,
    /// Username of the assistant manager, if any.
    pub assistant: Option<String>,
    /// Code of the unit that holds the customer.
    pub unit: String,
    /// Date of the latest visit (YYYY-MM-DD), if any.
    pub last_visit: Option<String>,
    pub visit_count: i64,
    /// When the registration reached the server (RFC 3339).
    pub registered_at: String,
    /// The earlier registration of the same customer (its `automerge:` URL), if this
    /// registration came second (报备 duplicate).
    pub same_as: Option<String>,
    /// Lines this registration's unit owns.
    pub owned_lines: Vec<Line>,
    /// Lines another unit registered first.
    pub duplicate_lines: Vec<DuplicateLine>,
    /// Revenue over the last 12 complete months, in fen.
    pub annual_revenue_fen: i64,
    /// The level the rules propose: "district" | "company" | "suboffice" | "none".
    pub level_proposed: String,
    /// The grade the rules propose: "diamond" | "platinum" | "gold" | "ordinary" | "none".
    pub grade_proposed: String,
    /// The level a head or the center fixed, once approved.
    pub level_approved: Option<String>,
    /// The grade a head or the center fixed, once approved.
    pub grade_approved: Option<String>,
    /// "pending" | "approved" | "rejected" (by the level above the registering unit).
    pub registration_status: String,
    /// Cross-city mail revenue over the last 12 complete months, in fen.
    #[serde(default)]
    pub cross_city_fen: i64,
    /// The tier the customer is managed as (the top-ranks and cross-city rules
    /// can raise it above `grade_proposed`): same words as the grades.
    #[serde(default)]
    pub managed_as: String,
    /// Why it is managed at that tier.
    #[serde(default = "threshold")]
    pub managed_why: ManagedWhy,
}

fn threshold() -> ManagedWhy {
    ManagedWhy::Threshold
}

/// One row of `GET /api/alerts`: a revenue alert on a customer the caller sees.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AlertRow {
    pub id: String,
    pub url: String,
    pub name: String,
    /// Code of the unit that holds the customer.
    pub unit: String,
    /// Username of its primary manager.
    pub owner: String,
    pub alert: Alert,
}

/// A business line that an earlier registration already owns.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DuplicateLine {
    pub line: Line,
    /// Code of the unit that owns it.
    pub owner_unit: String,
}

/// An error answer: what went wrong, in words a person can act on.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    /// The device was wiped remotely: it deletes its copy (a 401 to a
    /// token whose device an administrator wiped).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wipe: bool,
}

/// A unit of the org tree.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
}

/// A follow-up 督办 as `GET /api/followups` lists it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FollowUpRow {
    pub doc_id: String,
    pub customer: String,
    /// The customer's unit (code) and its name.
    pub unit: String,
    pub unit_name: String,
    pub id: String,
    /// The visit it was raised on.
    pub visit_date: String,
    pub action: String,
    /// Username, and the name shown.
    pub owner: String,
    pub owner_name: String,
    pub due: String,
    /// open, in_progress, forwarded or done (`vocab::FollowUpState`).
    pub state: crate::vocab::FollowUpState,
    /// Open past its due day (the shared rule, the operator's today).
    pub overdue: bool,
    pub forwarded_to: String,
    pub result: String,
    pub told_customer: bool,
    pub told_on: String,
    pub closed_by: String,
    pub closed_at: String,
}

/// A user as the admin screens show them.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserRow {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: String,
    pub disabled: bool,
    /// Signed-in devices (live sessions).
    pub sessions: i64,
    /// The operator's staff number (工号), empty where the org has none.
    #[serde(default)]
    pub staff_no: String,
}

/// A signed-in device.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionRow {
    pub peer_id: String,
    pub created_at: String,
    pub expires_at: String,
    /// When an administrator wiped the device ("" if not), and when the
    /// device said it had deleted its copy ("" until it has).
    #[serde(default)]
    pub wiped_at: String,
    #[serde(default)]
    pub wipe_confirmed_at: String,
}

/// `GET /api/approvals`: what waits for the caller's decision 待审批 (a head:
/// their subtree; the center: everything), each item with what the data says.
/// Each list holds at most [`INBOX_MAX`] items, oldest first; `totals` counts
/// them all.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Inbox {
    pub registrations: Vec<InboxRegistration>,
    pub grades: Vec<InboxGrade>,
    pub agreements: Vec<InboxAgreement>,
    /// Bad-credit reports (the center only).
    pub warnings: Vec<InboxWarning>,
    /// Hand-over requests 交接申请 of customers in the caller's subtree.
    #[serde(default)]
    pub handovers: Vec<InboxHandover>,
    pub totals: InboxTotals,
}

/// A manager's request to hand a customer over.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InboxHandover {
    pub id: i64,
    pub doc_id: String,
    pub name: String,
    pub unit_name: String,
    /// Display names: who asks, and who would take over.
    pub from: String,
    pub to: String,
    pub reason: String,
    pub requested_at: String,
}

/// The most items of one kind `GET /api/approvals` lists.
pub const INBOX_MAX: usize = 100;

/// How many items of each kind wait.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InboxTotals {
    pub registrations: usize,
    pub grades: usize,
    pub agreements: usize,
    pub warnings: usize,
    #[serde(default)]
    pub handovers: usize,
}

impl InboxTotals {
    pub fn all(&self) -> usize {
        self.registrations + self.grades + self.agreements + self.warnings + self.handovers
    }
}

/// A registration 报备 waiting for approval.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InboxRegistration {
    pub doc_id: String,
    pub name: String,
    pub credit_code: String,
    pub lines: Vec<Line>,
    pub unit_name: String,
    /// Display name of the registering manager.
    pub registered_by: String,
    pub registered_at: String,
    /// The earlier registration of the same customer, if any: its name and unit.
    pub same_as: String,
    /// Lines another unit registered first, as the unit's name and the line.
    pub duplicate: Vec<(Line, String)>,
}

/// A customer whose level and grade, as the ledger proposes them, are not
/// the approved ones 定级.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InboxGrade {
    pub doc_id: String,
    pub name: String,
    pub unit_name: String,
    /// The last 12 complete months' revenue, in fen.
    pub annual_revenue_fen: i64,
    pub proposed_level: crate::grading::Level,
    pub proposed_grade: crate::grading::Grade,
    /// The approved ones, if any.
    pub approved: Option<(crate::grading::Level, crate::grading::Grade)>,
    /// Above the caller's authority (platinum and diamond are the center's).
    pub center_only: bool,
}

/// A service agreement waiting for approval.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InboxAgreement {
    pub doc_id: String,
    pub name: String,
    pub unit_name: String,
    pub agreement_id: String,
    pub number: String,
    pub end_date: String,
}

/// A bad-credit report waiting for the center.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InboxWarning {
    pub id: i64,
    pub name: String,
    pub credit_code: String,
    pub kind: String,
    pub note: String,
    /// Display name of the reporter.
    pub reported_by: String,
    pub reported_at: String,
}

/// One manager's month as `GET /api/worklogs` gives it to a head: whether
/// it was handed in, the work log's free notes, and the review so far. The
/// visits, calls, follow-ups and care of the month are in the customer
/// documents the head's tablet holds (`itinerary::work_log`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ManagerMonth {
    pub username: String,
    pub display_name: String,
    pub unit_name: String,
    /// When it was handed in (on the tablet) and the word to the head.
    pub handed_in: Option<(String, String)>,
    /// (day, time, text), in order.
    pub notes: Vec<(String, String, String)>,
    /// The review 月末核实: (by, comment, when), if done.
    pub review: Option<(String, String, String)>,
}

/// One event 联谊活动 / 座谈会 as `GET /api/events` lists it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EventRow {
    pub id: String,
    /// `gathering` | `forum`.
    pub kind: String,
    pub title: String,
    pub date: String,
    pub place: String,
    /// Display name of who held it.
    pub held_by: String,
    /// Invited customers the caller sees, and of those who came.
    pub invited: usize,
    pub attended: usize,
}
