//! Moving the files of photos and attachments (`blobs.rs` keeps them): the
//! leading tab uploads the files attached on this device and fetches the
//! book's files it lacks, when online, one at a time, with progress for the
//! sync panel. A refusal (too large, a wrong type) is kept with the server's
//! reason and shown; a customer the server does not know yet (registered
//! offline, not yet synced) is simply tried again on the next pass.

use std::collections::HashSet;

use fieldbook_shared::attachments::hash_of;

use crate::blobs::{self, Marked};
use crate::store::Store;

/// Files fetched at most per pass (each up to 10 MB), so one pass ends soon.
const FETCH_PER_PASS: usize = 30;

/// How often the leading tab looks for files to move (also after each
/// attach and when the connection comes back).
pub const PASS_EVERY_MS: u32 = 20_000;

/// What the sync panel shows of the files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileStatus {
    /// Attached here, not yet on the server.
    pub to_upload: Vec<Marked>,
    /// Refused by the server, with its reason.
    pub refused: Vec<Marked>,
    /// The upload running: (done, of).
    pub progress: Option<(usize, usize)>,
    /// Files this device holds.
    pub held: HashSet<String>,
    /// A pass is running.
    pub busy: bool,
}

impl FileStatus {
    /// Whether the file `sha256` of `doc` still waits for its upload.
    pub fn waiting(&self, doc: &str, sha256: &str) -> bool {
        self.to_upload
            .iter()
            .any(|m| m.doc == doc && m.sha256 == sha256)
    }

    /// The server's refusal of that file, if it refused it.
    pub fn refusal(&self, doc: &str, sha256: &str) -> Option<&str> {
        self.refused
            .iter()
            .find(|m| m.doc == doc && m.sha256 == sha256)
            .map(|m| m.value.as_str())
    }
}

fn path(doc: &str, sha256: &str) -> String {
    format!("/api/customers/{doc}/attachments/{sha256}")
}

/// Reads the marks and held files again (every tab, offline too).
async fn refresh(store: &Store, user: &str) {
    let (up, no, held) = (
        blobs::marked(user, "up").await.unwrap_or_default(),
        blobs::marked(user, "no").await.unwrap_or_default(),
        blobs::held(user).await.unwrap_or_default(),
    );
    let mut e = store.borrow_mut();
    e.files.to_upload = up;
    e.files.refused = no;
    e.files.held = held;
}

/// One pass: upload what waits, then fetch what the book lacks (leader,
/// online); every tab refreshes what it shows.
pub fn pass(store: &Store) {
    let (user, token, may_move) = {
        let mut e = store.borrow_mut();
        if e.files.busy {
            return;
        }
        e.files.busy = true;
        let s = e.status();
        (
            e.session.user.username.clone(),
            e.session.token.clone(),
            s.leader && s.online,
        )
    };
    let store = store.clone();
    wasm_bindgen_futures::spawn_local(async move {
        refresh(&store, &user).await;
        if may_move {
            upload(&store, &user, &token).await;
            fetch(&store, &user, &token).await;
            refresh(&store, &user).await;
        }
        {
            let mut e = store.borrow_mut();
            e.files.busy = false;
            e.files.progress = None;
        }
        crate::store::Engine::redraw_soon(&store);
    });
}

async fn upload(store: &Store, user: &str, token: &str) {
    let waiting = store.borrow().files.to_upload.clone();
    for (i, m) in waiting.iter().enumerate() {
        store.borrow_mut().files.progress = Some((i, waiting.len()));
        crate::store::Engine::redraw_soon(store);
        let Ok(Some(bytes)) = blobs::get(user, &m.sha256).await else {
            let _ = blobs::unmark(
                user,
                &m.doc,
                &m.sha256,
                Some("文件已不在本机 / the file is no longer on this device"),
            )
            .await;
            continue;
        };
        match crate::http::put_bytes(&path(&m.doc, &m.sha256), token, &m.value, &bytes).await {
            Err(_) => return, // offline again: the next pass goes on
            Ok((200, _)) => {
                let _ = blobs::unmark(user, &m.doc, &m.sha256, None).await;
            }
            // The customer is not on the server yet (registered offline):
            // its document syncs first, the file on a later pass.
            Ok((403 | 404, _)) => {}
            Ok((400 | 413 | 415, body)) => {
                let why = crate::http::error_text(&body);
                let _ = blobs::unmark(user, &m.doc, &m.sha256, Some(&why)).await;
            }
            Ok(_) => return, // the server is busy or failing: later
        }
    }
}

async fn fetch(store: &Store, user: &str, token: &str) {
    let wanted: Vec<(String, String)> = {
        let e = store.borrow();
        let mut seen = HashSet::new();
        e.kept_rows()
            .flat_map(|r| {
                r.customer
                    .attachments
                    .iter()
                    .map(|a| (r.doc_id.clone(), a.sha256.clone()))
            })
            .filter(|(_, h)| !e.files.held.contains(h) && seen.insert(h.clone()))
            .take(FETCH_PER_PASS)
            .collect()
    };
    for (doc, sha256) in wanted {
        if get_one(user, token, &doc, &sha256).await.is_err() {
            return;
        }
    }
}

/// Fetches one file and keeps it; `Err` when the network is gone.
pub async fn get_one(
    user: &str,
    token: &str,
    doc: &str,
    sha256: &str,
) -> Result<Option<Vec<u8>>, crate::http::Unreachable> {
    let (status, bytes) = crate::http::get_bytes(&path(doc, sha256), token).await?;
    // Not there yet (another tablet has not uploaded it), or damaged: none.
    if status != 200 || hash_of(&bytes) != sha256 {
        return Ok(None);
    }
    if let Err(e) = blobs::keep(user, sha256, &bytes, None).await {
        web_sys::console::error_1(&format!("attachment not kept: {e}").into());
    }
    Ok(Some(bytes))
}
