//! One new visit synced to the server: bytes on the wire both ways and messages.
//!
//! A real server process on loopback, a samod device over a real websocket; the
//! device's transport counts websocket payload bytes. Runs 7 times and prints
//! each run and the median.

use fieldbook_shared::customer::{self, Customer, Visit};
use fieldbook_shared::vocab::{Line, Nature, VisitKind};
use fieldbook_tests::{Device, TestServer};

#[tokio::main]
async fn main() {
    let mut server = TestServer::new();
    let mut c = Customer::new(
        "麦德龙商业集团有限公司",
        "91310000607216596X",
        Nature::Enterprise,
        vec![Line::Delivery],
    );
    for i in 0..20 {
        c.visits.push(Visit {
            id: format!("old-{i}"),
            date: "2026-10-01".into(),
            summary: "日常走访".into(),
            ..Default::default()
        });
    }
    let url = server.seed_customer(&c, "m1", None).await;
    server.start().await;
    let mut device = Device::login(&server, "m1").await;
    device.connect().await;
    let doc = device.find(&url).await.expect("open customer");
    device.wait_synced(&doc).await;

    let mut runs = Vec::new();
    for run in 0..7 {
        // Let any trailing acknowledgement of the previous run arrive first.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let before = device.wire.snapshot();
        let visit = Visit {
            id: format!("bench-{run}"),
            date: "2026-11-22".into(),
            time: "10:30".into(),
            kind: VisitKind::Onsite,
            visitors: vec!["m1".into()],
            purpose: "年度协议洽谈".into(),
            summary: "与客户行政主管沟通2027年寄递协议续签，客户希望增加同城当日达服务。".into(),
            needs: "同城当日达，月结".into(),
            next_visit: "2026-12-15".into(),
            ..Default::default()
        };
        doc.with_document(|d| d.transact(|tx| customer::add_visit(tx, &visit)))
            .expect("add visit");
        device.wait_synced(&doc).await;
        // The server's reply may trail the "they have it" moment by a message; wait it out.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let after = device.wire.snapshot();
        let r = (
            after.0 - before.0,
            after.1 - before.1,
            after.2 - before.2,
            after.3 - before.3,
        );
        println!(
            "run {run}: {} B up in {} msg, {} B down in {} msg, {} B total",
            r.0,
            r.2,
            r.1,
            r.3,
            r.0 + r.1
        );
        runs.push(r);
    }
    runs.sort_by_key(|r| r.0 + r.1);
    let m = runs[runs.len() / 2];
    println!(
        "one-visit median: {} bytes total ({} up in {} messages, {} down in {} messages)",
        m.0 + m.1,
        m.0,
        m.2,
        m.1,
        m.3
    );
}
