//! The files of photos and attachments on this device (`fieldbook_shared::
//! attachments`): kept in an IndexedDB database of their own per user, by
//! the SHA-256 of their bytes, beside the documents' chunks (a new database,
//! so the chunks' database keeps its format). A file attached here is kept
//! with a mark to upload it, under its customer; the leading tab uploads
//! marked files when online (`store::transfer_attachments`) and fetches the
//! files of the book it does not have, so photos are there offline too.
//!
//! Keys: `["b", sha256]` the bytes; `["up", doc, sha256]` to upload (the
//! value is the type); `["no", doc, sha256]` refused by the server (the
//! value is why: shown, never retried).

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbTransactionMode};

use crate::error::ClientError;
use crate::idb::{committed, done, open_db};

const STORE: &str = "blobs";

async fn open(user: &str) -> Result<IdbDatabase, ClientError> {
    open_db(&format!("fieldbook-blobs-{user}"), STORE).await
}

/// A transaction on the user's files and its store.
async fn store_of(
    user: &str,
    mode: IdbTransactionMode,
) -> Result<(web_sys::IdbTransaction, web_sys::IdbObjectStore), ClientError> {
    let db = open(user).await?;
    let tx = db
        .transaction_with_str_and_mode(STORE, mode)
        .map_err(|_| "IndexedDB transaction")?;
    let store = tx.object_store(STORE).map_err(|_| "IndexedDB store")?;
    Ok((tx, store))
}

fn key(parts: &[&str]) -> JsValue {
    let a = Array::new();
    for p in parts {
        a.push(&JsValue::from_str(p));
    }
    a.into()
}

/// Every key under `[kind, …]`.
fn range(kind: &str) -> Result<JsValue, ClientError> {
    let lower = Array::of1(&JsValue::from_str(kind));
    let upper = Array::of2(&JsValue::from_str(kind), &Array::new());
    web_sys::IdbKeyRange::bound(&lower, &upper)
        .map(Into::into)
        .map_err(|_| ClientError::from("key range"))
}

/// A file waiting to be uploaded, or refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Marked {
    pub doc: String,
    pub sha256: String,
    /// The type (to upload), or the server's reason (refused).
    pub value: String,
}

/// Keeps a file; with `upload`, marks it to be uploaded under that customer
/// with that type. One transaction: the mark never exists without the bytes.
pub async fn keep(
    user: &str,
    sha256: &str,
    bytes: &[u8],
    upload: Option<(&str, &str)>,
) -> Result<(), ClientError> {
    let (tx, store) = store_of(user, IdbTransactionMode::Readwrite).await?;
    let sealed = crate::keyring::seal(bytes)?;
    store
        .put_with_key(&Uint8Array::from(&sealed[..]).into(), &key(&["b", sha256]))
        .map_err(|_| "IndexedDB put")?;
    if let Some((doc, mime)) = upload {
        store
            .put_with_key(&JsValue::from_str(mime), &key(&["up", doc, sha256]))
            .map_err(|_| "IndexedDB put")?;
    }
    committed(&tx).await
}

/// The bytes of a file, if this device has them.
pub async fn get(user: &str, sha256: &str) -> Result<Option<Vec<u8>>, ClientError> {
    let (_tx, store) = store_of(user, IdbTransactionMode::Readonly).await?;
    let v = done(
        &store
            .get(&key(&["b", sha256]))
            .map_err(|_| "IndexedDB get")?,
    )
    .await?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    crate::keyring::open(&Uint8Array::new(&v).to_vec()).map(Some)
}

/// The files this device has (their hashes).
pub async fn held(user: &str) -> Result<std::collections::HashSet<String>, ClientError> {
    let (_tx, store) = store_of(user, IdbTransactionMode::Readonly).await?;
    let keys = done(
        &store
            .get_all_keys_with_key(&range("b")?)
            .map_err(|_| "getAllKeys")?,
    )
    .await?;
    let keys: Array = keys.unchecked_into();
    Ok(keys
        .iter()
        .filter_map(|k| k.unchecked_into::<Array>().get(1).as_string())
        .collect())
}

/// The files marked `kind` ("up": to upload; "no": refused).
pub async fn marked(user: &str, kind: &str) -> Result<Vec<Marked>, ClientError> {
    let (_tx, store) = store_of(user, IdbTransactionMode::Readonly).await?;
    let r = range(kind)?;
    let (keys, values) = (
        store.get_all_keys_with_key(&r).map_err(|_| "getAllKeys")?,
        store.get_all_with_key(&r).map_err(|_| "getAll")?,
    );
    let (keys, values): (Array, Array) = (
        done(&keys).await?.unchecked_into(),
        done(&values).await?.unchecked_into(),
    );
    Ok((0..keys.length())
        .filter_map(|i| {
            let k: Array = keys.get(i).unchecked_into();
            Some(Marked {
                doc: k.get(1).as_string()?,
                sha256: k.get(2).as_string()?,
                value: values.get(i).as_string().unwrap_or_default(),
            })
        })
        .collect())
}

/// The upload of `sha256` under `doc` is done (`refused`: with this reason).
pub async fn unmark(
    user: &str,
    doc: &str,
    sha256: &str,
    refused: Option<&str>,
) -> Result<(), ClientError> {
    let (tx, store) = store_of(user, IdbTransactionMode::Readwrite).await?;
    store
        .delete(&key(&["up", doc, sha256]))
        .map_err(|_| "IndexedDB delete")?;
    if let Some(why) = refused {
        store
            .put_with_key(&JsValue::from_str(why), &key(&["no", doc, sha256]))
            .map_err(|_| "IndexedDB put")?;
    }
    committed(&tx).await
}

/// A URL the page can show the file at (revoke it when done).
pub fn object_url(bytes: &[u8], mime: &str) -> Option<String> {
    let parts = Array::of1(&Uint8Array::from(bytes).into());
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// The bytes of a chosen or photographed file.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, ClientError> {
    let buf = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| ClientError::from("the file could not be read"))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// Seals the files kept before this device's key was set up.
pub async fn reseal(user: &str) {
    let run = async {
        let (tx, store) = store_of(user, IdbTransactionMode::Readwrite).await?;
        let r = range("b")?;
        let (keys, values) = (
            store.get_all_keys_with_key(&r).map_err(|_| "getAllKeys")?,
            store.get_all_with_key(&r).map_err(|_| "getAll")?,
        );
        let (keys, values): (Array, Array) = (
            done(&keys).await?.unchecked_into(),
            done(&values).await?.unchecked_into(),
        );
        for i in 0..keys.length() {
            let stored = Uint8Array::new(&values.get(i)).to_vec();
            if !crate::keyring::is_sealed(&stored) {
                let sealed = crate::keyring::seal(&stored)?;
                store
                    .put_with_key(&Uint8Array::from(&sealed[..]).into(), &keys.get(i))
                    .map_err(|_| "IndexedDB put")?;
            }
        }
        committed(&tx).await
    };
    if let Err(e) = run.await {
        web_sys::console::error_1(&format!("files not sealed: {e}").into());
    }
}
