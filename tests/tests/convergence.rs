//! Convergence property: five replicas of a customer document (samod repos in one
//! process, meshed over samod's in-process channel transport) make random edits of
//! every kind the app makes while links are cut, the network is split into random
//! partitions and healed again. Once everyone is reconnected, every replica has the
//! same heads, the same hydrated `Customer`, the same conflicts and the same domain
//! projections (cadence, compliance, grading, anomalies, care reminders, complaints,
//! agreements, history), and no edit any replica made is lost.
//!
//! Each case is driven by `StdRng::seed_from_u64(case)`: a failure names its case;
//! `FIELDBOOK_CONVERGENCE_SEED=N` replays just that case (same edits and
//! partitions; thread timing may differ), `FIELDBOOK_CONVERGENCE_CASES=M` runs
//! cases 0..M (default 1,000).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};
use fieldbook_shared::SchemaError;
use fieldbook_shared::agreements::{self, Agreement, Plan};
use fieldbook_shared::complaints::{self, Complaint, ComplaintRules};
use fieldbook_shared::customer::{
    self, CONTACT_FIELDS, Contact, Customer, EDITABLE_FIELDS, FollowUp, LedgerEntry, Visit,
};
use fieldbook_shared::followups::{self, Step};
use fieldbook_shared::grading::{self, Grade, ManagedRules, ManagedWhy, Standing, Thresholds};
use fieldbook_shared::itinerary;
use fieldbook_shared::vocab::FollowUpState;
use fieldbook_shared::vocab::{ContactRole, Line, Nature, VisitKind};
use fieldbook_shared::{anomaly, care, history, visits};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use samod::transport::channel::ChannelDialer;
use samod::{AcceptorHandle, BackoffConfig, DialerHandle, DocHandle, PeerId, Repo};

const REPLICAS: usize = 5;
const DEFAULT_CASES: u64 = 1000;
/// Cases in flight at once, so one case's waits (handshakes, sleeps, polling)
/// overlap another's work.
const PARALLEL: usize = 8;
/// Generous: a healthy case converges in milliseconds.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(15);
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// A fixed "today", so the date-dependent projections are deterministic.
const TODAY: &str = "2026-11-22";
const THIS_MONTH: &str = "2026-11";
const QUARTER: &str = "2026-Q4";
const USERS: [&str; 4] = ["m1", "m2", "head1", "m3"];

/// Five fresh repos, every pair linked (the lower index dials the higher one's
/// acceptor). Fresh per case rather than reused: a case replays alone as it ran
/// in the batch, and earlier cases' documents do not resync on every reconnect.
struct Mesh {
    repos: Vec<Repo>,
    acceptors: Vec<AcceptorHandle>,
    links: BTreeMap<(usize, usize), DialerHandle<Infallible>>,
}

fn pairs() -> impl Iterator<Item = (usize, usize)> {
    (0..REPLICAS).flat_map(|i| (i + 1..REPLICAS).map(move |j| (i, j)))
}

impl Mesh {
    async fn new(runtime: &tokio::runtime::Handle) -> Mesh {
        let mut repos = Vec::new();
        let mut acceptors = Vec::new();
        for i in 0..REPLICAS {
            let repo = Repo::builder(runtime.clone())
                .with_peer_id(PeerId::from(format!("replica-{i}").as_str()))
                .load()
                .await;
            let url = format!("channel://replica-{i}").parse().expect("url");
            acceptors.push(repo.make_acceptor(url).expect("acceptor"));
            repos.push(repo);
        }
        Mesh {
            repos,
            acceptors,
            links: BTreeMap::new(),
        }
    }

    fn is_up(&self, i: usize, j: usize) -> bool {
        self.links.contains_key(&(i.min(j), i.max(j)))
    }

    fn all_up(&self) -> bool {
        self.links.len() == REPLICAS * (REPLICAS - 1) / 2
    }

    /// Cuts or restores one link. Restoring does not wait for the handshake: edits
    /// racing a reconnect are part of what is tested.
    fn set_link(&mut self, i: usize, j: usize, up: bool) -> bool {
        let key = (i.min(j), i.max(j));
        match (up, self.links.contains_key(&key)) {
            (true, false) => {
                let backoff = BackoffConfig {
                    initial_delay: Duration::from_millis(5),
                    max_delay: Duration::from_millis(50),
                    max_retries: None,
                };
                let dialer = ChannelDialer::new(self.acceptors[key.1].clone());
                let handle = self.repos[key.0]
                    .dial(backoff, Arc::new(dialer))
                    .expect("dial");
                self.links.insert(key, handle);
                true
            }
            (false, true) => {
                // Ends the connection; messages still queued towards the dialer are lost.
                self.links.remove(&key).expect("link").close();
                true
            }
            _ => false,
        }
    }

    /// Links exactly the replicas in the same group; returns how many links changed.
    fn partition(&mut self, groups: &[usize]) -> usize {
        pairs()
            .filter(|&(i, j)| self.set_link(i, j, groups[i] == groups[j]))
            .count()
    }

    /// Restores every link and waits for every handshake.
    async fn heal(&mut self) -> Result<(), String> {
        for (i, j) in pairs() {
            self.set_link(i, j, true);
        }
        for ((i, j), link) in &self.links {
            tokio::time::timeout(CONVERGE_TIMEOUT, link.established())
                .await
                .map_err(|_| format!("link {i}-{j} did not reconnect"))?
                .map_err(|e| format!("link {i}-{j} failed: {e:?}"))?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        pairs()
            .map(|(i, j)| {
                let state = match self.links.get(&(i, j)) {
                    None => "cut",
                    Some(l) if l.is_connected() => "up",
                    Some(_) => "connecting",
                };
                format!("{i}-{j}:{state}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    async fn stop(mut self) {
        // Dialers first, so no replica redials one that is already stopped.
        for (_, link) in std::mem::take(&mut self.links) {
            link.close();
        }
        // A repo holds its acceptor handles and each handle holds the repo: closing
        // them breaks the cycle, else every case leaks its repos.
        for a in &self.acceptors {
            a.close();
        }
        futures::future::join_all(self.repos.iter().map(|r| r.stop())).await;
    }
}

/// Everything the replicas wrote, to check that nothing was lost.
#[derive(Default)]
struct Written {
    visits: BTreeMap<String, Visit>,
    contacts: BTreeMap<String, Contact>,
    /// (contact id, field) -> every value written to it.
    contact_fields: BTreeMap<(String, &'static str), BTreeSet<String>>,
    /// Top-level field -> every value written to it.
    fields: BTreeMap<&'static str, BTreeSet<String>>,
    /// Appended entries (never on the finance line, which only `merge_ledger` writes).
    ledger: Vec<LedgerEntry>,
    /// Finance month -> every amount merged into it.
    merged: BTreeMap<String, BTreeSet<i64>>,
    complaints: BTreeMap<String, Complaint>,
    /// Complaint id -> steps taken by `advance`.
    advances: BTreeMap<String, usize>,
    agreements: BTreeMap<String, Agreement>,
    approved: BTreeSet<String>,
    plans: Vec<Plan>,
    /// Follow-up id -> the steps taken on it (that applied where taken).
    steps: BTreeMap<String, Vec<Step>>,
    care: BTreeMap<String, care::CareEntry>,
    /// Planned visits, and every visit id each was marked made as.
    planned: BTreeMap<String, itinerary::PlannedVisit>,
    plans_made: BTreeMap<String, BTreeSet<String>>,
    /// Event id -> (contact id, the event).
    events: BTreeMap<String, (String, care::FamilyEvent)>,
}

#[derive(Default, Debug)]
struct Stats {
    cases: u64,
    edits: u64,
    edits_while_split: u64,
    link_changes: u64,
    cases_with_conflicts: u64,
    /// Cases where two replicas closed one follow-up with different results.
    cases_with_result_conflicts: u64,
    cases_with_alerts: u64,
    cases_with_reminders: u64,
    levels: BTreeSet<&'static str>,
}

impl Stats {
    fn add(&mut self, o: Stats) {
        self.cases += o.cases;
        self.edits += o.edits;
        self.edits_while_split += o.edits_while_split;
        self.link_changes += o.link_changes;
        self.cases_with_conflicts += o.cases_with_conflicts;
        self.cases_with_result_conflicts += o.cases_with_result_conflicts;
        self.cases_with_alerts += o.cases_with_alerts;
        self.cases_with_reminders += o.cases_with_reminders;
        self.levels.extend(o.levels);
    }
}

fn date(rng: &mut StdRng, year: u32, months: std::ops::RangeInclusive<u32>) -> String {
    let m = rng.random_range(months);
    // Up to the 20th: visits and complaints are all before today.
    let d = rng.random_range(1..=20);
    format!("{year}-{m:02}-{d:02}")
}

/// Birthdays around today, so some fall in the reminder window.
fn birthday(rng: &mut StdRng) -> String {
    let y = rng.random_range(1960..2000);
    let (m, d) = *[
        (11, 20),
        (11, 25),
        (11, 30),
        (12, 3),
        (12, 6),
        (12, 20),
        (1, 5),
    ]
    .choose(rng)
    .expect("choice");
    format!("{y}-{m:02}-{d:02}")
}

/// The 16 months the ledger uses: last year's August to this month.
fn ledger_month(rng: &mut StdRng) -> String {
    let i = rng.random_range(0..16);
    let (y, m) = if i < 5 { (2025, 8 + i) } else { (2026, i - 4) };
    format!("{y}-{m:02}")
}

fn some_users(rng: &mut StdRng) -> Vec<String> {
    let n = rng.random_range(1..=2);
    USERS
        .choose_multiple(rng, n)
        .map(|s| s.to_string())
        .collect()
}

fn new_contact(rng: &mut StdRng, id: String) -> Contact {
    Contact {
        name: format!("联系人{id}"),
        role: ContactRole::ALL.choose(rng).expect("role").clone(),
        position: ["总经理", "行政主管", "财务"]
            .choose(rng)
            .expect("pos")
            .to_string(),
        phone: format!("139{:08}", rng.random_range(0..100_000_000)),
        birthday: if rng.random_bool(0.7) {
            birthday(rng)
        } else {
            String::new()
        },
        personal_notes: "喜欢乒乓球".into(),
        hobbies: "乒乓球".into(),
        id,
        ..Default::default()
    }
}

fn initial_customer(rng: &mut StdRng) -> Customer {
    let mut c = Customer::new(
        "麦德龙商业集团有限公司",
        "91310000607216596X",
        Nature::ALL.choose(rng).expect("nature").clone(),
        vec![Line::Delivery, Line::Finance],
    );
    c.address = "上海市普陀区真华路1号".into();
    for k in 0..2 {
        c.contacts.push(new_contact(rng, format!("k-init-{k}")));
    }
    c
}

/// Runs one transaction; `Ok(false)` when the edit was refused (e.g. the contact is
/// not on this replica yet), an error when an edit that always applies failed.
fn edit(
    h: &DocHandle,
    must: bool,
    what: &str,
    f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), SchemaError>,
) -> Result<bool, String> {
    match h.with_document(|d| d.transact(f)) {
        Ok(_) => Ok(true),
        Err(e) if must => Err(format!("{what} failed: {:?}", e.error)),
        Err(_) => Ok(false),
    }
}

/// Makes one random edit on replica `r`; returns a line for the case's log, or
/// `None` when the edit did not apply.
fn random_edit(
    rng: &mut StdRng,
    r: usize,
    n: usize,
    h: &DocHandle,
    w: &mut Written,
) -> Result<Option<String>, String> {
    let tag = format!("{r}-{n}");
    Ok(match rng.random_range(0..100) {
        20..25 => {
            // A step on a follow-up raised anywhere: two replicas may close
            // the same one at once, with different results.
            let ids: Vec<String> = w
                .visits
                .values()
                .flat_map(|v| v.follow_ups.iter().map(|f| f.id.clone()))
                .collect();
            let Some(id) = ids.choose(rng).cloned() else {
                return Ok(None);
            };
            let step = match rng.random_range(0..3) {
                0 => Step::Start,
                1 => Step::Forward {
                    to: ["寄递事业部", "金融业务部", "m2"]
                        .choose(rng)
                        .expect("to")
                        .to_string(),
                },
                _ => Step::Close {
                    result: ["已处理", "客户撤回", format!("办结{tag}").as_str()]
                        .choose(rng)
                        .expect("result")
                        .to_string(),
                    told_customer: rng.random_bool(0.5),
                },
            };
            let by = *USERS.choose(rng).expect("user");
            if !edit(h, false, "follow-up step", |tx| {
                followups::take(tx, &id, &step, by, TODAY, "2026-11-22T10:00:00+08:00").map(|_| ())
            })? {
                return Ok(None);
            }
            let line = format!("r{r} follow-up {id} {step:?}");
            w.steps.entry(id).or_default().push(step);
            Some(line)
        }
        0..20 => {
            let follow_ups = (0..rng.random_range(0..=2))
                .map(|k| FollowUp {
                    id: format!("f{tag}-{k}"),
                    action: "寄送报价".into(),
                    owner: USERS.choose(rng).expect("user").to_string(),
                    due: date(rng, 2026, 11..=12),
                    closed: rng.random_bool(0.3),
                    result: String::new(),
                    ..Default::default()
                })
                .collect();
            let contacts_met = w.contacts.keys().take(1).cloned().collect();
            let v = Visit {
                id: format!("v{tag}"),
                date: date(rng, 2026, 8..=11),
                time: "10:30".into(),
                kind: VisitKind::ALL.choose(rng).expect("kind").clone(),
                visitors: some_users(rng),
                contacts_met,
                purpose: "走访".into(),
                summary: format!("第{tag}次走访"),
                follow_ups,
                next_visit: date(rng, 2026, 12..=12),
                ..Default::default()
            };
            edit(h, true, "add_visit", |tx| customer::add_visit(tx, &v))?;
            let line = format!("r{r} add_visit {} {}", v.id, v.date);
            w.visits.insert(v.id.clone(), v);
            Some(line)
        }
        25..28 => {
            // Customer care logged.
            let g = care::CareEntry {
                id: format!("g{tag}"),
                date: date(rng, 2026, 10..=11),
                occasion: ["生日", "春节", "婚礼"]
                    .choose(rng)
                    .expect("occasion")
                    .to_string(),
                what: format!("送花篮{tag}"),
                cost_fen: rng.random_range(0..100_000),
                by: USERS.choose(rng).expect("user").to_string(),
                ..Default::default()
            };
            edit(h, true, "log_care", |tx| care::log_care(tx, &g))?;
            let line = format!("r{r} care {}", g.id);
            w.care.insert(g.id.clone(), g);
            Some(line)
        }
        30..32 => {
            // A visit planned, or a plan made (the visit it became named).
            let plans: Vec<String> = w.plans_made.keys().cloned().collect();
            if let Some(id) = plans.choose(rng).cloned().filter(|_| rng.random_bool(0.5)) {
                let visit = format!("v-made-{tag}");
                if !edit(h, false, "made", |tx| itinerary::made(tx, &id, &visit))? {
                    return Ok(None);
                }
                let line = format!("r{r} plan {id} made as {visit}");
                w.plans_made.entry(id).or_default().insert(visit);
                Some(line)
            } else {
                let p = itinerary::PlannedVisit {
                    id: format!("p{tag}"),
                    date: date(rng, 2026, 11..=12),
                    purpose: format!("计划{tag}"),
                    by: USERS.choose(rng).expect("user").to_string(),
                    visit_id: String::new(),
                };
                edit(h, true, "plan", |tx| itinerary::plan(tx, &p))?;
                let line = format!("r{r} plan {}", p.id);
                w.plans_made.insert(p.id.clone(), BTreeSet::new());
                w.planned.insert(p.id.clone(), p);
                Some(line)
            }
        }
        28..30 => {
            // A family event on a contact this replica has.
            let ids: Vec<String> = w.contacts.keys().cloned().collect();
            let id = ids.choose(rng).expect("contacts").clone();
            let e = care::FamilyEvent {
                id: format!("e{tag}"),
                date: date(rng, 2026, 11..=12),
                occasion: "子女升学".into(),
                note: String::new(),
            };
            if !edit(h, false, "add_contact_event", |tx| {
                customer::add_contact_event(tx, &id, &e)
            })? {
                return Ok(None);
            }
            let line = format!("r{r} family event {} on {id}", e.id);
            w.events.insert(e.id.clone(), (id, e));
            Some(line)
        }
        32..35 => {
            let k = new_contact(rng, format!("k{tag}"));
            edit(h, true, "add_contact", |tx| customer::add_contact(tx, &k))?;
            let line = format!("r{r} add_contact {}", k.id);
            w.contacts.insert(k.id.clone(), k);
            Some(line)
        }
        35..50 => {
            let ids: Vec<String> = w.contacts.keys().cloned().collect();
            let id = ids.choose(rng).expect("contacts").clone();
            let field = *CONTACT_FIELDS.choose(rng).expect("field");
            let value = match field {
                "role" => ContactRole::ALL.choose(rng).expect("role").to_string(),
                "birthday" => birthday(rng),
                _ => format!("{field}-{tag}"),
            };
            if !edit(h, false, "set_contact_field", |tx| {
                customer::set_contact_field(tx, &id, field, &value)
            })? {
                return Ok(None);
            }
            let line = format!("r{r} contact {id}.{field}={value}");
            w.contact_fields
                .entry((id, field))
                .or_default()
                .insert(value);
            Some(line)
        }
        50..65 => {
            let field = *EDITABLE_FIELDS.choose(rng).expect("field");
            let value = match field {
                "nature" => Nature::ALL.choose(rng).expect("nature").to_string(),
                _ => format!("{field}-{tag}"),
            };
            edit(h, true, "set_field", |tx| {
                customer::set_field(tx, field, &value)
            })?;
            let line = format!("r{r} set {field}={value}");
            w.fields.entry(field).or_default().insert(value);
            Some(line)
        }
        65..75 => {
            let entries: Vec<LedgerEntry> = (0..rng.random_range(1..=3))
                .map(|_| {
                    let amount = rng.random_range(0..4_000_000);
                    LedgerEntry {
                        month: ledger_month(rng),
                        line: [Line::Delivery, Line::Postal, Line::Letter]
                            .choose(rng)
                            .expect("line")
                            .clone(),
                        amount_fen: amount,
                        disbursed_fen: 0,
                        cross_city_fen: rng.random_range(0..=amount),
                        estimate: false,
                    }
                })
                .collect();
            edit(h, true, "add_ledger", |tx| {
                customer::add_ledger(tx, &entries)
            })?;
            w.ledger.extend(entries.iter().cloned());
            Some(format!("r{r} add_ledger x{}", entries.len()))
        }
        75..80 => {
            // An import: the same month replaces amounts in place.
            let month = ledger_month(rng);
            let e = LedgerEntry {
                month: month.clone(),
                line: Line::Finance,
                amount_fen: rng.random_range(0..2_000_000),
                disbursed_fen: rng.random_range(0..30_000_000),
                cross_city_fen: 0,
                estimate: false,
            };
            edit(h, true, "merge_ledger", |tx| {
                customer::merge_ledger(tx, std::slice::from_ref(&e))
            })?;
            w.merged.entry(month).or_default().insert(e.amount_fen);
            Some(format!("r{r} merge_ledger {} {}", e.month, e.amount_fen))
        }
        80..86 => {
            let grade = *Grade::ALL.choose(rng).expect("grade");
            let c = Complaint::new(
                &format!("c{tag}"),
                "phone",
                &format!("包裹延误{tag}"),
                USERS.choose(rng).expect("user"),
                &date(rng, 2026, 11..=11),
                grade,
            );
            edit(h, true, "record", |tx| complaints::record(tx, &c))?;
            let line = format!("r{r} complaint {}", c.id);
            w.complaints.insert(c.id.clone(), c);
            Some(line)
        }
        86..92 => {
            let ids: Vec<String> = w.complaints.keys().cloned().collect();
            let Some(id) = ids.choose(rng).cloned() else {
                return Ok(None);
            };
            let on = date(rng, 2026, 11..=11);
            let sat = rng.random_range(1..=5);
            if !edit(h, false, "advance", |tx| {
                complaints::advance(tx, &id, "m1", &on, Some("寄递部"), Some(sat)).map(|_| ())
            })? {
                return Ok(None);
            }
            *w.advances.entry(id.clone()).or_default() += 1;
            Some(format!("r{r} advance {id}"))
        }
        92..96 => {
            let a = Agreement::new(
                &format!("a{tag}"),
                &format!("XY-2026-{tag}"),
                vec!["delivery".into()],
                "2026-01-01",
                &date(rng, 2026, 11..=12),
                "九折",
                *Grade::ALL.choose(rng).expect("grade"),
                fieldbook_shared::grading::Grade::Platinum,
            );
            edit(h, true, "add_agreement", |tx| {
                agreements::add_agreement(tx, &a)
            })?;
            let line = format!("r{r} agreement {} {}", a.id, a.status);
            w.agreements.insert(a.id.clone(), a);
            Some(line)
        }
        96..98 => {
            let ids: Vec<String> = w.agreements.keys().cloned().collect();
            let Some(id) = ids.choose(rng).cloned() else {
                return Ok(None);
            };
            if !edit(h, false, "approve", |tx| {
                agreements::approve(tx, &id, "head1", TODAY)
            })? {
                return Ok(None);
            }
            w.approved.insert(id.clone());
            Some(format!("r{r} approve {id}"))
        }
        _ => {
            let p = Plan {
                year: ["2026", "2027"].choose(rng).expect("year").to_string(),
                target_revenue_fen: rng.random_range(1..50_000_000),
                responsible: "m1".into(),
                measures: format!("措施{tag}"),
                ..Default::default()
            };
            edit(h, true, "add_plan", |tx| agreements::add_plan(tx, &p))?;
            let line = format!("r{r} plan {} {}", p.year, p.target_revenue_fen);
            w.plans.push(p);
            Some(line)
        }
    })
}

/// What the app derives from one replica's document. All of it should follow from
/// the `Customer` alone; computing it on every replica also catches any projection
/// that depends on more than the document (iteration order, hidden state).
#[derive(Debug, PartialEq)]
struct Projection {
    customer: Customer,
    conflicts: Vec<(&'static str, Vec<String>)>,
    follow_up_conflicts: Vec<(String, Vec<String>)>,
    cadence: visits::Cadence,
    open_follow_ups: Vec<(String, FollowUp)>,
    compliance: Vec<visits::Compliance>,
    head_compliance: Vec<visits::HeadCompliance>,
    head_visited: bool,
    annual: (i64, i64),
    cross_city: i64,
    level: grading::Level,
    grade: Grade,
    managed: Vec<(Grade, ManagedWhy)>,
    alerts: Vec<anomaly::Alert>,
    reminders: Vec<care::Reminder>,
    overdue_complaints: Vec<String>,
    expiring: Vec<(String, i64)>,
    plan_progress: Vec<(String, (i64, i64))>,
    history: Vec<history::FieldChange>,
}

fn project(h: &DocHandle, initial: &Customer) -> Result<Projection, String> {
    let (c, conflicts, follow_up_conflicts) = h
        .with_document(|d| {
            Customer::load(&*d).map(|c| {
                (
                    c,
                    customer::conflicts(&*d),
                    followups::result_conflicts(&*d),
                )
            })
        })
        .map_err(|e| format!("the document does not load: {e}"))?;
    let t = Thresholds::default();
    let annual = grading::annual(&c.ledger, THIS_MONTH);
    let cross_city = grading::annual_cross_city(&c.ledger, THIS_MONTH);
    let doc = h.document_id().to_string();
    let dates = c.visits.iter().map(|v| v.date.clone()).collect();
    let visits_by = c
        .visits
        .iter()
        .map(|v| (v.date.clone(), v.visitors.clone()))
        .collect();
    Ok(Projection {
        cadence: visits::cadence(c.last_visit(), TODAY),
        open_follow_ups: visits::open_follow_ups(&c)
            .into_iter()
            .map(|(d, f)| (d.to_string(), f.clone()))
            .collect(),
        compliance: visits::compliance(&[(doc.clone(), "m1".into(), dates)], THIS_MONTH),
        head_compliance: visits::head_compliance(&[(doc, "head1".into(), visits_by)], QUARTER),
        head_visited: visits::visited_by_in_quarter(&c, "head1", QUARTER),
        annual,
        cross_city,
        level: grading::level(annual.0, annual.1, &t),
        grade: grading::grade(annual.0, &t),
        managed: grading::managed_as(
            &[Standing {
                annual_fen: annual.0,
                cross_city_fen: cross_city,
            }],
            &t,
            &ManagedRules::default(),
        ),
        alerts: anomaly::alerts(&c.ledger, THIS_MONTH, &anomaly::AnomalyRules::default()),
        reminders: care::upcoming(std::slice::from_ref(&c), TODAY, care::DEFAULT_DAYS),
        overdue_complaints: c
            .complaints
            .iter()
            .filter(|x| x.overdue(TODAY, &ComplaintRules::default()))
            .map(|x| x.id.clone())
            .collect(),
        expiring: c
            .agreements
            .iter()
            .filter_map(|a| a.expires_in(TODAY).map(|d| (a.id.clone(), d)))
            .collect(),
        plan_progress: c
            .plans
            .iter()
            .map(|p| (p.year.clone(), agreements::progress(p, &c.ledger)))
            .collect(),
        history: history::field_changes(initial, &c),
        customer: c,
        conflicts,
        follow_up_conflicts,
    })
}

/// The first lines where two debug dumps differ, for a readable failure.
fn diff(a: &str, b: &str) -> String {
    let lines: Vec<String> = a
        .lines()
        .zip(b.lines())
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .take(8)
        .map(|(n, (x, y))| format!("  line {n}: {} | {}", x.trim(), y.trim()))
        .collect();
    format!(
        "{}\n  ({} vs {} lines)",
        lines.join("\n"),
        a.lines().count(),
        b.lines().count()
    )
}

fn heads(h: &DocHandle) -> Vec<ChangeHash> {
    let mut heads = h.with_document(|d| d.get_heads());
    heads.sort();
    heads
}

fn short_heads(heads: &[ChangeHash]) -> String {
    let short: Vec<String> = heads.iter().map(|h| h.to_string()[..8].into()).collect();
    format!("[{}]", short.join(","))
}

/// Checks that every write survived in the converged customer.
fn nothing_lost(c: &Customer, initial: &Customer, w: &Written) -> Result<(), String> {
    // A visit as written: its follow-ups as raised (steps change the rest).
    let as_raised = |v: &Visit| {
        let mut v = v.clone();
        for f in &mut v.follow_ups {
            *f = FollowUp {
                id: f.id.clone(),
                action: f.action.clone(),
                owner: f.owner.clone(),
                due: f.due.clone(),
                ..Default::default()
            };
        }
        v
    };
    for (id, v) in &w.visits {
        let found: Vec<Visit> = c
            .visits
            .iter()
            .filter(|x| &x.id == id)
            .map(as_raised)
            .collect();
        if found != [as_raised(v)] {
            return Err(format!("visit {id} is {found:?}, written as {v:?}"));
        }
    }
    // Every plan once, made as one of the visits it was marked with.
    if c.planned_visits.len() != w.planned.len() {
        return Err(format!(
            "{} plans, {} written",
            c.planned_visits.len(),
            w.planned.len()
        ));
    }
    for (id, p) in &w.planned {
        let now = c
            .planned_visits
            .iter()
            .find(|x| &x.id == id)
            .ok_or_else(|| format!("plan {id} is gone"))?;
        let made = &w.plans_made[id];
        let ok = if made.is_empty() {
            now.visit_id.is_empty()
        } else {
            made.contains(&now.visit_id)
        };
        if (now.date.as_str(), now.purpose.as_str()) != (p.date.as_str(), p.purpose.as_str()) || !ok
        {
            return Err(format!("plan {id} is {now:?}, made as {made:?}"));
        }
    }
    // Every care entry and family event, once each.
    let logged: BTreeMap<&String, &care::CareEntry> =
        c.care_log.iter().map(|g| (&g.id, g)).collect();
    if logged.len() != c.care_log.len() || logged.len() != w.care.len() {
        return Err(format!(
            "{} care entries, {} written",
            c.care_log.len(),
            w.care.len()
        ));
    }
    for (id, g) in &w.care {
        if logged.get(id) != Some(&g) {
            return Err(format!("care {id} is {:?}", logged.get(id)));
        }
    }
    for (id, (contact, e)) in &w.events {
        let on = c
            .contacts
            .iter()
            .find(|k| &k.id == contact)
            .map(|k| k.events.iter().filter(|x| &x.id == id).collect::<Vec<_>>());
        if on != Some(vec![e]) {
            return Err(format!("family event {id} on {contact} is {on:?}"));
        }
    }
    // Every step shows: a close is never undone and keeps a written result;
    // otherwise the state and where it went are ones a step wrote.
    for (id, steps) in &w.steps {
        let f = c
            .visits
            .iter()
            .flat_map(|v| &v.follow_ups)
            .find(|f| &f.id == id)
            .ok_or_else(|| format!("follow-up {id} is gone"))?;
        let results: Vec<&String> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Close { result, .. } => Some(result),
                _ => None,
            })
            .collect();
        if !results.is_empty() {
            if f.state() != FollowUpState::Done || !results.contains(&&f.result) {
                return Err(format!("follow-up {id} closed with {results:?} is {f:?}"));
            }
        } else if f.state() != FollowUpState::Done {
            let states: Vec<FollowUpState> = steps
                .iter()
                .map(|s| match s {
                    Step::Start => FollowUpState::InProgress,
                    _ => FollowUpState::Forwarded,
                })
                .collect();
            if !states.contains(&f.state()) {
                return Err(format!("follow-up {id} after {steps:?} is {f:?}"));
            }
        }
    }
    if c.visits.len() != initial.visits.len() + w.visits.len() {
        return Err(format!(
            "{} visits, expected {}",
            c.visits.len(),
            w.visits.len()
        ));
    }
    // `w.contacts` holds the initial contacts too.
    for id in w.contacts.keys() {
        if c.contacts.iter().filter(|k| &k.id == id).count() != 1 {
            return Err(format!("contact {id} is not there exactly once"));
        }
    }
    if c.contacts.len() != w.contacts.len() {
        return Err(format!("{} contacts", c.contacts.len()));
    }
    for ((id, field), values) in &w.contact_fields {
        let k = c.contacts.iter().find(|k| &k.id == id).expect("checked");
        let now = match *field {
            "name" => k.name.clone(),
            "role" => k.role.to_string(),
            "position" => k.position.clone(),
            "phone" => k.phone.clone(),
            "hobbies" => k.hobbies.clone(),
            "family" => k.family.clone(),
            _ => k.birthday.clone(),
        };
        // Every write came after the contact was added, so one of them must win.
        if !values.contains(&now) {
            return Err(format!(
                "contact {id}.{field} is {now:?}, written {values:?}"
            ));
        }
    }
    for (field, values) in &w.fields {
        let now = match *field {
            "name" => c.name.clone(),
            "credit_code" => c.credit_code.clone(),
            "address" => c.address.clone(),
            "industry" => c.industry.clone(),
            "credit_record" => c.credit_record.clone(),
            "cooperation_years" => c.cooperation_years.clone(),
            "growth_potential" => c.growth_potential.clone(),
            "preferences" => c.preferences.clone(),
            "business_situation" => c.business_situation.clone(),
            "nature" => c.nature.to_string(),
            other => return Err(format!("the test does not read field {other}")),
        };
        if !values.contains(&now) {
            return Err(format!("{field} is {now:?}, written {values:?}"));
        }
    }
    let key = |e: &LedgerEntry| {
        (
            e.month.clone(),
            e.line.to_string(),
            e.amount_fen,
            e.cross_city_fen,
        )
    };
    let mut appended: Vec<_> = c
        .ledger
        .iter()
        .filter(|e| e.line != Line::Finance)
        .map(key)
        .collect();
    let mut written: Vec<_> = w.ledger.iter().map(key).collect();
    appended.sort();
    written.sort();
    if appended != written {
        return Err(format!(
            "ledger {appended:?}\n  differs from what was appended {written:?}"
        ));
    }
    for (month, amounts) in &w.merged {
        let rows: Vec<&LedgerEntry> = c
            .ledger
            .iter()
            .filter(|e| e.line == Line::Finance && &e.month == month)
            .collect();
        // Concurrent first imports of a month both insert; each row holds a merged amount.
        if rows.is_empty() || rows.iter().any(|e| !amounts.contains(&e.amount_fen)) {
            return Err(format!("finance {month} is {rows:?}, merged {amounts:?}"));
        }
    }
    for (id, x) in &w.complaints {
        let found: Vec<&Complaint> = c.complaints.iter().filter(|y| &y.id == id).collect();
        let [y] = found[..] else {
            return Err(format!("complaint {id} is there {} times", found.len()));
        };
        let steps = 1 + w.advances.get(id).copied().unwrap_or(0);
        if (y.content.as_str(), y.channel.as_str(), y.steps.len())
            != (x.content.as_str(), x.channel.as_str(), steps)
        {
            return Err(format!("complaint {id} is {y:?}; {steps} steps were taken"));
        }
    }
    for (id, a) in &w.agreements {
        let found: Vec<&Agreement> = c.agreements.iter().filter(|y| &y.id == id).collect();
        let [y] = found[..] else {
            return Err(format!("agreement {id} is there {} times", found.len()));
        };
        let status = if w.approved.contains(id) {
            "active"
        } else {
            a.status.as_str()
        };
        if (y.number.as_str(), y.end.as_str(), y.status.as_str())
            != (a.number.as_str(), a.end.as_str(), status)
        {
            return Err(format!("agreement {id} is {y:?}, expected status {status}"));
        }
    }
    for p in &w.plans {
        if !c.plans.contains(p) {
            return Err(format!("plan {p:?} is missing"));
        }
    }
    if c.plans.len() != w.plans.len() {
        return Err(format!("{} plans, {} added", c.plans.len(), w.plans.len()));
    }
    Ok(())
}

/// The runtime a case's repos run on, shut down with the case.
///
/// samod 0.16's `Repo::stop` leaves a repo's four background tasks running (the
/// 100 ms connector tick keeps the IO loop's channel open, which keeps the rest
/// alive), so repos made per case would pile up and slow every later case.
/// Shutting their runtime down ends them.
struct CaseRuntime(Option<tokio::runtime::Runtime>);

impl Drop for CaseRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            // Not a plain drop: that panics inside the test's async context.
            rt.shutdown_background();
        }
    }
}

async fn run_case(seed: u64, log: &mut Vec<String>) -> Result<Stats, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let rt = CaseRuntime(Some(rt));
    let mut mesh = Mesh::new(rt.0.as_ref().expect("runtime").handle()).await;
    let result = drive(&mut rng, &mut mesh, log).await;
    if result.is_err() {
        log.push(format!("links at failure: {}", mesh.describe()));
    }
    mesh.stop().await;
    drop(rt);
    result
}

async fn drive(rng: &mut StdRng, mesh: &mut Mesh, log: &mut Vec<String>) -> Result<Stats, String> {
    mesh.heal().await?;
    let creator = rng.random_range(0..REPLICAS);
    let initial = initial_customer(rng);
    let mut doc = Automerge::new();
    doc.transact(|tx| initial.create(tx))
        .map_err(|e| format!("create: {:?}", e.error))?;
    let created = mesh.repos[creator]
        .create(doc)
        .await
        .map_err(|_| "repo stopped")?;
    let id = created.document_id().clone();
    let mut handles = Vec::new();
    for (i, repo) in mesh.repos.iter().enumerate() {
        handles.push(if i == creator {
            created.clone()
        } else {
            tokio::time::timeout(CONVERGE_TIMEOUT, repo.find(id.clone()))
                .await
                .map_err(|_| format!("replica {i} timed out finding the document"))?
                .map_err(|_| "repo stopped")?
                .ok_or(format!("replica {i} did not find the document"))?
        });
    }
    log.push(format!("r{creator} created {id}"));

    let mut written = Written::default();
    for k in &initial.contacts {
        written.contacts.insert(k.id.clone(), k.clone());
    }
    let mut stats = Stats {
        cases: 1,
        ..Default::default()
    };
    for n in 0..rng.random_range(10..=40) {
        match rng.random_range(0..100) {
            0..55 => {
                let r = rng.random_range(0..REPLICAS);
                if let Some(line) = random_edit(rng, r, n, &handles[r], &mut written)? {
                    stats.edits += 1;
                    stats.edits_while_split += u64::from(!mesh.all_up());
                    log.push(line);
                }
            }
            // The same field written on two replicas with no await in between, so
            // the writes are (nearly always) concurrent: a conflict to resolve alike.
            55..62 => {
                let field = *EDITABLE_FIELDS[..4].choose(rng).expect("field");
                for r in rand::seq::index::sample(rng, REPLICAS, 2).into_iter() {
                    let value = format!("{field}-burst-{r}-{n}");
                    edit(&handles[r], true, "set_field", |tx| {
                        customer::set_field(tx, field, &value)
                    })?;
                    log.push(format!("r{r} set {field}={value} (burst)"));
                    written.fields.entry(field).or_default().insert(value);
                    stats.edits += 1;
                    stats.edits_while_split += u64::from(!mesh.all_up());
                }
            }
            62..74 => {
                let k = rng.random_range(1..=3);
                let groups: Vec<usize> = (0..REPLICAS).map(|_| rng.random_range(0..k)).collect();
                stats.link_changes += mesh.partition(&groups) as u64;
                log.push(format!("partition {groups:?}"));
            }
            74..84 => {
                let (i, j) = *pairs().collect::<Vec<_>>().choose(rng).expect("pair");
                let up = !mesh.is_up(i, j);
                stats.link_changes += u64::from(mesh.set_link(i, j, up));
                log.push(format!("link {i}-{j} {}", if up { "up" } else { "cut" }));
            }
            84..88 => {
                stats.link_changes += mesh.partition(&[0; REPLICAS]) as u64;
                log.push("heal (no wait)".into());
            }
            // Let sync run for a moment, so partitions cut sessions mid-way.
            _ => {
                if rng.random_bool(0.5) {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                log.push("flow".into());
            }
        }
    }

    mesh.heal().await?;
    log.push("healed".into());
    let start = Instant::now();
    loop {
        let all: Vec<Vec<ChangeHash>> = handles.iter().map(heads).collect();
        if all.iter().all(|h| h == &all[0]) {
            break;
        }
        if start.elapsed() > CONVERGE_TIMEOUT {
            let short: Vec<String> = all.iter().map(|h| short_heads(h)).collect();
            return Err(format!(
                "no convergence after {CONVERGE_TIMEOUT:?}; heads of r0..r4: {}",
                short.join(" ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    let first = project(&handles[0], &initial)?;
    for (i, h) in handles.iter().enumerate().skip(1) {
        let p = project(h, &initial)?;
        if p != first {
            return Err(format!(
                "replica {i} differs from replica 0 after converging:\n{}",
                diff(&format!("{p:#?}"), &format!("{first:#?}"))
            ));
        }
    }
    nothing_lost(&first.customer, &initial, &written)?;
    stats.cases_with_conflicts += u64::from(!first.conflicts.is_empty());
    stats.cases_with_result_conflicts += u64::from(!first.follow_up_conflicts.is_empty());
    stats.cases_with_alerts += u64::from(!first.alerts.is_empty());
    stats.cases_with_reminders += u64::from(
        first
            .reminders
            .iter()
            .any(|r| matches!(r.what, care::Occasion::Birthday { .. })),
    );
    stats.levels.insert(first.level.as_str());
    Ok(stats)
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_converge_under_random_edits_and_partitions() {
    let cases: Vec<u64> = match env_u64("FIELDBOOK_CONVERGENCE_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_u64("FIELDBOOK_CONVERGENCE_CASES").unwrap_or(DEFAULT_CASES)).collect(),
    };
    let start = Instant::now();
    let outcomes: Vec<(u64, Result<Stats, String>, Vec<String>)> =
        futures::stream::iter(cases.clone())
            .map(|seed| async move {
                // A task per case, so cases run on both worker threads.
                let task = tokio::spawn(async move {
                    let mut log = Vec::new();
                    let r = tokio::time::timeout(CASE_TIMEOUT, run_case(seed, &mut log))
                        .await
                        .unwrap_or_else(|_| Err(format!("case timed out after {CASE_TIMEOUT:?}")));
                    (r, log)
                });
                match task.await {
                    Ok((r, log)) => (seed, r, log),
                    Err(e) => (seed, Err(format!("panicked: {e}")), Vec::new()),
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
    let elapsed = start.elapsed();

    let mut total = Stats::default();
    let mut failures = Vec::new();
    for (seed, r, log) in outcomes {
        match r {
            Ok(s) => total.add(s),
            Err(e) => failures.push((seed, e, log)),
        }
    }
    failures.sort_by_key(|f| f.0);
    println!(
        "{} cases x {REPLICAS} replicas in {elapsed:.2?}: {} edits ({} during a partition), \
         {} link changes; conflicts in {} cases, two results for one follow-up in {}, alerts in {}, \
         birthday reminders in {}; levels seen {:?}",
        cases.len(),
        total.edits,
        total.edits_while_split,
        total.link_changes,
        total.cases_with_conflicts,
        total.cases_with_result_conflicts,
        total.cases_with_alerts,
        total.cases_with_reminders,
        total.levels,
    );
    if let Some((seed, error, log)) = failures.first() {
        let seeds: Vec<u64> = failures.iter().map(|f| f.0).collect();
        panic!(
            "{} of {} cases failed (seeds {seeds:?}).\nFirst, case {seed}: {error}\n\
             steps:\n  {}\nreplay: FIELDBOOK_CONVERGENCE_SEED={seed} cargo test -p \
             fieldbook-tests --test convergence -- --nocapture",
            failures.len(),
            cases.len(),
            log.join("\n  "),
        );
    }
    // Guard against a vacuous pass: the full run must really have split the
    // network under edits and produced concurrent conflicting writes.
    if cases.len() >= 100 {
        assert!(total.edits_while_split * 4 > total.edits, "{total:?}");
        assert!(total.cases_with_conflicts * 10 > total.cases, "{total:?}");
        assert!(
            total.cases_with_alerts > 0 && total.cases_with_reminders > 0,
            "{total:?}"
        );
        assert!(total.levels.len() >= 2, "{total:?}");
    }
}
