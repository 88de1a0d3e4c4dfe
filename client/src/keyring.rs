//! Encryption at rest 数据加密 (docs/security.md, "At rest"): what this tablet
//! keeps of a user — the documents' chunks, the attachments' files, the
//! outbox, drafts and kept report copies — is sealed with AES-256-GCM under a
//! random key of this user on this device (the data key). The data key is
//! never stored as it is: it is kept wrapped twice, in the key-value store —
//!
//! * under a key derived from the user's password (PBKDF2-SHA256, 600,000
//!   rounds, through WebCrypto), so the signed-in manager unlocks the
//!   tablet with their password at each start, offline too;
//! * under an escrow key the server keeps for this user and device
//!   (`POST /api/device-key`, released only to that user signed in), so a
//!   password changed or reset elsewhere does not lock the tablet out of its
//!   own data: the next online unlock with the new password rewraps it.
//!
//! The data key lives only in this tab's memory once unlocked. A sealed value
//! is `FBE1 | 12-byte nonce | ciphertext`; anything else is a value written
//! before this release, read as it is and sealed when next written
//! (`Idb::reseal`). A key is set up only after the server has confirmed the
//! password (a typo offline must not become the key): until the first
//! online unlock after the upgrade, the tablet goes on without one.

use std::cell::RefCell;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::error::ClientError;

/// PBKDF2 rounds for the password key (OWASP's figure for PBKDF2-SHA256).
pub const ROUNDS: u32 = 600_000;

const MAGIC: &[u8; 4] = b"FBE1";

/// The state of this tab's key.
enum State {
    /// Not unlocked: nothing may be read or written.
    Locked,
    /// A device of an earlier release not yet set up: values stay as they
    /// were until the next online unlock sets a key up.
    Plain,
    Open(Box<Aes256Gcm>),
}

thread_local! {
    static STATE: RefCell<State> = const { RefCell::new(State::Locked) };
}

/// The keyring as kept (`fieldbook.keyring.<user>` in the key-value store).
#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Kept {
    v: u32,
    /// This device's id for the escrow key.
    device: String,
    salt: String,
    rounds: u32,
    /// The data key sealed under the password key, hex.
    by_password: String,
    /// The data key sealed under the escrow key, hex ("" if not yet).
    by_escrow: String,
}

fn kept_key(user: &str) -> String {
    format!("fieldbook.keyring.{user}")
}

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    let _ = getrandom::fill(&mut b);
    b
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn seal_with(cipher: &Aes256Gcm, plain: &[u8]) -> Vec<u8> {
    let nonce = random(12);
    let mut out = Vec::with_capacity(plain.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    // Encryption with a fresh nonce cannot fail for our sizes.
    out.extend(
        cipher
            .encrypt(Nonce::from_slice(&nonce), plain)
            .unwrap_or_default(),
    );
    out
}

fn open_with(cipher: &Aes256Gcm, sealed: &[u8]) -> Option<Vec<u8>> {
    let body = sealed.strip_prefix(MAGIC)?;
    let (nonce, ct) = body.split_at_checked(12)?;
    cipher.decrypt(Nonce::from_slice(nonce), ct).ok()
}

fn cipher(key: &[u8]) -> Option<Aes256Gcm> {
    Aes256Gcm::new_from_slice(key).ok()
}

/// Whether `bytes` are sealed.
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Seals a value for storage (as it is on a device not yet set up).
pub fn seal(plain: &[u8]) -> Result<Vec<u8>, ClientError> {
    STATE.with_borrow(|s| match s {
        State::Open(c) => Ok(seal_with(c, plain)),
        State::Plain => Ok(plain.to_vec()),
        State::Locked => Err(ClientError::from(
            "本机数据已锁定 / this device's data is locked",
        )),
    })
}

/// Reads a stored value: sealed ones are opened, earlier ones read as they are.
pub fn open(stored: &[u8]) -> Result<Vec<u8>, ClientError> {
    if !is_sealed(stored) {
        return Ok(stored.to_vec());
    }
    STATE.with_borrow(|s| match s {
        State::Open(c) => open_with(c, stored).ok_or_else(|| {
            ClientError::from("本机数据无法解密 / a stored value could not be decrypted")
        }),
        _ => Err(ClientError::from(
            "本机数据已锁定 / this device's data is locked",
        )),
    })
}

/// Seals text (a kept copy, a draft) as hex; as it is on a device not set up.
pub fn seal_text(plain: &str) -> Result<String, ClientError> {
    let sealed = seal(plain.as_bytes())?;
    Ok(if is_sealed(&sealed) {
        format!("fbe1:{}", hex(&sealed))
    } else {
        plain.to_string()
    })
}

/// Reads text written by [`seal_text`] (or before it).
pub fn open_text(stored: &str) -> Result<String, ClientError> {
    match stored.strip_prefix("fbe1:") {
        Some(h) => {
            let bytes = unhex(h).ok_or_else(|| ClientError::from("not hex"))?;
            String::from_utf8(open(&bytes)?).map_err(|_| ClientError::from("not text"))
        }
        None => Ok(stored.to_string()),
    }
}

/// Whether this tab holds the key (or needs none yet).
pub fn unlocked() -> bool {
    STATE.with_borrow(|s| !matches!(s, State::Locked))
}

/// Whether values are sealed (a key is set up and open).
pub fn sealing() -> bool {
    STATE.with_borrow(|s| matches!(s, State::Open(_)))
}

/// Forgets the key (sign-out).
pub fn lock() {
    STATE.with_borrow_mut(|s| *s = State::Locked);
}

/// The password key: PBKDF2-SHA256 through WebCrypto (native speed).
async fn password_key(password: &str, salt: &[u8], rounds: u32) -> Result<Aes256Gcm, ClientError> {
    let subtle = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.subtle())
        .ok_or("this browser has no WebCrypto")?;
    let fail = |_| ClientError::from("WebCrypto failed");
    let base = wasm_bindgen_futures::JsFuture::from(
        subtle
            .import_key_with_str(
                "raw",
                &Uint8Array::from(password.as_bytes()).into(),
                "PBKDF2",
                false,
                &js_sys::Array::of1(&"deriveBits".into()),
            )
            .map_err(fail)?,
    )
    .await
    .map_err(fail)?;
    let params = Object::new();
    let set = |k: &str, v: JsValue| Reflect::set(&params, &k.into(), &v).map_err(fail);
    set("name", "PBKDF2".into())?;
    set("hash", "SHA-256".into())?;
    set("salt", Uint8Array::from(salt).into())?;
    set("iterations", rounds.into())?;
    let bits = wasm_bindgen_futures::JsFuture::from(
        subtle
            .derive_bits_with_object(&params, base.unchecked_ref(), 256)
            .map_err(fail)?,
    )
    .await
    .map_err(fail)?;
    cipher(&Uint8Array::new(&bits).to_vec()).ok_or_else(|| ClientError::from("key"))
}

async fn load(user: &str) -> Option<Kept> {
    let text = crate::idb::kv_get(&kept_key(user)).await.ok()??;
    serde_json::from_str(&text).ok()
}

async fn save(user: &str, k: &Kept) -> Result<(), ClientError> {
    let text = serde_json::to_string(k).map_err(|e| e.to_string())?;
    crate::idb::kv_set(&kept_key(user), Some(&text)).await
}

/// The escrow key of this user's device, from the server (`None` offline).
async fn escrow(token: &str, device: &str) -> Option<Aes256Gcm> {
    let body = serde_json::json!({ "device": device }).to_string();
    match crate::http::call("POST", "/api/device-key", Some(token), Some(body)).await {
        Ok((200, text)) => {
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            cipher(&unhex(v["key"].as_str()?)?)
        }
        _ => None,
    }
}

/// Why an unlock failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// The password does not open this device's key (offline, or the
    /// server refused it too).
    WrongPassword,
    /// Something else, in words.
    Other(String),
}

/// Unlocks with the password, setting the key up if this device has none.
/// `verified`: the server has just accepted this password (a login), with
/// the session's token, so a key may be set up or rewrapped under it.
pub async fn unlock(user: &str, password: &str, verified: Option<&str>) -> Result<(), Refused> {
    let other = |e: ClientError| Refused::Other(e.to_string());
    let Some(mut kept) = load(user).await else {
        let Some(token) = verified else {
            // An earlier release's device, offline: go on as before; the key
            // is set up at the next online unlock.
            STATE.with_borrow_mut(|s| *s = State::Plain);
            return Ok(());
        };
        let data_key = random(32);
        let salt = random(16);
        let device = hex(&random(16));
        let by_password = seal_with(
            &password_key(password, &salt, ROUNDS).await.map_err(other)?,
            &data_key,
        );
        let by_escrow = escrow(token, &device)
            .await
            .map(|e| hex(&seal_with(&e, &data_key)))
            .unwrap_or_default();
        let k = Kept {
            v: 1,
            device,
            salt: hex(&salt),
            rounds: ROUNDS,
            by_password: hex(&by_password),
            by_escrow,
        };
        save(user, &k).await.map_err(other)?;
        let c = cipher(&data_key).ok_or_else(|| Refused::Other("key".into()))?;
        STATE.with_borrow_mut(|s| *s = State::Open(Box::new(c)));
        return Ok(());
    };
    let salt = unhex(&kept.salt).unwrap_or_default();
    let by_password = unhex(&kept.by_password).unwrap_or_default();
    let pk = password_key(password, &salt, kept.rounds)
        .await
        .map_err(other)?;
    let mut data_key = open_with(&pk, &by_password);
    let mut changed = false;
    if data_key.is_none() {
        // Not this device's password: a new one (changed or reset), which
        // only the server can confirm; the escrow then opens the key.
        let (Some(token), Some(by_escrow)) = (verified, unhex(&kept.by_escrow)) else {
            return Err(Refused::WrongPassword);
        };
        let Some(e) = escrow(token, &kept.device).await else {
            return Err(Refused::WrongPassword);
        };
        data_key = open_with(&e, &by_escrow);
        let Some(k) = &data_key else {
            return Err(Refused::WrongPassword);
        };
        let salt = random(16);
        kept.salt = hex(&salt);
        kept.rounds = ROUNDS;
        kept.by_password = hex(&seal_with(
            &password_key(password, &salt, ROUNDS).await.map_err(other)?,
            k,
        ));
        changed = true;
    }
    let Some(data_key) = data_key else {
        return Err(Refused::WrongPassword);
    };
    // A key set up offline-less before escrow existed gets its escrow now.
    if kept.by_escrow.is_empty()
        && let Some(token) = verified
        && let Some(e) = escrow(token, &kept.device).await
    {
        kept.by_escrow = hex(&seal_with(&e, &data_key));
        changed = true;
    }
    if changed {
        save(user, &kept).await.map_err(other)?;
    }
    let c = cipher(&data_key).ok_or_else(|| Refused::Other("key".into()))?;
    STATE.with_borrow_mut(|s| *s = State::Open(Box::new(c)));
    Ok(())
}

/// Whether this device has a key set up for `user`.
pub async fn is_set_up(user: &str) -> bool {
    load(user).await.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_earlier_values_read_as_they_are() {
        let (a, b) = (cipher(&[1u8; 32]).unwrap(), cipher(&[2u8; 32]).unwrap());
        let sealed = seal_with(&a, b"customer chunk");
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(8).any(|w| w == b"customer"));
        assert_eq!(open_with(&a, &sealed).unwrap(), b"customer chunk");
        assert_eq!(open_with(&b, &sealed), None, "another key");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(open_with(&a, &tampered), None, "a changed byte");
        // Automerge chunks begin with their own magic, never ours.
        assert!(!is_sealed(&[0x85, 0x6f, 0x4a, 0x83]));
        assert_eq!(unhex(&hex(&[0, 15, 255])).unwrap(), [0, 15, 255]);
        assert_eq!(unhex("zz"), None);
    }
}
