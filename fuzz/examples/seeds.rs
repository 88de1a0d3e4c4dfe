//! Writes the starting inputs of each fuzz target into seeds/<target>/ (they
//! are committed; run again after a schema or protocol change):
//!
//!     cargo run -p fieldbook-fuzz --example seeds
//!
//! Real frames, real saved documents and real import files, so the fuzzers
//! start from inputs that get past the first checks.

use std::path::{Path, PathBuf};

use automerge::sync::SyncDoc;
use automerge::{Automerge, sync};
use fieldbook_fuzz::{
    CLIENT, SERVER, conflicted_customer_doc, held_doc_id, js_style_customer_doc, sample_book_doc,
    sample_customer_doc, small_customer_doc, wanted_doc_id,
};
use fieldbook_shared::credit::WarningList;
use fieldbook_shared::customer;
use fieldbook_shared::peer::wire::Message;
use minicbor::Encoder;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    sync_message(&root.join("sync_message"))?;
    document_load(&root.join("document_load"))?;
    import_table(&root.join("import_table"))?;
    println!("seeds written to {}", root.display());
    Ok(())
}

fn dir(path: &Path) -> Result<PathBuf> {
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    std::fs::create_dir_all(path)?;
    Ok(path.to_path_buf())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result {
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

/// The first sync message `doc` sends to a peer it knows nothing of.
fn first_sync(doc: &Automerge) -> Vec<u8> {
    doc.generate_sync_message(&mut sync::State::new())
        .map(|m| m.encode())
        .unwrap_or_default()
}

/// Every sync message `from` sends to `to` until they agree (the later ones
/// carry the changes `to` lacks).
fn exchange(from: &Automerge, to: &Automerge) -> Result<Vec<Vec<u8>>> {
    let (mut from, mut to) = (from.clone(), to.clone());
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    let mut sent = Vec::new();
    for _ in 0..10 {
        let a = from.generate_sync_message(&mut sa);
        let b = to.generate_sync_message(&mut sb);
        if a.is_none() && b.is_none() {
            break;
        }
        if let Some(m) = a {
            let bytes = m.encode();
            to.receive_sync_message(&mut sb, sync::Message::decode(&bytes)?)?;
            sent.push(bytes);
        }
        if let Some(m) = b {
            from.receive_sync_message(&mut sa, m)?;
        }
    }
    Ok(sent)
}

fn sync_message(path: &Path) -> Result {
    let d = dir(path)?;
    let frame = |m: Message| m.encode();
    write(
        &d,
        "join",
        &frame(Message::Join {
            sender: CLIENT.into(),
        }),
    )?;
    write(
        &d,
        "peer",
        &frame(Message::Peer {
            sender: SERVER.into(),
            target: CLIENT.into(),
            version: "1".into(),
        }),
    )?;
    // The held document, one change ahead of the client's copy.
    let held = small_customer_doc();
    let mut ahead = held.fork().with_actor(fieldbook_fuzz::actor("tablet-2"));
    ahead
        .transact(|tx| customer::set_field(tx, "industry", "物流"))
        .map_err(|e| format!("{e:?}"))?;
    for (n, data) in exchange(&ahead, &held)?.into_iter().enumerate() {
        write(
            &d,
            &format!("sync_held_{n}"),
            &frame(Message::Sync {
                doc: held_doc_id(),
                sender: CLIENT.into(),
                target: SERVER.into(),
                data,
            }),
        )?;
    }
    // The wanted document: asked for from nothing, then sent whole.
    write(
        &d,
        "request_wanted",
        &frame(Message::Request {
            doc: wanted_doc_id(),
            sender: CLIENT.into(),
            target: SERVER.into(),
            data: first_sync(&Automerge::new()),
        }),
    )?;
    let whole = sample_customer_doc(2);
    for (n, data) in exchange(&whole, &Automerge::new())?.into_iter().enumerate() {
        write(
            &d,
            &format!("sync_wanted_{n}"),
            &frame(Message::Sync {
                doc: wanted_doc_id(),
                sender: CLIENT.into(),
                target: SERVER.into(),
                data,
            }),
        )?;
    }
    write(
        &d,
        "doc_unavailable",
        &frame(Message::DocUnavailable {
            doc: wanted_doc_id(),
            sender: SERVER.into(),
            target: CLIENT.into(),
        }),
    )?;
    write(
        &d,
        "error",
        &frame(Message::Error {
            message: "bad".into(),
        }),
    )?;

    // Kinds and forms only samod reads: raw id bytes, metadata, ephemera,
    // subscriptions, remote heads, leave.
    let raw_id = bs58_bytes(&held_doc_id());
    let mut e = Encoder::new(Vec::new());
    e.map(5)?;
    e.str("type")?.str("sync")?;
    e.str("documentId")?.bytes(&raw_id)?;
    e.str("senderId")?.str(CLIENT)?;
    e.str("targetId")?.str(SERVER)?;
    e.str("data")?.bytes(&first_sync(&ahead))?;
    write(&d, "sync_raw_id", &e.into_writer())?;

    let mut e = Encoder::new(Vec::new());
    e.map(4)?;
    e.str("type")?.str("join")?;
    e.str("senderId")?.str(CLIENT)?;
    e.str("supportedProtocolVersions")?.array(1)?.str("1")?;
    e.str("peerMetadata")?.map(2)?;
    e.str("storageId")?.str("a7c3a2b1-storage")?;
    e.str("isEphemeral")?.bool(false)?;
    write(&d, "join_metadata", &e.into_writer())?;

    let mut e = Encoder::new(Vec::new());
    e.map(7)?;
    e.str("type")?.str("ephemeral")?;
    e.str("senderId")?.str(CLIENT)?;
    e.str("targetId")?.str(SERVER)?;
    e.str("count")?.u64(1)?;
    e.str("sessionId")?.str("s1")?;
    e.str("documentId")?.str(&held_doc_id())?;
    e.str("data")?.bytes(&[0xa1, 0x61, 0x78, 0x01])?;
    write(&d, "ephemeral", &e.into_writer())?;

    let mut e = Encoder::new(Vec::new());
    e.map(5)?;
    e.str("type")?.str("remote-subscription-change")?;
    e.str("senderId")?.str(CLIENT)?;
    e.str("targetId")?.str(SERVER)?;
    e.str("add")?.array(1)?.str("a7c3a2b1-storage")?;
    e.str("remove")?.array(0)?;
    write(&d, "remote_subscription_change", &e.into_writer())?;

    let heads = ahead.get_heads();
    let mut e = Encoder::new(Vec::new());
    e.map(5)?;
    e.str("type")?.str("remote-heads-changed")?;
    e.str("senderId")?.str(CLIENT)?;
    e.str("targetId")?.str(SERVER)?;
    e.str("documentId")?.str(&held_doc_id())?;
    e.str("newHeads")?.map(1)?;
    e.str("a7c3a2b1-storage")?.map(2)?;
    e.str("heads")?.array(heads.len() as u64)?;
    for h in &heads {
        e.str(&h.to_string())?;
    }
    e.str("timestamp")?.u64(1_790_000_000_000)?;
    write(&d, "remote_heads_changed", &e.into_writer())?;

    let mut e = Encoder::new(Vec::new());
    e.map(2)?;
    e.str("type")?.str("leave")?;
    e.str("senderId")?.str(CLIENT)?;
    write(&d, "leave", &e.into_writer())?;
    Ok(())
}

/// The 16 bytes of a document id (bs58check).
fn bs58_bytes(id: &str) -> Vec<u8> {
    let id: samod_core::DocumentId = id.parse().expect("a document id");
    id.as_bytes().to_vec()
}

fn document_load(path: &Path) -> Result {
    let d = dir(path)?;
    for i in 0..3 {
        write(&d, &format!("customer_{i}"), &sample_customer_doc(i).save())?;
    }
    write(&d, "customer_conflicted", &conflicted_customer_doc().save())?;
    write(&d, "customer_js_style", &js_style_customer_doc().save())?;
    write(&d, "book", &sample_book_doc().save())?;
    let mut warnings = Automerge::new().with_actor(fieldbook_fuzz::actor("server"));
    warnings
        .transact(|tx| WarningList::new().save(tx))
        .map_err(|e| format!("{e:?}"))?;
    write(&d, "warning_list", &warnings.save())?;
    // An incremental chunk, as the storage keeps a change after a snapshot.
    let mut doc = sample_customer_doc(0);
    let heads = doc.get_heads();
    doc.transact(|tx| customer::set_field(tx, "name", "改名后的公司"))
        .map_err(|e| format!("{e:?}"))?;
    write(&d, "customer_incremental", &doc.save_after(&heads))?;
    Ok(())
}

const CUSTOMER_HEADERS: [&str; 7] = [
    "客户名称",
    "统一社会信用代码",
    "客户性质",
    "业务类型",
    "地址",
    "行业",
    "客户经理",
];
const CUSTOMER_ROWS: [[&str; 7]; 2] = [
    [
        "上海甲贸易有限公司",
        "91310000MA1FL0001X",
        "企业",
        "寄递、金融",
        "上海市黄浦区",
        "零售",
        "zhang.wei",
    ],
    [
        "乙区人民政府",
        "11310000000000002Y",
        "政府机构",
        "函件",
        "",
        "",
        "li.na",
    ],
];
const LEDGER_HEADERS: [&str; 7] = [
    "客户名称",
    "统一社会信用代码",
    "月份",
    "业务类型",
    "收入(元)",
    "代发金额(元)",
    "异地邮件(元)",
];
const LEDGER_ROWS: [[&str; 7]; 2] = [
    [
        "上海甲贸易有限公司",
        "91310000MA1FL0001X",
        "2026-10",
        "寄递",
        "1,234.50",
        "",
        "300",
    ],
    [
        "",
        "91310000MA1FL0001X",
        "2026/09",
        "金融",
        "88.8",
        "100000",
        "",
    ],
];

fn csv<const N: usize>(headers: &[&str; N], rows: &[[&str; N]]) -> String {
    let mut out = headers.join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.map(|c| format!("\"{c}\"")).join(","));
        out.push('\n');
    }
    out
}

fn xlsx<const N: usize>(headers: &[&str; N], rows: &[[&str; N]]) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    // A fixed date, so the file is the same every time.
    book.set_properties(
        &rust_xlsxwriter::DocProperties::new()
            .set_creation_datetime(&rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 1)?),
    );
    let sheet = book.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            // Amounts as numbers, as a spreadsheet keeps them.
            match cell.parse::<f64>() {
                Ok(n) => sheet.write_number(r, c, n)?,
                Err(_) => sheet.write_string(r, c, *cell)?,
            };
        }
    }
    Ok(book.save_to_buffer()?)
}

fn import_table(path: &Path) -> Result {
    let d = dir(path)?;
    let customers = csv(&CUSTOMER_HEADERS, &CUSTOMER_ROWS);
    let ledger = csv(&LEDGER_HEADERS, &LEDGER_ROWS);
    write(
        &d,
        "customers.csv",
        format!("\u{feff}{customers}").as_bytes(),
    )?;
    write(&d, "ledger.csv", ledger.as_bytes())?;
    let (gbk, _, _) = encoding_rs::GBK.encode(&customers);
    write(&d, "customers_gbk.csv", &gbk)?;
    let (gbk, _, _) = encoding_rs::GBK.encode(&ledger);
    write(&d, "ledger_gbk.csv", &gbk)?;
    write(
        &d,
        "customers.xlsx",
        &xlsx(&CUSTOMER_HEADERS, &CUSTOMER_ROWS)?,
    )?;
    write(&d, "ledger.xlsx", &xlsx(&LEDGER_HEADERS, &LEDGER_ROWS)?)?;
    Ok(())
}
