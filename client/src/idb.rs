//! IndexedDB storage of each document as chunks (snapshots and incremental
//! changes) keyed by their content (`[doc_id, "i" | "s", sha256]`, see
//! `fieldbook_shared::peer::chunks`): two tabs never overwrite each other's
//! chunks, and a compaction deletes only the chunks its tab knew. Releases
//! before kept `[doc_id, seq]` keys; they are read beside the new ones. A chunk
//! is stored before the UI shows its edit as saved.

use std::collections::BTreeMap;

use fieldbook_shared::peer::chunks::{ChunkKey, Compaction};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode};

use crate::error::ClientError;

const DB_NAME: &str = "fieldbook";
const STORE: &str = "chunks";

/// One write of a batch ([`Idb::write_batch`]).
#[derive(Debug, Clone)]
pub enum Op {
    Put {
        doc: String,
        key: ChunkKey,
        bytes: Vec<u8>,
    },
    Compact {
        doc: String,
        compaction: Compaction,
        snapshot: Vec<u8>,
    },
}

impl Op {
    pub fn doc(&self) -> &str {
        match self {
            Op::Put { doc, .. } | Op::Compact { doc, .. } => doc,
        }
    }
}

/// An open IndexedDB database (one per user, so two people on one tablet do not mix).
#[derive(Clone)]
pub struct Idb {
    db: IdbDatabase,
    /// A value read was not sealed (an earlier release's): `reseal` is due.
    saw_plain: std::rc::Rc<std::cell::Cell<bool>>,
}

/// Waits for an IDB request to finish.
pub(crate) async fn done(req: &IdbRequest) -> Result<JsValue, ClientError> {
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
        .map_err(|_| ClientError::from("IndexedDB result missing"))
}

/// A stored chunk of `doc`, opened (`keyring.rs`). A value no key here opens
/// (its keyring lost with part of the browser's storage) is left where it
/// is, not read: the document comes back from the server, and the app still
/// opens.
pub fn open_chunk(doc: &str, stored: &[u8]) -> Option<Vec<u8>> {
    match crate::keyring::open(stored) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            web_sys::console::error_1(
                &format!("a stored chunk of {doc} could not be opened: {e}").into(),
            );
            None
        }
    }
}

/// Waits for a transaction to commit.
pub(crate) async fn committed(tx: &web_sys::IdbTransaction) -> Result<(), ClientError> {
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
        .map_err(|_| ClientError::from("IndexedDB transaction failed"))
}

/// Opens (creating if needed) database `name` with one object store.
pub(crate) async fn open_db(name: &str, store: &'static str) -> Result<IdbDatabase, ClientError> {
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
    let db: IdbDatabase = db
        .dyn_into()
        .map_err(|_| ClientError::from("not a database"))?;
    // A deletion (a remote wipe, from any tab) is not held up by this
    // connection: it closes.
    let closing = db.clone();
    let on_change = Closure::once_into_js(move |_e: web_sys::Event| closing.close());
    db.set_onversionchange(Some(on_change.unchecked_ref()));
    Ok(db)
}

const KV_DB: &str = "fieldbook-kv";
const KV_STORE: &str = "kv";

/// Sets (or with `None` removes) `key` in a small durable key-value store and
/// waits for the commit. For the login session: Chromium writes localStorage
/// to disk lazily, so a tablet that dies just after a login would lose it.
pub async fn kv_set(key: &str, value: Option<&str>) -> Result<(), ClientError> {
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

/// Every key of the durable key-value store.
pub async fn kv_keys() -> Result<Vec<String>, ClientError> {
    let db = open_db(KV_DB, KV_STORE).await?;
    let tx = db
        .transaction_with_str(KV_STORE)
        .map_err(|_| "IndexedDB transaction")?;
    let store = tx.object_store(KV_STORE).map_err(|_| "IndexedDB store")?;
    let keys = done(&store.get_all_keys().map_err(|_| "getAllKeys")?).await?;
    Ok(keys
        .unchecked_into::<Array>()
        .iter()
        .filter_map(|k| k.as_string())
        .collect())
}

/// The value of `key` in the durable key-value store.
pub async fn kv_get(key: &str) -> Result<Option<String>, ClientError> {
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

/// The list index (`listing.rs`) lives in a database of its own beside the
/// chunks (`fieldbook-index-<user>`), one sealed value: the chunks' database
/// and its format are untouched, and a device without it lists as before.
const INDEX_STORE: &str = "index";
const INDEX_KEY: &str = "list";

fn index_db(user: &str) -> String {
    format!("fieldbook-index-{user}")
}

/// The list index kept for `user`, opened (`None`: none, or it does not open).
pub async fn read_list_index(user: &str) -> Option<Vec<u8>> {
    let read = async {
        let db = open_db(&index_db(user), INDEX_STORE).await?;
        let tx = db
            .transaction_with_str(INDEX_STORE)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx
            .object_store(INDEX_STORE)
            .map_err(|_| "IndexedDB store")?;
        let v = done(
            &store
                .get(&JsValue::from_str(INDEX_KEY))
                .map_err(|_| "IndexedDB get")?,
        )
        .await?;
        db.close();
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        let stored = v
            .dyn_into::<Uint8Array>()
            .map_err(|_| "not bytes")?
            .to_vec();
        crate::keyring::open(&stored).map(Some)
    };
    match read.await {
        Ok(v) => v,
        Err(e) => {
            let e: ClientError = e;
            web_sys::console::error_1(&format!("the list index was not read: {e}").into());
            None
        }
    }
}

/// Keeps `bytes` (sealed) as the list index of `user`.
pub async fn write_list_index(user: &str, bytes: &[u8]) -> Result<(), ClientError> {
    let sealed = crate::keyring::seal(bytes)?;
    let db = open_db(&index_db(user), INDEX_STORE).await?;
    let tx = db
        .transaction_with_str_and_mode(INDEX_STORE, IdbTransactionMode::Readwrite)
        .map_err(|_| "IndexedDB transaction")?;
    let store = tx
        .object_store(INDEX_STORE)
        .map_err(|_| "IndexedDB store")?;
    store
        .put_with_key(
            &Uint8Array::from(&sealed[..]).into(),
            &JsValue::from_str(INDEX_KEY),
        )
        .map_err(|_| "IndexedDB put")?;
    committed(&tx).await?;
    db.close();
    Ok(())
}

impl Idb {
    /// Opens (creating if needed) the database of `user`.
    pub async fn open(user: &str) -> Result<Idb, ClientError> {
        Ok(Idb {
            db: open_db(&format!("{DB_NAME}-{user}"), STORE).await?,
            saw_plain: Default::default(),
        })
    }

    fn key(doc: &str, key: &ChunkKey) -> JsValue {
        let a = Array::new();
        a.push(&JsValue::from_str(doc));
        match key {
            ChunkKey::Legacy(seq) => {
                a.push(&JsValue::from(*seq));
            }
            ChunkKey::Incremental(hash) => {
                a.push(&JsValue::from_str("i"));
                a.push(&JsValue::from_str(hash));
            }
            ChunkKey::Snapshot(hash) => {
                a.push(&JsValue::from_str("s"));
                a.push(&JsValue::from_str(hash));
            }
        }
        a.into()
    }

    /// Reads a stored key back (`None`: not a chunk key of ours).
    fn parse_key(k: &Array) -> Option<(String, ChunkKey)> {
        let doc = k.get(0).as_string()?;
        let second = k.get(1);
        let key = if let Some(seq) = second.as_f64() {
            ChunkKey::Legacy(seq as u32)
        } else {
            let hash = k.get(2).as_string()?;
            match second.as_string()?.as_str() {
                "i" => ChunkKey::Incremental(hash),
                "s" => ChunkKey::Snapshot(hash),
                _ => return None,
            }
        };
        Some((doc, key))
    }

    /// Every key of `doc`, whatever its form: `[doc]` sorts before them all and
    /// `[doc, []]` after (arrays sort after numbers and strings).
    fn range_of(doc: &str) -> Result<web_sys::IdbKeyRange, ClientError> {
        let lower = Array::of1(&JsValue::from_str(doc));
        let upper = Array::of2(&JsValue::from_str(doc), &Array::new());
        web_sys::IdbKeyRange::bound(&lower, &upper).map_err(|_| ClientError::from("key range"))
    }

    /// The chunks under `range` (every key when `None`), opened (`open`) or
    /// as stored.
    async fn read(
        &self,
        range: Option<&JsValue>,
        open: bool,
    ) -> Result<Vec<(String, ChunkKey, Vec<u8>)>, ClientError> {
        let tx = self
            .db
            .transaction_with_str(STORE)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        let (keys, values) = match range {
            Some(r) => (
                store.get_all_keys_with_key(r).map_err(|_| "getAllKeys")?,
                store.get_all_with_key(r).map_err(|_| "getAll")?,
            ),
            None => (
                store.get_all_keys().map_err(|_| "getAllKeys")?,
                store.get_all().map_err(|_| "getAll")?,
            ),
        };
        let (keys, values) = (done(&keys).await?, done(&values).await?);
        let (keys, values): (Array, Array) = (keys.unchecked_into(), values.unchecked_into());
        let mut out = Vec::new();
        for i in 0..keys.length() {
            if let Some((doc, key)) = Self::parse_key(&keys.get(i).unchecked_into()) {
                // Sealed at rest (`keyring.rs`); an earlier release's value as it is.
                let stored = Uint8Array::new(&values.get(i)).to_vec();
                if !crate::keyring::is_sealed(&stored) {
                    self.saw_plain.set(true);
                }
                if !open {
                    out.push((doc, key, stored));
                    continue;
                }
                if let Some(bytes) = open_chunk(&doc, &stored) {
                    out.push((doc, key, bytes));
                }
            }
        }
        Ok(out)
    }

    /// Seals every value an earlier release (or a device not yet set up)
    /// stored as it was, under the same keys, in one transaction; answers how
    /// many. Run once the key is open.
    pub async fn reseal(&self) -> Result<usize, ClientError> {
        if !crate::keyring::sealing() || !self.saw_plain.get() {
            return Ok(0);
        }
        self.saw_plain.set(false);
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        let (keys, values) = (
            store.get_all_keys().map_err(|_| "getAllKeys")?,
            store.get_all().map_err(|_| "getAll")?,
        );
        let (keys, values): (Array, Array) = (
            done(&keys).await?.unchecked_into(),
            done(&values).await?.unchecked_into(),
        );
        let mut n = 0;
        for i in 0..keys.length() {
            let stored = Uint8Array::new(&values.get(i)).to_vec();
            if crate::keyring::is_sealed(&stored) {
                continue;
            }
            let sealed = crate::keyring::seal(&stored)?;
            store
                .put_with_key(&Uint8Array::from(&sealed[..]).into(), &keys.get(i))
                .map_err(|_| "IndexedDB put")?;
            n += 1;
        }
        committed(&tx).await?;
        Ok(n)
    }

    /// Every stored document: id -> its chunks (any order loads the same),
    /// still sealed: `open_chunk` opens them, a slice of documents at a time
    /// (`Engine::load_slice`), so the first customers show before the last
    /// are opened.
    pub async fn load_all(
        &self,
    ) -> Result<BTreeMap<String, Vec<(ChunkKey, Vec<u8>)>>, ClientError> {
        let mut out: BTreeMap<String, Vec<(ChunkKey, Vec<u8>)>> = BTreeMap::new();
        for (doc, key, bytes) in self.read(None, false).await? {
            out.entry(doc).or_default().push((key, bytes));
        }
        for chunks in out.values_mut() {
            chunks.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(out)
    }

    /// The chunks of one document (another tab may have written some).
    pub async fn load_doc(&self, doc: &str) -> Result<Vec<(ChunkKey, Vec<u8>)>, ClientError> {
        let range: JsValue = Self::range_of(doc)?.into();
        Ok(self
            .read(Some(&range), true)
            .await?
            .into_iter()
            .map(|(_, k, b)| (k, b))
            .collect())
    }

    /// Writes many chunks in one transaction, in order (a first sync brings
    /// thousands of documents: one commit for many of them, not one each).
    /// The write is queued at once; the future resolves when it is committed.
    pub fn write_batch(
        &self,
        ops: &[Op],
    ) -> Result<impl Future<Output = Result<(), ClientError>> + use<>, ClientError> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        for op in ops {
            match op {
                Op::Put { doc, key, bytes } => {
                    let sealed = crate::keyring::seal(bytes)?;
                    store
                        .put_with_key(&Uint8Array::from(&sealed[..]).into(), &Self::key(doc, key))
                        .map_err(|_| "IndexedDB put")?;
                }
                Op::Compact {
                    doc,
                    compaction,
                    snapshot,
                } => {
                    let sealed = crate::keyring::seal(snapshot)?;
                    store
                        .put_with_key(
                            &Uint8Array::from(&sealed[..]).into(),
                            &Self::key(doc, &compaction.write),
                        )
                        .map_err(|_| "IndexedDB put")?;
                    for k in &compaction.delete {
                        store
                            .delete(&Self::key(doc, k))
                            .map_err(|_| "IndexedDB delete")?;
                    }
                }
            }
        }
        Ok(async move { committed(&tx).await })
    }

    /// Deletes every chunk of `doc` (a customer the user may no longer open).
    pub fn delete(
        &self,
        doc: &str,
    ) -> Result<impl Future<Output = Result<(), ClientError>> + use<>, ClientError> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        store
            .delete(&Self::range_of(doc)?.into())
            .map_err(|_| "IndexedDB delete")?;
        Ok(async move { committed(&tx).await })
    }

    /// Writes a snapshot and deletes the chunks it replaces (only those this
    /// tab knew), in one transaction; queued at once like [`Idb::put`].
    pub fn compact(
        &self,
        doc: &str,
        compaction: &Compaction,
        snapshot: &[u8],
    ) -> Result<impl Future<Output = Result<(), ClientError>> + use<>, ClientError> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
        let sealed = crate::keyring::seal(snapshot)?;
        store
            .put_with_key(
                &Uint8Array::from(&sealed[..]).into(),
                &Self::key(doc, &compaction.write),
            )
            .map_err(|_| "IndexedDB put")?;
        for k in &compaction.delete {
            store
                .delete(&Self::key(doc, k))
                .map_err(|_| "IndexedDB delete")?;
        }
        Ok(async move { committed(&tx).await })
    }
}
