//! The demo data set (docs/domain.md, Demo data): a district center, two specialised
//! companies, four sub-offices, their heads and managers, and customers with two
//! years of ledger and recent visits. Deterministic, so every run looks the same.

use crate::store::sql::Location;

use crate::store::sql::params;
use automerge::Automerge;
use fieldbook_shared::complaints::{Complaint, Step};
use fieldbook_shared::customer::{Contact, Customer, FollowUp, LedgerEntry, Visit};
use fieldbook_shared::grading;
use fieldbook_shared::vocab::{ContactRole, Line, Nature, Role, VisitKind};
use samod::Repo;

use crate::auth;
use crate::error::ServerError;
use crate::store::db::Db;
use crate::store::storage::SqlStorage;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "fieldbook";

const UNITS: &[(&str, &str, Option<&str>)] = &[
    ("center", "大客户中心", None),
    ("co-delivery", "寄递专业分公司", Some("center")),
    ("co-finance", "金融专业分公司", Some("center")),
    ("so-east", "东区支局", Some("co-delivery")),
    ("so-west", "西区支局", Some("co-delivery")),
    ("so-south", "南区支局", Some("co-finance")),
    ("so-north", "北区支局", Some("co-finance")),
];

/// (username, display name, role, unit)
pub const USERS: &[(&str, &str, &str, &str)] = &[
    ("admin", "中心管理员", "admin", "center"),
    ("head-delivery", "周首席", "head", "co-delivery"),
    ("head-finance", "吴首席", "head", "co-finance"),
    ("head-east", "郑首席", "head", "so-east"),
    ("head-west", "王首席", "head", "so-west"),
    ("head-south", "冯首席", "head", "so-south"),
    ("head-north", "陈首席", "head", "so-north"),
    ("zhang.wei", "张伟", "manager", "so-east"),
    ("li.na", "李娜", "manager", "so-east"),
    ("wang.fang", "王芳", "manager", "so-east"),
    ("liu.yang", "刘洋", "manager", "so-west"),
    ("chen.jing", "陈静", "manager", "so-west"),
    ("yang.lei", "杨磊", "manager", "so-west"),
    ("zhao.min", "赵敏", "manager", "so-south"),
    ("huang.qiang", "黄强", "manager", "so-south"),
    ("zhou.jie", "周杰", "manager", "so-south"),
    ("wu.xia", "吴霞", "manager", "so-north"),
    ("xu.gang", "徐刚", "manager", "so-north"),
    ("sun.li", "孙丽", "manager", "so-north"),
];

const PREFIXES: &[&str] = &[
    "麦德龙",
    "美之家",
    "华联",
    "申通达",
    "东方",
    "宏远",
    "新世纪",
    "金桥",
    "恒丰",
    "瑞祥",
    "百联",
    "安信",
    "国泰",
    "长江",
    "锦江",
    "光明",
    "中兴",
    "永安",
    "大华",
    "天成",
    "联华",
    "海天",
    "顺达",
    "惠民",
    "明珠",
    "汇丰源",
    "星辰",
    "凯达",
];
const KINDS: &[(&str, &str, Nature)] = &[
    ("商业连锁有限公司", "零售", Nature::Enterprise),
    ("银行股份有限公司支行", "金融", Nature::Enterprise),
    ("人寿保险股份有限公司分公司", "金融", Nature::Enterprise),
    ("电子商务有限公司", "电子商务", Nature::Enterprise),
    ("区税务局", "政府机关", Nature::Government),
    ("区人民法院", "法院公安", Nature::Government),
    ("出版社有限公司", "出版", Nature::Enterprise),
    ("职业技术学院", "院校", Nature::Government),
    ("通信服务有限公司", "电信", Nature::Enterprise),
    ("制造集团有限公司", "制造", Nature::Enterprise),
];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];

/// A tiny deterministic generator, so the demo is the same on every machine.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// How many demo customers there are.
pub const DEMO_CUSTOMERS: usize = 300;

/// Loads the demo data into the database at `location`, unless users already exist.
pub async fn load(location: &Location) -> Result<(), ServerError> {
    let db = Db::open(location)?;
    let existing: i64 =
        db.blocking(|c| Ok(c.query_row("SELECT COUNT(*) FROM users", (), |r| r.get(0))?))?;
    if existing > 0 {
        println!("demo: the database already has users; nothing loaded");
        return Ok(());
    }
    let ids: Vec<(i64, &str)> = db.blocking(|c| {
        for (code, name, parent) in UNITS {
            auth::add_unit(c, code, name, *parent)?;
        }
        USERS
            .iter()
            .map(|(u, name, role, unit)| {
                Ok((
                    auth::add_user(c, u, name, DEMO_PASSWORD, &Role::parse(role), unit)?,
                    *unit,
                ))
            })
            .collect()
    })?;
    let managers: Vec<(i64, &str)> = ids
        .iter()
        .zip(USERS)
        .filter(|(_, u)| u.2 == "manager")
        .map(|(id, _)| *id)
        .collect();

    let (changed, _ignored) = tokio::sync::mpsc::unbounded_channel();
    let storage = SqlStorage::open(location, changed)?;
    let repo = Repo::build_tokio().with_storage(storage).load().await;
    let mut rows = Vec::new();
    let mut customers: Vec<(Customer, usize)> = demo_customers(DEMO_CUSTOMERS)
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c, i))
        .collect();
    // A few registrations of customers another unit registered first (报备 duplicates):
    // the same company, entered by a manager of another sub-office, last.
    for (n, original) in [3usize, 40, 77].into_iter().enumerate() {
        let mut dup = customers[original].0.clone();
        dup.name = format!("{} ", dup.name.replace("有限公司", ""));
        dup.lines.push(Line::Postal);
        dup.visits.clear();
        customers.push((dup, original + 3 + n));
    }
    let manager_names: Vec<&str> = USERS
        .iter()
        .filter(|u| u.2 == "manager")
        .map(|u| u.0)
        .collect();
    for (customer, slot) in &mut customers {
        let slot = *slot;
        // The customer's manager made its visits and took its survey.
        let name = manager_names[slot % manager_names.len()];
        for v in &mut customer.visits {
            v.visitors = vec![name.to_string()];
        }
        for s in &mut customer.surveys {
            s.by = name.to_string();
        }
        // The half-year's forum 座谈会 of 寄递专业分公司: its first customers
        // were invited a month ago; some came.
        if slot < 36 && slot % 12 < 6 && slot % 3 == 0 {
            customer.events.push(fieldbook_shared::events::EventEntry {
                id: DEMO_EVENT.into(),
                kind: "forum".into(),
                title: "寄递大客户座谈会".into(),
                date: demo_event_day(),
                place: "寄递专业分公司三楼会议室".into(),
                attended: slot % 2 == 0,
                attendees: if slot % 2 == 0 {
                    "总经理、物流主管".into()
                } else {
                    String::new()
                },
            });
        }
        let mut doc = Automerge::new();
        doc.transact(|tx| customer.create(tx))
            .map_err(|e| ServerError::Internal(format!("{e:?}")))?;
        let handle = repo.create(doc).await?;
        let (manager, unit) = managers[slot % managers.len()];
        let assistant = (slot % 7 == 0)
            .then(|| managers[(slot + 1) % managers.len()])
            .filter(|a| a.1 == unit)
            .map(|a| a.0);
        rows.push((
            handle.document_id().to_string(),
            manager,
            assistant,
            unit.to_string(),
            customer.clone(),
        ));
    }
    // Two managers' desks 工作台: a week of work-log notes and last month
    // handed in, so the heads have logs to read (the server records them at
    // start, as it would on sync).
    let mut desks = Vec::new();
    for (login, user_id) in ["zhang.wei", "li.na"]
        .into_iter()
        .filter_map(|u| USERS.iter().position(|x| x.0 == u).map(|i| (u, ids[i].0)))
    {
        let doc = demo_desk(login)?;
        let handle = repo.create(doc).await?;
        desks.push((handle.document_id().to_string(), user_id));
    }
    repo.stop().await;
    let invited: Vec<(String, bool)> = rows
        .iter()
        .filter_map(|(doc, _, _, _, c)| {
            c.events
                .iter()
                .find(|e| e.id == DEMO_EVENT)
                .map(|e| (doc.clone(), e.attended))
        })
        .collect();
    let rules = fieldbook_shared::rules::Rules::default();
    let month = crate::this_month();
    db.blocking(|c| {
        let tx = c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
        if !invited.is_empty() {
            tx.execute(
                "INSERT INTO events (id, kind, title, date, place, created_by, created_at)
                 SELECT ?1, 'forum', '寄递大客户座谈会', ?2, '寄递专业分公司三楼会议室', id, ?3
                 FROM users WHERE username = 'head-delivery'",
                params![DEMO_EVENT, demo_event_day(), crate::now()],
            )?;
            for (doc, came) in &invited {
                tx.execute(
                    "INSERT INTO event_invitees (event_id, doc_id, attended) VALUES (?1, ?2, ?3)",
                    params![DEMO_EVENT, doc, came],
                )?;
            }
        }
        // 李娜 asks to hand one of her customers to 王芳 (交接申请).
        if let Some((doc, _, _, _, _)) = rows.iter().find(|r| r.1 == ids[USERS.iter().position(|u| u.0 == "li.na").unwrap_or(0)].0) {
            tx.execute(
                "INSERT INTO handover_requests (doc_id, requested_by, to_user, reason, requested_at)
                 SELECT ?1, a.id, b.id, '客户业务转到东区二部，由王芳跟进', ?2
                 FROM users a, users b WHERE a.username = 'li.na' AND b.username = 'wang.fang'",
                params![doc, crate::now()],
            )?;
        }
        for (doc, user) in &desks {
            tx.execute(
                "INSERT INTO claims (doc_id, user_id, claimed_at) VALUES (?1, ?2, ?3)",
                params![doc, user, crate::now()],
            )?;
            tx.execute(
                "INSERT INTO desks (doc_id, user_id, first_seen) VALUES (?1, ?2, ?3)",
                params![doc, user, crate::now()],
            )?;
        }
        for (i, (doc, manager, assistant, unit, customer)) in rows.iter().enumerate() {
            tx.execute(
                "INSERT INTO customers (doc_id, primary_user, assistant_user, unit, registered_by, registered_at)
                 VALUES (?1, ?2, ?3, ?4, ?2, ?5)",
                params![doc, manager, assistant, unit, crate::now()],
            )?;
            tx.execute("INSERT OR IGNORE INTO dirty_docs (doc_id) VALUES (?1)", [doc])?;
            // In creation order, so the originals are first and the duplicates later.
            // The duplicates come from tablets and wait for the level above
            // (the heads' 待审批); the rest are the book as assigned.
            let from_tablet = i >= DEMO_CUSTOMERS;
            crate::projection::registration::record(&tx, doc, unit, &customer.into(), from_tablet)?;
            // Grades were fixed last round for most customers; one in thirteen
            // has a proposal waiting for its head (定级 in 待审批; 13 spreads them over the twelve managers).
            let a = fieldbook_shared::grading::assess(&customer.ledger, &month, &rules.grading);
            if !from_tablet && i % 13 != 5 && (a.level, a.grade) != Default::default() {
                tx.execute(
                    "INSERT INTO grade_approvals (doc_id, level, grade, approved_by, approved_at)
                     SELECT ?1, ?2, ?3, id, ?4 FROM users WHERE username = 'admin'",
                    params![doc, a.level.as_str(), a.grade.as_str(), crate::now()],
                )?;
            }
        }
        // A few confirmed bad-credit entries and one open report (docs/domain.md,
        // Bad-credit list).
        let admin: i64 = tx.query_row("SELECT id FROM users WHERE username = 'admin'", (), |r| r.get(0))?;
        let reporter: i64 = tx.query_row("SELECT id FROM users WHERE username = 'zhang.wei'", (), |r| r.get(0))?;
        for (name, code, kind, status) in [
            ("鑫达物流代理有限公司", "91310000MA1BAD0001", "agency_fee_abuse", "confirmed"),
            ("恒通商贸有限公司", "91310000MA1BAD0002", "deliberate_arrears", "confirmed"),
            ("安盛保险代理有限公司", "", "premium_fraud", "confirmed"),
            ("快达电商有限公司", "", "deliberate_arrears", "reported"),
        ] {
            let now = crate::now();
            let decided = (status == "confirmed").then_some(admin);
            let decided_at = decided.map(|_| now.clone());
            tx.execute(
                "INSERT INTO credit_warnings (name, credit_code, kind, note, reported_by, reported_at, status, decided_by, decided_at)
                 VALUES (?1, ?2, ?3, '演示数据', ?4, ?5, ?6, ?7, ?8)",
                params![name, code, kind, reporter, now, status, decided, decided_at],
            )?;
        }
        tx.commit()?;
        Ok(())
    })?;
    println!(
        "demo: {} units, {} users, {} customers loaded; every demo password is {DEMO_PASSWORD:?}",
        UNITS.len(),
        USERS.len(),
        rows.len()
    );
    for (u, name, role, unit) in USERS {
        println!("  {u:<14} {name:<6} {role:<8} {unit}");
    }
    Ok(())
}

/// The demo's customer event.
const DEMO_EVENT: &str = "demo-forum";

/// Its day: a month ago.
fn demo_event_day() -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string()
}

/// A manager's desk: notes on the last five working days and last month
/// handed in.
fn demo_desk(user: &str) -> Result<Automerge, ServerError> {
    use fieldbook_shared::desk::{self, DayNote, Desk, Submission};
    let today = chrono::Utc::now().date_naive();
    let mut doc = Automerge::new();
    doc.transact(|tx| {
        Desk::new(user).create(tx)?;
        for (n, text) in [
            "整理本周走访材料，更新客户档案",
            "与寄递专业公司沟通两家客户的报价",
            "电话回访上月投诉客户，客户表示满意",
            "参加支局周例会，汇报重点客户进展",
            "准备下周联谊活动的邀请名单",
        ]
        .iter()
        .enumerate()
        {
            let day = today - chrono::Duration::days(n as i64 + 1);
            desk::add_note(
                tx,
                &DayNote {
                    id: format!("demo-note-{n}"),
                    day: day.format("%Y-%m-%d").to_string(),
                    time: "17:30".into(),
                    text: (*text).into(),
                },
            )?;
        }
        let this_month = crate::this_month();
        let last = fieldbook_shared::calendar::Month::parse(&this_month)
            .map(|m| m.plus(-1).to_string())
            .unwrap_or_default();
        desk::submit(
            tx,
            &Submission {
                id: "demo-hand-in".into(),
                month: last,
                at: format!("{} 18:00", today.format("%Y-%m-01")),
                note: "上月走访与督办已全部记录".into(),
            },
            &this_month,
        )
    })
    .map_err(|e| ServerError::Internal(format!("{:?}", e.error)))?;
    Ok(doc)
}

/// `n` demo customers, the same on every run (for benchmarks and tests too).
pub fn demo_customers(n: usize) -> Vec<Customer> {
    let mut rng = Lcg(20261122);
    let today = chrono::Utc::now().date_naive();
    (0..n).map(|i| demo_customer(i, &mut rng, today)).collect()
}

fn demo_customer(i: usize, rng: &mut Lcg, today: chrono::NaiveDate) -> Customer {
    use chrono::Datelike;
    let (suffix, industry, nature) = &KINDS[i % KINDS.len()];
    let prefix = PREFIXES[(i / KINDS.len()) % PREFIXES.len()];
    let branch = i / (KINDS.len() * PREFIXES.len());
    let name = if branch == 0 {
        format!("{prefix}{suffix}")
    } else {
        format!("{prefix}{suffix}（{}）", branch + 1)
    };
    let code = if *nature == Nature::Government {
        format!("11310000{:010}", 7_000_000 + i)
    } else {
        format!("91310000{:010}", 3_000_000 + i)
    };
    let lines: Vec<Line> = match i % 4 {
        0 => vec![Line::Delivery],
        1 => vec![Line::Delivery, Line::Letter],
        2 => vec![Line::Finance, Line::Postal],
        _ => vec![Line::Delivery, Line::Finance],
    };
    let mut c = Customer::new(&name, &code, nature.clone(), lines.clone());
    c.industry = industry.to_string();
    c.address = format!(
        "上海市某区{}路{}号",
        ["南京", "淮海", "四川", "延安", "中山"][i % 5],
        10 + i
    );
    for (k, role) in [
        ContactRole::DecisionMaker,
        ContactRole::Handler,
        ContactRole::FinanceHead,
    ]
    .into_iter()
    .enumerate()
    {
        c.contacts.push(Contact {
            id: format!("c{i}-{k}"),
            name: format!(
                "{}{}",
                SURNAMES[(i + k) % SURNAMES.len()],
                ["总", "经理", "主任"][k]
            ),
            role,
            position: ["总经理", "行政主管", "财务经理"][k].into(),
            phone: format!("139{:08}", rng.below(100_000_000)),
            birthday: format!(
                "19{}-{:02}-{:02}",
                60 + rng.below(35),
                1 + rng.below(12),
                1 + rng.below(28)
            ),
            hobbies: ["钓鱼", "羽毛球", "书法", "茶艺"][(i + k) % 4].into(),
            ..Default::default()
        });
    }
    // Revenue spread from ordinary to diamond: a log-uniform draw of yuan per year.
    let yearly_yuan = 10f64.powf(4.0 + (rng.below(1000) as f64 / 1000.0) * 3.0);
    for back in 1..=24u32 {
        let month = today
            .checked_sub_months(chrono::Months::new(back))
            .unwrap_or(today);
        for line in &lines {
            let wobble = 0.8 + rng.below(40) as f64 / 100.0;
            let fen = (yearly_yuan / 12.0 / lines.len() as f64 * wobble * 100.0).round() as i64;
            let disbursed = if *line == Line::Finance { fen * 40 } else { 0 };
            // Some shippers send most of their mail to other cities (异地邮件): enough
            // that the cross-city rule manages a few above their own grade.
            let cross_city = if *line == Line::Delivery && i % 9 == 4 {
                fen * 8 / 10
            } else {
                0
            };
            c.ledger.push(LedgerEntry {
                month: format!("{}-{:02}", month.year(), month.month()),
                line: line.clone(),
                amount_fen: fen,
                disbursed_fen: disbursed,
                cross_city_fen: cross_city,
                estimate: false,
            });
        }
    }
    for v in 0..(rng.below(4)) {
        let date = today - chrono::Duration::days((v * 25 + rng.below(20)) as i64);
        c.visits.push(Visit {
            id: format!("v{i}-{v}"),
            date: date.format("%Y-%m-%d").to_string(),
            kind: if v % 3 == 2 {
                VisitKind::Phone
            } else {
                VisitKind::Onsite
            },
            purpose: "日常走访".into(),
            summary: "了解客户近期用邮需求，介绍寄递新产品。".into(),
            // Some latest visits left a follow-up 督办, some already overdue.
            follow_ups: if v == 0 && i % 3 == 1 {
                vec![FollowUp {
                    id: format!("f{i}"),
                    action: ["寄送报价单", "协调上门揽收时间", "核对上月账单"][(i / 3) % 3].into(),
                    due: (date + chrono::Duration::days(7))
                        .format("%Y-%m-%d")
                        .to_string(),
                    ..Default::default()
                }]
            } else {
                Vec::new()
            },
            ..Default::default()
        });
    }
    if i % 15 == 7 {
        c.complaints.push(demo_complaint(i, &c, today));
    }
    // A service agreement on one customer in eight, a year long, started
    // 300 days ago: a platinum or diamond customer's waits for its head's
    // approval (待审批); the others are active and soon expiring.
    if i % 8 == 1 {
        c.agreements.push(fieldbook_shared::agreements::Agreement {
            id: format!("demo-agreement-{i}"),
            number: format!("XY-{}-{i:03}", today.format("%Y")),
            lines: c.lines.iter().map(|l| l.as_str().to_string()).collect(),
            start: (today - chrono::Duration::days(300))
                .format("%Y-%m-%d")
                .to_string(),
            end: (today + chrono::Duration::days(65))
                .format("%Y-%m-%d")
                .to_string(),
            terms: "寄递资费九折".into(),
            status: "active".into(),
            ..Default::default()
        });
    }
    // A satisfaction survey for two customers in three, one to seven months
    // ago (those older than six months are due again).
    if !i.is_multiple_of(3) {
        let rules = fieldbook_shared::surveys::SurveyRules::default();
        let date = today - chrono::Duration::days(30 + (i as i64 * 7) % 180);
        c.surveys.push(fieldbook_shared::surveys::Survey {
            id: format!("demo-survey-{i}"),
            date: date.format("%Y-%m-%d").to_string(),
            by: String::new(),
            respondent: c
                .contacts
                .first()
                .map(|k| k.name.clone())
                .unwrap_or_default(),
            answers: rules
                .questions
                .iter()
                .enumerate()
                .map(|(q, question)| fieldbook_shared::surveys::Answer {
                    question: question.clone(),
                    score: 3 + ((i + q) % 3) as i64,
                })
                .collect(),
            comment: String::new(),
        });
    }
    c
}

/// A complaint at a stage that depends on `i`; some are past their step's time limit.
fn demo_complaint(i: usize, c: &Customer, today: chrono::NaiveDate) -> Complaint {
    let this_month = today.format("%Y-%m").to_string();
    let grade = grading::grade(
        grading::annual(&c.ledger, &this_month).0,
        &Default::default(),
    );
    let day = |back: i64| {
        (today - chrono::Duration::days(back))
            .format("%Y-%m-%d")
            .to_string()
    };
    let (content, channel) = [
        ("上月三批快件延误两天以上，要求说明原因。", "phone"),
        ("揽收员多次未按约定时间上门。", "visit"),
        ("对账单金额与实际寄件量不符。", "letter"),
    ][i % 3];
    let started = 3 + (i % 12) as i64;
    let mut k = Complaint::new(
        &format!("k{i}"),
        channel,
        content,
        "演示数据",
        &day(started),
        grade,
    );
    let stages = ["assigned", "in_progress", "replied", "closed"];
    for (n, status) in stages.iter().take((i / 15) % 5).enumerate() {
        k.status = status.to_string();
        k.steps.push(Step {
            status: status.to_string(),
            by: "演示数据".into(),
            on: day(started - 1 - n as i64),
            note: String::new(),
        });
    }
    if k.status != "recorded" {
        k.department = ["寄递事业部", "运营部", "客服中心"][i % 3].into();
    }
    if k.status == "closed" {
        k.satisfaction = 3 + (i % 3) as i64;
    }
    k
}
