//! What the fuzz targets run on each input (`sync_message`, `document_load`,
//! `imports`), and what they share with the seed generator (`cargo run -p
//! fieldbook-fuzz --example seeds`): fixed peer and document ids, a samod hub
//! driven without IO, sample documents, and the projections run on a
//! customer. cargo-fuzz builds the targets in targets/ (`cargo xtask fuzz`);
//! `cargo test` runs every committed seed through them (tests/seeds.rs).

pub mod document_load;
pub mod imports;
pub mod sync_message;

use std::collections::HashMap;

use automerge::Automerge;
use automerge::transaction::Transactable;
use fieldbook_shared::agreements::{self, Agreement, Plan};
use fieldbook_shared::book::Book;
use fieldbook_shared::complaints::{self, Complaint};
use fieldbook_shared::customer::{self, Contact, Customer, FollowUp, Handover, LedgerEntry, Visit};
use fieldbook_shared::grading::{self, Grade, Standing};
use fieldbook_shared::ownership::{self, Registration};
use fieldbook_shared::rules::Rules;
use fieldbook_shared::vocab::{ContactRole, Line, Nature, VisitKind};
use fieldbook_shared::{anomaly, care, history, visits};
use rand::SeedableRng;
use rand::rngs::StdRng;
use samod_core::actors::hub::{CommandResult, DispatchedCommand, Hub, HubEvent, HubResults};
use samod_core::io::{IoResult, StorageResult, StorageTask};
use samod_core::{ConnectionId, DocumentId, ListenerConfig, LoaderState, PeerId, UnixTimestamp};

/// The server's peer id in every frame the fuzzers send.
pub const SERVER: &str = "fuzz-server";
/// The client's peer id (the session's peer id, bound to the connection).
pub const CLIENT: &str = "fuzz-client";
/// "Now" for the projections: grades and alerts are as of the month before.
pub const THIS_MONTH: &str = "2026-11";
pub const TODAY: &str = "2026-11-15";

fn doc_id(byte: u8) -> String {
    DocumentId::try_from(vec![byte; 16])
        .expect("16 bytes are a document id")
        .to_string()
}

/// The customer document the client peer holds when a frame arrives.
pub fn held_doc_id() -> String {
    doc_id(0x11)
}

/// The document the client peer has asked the server for and does not have yet.
pub fn wanted_doc_id() -> String {
    doc_id(0x22)
}

// ---------------------------------------------------------------------------
// Panics our code guards against

thread_local! {
    static LAST_LET_THROUGH: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Lets panics raised in the sources of the named crates (e.g. "calamine")
/// unwind to the `catch_unwind` our code guards them with, instead of aborting
/// at once as libfuzzer-sys's panic hook does. Any other panic still aborts
/// with its message; one of these that no guard catches ends the run in
/// [`run`], which prints it.
pub fn let_panics_unwind_from(crates: &'static [&'static str]) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let guarded = info
                .location()
                .is_some_and(|l| crates.iter().any(|c| l.file().contains(&format!("/{c}-"))));
            if guarded {
                LAST_LET_THROUGH.with(|m| *m.borrow_mut() = Some(info.to_string()));
            } else {
                abort(info);
            }
        }));
    });
}

/// Runs one input; a panic that escapes it (one let through by
/// [`let_panics_unwind_from`] that no guard caught) is printed and aborts.
pub fn run(f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        let message = LAST_LET_THROUGH.with(|m| m.borrow_mut().take());
        eprintln!(
            "a panic no guard caught: {}",
            message.as_deref().unwrap_or("(see above)")
        );
        std::process::abort();
    }
}

// ---------------------------------------------------------------------------
// Checksums

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const COMPRESSED_CHANGE: u8 = 2;

/// `data` with the checksum of every chunk it starts with made right, so the
/// fuzzer's changes reach the decoder behind the checksum test (any client can
/// compute a checksum: it is no defence). Stops at the first chunk it cannot
/// frame; compressed chunks (checksummed over their inflated form) are left.
pub fn fix_checksums(data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = data.to_vec();
    let mut at = 0;
    while out.len() >= at + 9 && out[at..at + 4] == MAGIC {
        let chunk_type = out[at + 8];
        let Some((len, leb_len)) = uleb(&out[at + 9..]) else {
            break;
        };
        let start = at + 9 + leb_len;
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= out.len())
        else {
            break;
        };
        if chunk_type != COMPRESSED_CHANGE {
            let mut hasher = Sha256::new();
            hasher.update([chunk_type]);
            hasher.update(write_uleb(len));
            hasher.update(&out[start..end]);
            let hash = hasher.finalize();
            out[at + 4..at + 8].copy_from_slice(&hash[..4]);
        }
        at = end;
    }
    out
}

fn uleb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn write_uleb(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

// ---------------------------------------------------------------------------
// samod's hub, without IO

/// The sans-IO hub inside the server's samod, with one listener. Storage is
/// answered at once (a fixed storage id, nothing stored); document actors are
/// not run, so what is tested is the hub: frame decoding, the handshake and
/// routing.
pub struct SamodHub {
    hub: Box<Hub>,
    rng: StdRng,
    now: u128,
    listener: samod_core::ListenerId,
}

impl Default for SamodHub {
    fn default() -> Self {
        Self::new()
    }
}

impl SamodHub {
    pub fn new() -> SamodHub {
        let mut rng = StdRng::seed_from_u64(7);
        let mut loader = Hub::load(PeerId::from(SERVER));
        let mut hub = loop {
            match loader.step(&mut rng, UnixTimestamp::from_millis(1)) {
                LoaderState::NeedIo(tasks) => {
                    for task in tasks {
                        let payload = match task.action {
                            StorageTask::Load { .. } => StorageResult::Load {
                                value: Some(b"fuzz-storage".to_vec()),
                            },
                            StorageTask::LoadRange { .. } => StorageResult::LoadRange {
                                values: HashMap::new(),
                            },
                            StorageTask::Put { .. } => StorageResult::Put,
                            StorageTask::Delete { .. } => StorageResult::Delete,
                        };
                        loader.provide_io_result(IoResult {
                            task_id: task.task_id,
                            payload,
                        });
                    }
                }
                LoaderState::Loaded(hub) => break hub,
            }
        };
        // As the server runs it (server/src/app.rs).
        hub.set_attach_on_demand(true);
        let add = HubEvent::add_listener(ListenerConfig {
            url: url::Url::parse("ws://127.0.0.1/sync").expect("a URL"),
        });
        let id = add.command_id;
        let mut results = hub.handle_event(&mut rng, UnixTimestamp::from_millis(1), add.event);
        let listener = match results.completed_commands.remove(&id) {
            Some(CommandResult::AddListener { listener_id }) => listener_id,
            other => panic!("the hub did not add a listener: {other:?}"),
        };
        SamodHub {
            hub,
            rng,
            now: 1,
            listener,
        }
    }

    fn run(&mut self, command: DispatchedCommand) -> (HubResults, Option<CommandResult>) {
        self.now += 1;
        let mut results = self.hub.handle_event(
            &mut self.rng,
            UnixTimestamp::from_millis(self.now),
            command.event,
        );
        let done = results.completed_commands.remove(&command.command_id);
        (results, done)
    }

    /// An accepted websocket, bound to `peer` as the server binds it to the
    /// session's peer id.
    pub fn connect(&mut self, peer: &str) -> ConnectionId {
        let create = HubEvent::create_listener_connection(self.listener, Some(PeerId::from(peer)));
        match self.run(create).1 {
            Some(CommandResult::CreateConnection { connection_id }) => connection_id,
            other => panic!("the hub did not create a connection: {other:?}"),
        }
    }

    /// One frame from the socket; answers the hub's results.
    pub fn receive(&mut self, conn: ConnectionId, frame: Vec<u8>) -> HubResults {
        self.run(HubEvent::receive(conn, frame)).0
    }

    pub fn lose(&mut self, conn: ConnectionId) {
        self.now += 1;
        self.hub.handle_event(
            &mut self.rng,
            UnixTimestamp::from_millis(self.now),
            HubEvent::connection_lost(conn),
        );
    }
}

// ---------------------------------------------------------------------------
// Sample documents

/// A fixed actor, so the samples are the same bytes every time.
pub fn actor(name: &str) -> automerge::ActorId {
    automerge::ActorId::from(name.as_bytes())
}

fn month_before(this_month: &str, back: i32) -> String {
    let y: i32 = this_month[0..4].parse().unwrap_or(2026);
    let m: i32 = this_month[5..7].parse().unwrap_or(1);
    let i = y * 12 + (m - 1) - back;
    format!("{:04}-{:02}", i / 12, i % 12 + 1)
}

/// A customer with every part filled in: two years of ledger on each line,
/// contacts with birthdays, visits with follow-ups, a complaint, an agreement,
/// a plan and a hand-over.
pub fn sample_customer(i: usize) -> Customer {
    let lines = match i % 3 {
        0 => vec![Line::Delivery, Line::Finance],
        1 => vec![Line::Postal, Line::Letter],
        _ => vec![Line::Delivery],
    };
    let mut c = Customer::new(
        &format!("上海样本{i}贸易有限公司"),
        &format!("91310000{:010}", 1000 + i),
        if i.is_multiple_of(2) {
            Nature::Enterprise
        } else {
            Nature::Government
        },
        lines.clone(),
    );
    c.address = "上海市黄浦区南京东路1号".into();
    c.industry = "零售".into();
    c.notes = "年底寄递量大".into();
    for (k, role) in [ContactRole::DecisionMaker, ContactRole::Handler]
        .into_iter()
        .enumerate()
    {
        c.contacts.push(Contact {
            id: format!("c{i}-{k}"),
            name: ["王总", "李经理"][k].into(),
            role,
            position: "总经理".into(),
            phone: "13900000000".into(),
            birthday: ["1970-11-20", "1985-12-01"][k].into(),
            personal_notes: "喜欢钓鱼".into(),
            hobbies: "钓鱼".into(),
            ..Default::default()
        });
    }
    for back in 1..=24 {
        for (n, line) in lines.iter().enumerate() {
            // A fall last month, so the alerts have something to say.
            let fen = if back == 1 {
                10_000
            } else {
                1_000_000 + n as i64
            };
            c.ledger.push(LedgerEntry {
                month: month_before(THIS_MONTH, back),
                line: line.clone(),
                amount_fen: fen,
                disbursed_fen: if *line == Line::Finance { fen * 40 } else { 0 },
                cross_city_fen: if *line == Line::Delivery { fen / 2 } else { 0 },
                estimate: false,
            });
        }
    }
    c.visits.push(Visit {
        id: format!("v{i}-1"),
        date: "2026-10-12".into(),
        time: "10:30".into(),
        kind: VisitKind::Onsite,
        visitors: vec!["zhang.wei".into(), "head.east".into()],
        contacts_met: vec![format!("c{i}-0")],
        purpose: "日常走访".into(),
        summary: "介绍新产品".into(),
        follow_ups: vec![FollowUp {
            id: format!("f{i}-1"),
            action: "报价".into(),
            owner: "zhang.wei".into(),
            due: "2026-10-20".into(),
            closed: false,
            result: String::new(),
            ..Default::default()
        }],
        next_visit: "2026-11-12".into(),
        ..Default::default()
    });
    c.complaints.push(Complaint::new(
        &format!("k{i}"),
        "phone",
        "延误",
        "zhang.wei",
        "2026-11-01",
        Grade::Gold,
    ));
    c.agreements.push(Agreement::new(
        &format!("a{i}"),
        "HT-2026-001",
        vec!["delivery".into()],
        "2026-01-01",
        "2026-12-01",
        "月结",
        Grade::Gold,
        fieldbook_shared::grading::Grade::Platinum,
    ));
    c.plans.push(Plan {
        year: "2026".into(),
        target_revenue_fen: 50_000_000,
        responsible: "zhang.wei".into(),
        ..Default::default()
    });
    c.handovers.push(Handover {
        from_primary: "li.na".into(),
        to_primary: "zhang.wei".into(),
        at: "2026-03-01T00:00:00.000Z".into(),
        by: "head.east".into(),
        ..Default::default()
    });
    c
}

/// A saved customer document as a tablet leaves it: created, then edited in
/// further changes (a visit, a field, ledger entries).
pub fn sample_customer_doc(i: usize) -> Automerge {
    let mut doc = Automerge::new().with_actor(actor(&format!("tablet-{i}")));
    let c = sample_customer(i);
    doc.transact(|tx| c.create(tx)).expect("create a customer");
    doc.transact(|tx| {
        customer::add_visit(
            tx,
            &Visit {
                id: format!("v{i}-2"),
                date: "2026-11-03".into(),
                kind: VisitKind::Phone,
                visitors: vec!["zhang.wei".into()],
                ..Default::default()
            },
        )?;
        customer::set_field(tx, "address", "上海市徐汇区")?;
        customer::merge_ledger(
            tx,
            &[LedgerEntry {
                month: month_before(THIS_MONTH, 1),
                line: Line::Delivery,
                amount_fen: 12_345,
                disbursed_fen: 0,
                cross_city_fen: 0,
                estimate: false,
            }],
        )
    })
    .expect("edit a customer");
    doc
}

/// A small customer document (two changes), as the client peer holds it in
/// the sync_message target: loaded for every input, so kept small.
pub fn small_customer_doc() -> Automerge {
    let mut doc = Automerge::new().with_actor(actor("tablet-small"));
    let mut c = Customer::new("小客户", "91310000MA1FL0009X", Nature::Enterprise, vec![]);
    c.ledger.push(LedgerEntry {
        month: month_before(THIS_MONTH, 1),
        line: Line::Delivery,
        amount_fen: 10_000,
        disbursed_fen: 0,
        cross_city_fen: 0,
        estimate: false,
    });
    doc.transact(|tx| c.create(tx)).expect("create a customer");
    doc.transact(|tx| {
        customer::add_visit(
            tx,
            &Visit {
                id: "v-small".into(),
                date: "2026-11-03".into(),
                ..Default::default()
            },
        )
    })
    .expect("add a visit");
    doc
}

/// Two devices set the same field offline: the document keeps both values.
pub fn conflicted_customer_doc() -> Automerge {
    let mut a = sample_customer_doc(1);
    let mut b = a.fork().with_actor(actor("tablet-other"));
    a.transact(|tx| customer::set_field(tx, "name", "甲"))
        .expect("edit");
    b.transact(|tx| customer::set_field(tx, "name", "乙"))
        .expect("edit");
    a.merge(&mut b).expect("merge");
    a
}

/// What the JS client writes: every string a text object, numbers as floats.
pub fn js_style_customer_doc() -> Automerge {
    let mut doc = Automerge::new().with_actor(actor("browser"));
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        for (k, v) in [
            ("type", "customer"),
            ("name", "美之家"),
            ("credit_code", ""),
            ("nature", "enterprise"),
        ] {
            let t = tx.put_object(automerge::ROOT, k, automerge::ObjType::Text)?;
            tx.splice_text(&t, 0, 0, v)?;
        }
        tx.put(automerge::ROOT, "schema", 1.0_f64)?;
        let ledger = tx.put_object(automerge::ROOT, "ledger", automerge::ObjType::List)?;
        let e = tx.insert_object(&ledger, 0, automerge::ObjType::Map)?;
        tx.put(&e, "month", month_before(THIS_MONTH, 1))?;
        tx.put(&e, "line", "finance")?;
        tx.put(&e, "amount_fen", 1234.0_f64)?;
        tx.put(&e, "disbursed_fen", 99_u64)?;
        let visits = tx.put_object(automerge::ROOT, "visits", automerge::ObjType::List)?;
        let v = tx.insert_object(&visits, 0, automerge::ObjType::Map)?;
        let id = tx.put_object(&v, "id", automerge::ObjType::Text)?;
        tx.splice_text(&id, 0, 0, "v-js")?;
        tx.put(&v, "date", "2026-10-30")?;
        Ok(())
    })
    .expect("a JS-style document");
    doc
}

/// A user's book as the server writes it.
pub fn sample_book_doc() -> Automerge {
    let mut book = Book::new("zhang.wei");
    book.customers = vec![format!("automerge:{}", held_doc_id())];
    book.rules = Rules::default().to_json();
    let mut doc = Automerge::new().with_actor(actor("server"));
    doc.transact(|tx| book.save(tx)).expect("a book");
    doc
}

// ---------------------------------------------------------------------------
// Projections

/// Runs on one customer what the server's projection and reports, and the
/// tablet's screens, compute from it: none of it may panic, whatever the
/// document holds.
pub fn project_customer(c: &Customer, this_month: &str, today: &str, rules: &Rules) {
    let (annual, disbursed) = grading::annual(&c.ledger, this_month);
    let cross_city = grading::annual_cross_city(&c.ledger, this_month);
    let _ = grading::level(annual, disbursed, &rules.grading);
    let _ = grading::grade(annual, &rules.grading);
    let standings = [
        Standing {
            annual_fen: annual,
            cross_city_fen: cross_city,
        },
        Standing {
            annual_fen: 1_000_000,
            cross_city_fen: 0,
        },
    ];
    let _ = grading::managed_as(&standings, &rules.grading, &rules.managed);
    for alert in anomaly::alerts(&c.ledger, this_month, &rules.anomaly) {
        let _ = alert.kind();
    }
    let _ = visits::cadence(c.last_visit(), today);
    let _ = visits::open_follow_ups(c);
    if let Some(quarter) = visits::quarter_of(today) {
        let _ = visits::visited_by_in_quarter(c, "zhang.wei", &quarter);
    }
    let dates: Vec<String> = c.visits.iter().map(|v| v.date.clone()).collect();
    let _ = visits::compliance(&[("d".into(), "m".into(), dates)], this_month);
    let _ = care::upcoming(std::slice::from_ref(c), today, 30);
    for k in &c.complaints {
        let _ = k.overdue(today, &rules.complaints);
        let _ = complaints::next(&k.status);
        let _ = complaints::label_zh(&k.status);
    }
    for a in &c.agreements {
        let _ = a.expires_in(today);
        let _ = care::day_number(&a.end);
    }
    for p in &c.plans {
        let _ = agreements::progress(p, &c.ledger);
    }
    let registration = |doc_id: &str, unit: &str, received| Registration {
        doc_id: doc_id.into(),
        unit: unit.into(),
        name: c.name.clone(),
        credit_code: c.credit_code.clone(),
        lines: c.lines.clone(),
        received,
    };
    let _ = ownership::decide_all(&[registration("a", "so1", 1), registration("b", "so2", 2)]);
    let _ = history::field_changes(&Customer::default(), c);
    let _ = history::field_changes(c, c);
}

/// An uploaded import file, read and checked as both kinds of import, and
/// its cells through the month and amount readers. Errors are answers.
pub fn import_file(data: &[u8]) {
    use fieldbook_server::http::import::{
        customer_rows, ledger_rows, parse_amount, parse_month, parse_yuan, read_table,
    };
    let Ok(table) = read_table(data) else {
        return;
    };
    let aliases = fieldbook_shared::rules::ImportRules::default().line_aliases;
    let _ = customer_rows(&table, &aliases);
    let _ = ledger_rows(&table, &aliases);
    for cell in table.rows.iter().flatten().take(64) {
        let _ = parse_yuan(cell);
        let _ = parse_amount(cell, 1_000_000);
        let _ = parse_month(cell);
    }
}

/// A workbook whose first sheet's XML is `sheet` (stored, not compressed): the
/// XLSX target mutates the sheet rather than the zip around it.
pub fn workbook_with_sheet(sheet: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let parts: [(&str, &[u8]); 5] = [
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    for (name, bytes) in parts {
        if zip.start_file(name, stored).is_err() || zip.write_all(bytes).is_err() {
            return Vec::new();
        }
    }
    zip.finish().map(|c| c.into_inner()).unwrap_or_default()
}
