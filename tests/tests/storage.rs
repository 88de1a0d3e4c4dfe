//! The SQLite storage when another connection holds the write lock (the
//! projection does, for a few milliseconds at a time): a write waits for it,
//! is not reported done meanwhile, and lands once the lock is free.

use std::time::Duration;

use fieldbook_server::store::db::Db;
use fieldbook_server::store::storage::SqlStorage;
use samod::storage::{Storage, StorageKey};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waits_out_another_connections_lock_and_lands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fieldbook.db");
    Db::open(&path).expect("create the schema");
    let (tx, mut changed) = tokio::sync::mpsc::unbounded_channel();
    let storage = SqlStorage::open(&path.clone().into(), tx).expect("open storage");

    let other = rusqlite::Connection::open(&path).expect("second connection");
    other
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the lock");

    let key = StorageKey::from_parts(["doc1", "incremental", "abc"]).expect("key");
    let put = storage.put(key.clone(), b"visit".to_vec());
    tokio::pin!(put);
    // Longer than the storage writer's wait between tries, many times over.
    let held = tokio::time::timeout(Duration::from_millis(300), &mut put).await;
    assert!(
        held.is_err(),
        "a write was reported done while the lock was held"
    );
    let barrier = tokio::time::timeout(Duration::from_millis(50), storage.barrier()).await;
    assert!(
        barrier.is_err(),
        "the send barrier let a message out before its change was on disk"
    );
    assert!(changed.try_recv().is_err(), "projection was told too early");

    other.execute_batch("COMMIT").expect("free the lock");
    tokio::time::timeout(Duration::from_secs(10), put)
        .await
        .expect("the write lands once the lock is free");
    assert_eq!(storage.load(key).await.as_deref(), Some(&b"visit"[..]));
    assert_eq!(changed.recv().await.as_deref(), Some("doc1"));
}

/// Committed pages reach the database file while the server runs, copied
/// from the write-ahead log by the checkpointer thread: the storage
/// writer's own commits never checkpoint (a checkpoint inside its commit
/// held up every synced change behind it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_copied_into_the_database_file_beside_the_writer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fieldbook.db");
    Db::open(&path).expect("create the schema");
    let main_file = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let (tx, _changed) = tokio::sync::mpsc::unbounded_channel();
    let storage = SqlStorage::open(&path.clone().into(), tx).expect("open storage");
    let before = main_file();
    // About 2 MB of documents: far fewer pages than SQLite's own
    // threshold (1,000), which the writer no longer acts on anyway.
    for i in 0..64 {
        let key = StorageKey::from_parts([format!("doc{i}"), "snapshot".into(), "x".into()])
            .expect("key");
        storage.put(key, vec![i as u8; 32 * 1024]).await;
    }
    let grown = async {
        while main_file() < before + 1024 * 1024 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), grown)
        .await
        .expect("the database file did not grow: nothing was checkpointed");
    let key = StorageKey::from_parts(["doc7", "snapshot", "x"]).expect("key");
    assert_eq!(storage.load(key).await, Some(vec![7u8; 32 * 1024]));
}
