//! Crash durability during a visit storm: devices keep logging visits while the
//! server is killed with SIGKILL at random moments and restarted, several times.
//! Afterwards every visit any device logged is on the server (read back from
//! disk after one more kill), and every replica is identical.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldbook_shared::customer::{self, Customer, Visit};
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::{Device, TestServer, wait_for};
use rand::{Rng, SeedableRng};

const T: Duration = Duration::from_secs(60);

fn customer(i: usize) -> Customer {
    Customer::new(
        &format!("暴风测试商贸有限公司{i}"),
        &format!("9131000060721659{i:02}"),
        Nature::Enterprise,
        vec![Line::Delivery],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_visit_is_lost_when_the_server_is_killed_during_a_storm() {
    let seed: u64 = std::env::var("FIELDBOOK_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("seed {seed} (FIELDBOOK_CRASH_SEED replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let mut server = TestServer::new();
    // Three managers, each with two devices on one customer of their own.
    let managers = ["m1", "m2", "m3"];
    let mut urls = Vec::new();
    for (i, m) in managers.iter().enumerate() {
        urls.push(server.seed_customer(&customer(i), m, None).await);
    }
    server.start().await;
    let mut devices = Vec::new();
    for (i, m) in managers.iter().enumerate() {
        for _ in 0..2 {
            let mut d = Device::login(&server, m).await;
            d.connect().await;
            let doc = d
                .find(&urls[i])
                .await
                .expect("manager opens their customer");
            devices.push((d, doc));
        }
    }

    // Every device logs a visit every 20–80 ms until told to stop, online or not.
    let logged: Arc<Mutex<BTreeSet<(usize, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for (k, (_, doc)) in devices.iter().enumerate() {
        let (doc, logged, stop) = (doc.clone(), logged.clone(), stop.clone());
        let cust = k / 2;
        let mut wrng = rand::rngs::StdRng::seed_from_u64(seed ^ k as u64);
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let id = format!("d{k}-{n}");
                doc.with_document(|d| {
                    d.transact(|tx| {
                        customer::add_visit(
                            tx,
                            &Visit {
                                id: id.clone(),
                                date: "2026-11-23".into(),
                                summary: "风暴中的拜访".into(),
                                ..Default::default()
                            },
                        )
                    })
                })
                .expect("log a visit");
                logged.lock().unwrap().insert((cust, id));
                n += 1;
                let ms = wrng.random_range(20..80);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }));
    }

    // Kill the server at random moments, four times; restart after a random pause.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..2000))).await;
        server.kill();
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..700))).await;
        server.start().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let logged = logged.lock().unwrap().clone();
    println!("{} visits logged across 4 crashes", logged.len());

    // Every device reconnects by itself; wait until the server has all of each.
    for (d, doc) in &devices {
        wait_for("a device to reconnect", T, async || {
            d.is_connected().then_some(())
        })
        .await;
        d.wait_synced(doc).await;
    }

    // Once more without warning, then read everything back from disk.
    server.kill();
    server.start().await;
    let reader = {
        let mut r = Device::login(&server, "admin").await;
        r.connect().await;
        r
    };
    let mut lost = Vec::new();
    let mut stored_heads = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let doc = reader.find(url).await.expect("admin opens every customer");
        let have: BTreeSet<String> = Device::customer(&doc)
            .visits
            .into_iter()
            .map(|v| v.id)
            .collect();
        lost.extend(
            logged
                .iter()
                .filter(|(c, id)| *c == i && !have.contains(id))
                .cloned(),
        );
        stored_heads.push(doc.with_document(|d| d.get_heads()));
    }
    println!("changes lost: {}", lost.len());
    assert!(lost.is_empty(), "visits lost in the crashes: {lost:?}");

    // All replicas identical: both devices of each manager and the server.
    for (k, (_, doc)) in devices.iter().enumerate() {
        let want = stored_heads[k / 2].clone();
        wait_for("every replica to converge", T, async || {
            (doc.with_document(|d| d.get_heads()) == want).then_some(())
        })
        .await;
    }
}
