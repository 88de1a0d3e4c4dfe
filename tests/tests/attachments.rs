//! Photos and attachments (`server/src/http/attachments.rs`): uploaded under a
//! customer, checked against their SHA-256, size and type, and read only by
//! those who may read the customer. Real server, real HTTP.

use fieldbook_shared::attachments::{MAX_BYTES, hash_of};
use fieldbook_shared::customer::Customer;
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::TestServer;

fn doc_of(url: &str) -> &str {
    url.trim_start_matches("automerge:")
}

async fn put(
    server: &TestServer,
    token: &str,
    doc: &str,
    hash: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .put(format!(
            "{}/api/customers/{doc}/attachments/{hash}",
            server.base()
        ))
        .bearer_auth(token)
        .header("content-type", mime)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn get(server: &TestServer, token: &str, doc: &str, hash: &str) -> (u16, String, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/customers/{doc}/attachments/{hash}",
            server.base()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let mime = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, mime, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_is_stored_once_checked_and_read_only_by_who_sees_the_customer() {
    let mut server = TestServer::new();
    let east = Customer::new("附件东区公司", "", Nature::Enterprise, vec![Line::Delivery]);
    let west = Customer::new("附件西区公司", "", Nature::Enterprise, vec![Line::Delivery]);
    let east = server.seed_customer(&east, "m1", None).await;
    let west = server.seed_customer(&west, "m3", None).await;
    server.start().await;
    let (m1, m3, head1, head2) = (
        server.login("m1").await.token,
        server.login("m3").await.token,
        server.login("head1").await.token,
        server.login("head2").await.token,
    );
    let (east, west) = (doc_of(&east), doc_of(&west));
    let photo: Vec<u8> = b"\x89PNG\r\n\x1a\n a business card".to_vec();
    let hash = hash_of(&photo);

    // The manager uploads; a second upload is idempotent.
    let (s, body) = put(&server, &m1, east, &hash, "image/png", photo.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["already"], false);
    let (s, body) = put(&server, &m1, east, &hash, "image/png", photo.clone()).await;
    assert_eq!((s, &body["already"]), (200, &serde_json::json!(true)));

    // Read back by the manager and by the head over the customer.
    for who in [&m1, &head1] {
        let (s, mime, bytes) = get(&server, who, east, &hash).await;
        assert_eq!((s, mime.as_str()), (200, "image/png"));
        assert_eq!(bytes, photo);
    }
    // Not by another unit's manager or head, and not through their own
    // customer either: the file was never attached there.
    for (who, doc) in [(&m3, east), (&head2, east), (&m3, west)] {
        let (s, _, bytes) = get(&server, who, doc, &hash).await;
        assert_eq!(s, 404);
        assert_ne!(bytes, photo);
    }
    // Nobody uploads to a customer they may not write.
    let (s, body) = put(&server, &m3, east, &hash, "image/png", photo.clone()).await;
    assert_eq!(s, 403, "{body}");

    // Bytes that do not match their name, a type a browser would run, a
    // file over the limit: refused with the reason, nothing stored.
    let (s, body) = put(&server, &m1, east, &hash, "image/png", b"other".to_vec()).await;
    assert_eq!(s, 400);
    assert!(
        body["error"].as_str().unwrap().contains("SHA-256"),
        "{body}"
    );
    let page = b"<script>alert(1)</script>".to_vec();
    let (s, body) = put(
        &server,
        &m1,
        east,
        &hash_of(&page),
        "text/html",
        page.clone(),
    )
    .await;
    assert_eq!(s, 415);
    assert!(body["error"].as_str().unwrap().contains("PDF"), "{body}");
    let big = vec![7u8; MAX_BYTES + 1];
    let (s, body) = put(
        &server,
        &m1,
        east,
        &hash_of(&big),
        "image/jpeg",
        big.clone(),
    )
    .await;
    assert_eq!(s, 413);
    assert!(body["error"].as_str().unwrap().contains("10 MB"), "{body}");
    let (s, _, _) = get(&server, &m1, east, &hash_of(&big)).await;
    assert_eq!(s, 404);
    // Exactly at the limit is fine.
    let most = vec![8u8; MAX_BYTES];
    let (s, body) = put(&server, &m1, east, &hash_of(&most), "application/pdf", most).await;
    assert_eq!(s, 200, "{body}");

    let db = server.sql();
    let stored: i64 = db
        .query_row("SELECT COUNT(*) FROM blobs", (), |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 2, "the photo once, and the PDF");
}
