//! IndexedDB storage of each document as a list of chunks (a snapshot and the
//! incremental changes after it), keyed `[doc_id, seq]`. A chunk is stored before
//! the UI shows its edit as saved.

use std::collections::BTreeMap;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode};

const DB_NAME: &str = "fieldbook";
const STORE: &str = "chunks";

/// An open IndexedDB database (one per user, so two people on one tablet do not mix).
#[derive(Clone)]
pub struct Idb {
    db: IdbDatabase,
}

/// Waits for an IDB request to finish.
async fn done(req: &IdbRequest) -> Result<JsValue, String> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |_e: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let err = Closure::once_into_js(move |_e: web_sys::Event| {
            let _ = reject.call0(&JsValue::NULL);
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(err.unchecked_ref()));
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| {
            req.error()
                .ok()
                .flatten()
                .map(|e| e.message())
                .unwrap_or_else(|| "IndexedDB request failed".into())
        })?;
    req.result()
        .map_err(|_| "IndexedDB result missing".to_string())
}

/// Waits for a transaction to commit.
async fn committed(tx: &web_sys::IdbTransaction) -> Result<(), String> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |_e: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let err = Closure::once_into_js(move |_e: web_sys::Event| {
            let _ = reject.call0(&JsValue::NULL);
        });
        tx.set_oncomplete(Some(ok.unchecked_ref()));
        tx.set_onerror(Some(err.unchecked_ref()));
        tx.set_onabort(Some(err.unchecked_ref()));
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|_| "IndexedDB transaction failed".to_string())
}

/// Opens (creating if needed) database `name` with one object store.
async fn open_db(name: &str, store: &'static str) -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser has no IndexedDB")?;
    let req = factory
        .open_with_u32(name, 1)
        .map_err(|_| "cannot open IndexedDB")?;
    let upgrade = Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(
        move |e: web_sys::IdbVersionChangeEvent| {
            let Some(req) = e.target().and_then(|t| t.dyn_into::<IdbRequest>().ok()) else {
                return;
            };
            if let Ok(db) = req.result().and_then(|r| r.dyn_into::<IdbDatabase>())
                && !db.object_store_names().contains(store)
            {
                let _ = db.create_object_store(store);
            }
        },
    );
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = done(&req).await?;
    drop(upgrade);
    db.dyn_into().map_err(|_| "not a database".to_string())
}

const KV_DB: &str = "fieldbook-kv";
const KV_STORE: &str = "kv";

/// Sets (or with `None` removes) `key` in a small durable key-value store and
/// waits for the commit. For the login session: Chromium writes localStorage
/// to disk lazily, so a tablet that dies just after a login would lose it.
pub async fn kv_set(key: &str, value: Option<&str>) -> Result<(), String> {
    let db = open_db(KV_DB, KV_STORE).await?;
    let tx = db
        .transaction_with_str_and_mode(KV_STORE, IdbTransactionMode::Readwrite)
        .map_err(|_| "IndexedDB transaction")?;
    let store = tx.object_store(KV_STORE).map_err(|_| "IndexedDB store")?;
    match value {
        Some(v) => store.put_with_key(&JsValue::from_str(v), &JsValue::from_str(key)),
        None => store.delete(&JsValue::from_str(key)),
    }
    .map_err(|_| "IndexedDB write")?;
    committed(&tx).await
}

/// The value of `key` in the durable key-value store.
pub async fn kv_get(key: &str) -> Result<Option<String>, String> {
    let db = open_db(KV_DB, KV_STORE).await?;
    let tx = db
        .transaction_with_str(KV_STORE)
        .map_err(|_| "IndexedDB transaction")?;
    let store = tx.object_store(KV_STORE).map_err(|_| "IndexedDB store")?;
    let v = done(
        &store
            .get(&JsValue::from_str(key))
            .map_err(|_| "IndexedDB get")?,
    )
    .await?;
    Ok(v.as_string())
}

impl Idb {
    /// Opens (creating if needed) the database of `user`.
    pub async fn open(user: &str) -> Result<Idb, String> {
        Ok(Idb {
            db: open_db(&format!("{DB_NAME}-{user}"), STORE).await?,
        })
    }

    fn key(doc: &str, seq: u32) -> JsValue {
        let a = Array::new();
        a.push(&JsValue::from_str(doc));
        a.push(&JsValue::from(seq));
        a.into()
    }

    /// Every stored document: id -> chunks in order.
    pub async fn load_all(&self) -> Result<BTreeMap<String, Vec<(u32, Vec<u8>)>>, String> {
        let tx = self
            .db
            .transaction_with_str(STORE)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        let keys = done(&store.get_all_keys().map_err(|_| "getAllKeys")?).await?;
        let values = done(&store.get_all().map_err(|_| "getAll")?).await?;
        let (keys, values): (Array, Array) = (keys.unchecked_into(), values.unchecked_into());
        let mut out: BTreeMap<String, Vec<(u32, Vec<u8>)>> = BTreeMap::new();
        for i in 0..keys.length() {
            let k: Array = keys.get(i).unchecked_into();
            let (Some(doc), Some(seq)) = (k.get(0).as_string(), k.get(1).as_f64()) else {
                continue;
            };
            let bytes = Uint8Array::new(&values.get(i)).to_vec();
            out.entry(doc).or_default().push((seq as u32, bytes));
        }
        for chunks in out.values_mut() {
            chunks.sort_by_key(|c| c.0);
        }
        Ok(out)
    }

    /// Stores one chunk of `doc`. The write is queued at once (IndexedDB runs
    /// read-write transactions in the order they were created, so chunks stay in
    /// order); the returned future resolves when it is committed.
    pub fn put(
        &self,
        doc: &str,
        seq: u32,
        bytes: &[u8],
    ) -> Result<impl Future<Output = Result<(), String>> + use<>, String> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        store
            .put_with_key(&Uint8Array::from(bytes).into(), &Self::key(doc, seq))
            .map_err(|_| "IndexedDB put")?;
        Ok(async move { committed(&tx).await })
    }

    /// Deletes every chunk of `doc` (a customer the user may no longer open).
    pub fn delete(
        &self,
        doc: &str,
    ) -> Result<impl Future<Output = Result<(), String>> + use<>, String> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        let range = web_sys::IdbKeyRange::bound(&Self::key(doc, 0), &Self::key(doc, u32::MAX))
            .map_err(|_| "key range")?;
        store.delete(&range).map_err(|_| "IndexedDB delete")?;
        Ok(async move { committed(&tx).await })
    }

    /// Replaces every chunk of `doc` with one snapshot, atomically; queued at once
    /// like [`Idb::put`].
    pub fn compact(
        &self,
        doc: &str,
        snapshot: &[u8],
    ) -> Result<impl Future<Output = Result<(), String>> + use<>, String> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        let range = web_sys::IdbKeyRange::bound(&Self::key(doc, 0), &Self::key(doc, u32::MAX))
            .map_err(|_| "key range")?;
        store.delete(&range).map_err(|_| "IndexedDB delete")?;
        store
            .put_with_key(&Uint8Array::from(snapshot).into(), &Self::key(doc, 0))
            .map_err(|_| "IndexedDB put")?;
        Ok(async move { committed(&tx).await })
    }
}
