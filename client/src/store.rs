//! The local repo: every document the user may open, kept in the sans-IO sync
//! peer, persisted to IndexedDB, synced over a websocket when there is one. The
//! UI reads and writes only through this; it never waits on the network.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use automerge::Automerge;
use fieldbook_shared::api::LoginResponse;
use fieldbook_shared::book::{Book, ManagedTier, RegistrationNotice};
use fieldbook_shared::credit::{Warning, WarningList};
use fieldbook_shared::customer::{self, Customer};
use fieldbook_shared::desk::Desk;
use fieldbook_shared::grading::{self};
use fieldbook_shared::peer::chunks::{ChunkKey, Known};
use fieldbook_shared::peer::{Effect, Peer};
use fieldbook_shared::rules::Rules;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};
use yew::Callback;

use crate::error::ClientError;
use crate::idb::{Idb, Op};
use crate::listing::{Index, ListRow};
pub use crate::model::Row;
use crate::model::{Action, Model, doc_id_of};
use crate::outbox::{self, Outbox};

/// What the sync indicator shows.
#[derive(Clone, PartialEq, Default)]
pub struct SyncStatus {
    pub online: bool,
    /// Local changes the server does not have yet.
    pub pending: usize,
    /// When the last complete sync finished (ms since the epoch).
    pub last_sync_ms: Option<f64>,
    /// The socket is open but the server has not answered yet.
    pub connecting: bool,
    /// First sync of a new device: (documents here, documents in the book).
    pub first_sync: Option<(usize, usize)>,
    /// Documents with changes the server does not have (for the curious and for tests).
    pub pending_docs: Vec<String>,
    /// Customers whose changes could not be delivered by sync and are not yet
    /// delivered otherwise (see `outbox.rs`).
    pub undelivered: usize,
    /// Documents of the book kept in IndexedDB, and in the book (`None`
    /// before the book itself is here).
    pub kept: Option<(usize, usize)>,
    /// Chunk writes not yet committed to IndexedDB.
    pub unsaved: usize,
    /// Whether the browser promised to keep this site's storage
    /// (`navigator.storage.persist()`), and how many bytes it holds.
    pub storage: Option<(bool, f64)>,
    /// The last IndexedDB write that failed, if any.
    pub write_error: Option<String>,
    /// This tab holds the device's sync socket (`tabs.rs`); the others show
    /// its status.
    pub leader: bool,
}

impl SyncStatus {
    /// The whole book is kept on this device and nothing is only in memory:
    /// the tablet can go out.
    pub fn ready_offline(&self) -> bool {
        matches!(self.kept, Some((k, n)) if k == n)
            && self.unsaved == 0
            && self.write_error.is_none()
    }
}

/// The local repo and its connection.
/// A book's customer URLs and the heads they were read at.
type BookUrls = (Vec<automerge::ChangeHash>, Rc<Vec<String>>);

pub struct Engine {
    pub session: LoginResponse,
    peer: Peer,
    idb: Idb,
    /// The stored chunks this tab knows (a compaction deletes only these).
    known: Known,
    /// Changes of customers that left the book before the server had them.
    pub outbox: Outbox,
    /// Chunk writes waiting for the next batch (`flush`).
    queue: Vec<Op>,
    flush_scheduled: bool,
    /// What the screens show (`model.rs`, pure); this engine drives it.
    model: Model,
    /// The server heads last saved per document (never ahead of what is kept).
    saved_heads: HashMap<String, Vec<String>>,
    storage: Option<(bool, f64)>,
    write_error: Option<String>,
    /// This tab leads the device's tabs (`tabs.rs`): it alone connects.
    leader: bool,
    lock: Option<crate::tabs::Lock>,
    channel: Option<web_sys::BroadcastChannel>,
    /// The leading tab's status, as this tab last heard it.
    leader_status: Option<crate::tabs::LeaderStatus>,
    last_status_note: String,
    delivering: bool,
    book_id: String,
    /// The book's customer URLs as of its heads: read again only when the
    /// book changes. Read afresh on every sync message, a 3,000-customer
    /// book took most of a first sync (each arrival re-read all 3,000).
    book_cache: RefCell<Option<BookUrls>>,
    socket: Option<WebSocket>,
    online: bool,
    retry_ms: u32,
    first_sync: bool,
    /// Stored documents still to be read at start (`load_rest`), in the
    /// order they are read (`read_now` takes one out of turn). A slice is
    /// taken out and read with no wait between, so its length is the count
    /// still to read.
    unread: std::collections::VecDeque<StoredDoc>,
    /// A write of the list index is due (`keep_index_soon`).
    index_write_scheduled: bool,
    /// This tab came to lead while still reading: it connects when done.
    connect_when_read: bool,
    /// The heads the server had of documents not read yet (`load_slice`).
    server_heads: HashMap<String, Vec<automerge::ChangeHash>>,
    /// The last complete sync before this start (`session::last_sync`).
    kept_last_sync: Option<f64>,
    notify: Callback<()>,
    closures: Vec<Closure<dyn FnMut(JsValue)>>,
    /// The peer's server-heads version last saved, and whether a save is due.
    saved_heads_version: u64,
    heads_save_scheduled: bool,
    redraw_scheduled: bool,
    warnings_id: String,
    /// The server refused this session (signed out, revoked or disabled).
    signed_out: bool,
    /// Photos and attachments: what waits, what moves (`attachments.rs`).
    pub files: crate::attachments::FileStatus,
    /// Runs the files' passes while the engine lives.
    files_timer: Option<gloo_timers::callback::Interval>,
}

/// Shared handle to the engine.
pub type Store = Rc<RefCell<Engine>>;

/// A stored document as read at start: its id and chunks.
type StoredDoc = (String, Vec<(ChunkKey, Vec<u8>)>);
/// A rewrite of a document's chunks, to be awaited.
type Rewrite = Pin<Box<dyn Future<Output = Result<(), ClientError>>>>;

/// Customers read before the first draw at start (none when the list index
/// lists them), and per slice after it.
const FIRST_SLICE: usize = 150;
const SLICE: usize = 400;
/// Documents stored again as snapshots per batch (`compact_stored`), and
/// the pause between batches: each snapshot is a whole save, some
/// milliseconds on a tablet.
const COMPACT_SLICE: usize = 25;
const COMPACT_PAUSE_MS: u32 = 50;
/// The list index is written this long after the list changes.
const INDEX_WRITE_MS: u32 = 3_000;

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The operator's date today (China time, whatever zone the tablet is set
/// to): the same function the server calls, so both agree on the month.
pub fn today() -> String {
    fieldbook_shared::calendar::day_of(js_sys::Date::now() as i64)
}

impl Engine {
    /// Opens the user's local repo from IndexedDB (works offline) and starts syncing.
    pub async fn open(session: LoginResponse, notify: Callback<()>) -> Result<Store, ClientError> {
        let idb = Idb::open(&session.user.username).await?;
        let kept_last_sync = crate::session::last_sync(&session.user.username);
        let mut stored = idb.load_all().await?;
        let peer = Peer::new(session.peer_id.clone());
        let known = Known::default();
        let mut model = Model::default();
        for doc in stored.keys() {
            model.apply(Action::Kept(doc.clone()));
        }
        // The whole list at once from the index kept last time, each line
        // replaced as its document is read (`listing.rs`).
        let index = crate::idb::read_list_index(&session.user.username)
            .await
            .and_then(|bytes| Index::parse(&bytes));
        let indexed = index.as_ref().is_some_and(|i| !i.is_empty());
        if let Some(entries) = index {
            model.apply(Action::Index(entries));
        }
        // The book, the warnings and this device's desk first, then the
        // customers: a first slice now (none when the index lists them), the
        // rest a slice at a time after the list has drawn (`load_rest`).
        // Reading 3,000 customers before drawing anything took most of a
        // large book's offline start.
        let book_id = doc_id_of(&session.user.book_url);
        let warnings_id = doc_id_of(&session.user.warnings_url);
        let desk_id = crate::session::desk_id(&session.user.username).unwrap_or_default();
        let mut order: Vec<StoredDoc> = Vec::with_capacity(stored.len());
        for first in [&book_id, &warnings_id, &desk_id] {
            if let Some(chunks) = stored.remove(first) {
                order.push((first.clone(), chunks));
            }
        }
        let head = order.len();
        order.extend(stored);
        // With an index, the list needs no customer read before it draws.
        let first = if indexed { 0 } else { FIRST_SLICE };
        let rest = order.split_off(order.len().min(first + head));
        let mut saved_heads = HashMap::new();
        let mut server_heads = HashMap::new();
        for (doc, heads) in crate::session::server_heads(&session.user.username) {
            saved_heads.insert(doc.clone(), heads.iter().map(|h| h.to_string()).collect());
            server_heads.insert(doc, heads);
        }
        let outbox = Outbox::load(&session.user.username).await;
        // What an earlier release (or this device before its key was set
        // up) stored as it was is sealed now, once.
        if crate::keyring::sealing() {
            match idb.reseal().await {
                Ok(0) => {}
                Ok(n) => {
                    web_sys::console::info_1(&format!("sealed {n} stored chunks").into());
                    if let Err(e) = outbox.save(&session.user.username).await {
                        web_sys::console::error_1(&format!("outbox not resealed: {e}").into());
                    }
                    crate::blobs::reseal(&session.user.username).await;
                }
                Err(e) => {
                    web_sys::console::error_1(&format!("could not seal stored data: {e}").into())
                }
            }
        }
        let engine = Engine {
            session,
            peer,
            idb,
            known,
            outbox,
            queue: Vec::new(),
            flush_scheduled: false,
            model,
            saved_heads,
            storage: None,
            write_error: None,
            leader: false,
            lock: None,
            channel: None,
            leader_status: None,
            last_status_note: String::new(),
            delivering: false,
            book_id,
            book_cache: RefCell::new(None),
            socket: None,
            online: false,
            retry_ms: 500,
            first_sync: false,
            unread: rest.into(),
            index_write_scheduled: false,
            connect_when_read: false,
            server_heads,
            kept_last_sync,
            notify,
            closures: Vec::new(),
            saved_heads_version: 0,
            heads_save_scheduled: false,
            redraw_scheduled: false,
            warnings_id: String::new(),
            signed_out: false,
            files: Default::default(),
            files_timer: None,
        };
        let store = Rc::new(RefCell::new(engine));
        let compactions = {
            let mut e = store.borrow_mut();
            e.warnings_id = warnings_id;
            let compactions = e.load_slice(order)?;
            e.first_sync = e.peer.document(&e.book_id).is_none();
            e.read_book();
            e.refresh_warnings();
            let ids: Vec<String> = e.peer.document_ids();
            for id in ids {
                e.refresh_row(&id);
            }
            compactions
        };
        for c in compactions {
            c.await?;
        }
        // One sync socket per device: the tab that leads connects (once the
        // rest is read, `lead`). Joining now, this tab hears at once what
        // the others store and tells them what it stores.
        crate::tabs::join(&store);
        wasm_bindgen_futures::spawn_local(Engine::load_rest(Rc::downgrade(&store)));
        Ok(store)
    }

    /// Loads stored documents into the peer (those it does not hold yet: a
    /// tab's broadcast may have brought one in first) with the heads the
    /// server had of them, and shows them; answers the rewrites of chunks
    /// from a release before content keys, to be awaited.
    fn load_slice(&mut self, docs: Vec<StoredDoc>) -> Result<Vec<Rewrite>, ClientError> {
        let mut compactions: Vec<Rewrite> = Vec::new();
        for (doc, chunks) in docs {
            if self.peer.document(&doc).is_some() {
                // Merged already from another tab's note: its server heads still.
                if let Some(heads) = self.server_heads.remove(&doc) {
                    self.peer.set_server_heads(&doc, heads);
                }
                continue;
            }
            let mut bytes = Vec::with_capacity(chunks.len());
            for (key, sealed) in chunks {
                if let Some(b) = crate::idb::open_chunk(&doc, &sealed) {
                    self.known.loaded(&doc, key);
                    bytes.push(b);
                }
            }
            if bytes.is_empty() {
                // Nothing of it opens here: not kept, fetched again.
                self.model.apply(Action::Forgotten {
                    doc_id: doc,
                    dropped: 0,
                });
                continue;
            }
            if let Err(e) = self.peer.load_document(doc.clone(), bytes) {
                web_sys::console::error_1(
                    &format!("document {doc} could not be loaded: {e}").into(),
                );
                continue;
            }
            if let Some(heads) = self.server_heads.remove(&doc) {
                self.peer.set_server_heads(&doc, heads);
            }
            // Chunks of a release before content keys: rewritten at once as
            // one snapshot under the new keys (the old ones it replaces go in
            // the same transaction).
            if self.known.has_legacy(&doc)
                && let Some(snapshot) = self.peer.document(&doc).map(|d| d.save())
            {
                let compaction = self.known.compact(&doc, &snapshot);
                compactions.push(Box::pin(self.idb.compact(&doc, &compaction, &snapshot)?));
            }
        }
        Ok(compactions)
    }

    /// The rest of the stored customers, a slice at a time, each shown as it
    /// is read; then, if this tab leads, it connects (not before: a peer
    /// missing a stored document would ask the server for it as if new).
    async fn load_rest(weak: std::rc::Weak<RefCell<Engine>>) {
        loop {
            // Let the screen draw what is there first.
            gloo_timers::future::TimeoutFuture::new(0).await;
            let Some(store) = weak.upgrade() else {
                return;
            };
            let slice: Vec<StoredDoc> = {
                let mut e = store.borrow_mut();
                let n = e.unread.len().min(SLICE);
                e.unread.drain(..n).collect()
            };
            if slice.is_empty() {
                break;
            }
            Engine::read_slice(&store, slice).await;
        }
        let Some(store) = weak.upgrade() else {
            return;
        };
        {
            let e = store.borrow();
            if e.signed_out {
                return;
            }
        }
        // Files: read what waits now, then look again now and then (a
        // weak handle: the timer ends with the engine).
        crate::attachments::pass(&store);
        let weak = Rc::downgrade(&store);
        store.borrow_mut().files_timer = Some(gloo_timers::callback::Interval::new(
            crate::attachments::PASS_EVERY_MS,
            move || {
                if let Some(s) = weak.upgrade() {
                    crate::attachments::pass(&s);
                }
            },
        ));
        if std::mem::take(&mut store.borrow_mut().connect_when_read) {
            connect(&store);
        }
        keep_storage(&store);
        warn_before_unload(&store);
        redraw(&store);
        let weak = Rc::downgrade(&store);
        drop(store);
        Engine::compact_stored(weak).await;
    }

    /// Stores again as snapshots, a few at a time and each batch committed
    /// before the next, the documents an earlier release stored as changes
    /// (`Peer::compact_stored`): the next start reads them faster. Once all
    /// is read, behind the screen; a page closed meanwhile leaves the rest
    /// for the next start.
    async fn compact_stored(weak: std::rc::Weak<RefCell<Engine>>) {
        loop {
            let Some(store) = weak.upgrade() else {
                return;
            };
            let store = &store;
            let (left, effects) = {
                let mut e = store.borrow_mut();
                if e.signed_out {
                    return;
                }
                let left = e.peer.compact_stored(COMPACT_SLICE);
                (left, e.peer.take_effects())
            };
            if effects.is_empty() {
                return;
            }
            report(Engine::apply(store, effects));
            if let Err(err) = Engine::flush(store).await {
                web_sys::console::error_1(&format!("could not store a snapshot: {err}").into());
                return;
            }
            if left == 0 {
                return;
            }
            // Let the screen and the sync run between batches.
            gloo_timers::future::TimeoutFuture::new(COMPACT_PAUSE_MS).await;
        }
    }

    /// Reads stored documents into the peer and the model, and redraws.
    async fn read_slice(store: &Store, slice: Vec<StoredDoc>) {
        let ids: Vec<String> = slice.iter().map(|(d, _)| d.clone()).collect();
        let compactions = {
            let mut e = store.borrow_mut();
            let c = e.load_slice(slice);
            for id in &ids {
                e.refresh_row(id);
            }
            c
        };
        match compactions {
            Ok(c) => {
                for c in c {
                    if let Err(err) = c.await {
                        web_sys::console::error_1(&format!("{err}").into());
                    }
                }
            }
            Err(err) => web_sys::console::error_1(&format!("{err}").into()),
        }
        redraw(store);
    }

    /// Reads a stored customer now, ahead of its slice: one opened from the
    /// list (listed from the index) before the start has read it.
    pub async fn read_now(store: &Store, doc: &str) {
        let one = {
            let mut e = store.borrow_mut();
            let at = e.unread.iter().position(|(d, _)| d == doc);
            at.and_then(|i| e.unread.remove(i))
        };
        if let Some(one) = one {
            Engine::read_slice(store, vec![one]).await;
        }
    }

    /// Stored documents not read yet (`load_rest`): the list is not complete.
    pub fn loading(&self) -> usize {
        self.unread.len()
    }

    /// The customer list: every customer kept here, listed from the index
    /// until its document is read (`listing.rs`).
    pub fn list(&self) -> Vec<ListRow> {
        self.model.list(now_ms() as i64)
    }

    /// Customers in the book kept on this device, sorted by name, borrowed:
    /// a customer that arrived by sync is listed once IndexedDB has
    /// committed it (`Model::rows_by_name`). The screens over every customer
    /// take them at each draw, with the store borrowed for the draw: a head's
    /// book is thousands of customers, not to be cloned each time, and
    /// nothing in a draw writes to the store (writes are in callbacks).
    pub fn rows_by_name(&self) -> Vec<&Row> {
        self.model.rows_by_name()
    }

    /// The kept customers, borrowed, in no order (`Model::kept_rows`).
    pub fn kept_rows(&self) -> impl Iterator<Item = &Row> {
        self.model.kept_rows()
    }

    pub fn row(&self, doc_id: &str) -> Option<Row> {
        self.model.row(doc_id)
    }

    pub fn status(&self) -> SyncStatus {
        let book = self.book_urls();
        let mut status = SyncStatus {
            leader: self.leader,
            online: self.online,
            pending: self.peer.pending_changes(),
            pending_docs: self.peer.pending_documents(),
            last_sync_ms: self.last_sync_ms(),
            connecting: self.socket.is_some() && !self.online,
            undelivered: self.outbox.undelivered(),
            kept: self.peer.document(&self.book_id).map(|_| {
                (
                    book.iter()
                        .filter(|u| self.model.is_kept(&doc_id_of(u)))
                        .count(),
                    book.len(),
                )
            }),
            unsaved: self.model.unsaved_writes(),
            storage: self.storage,
            write_error: self.write_error.clone(),
            first_sync: self.first_sync.then(|| {
                (
                    book.iter()
                        .filter(|u| self.peer.document(&doc_id_of(u)).is_some())
                        .count(),
                    book.len(),
                )
            }),
        };
        // A tab that does not lead shows the device's sync as its leader has it.
        if let (false, Some(l)) = (self.leader, &self.leader_status) {
            status.online = l.online;
            status.pending = l.pending;
            status.last_sync_ms = l.last_sync_ms;
            status.undelivered = l.undelivered;
            status.pending_docs.clear();
        }
        status
    }

    pub fn set_channel(&mut self, channel: web_sys::BroadcastChannel) {
        self.channel = Some(channel);
    }

    pub fn set_lock(&mut self, lock: crate::tabs::Lock) {
        self.lock = Some(lock);
    }

    /// This tab now leads the device's tabs: it connects.
    pub fn lead(store: &Store) {
        let reading = {
            let mut e = store.borrow_mut();
            e.leader = true;
            e.connect_when_read = !e.unread.is_empty();
            e.connect_when_read
        };
        // Still reading stored documents: `load_rest` connects when done.
        if !reading {
            connect(store);
        }
        redraw(store);
    }

    /// The leading tab's status reached this one.
    pub fn heard_leader(store: &Store, status: crate::tabs::LeaderStatus) {
        {
            let mut e = store.borrow_mut();
            if e.leader {
                return;
            }
            e.leader_status = Some(status);
        }
        redraw(store);
    }

    /// A tab joined: the leader repeats its status for it.
    pub fn greeted(store: &Store) {
        let mut e = store.borrow_mut();
        if e.leader {
            e.last_status_note.clear();
            e.announce();
        }
    }

    /// When the last complete sync finished: this session's, else the one
    /// kept from before a reload (the peer starts with none).
    fn last_sync_ms(&self) -> Option<f64> {
        self.peer.last_synced_ms().or(self.kept_last_sync)
    }

    /// The leader tells the other tabs its status when it changed.
    fn announce(&mut self) {
        let (true, Some(channel)) = (self.leader, &self.channel) else {
            return;
        };
        let note = crate::tabs::status_note(crate::tabs::LeaderStatus {
            online: self.online,
            pending: self.peer.pending_changes(),
            last_sync_ms: self.last_sync_ms(),
            undelivered: self.outbox.undelivered(),
            signed_out: self.signed_out,
        });
        if note != self.last_status_note {
            crate::tabs::post(channel, &note);
            self.last_status_note = note;
        }
    }

    /// Leaves the device's tabs (sign-out): gives the lock to another tab and
    /// closes this tab's socket and channel.
    pub fn leave(&mut self) {
        if let Some(lock) = self.lock.take() {
            lock.release();
        }
        if let Some(c) = self.channel.take() {
            c.close();
        }
        self.leader = false;
        self.signed_out = true;
        if let Some(ws) = self.socket.take() {
            let _ = ws.close();
        }
    }

    /// Another tab stored chunks of `doc`: merges those this tab does not
    /// know from IndexedDB (the leader then syncs them like its own).
    pub async fn merge_stored(store: &Store, doc: &str) {
        let idb = store.borrow().idb.clone();
        let chunks = match idb.load_doc(doc).await {
            Ok(c) => c,
            Err(err) => {
                web_sys::console::error_1(&format!("cannot read {doc}: {err}").into());
                return;
            }
        };
        let effects = {
            let mut e = store.borrow_mut();
            let new: Vec<(ChunkKey, Vec<u8>)> = chunks
                .into_iter()
                .filter(|(k, _)| !e.known.contains(doc, k))
                .collect();
            if new.is_empty() {
                return;
            }
            let bytes: Vec<Vec<u8>> = new.iter().map(|(_, b)| b.clone()).collect();
            if let Err(err) = e.peer.merge_stored(doc, &bytes) {
                web_sys::console::error_1(&format!("cannot merge {doc}: {err}").into());
                return;
            }
            for (k, _) in new {
                e.known.loaded(doc, k);
            }
            e.model.apply(Action::Kept(doc.to_string()));
            e.peer.take_effects()
        };
        report(Engine::apply(store, effects));
        Engine::schedule_flush(store);
        redraw(store);
    }

    /// Follow-ups of this customer closed on two devices with different
    /// results: (follow-up id, the results).
    pub fn follow_up_conflicts(&self, doc_id: &str) -> Vec<(String, Vec<String>)> {
        self.peer
            .document(doc_id)
            .map(fieldbook_shared::followups::result_conflicts)
            .unwrap_or_default()
    }

    /// What the server said about this user's registrations, by document id.
    pub fn notice(&self, doc_id: &str) -> Option<RegistrationNotice> {
        self.model.notice(doc_id)
    }

    /// The approved (level, grade) of a customer, if a head or the center fixed it.
    pub fn approved(&self, doc_id: &str) -> Option<(grading::Level, grading::Grade)> {
        self.model.approved(doc_id)
    }

    /// A head's review of this user's `month`, if one.
    pub fn review(&self, month: &str) -> Option<fieldbook_shared::book::MonthReview> {
        self.model.review(month).cloned()
    }

    /// What heads' spot checks of a visit found.
    pub fn spot_checks(
        &self,
        doc_id: &str,
        visit_id: &str,
    ) -> Vec<fieldbook_shared::book::SpotCheckNote> {
        self.model.spot_checks(doc_id, visit_id).to_vec()
    }

    /// Where a customer's registration stands (`Model::registration`).
    pub fn registration(&self, doc_id: &str) -> Option<fieldbook_shared::book::RegistrationStatus> {
        self.model.registration(doc_id)
    }

    /// The user's desks on this device: those the book names, then the one
    /// this device created, if the book does not name it yet.
    fn desk_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.model.desks().to_vec();
        if let Some(own) = crate::session::desk_id(&self.session.user.username)
            && !ids.contains(&own)
        {
            ids.push(own);
        }
        ids.retain(|d| self.peer.document(d).is_some());
        ids
    }

    /// The user's desk: work-log notes, hand-ins, decisions and the
    /// server's answers, all their desks read as one.
    pub fn desk(&self) -> Desk {
        Desk::merged(
            self.desk_ids()
                .iter()
                .filter_map(|d| self.peer.document(d).and_then(|doc| Desk::load(doc).ok())),
        )
    }

    /// The customer's number 客户编号, once the server gave one.
    pub fn number(&self, doc_id: &str) -> Option<String> {
        self.model.number(doc_id).map(str::to_string)
    }

    /// The tier a customer is managed at above its own grade, if any.
    pub fn managed(&self, doc_id: &str) -> Option<ManagedTier> {
        self.model.managed(doc_id)
    }

    /// Whether the server refused this session: the user must sign in again.
    pub fn signed_out(&self) -> bool {
        if let (false, Some(l)) = (self.leader, &self.leader_status)
            && l.signed_out
        {
            return true;
        }
        self.signed_out
    }

    /// The operator's rules in force.
    pub fn rules(&self) -> &Rules {
        self.model.rules()
    }

    /// Reads the book into the model; answers what it said.
    fn read_book(&mut self) -> crate::model::Update {
        let book = self
            .peer
            .document(&self.book_id)
            .and_then(|d| Book::load(d).ok())
            .map(Box::new);
        self.model.apply(Action::Book {
            book,
            now_ms: now_ms() as i64,
        })
    }

    /// Confirmed bad-credit warnings about a customer with this name and code.
    pub fn warnings_for(&self, name: &str, credit_code: &str) -> Vec<Warning> {
        self.model.warnings_for(name, credit_code)
    }

    fn refresh_warnings(&mut self) {
        if let Some(list) = self
            .peer
            .document(&self.warnings_id)
            .and_then(|d| WarningList::load(d).ok())
        {
            self.model.apply(Action::Warnings(list));
        }
    }

    fn book_urls(&self) -> Rc<Vec<String>> {
        let Some(d) = self.peer.document(&self.book_id) else {
            return Rc::default();
        };
        let heads = d.get_heads();
        if let Some((at, urls)) = &*self.book_cache.borrow()
            && *at == heads
        {
            return urls.clone();
        }
        let urls = Rc::new(Book::load(d).map(|b| b.customers).unwrap_or_default());
        *self.book_cache.borrow_mut() = Some((heads, urls.clone()));
        urls
    }

    /// Remembers what the server has, so "not yet on the server" survives a reload.
    /// Saved at once when everything is in sync, else at most once a second (a
    /// first sync moves it hundreds of times).
    fn save_server_heads(store: &Store, all_synced_now: bool) {
        let due = {
            let e = store.borrow();
            e.peer.server_heads_version() != e.saved_heads_version
        };
        if !due {
            return;
        }
        if all_synced_now {
            store.borrow_mut().write_server_heads();
            return;
        }
        let mut e = store.borrow_mut();
        if e.heads_save_scheduled {
            return;
        }
        e.heads_save_scheduled = true;
        let s = store.clone();
        gloo_timers::callback::Timeout::new(1000, move || {
            let mut e = s.borrow_mut();
            e.heads_save_scheduled = false;
            e.write_server_heads();
        })
        .forget();
    }

    fn write_server_heads(&mut self) {
        // Only the leading tab syncs, so only it knows what the server has;
        // and not while stored documents are still being read (their saved
        // heads would be dropped).
        if !self.leader || !self.unread.is_empty() {
            return;
        }
        self.saved_heads_version = self.peer.server_heads_version();
        // A document with writes not yet committed keeps the heads saved
        // before: after a crash the device must not believe the server has
        // what the device itself lost.
        for d in self.peer.document_ids() {
            if self.model.is_unsaved(&d) {
                continue;
            }
            let h = self
                .peer
                .server_heads(&d)
                .iter()
                .map(|h| h.to_string())
                .collect();
            self.saved_heads.insert(d, h);
        }
        let heads: Vec<(String, Vec<String>)> = self
            .saved_heads
            .iter()
            .filter(|(d, _)| self.peer.document(d).is_some() || self.model.is_unsaved(d))
            .map(|(d, h)| (d.clone(), h.clone()))
            .collect();
        crate::session::save_server_heads(&self.session.user.username, &heads);
    }

    /// Reads a customer document into the model.
    fn refresh_row(&mut self, doc_id: &str) {
        let Some(doc) = self.peer.document(doc_id) else {
            return;
        };
        let Ok(customer) = Customer::load(doc) else {
            return;
        };
        let conflicts = customer::conflicts(doc);
        self.model.apply(Action::Customer {
            doc_id: doc_id.to_string(),
            customer: Box::new(customer),
            conflicts,
            now_ms: now_ms() as i64,
        });
    }

    /// Applies the peer's effects: send, persist, refresh. Persisting is started
    /// in order here; local edits await their own persistence (see [`edit`]).
    fn apply(store: &Store, effects: Vec<Effect>) -> Vec<Pending> {
        let mut pending: Vec<Pending> = Vec::new();
        let mut changed = false;
        let mut deliver = false;
        {
            let mut e = store.borrow_mut();
            for effect in effects {
                match effect {
                    Effect::Send(bytes) => {
                        if let Some(ws) = &e.socket {
                            let _ = ws.send_with_u8_array(&bytes);
                        }
                    }
                    Effect::Persist {
                        doc_id,
                        bytes,
                        compacted,
                    } => {
                        // Queued, written with others in one transaction
                        // (`flush`); the document counts as kept on this
                        // device, and its row shows the change, once committed.
                        let op = if compacted {
                            let compaction = e.known.compact(&doc_id, &bytes);
                            Op::Compact {
                                doc: doc_id.clone(),
                                compaction,
                                snapshot: bytes,
                            }
                        } else {
                            let key = e.known.incremental(&doc_id, &bytes);
                            Op::Put {
                                doc: doc_id.clone(),
                                key,
                                bytes,
                            }
                        };
                        e.model.apply(Action::Queued(doc_id));
                        e.queue.push(op);
                    }
                    Effect::DocumentChanged { doc_id } => {
                        if doc_id == e.warnings_id {
                            e.refresh_warnings();
                        } else if doc_id == e.book_id {
                            let update = e.read_book();
                            let desks = e.model.desks().to_vec();
                            for id in update.listed.iter().chain(&desks) {
                                if e.peer.document(id).is_none() {
                                    e.peer.find(id.clone());
                                }
                            }
                            // A customer that left the book was handed over or its
                            // access revoked: it leaves this tablet too.
                            for id in update.gone {
                                // Its undelivered changes go to the outbox,
                                // kept before its own copy is deleted.
                                let (item, lost) = e.leaving(&id);
                                e.outbox.left(item, lost);
                                let outbox = e.outbox.clone();
                                let user = e.session.user.username.clone();
                                e.peer.forget(&id);
                                e.known.forget(&id);
                                // Not yet written: never written (the outbox
                                // holds what the server lacks).
                                let before = e.queue.len();
                                e.queue.retain(|op| op.doc() != id);
                                let dropped = before - e.queue.len();
                                e.model.apply(Action::Forgotten {
                                    doc_id: id.clone(),
                                    dropped,
                                });
                                let idb = e.idb.clone();
                                pending.push(Box::pin(async move {
                                    outbox.save(&user).await?;
                                    idb.delete(&id)?.await
                                }));
                                deliver = true;
                            }
                        } else {
                            // Read now, or once its chunk is committed (`flush`).
                            for d in e.model.apply(Action::Changed(doc_id)).read {
                                e.refresh_row(&d);
                            }
                        }
                        changed = true;
                    }
                    Effect::Handshake { .. } => {
                        deliver = true;
                        e.online = true;
                        e.retry_ms = 500;
                        for id in [e.book_id.clone(), e.warnings_id.clone()] {
                            if !id.is_empty() && e.peer.document(&id).is_none() {
                                e.peer.find(id);
                            }
                        }
                        // A listed customer missing here (its storage write had not
                        // finished when the tablet closed) is fetched again.
                        let mut listed: Vec<String> =
                            e.book_urls().iter().map(|u| doc_id_of(u)).collect();
                        listed.extend(e.model.desks().iter().cloned());
                        for id in listed {
                            if e.peer.document(&id).is_none() {
                                e.peer.find(id);
                            }
                        }
                        changed = true;
                    }
                    Effect::DocumentUnavailable { doc_id } => {
                        web_sys::console::warn_1(
                            &format!("document {doc_id} is not available to this user").into(),
                        );
                    }
                    Effect::ProtocolError(msg) => {
                        web_sys::console::error_1(&format!("sync error: {msg}").into());
                        if let Some(ws) = &e.socket {
                            let _ = ws.close();
                        }
                    }
                }
            }
            if e.first_sync {
                let book = e.book_urls();
                // Done once the book is here and everything it lists (maybe nothing).
                if e.peer.document(&e.book_id).is_some()
                    && book
                        .iter()
                        .all(|u| e.peer.document(&doc_id_of(u)).is_some())
                {
                    e.first_sync = false;
                }
            }
        }
        // More effects may have been queued by finds above.
        let more = store.borrow_mut().peer.take_effects();
        if !more.is_empty() {
            pending.extend(Self::apply(store, more));
        }
        if changed {
            redraw(store);
        }
        if deliver {
            deliver_outbox(store);
            crate::attachments::pass(store);
        }
        pending
    }

    /// Writes the queued chunks in one transaction, created now (so batches
    /// commit in order); the future resolves once it is committed, and only
    /// then are their documents listed and their rows refreshed.
    pub fn flush(store: &Store) -> Pending {
        let (ops, idb) = {
            let mut e = store.borrow_mut();
            e.flush_scheduled = false;
            (std::mem::take(&mut e.queue), e.idb.clone())
        };
        if ops.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        let queued = idb.write_batch(&ops);
        let store = store.clone();
        Box::pin(async move {
            let result = match queued {
                Ok(f) => f.await,
                Err(err) => Err(err),
            };
            {
                let mut e = store.borrow_mut();
                let update = e.model.apply(Action::Committed {
                    docs: ops.iter().map(|op| op.doc().to_string()).collect(),
                    ok: result.is_ok(),
                });
                match &result {
                    Ok(()) => {
                        e.write_error = None;
                        // The other tabs merge what this one stored.
                        if let Some(channel) = &e.channel {
                            let mut docs: Vec<String> =
                                ops.iter().map(|op| op.doc().to_string()).collect();
                            docs.sort();
                            docs.dedup();
                            crate::tabs::stored(channel, docs);
                        }
                    }
                    Err(err) => e.write_error = Some(err.to_string()),
                }
                for d in update.read {
                    e.refresh_row(&d);
                }
                // The heads held back for these documents may be saved now:
                // at once when nothing is left unsaved (the end of a burst;
                // a reload may follow), else within a second.
                e.saved_heads_version = u64::MAX;
            }
            let settled = {
                let e = store.borrow();
                e.model.nothing_unsaved() && !e.first_sync
            };
            Engine::save_server_heads(&store, settled);
            redraw(&store);
            result
        })
    }

    /// Chunk writes not yet committed (queued or in a transaction).
    pub fn unsaved_writes(&self) -> usize {
        self.model.unsaved_writes()
    }

    /// Flushes soon: the writes of many sync messages share one transaction.
    fn schedule_flush(store: &Store) {
        {
            let mut e = store.borrow_mut();
            if e.queue.is_empty() || e.flush_scheduled {
                return;
            }
            e.flush_scheduled = true;
        }
        let s = store.clone();
        gloo_timers::callback::Timeout::new(BATCH_MS, move || {
            let done = Engine::flush(&s);
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(err) = done.await {
                    web_sys::console::error_1(
                        &format!("could not store synced changes: {err}").into(),
                    );
                }
            });
        })
        .forget();
    }

    /// What is kept of a customer leaving the book: its changes the server
    /// does not have (with what they hold, to show), and why it left.
    fn leaving(&self, id: &str) -> (Option<outbox::Item>, outbox::Lost) {
        let now = self.peer.document(id);
        let customer = now.and_then(|d| Customer::load(d).ok()).unwrap_or_default();
        // The server's word in the book, else the hand-over on the document
        // (the tablet may never have received that change).
        let left = self
            .peer
            .document(&self.book_id)
            .and_then(|d| Book::load(d).ok())
            .and_then(|b| b.left.into_iter().find(|l| doc_id_of(&l.url) == id));
        let handed = left
            .as_ref()
            .map(|l| (l.to.clone(), l.at.clone()))
            .or_else(|| {
                customer
                    .handovers
                    .last()
                    .map(|h| (h.to_primary.clone(), h.at.clone()))
            });
        let reason = match handed {
            Some((to, at)) => crate::i18n::pick(&format!(
                "已移交给{to} · {} / handed over to {to} on {}",
                at.get(..10).unwrap_or(&at),
                at.get(..10).unwrap_or(&at)
            )),
            None => crate::i18n::pick("已不在你的客户名单中 / no longer in your book"),
        };
        let name = match (&customer.name, &left) {
            (n, Some(l)) if n.is_empty() => l.name.clone(),
            (n, _) => n.clone(),
        };
        let lost = outbox::Lost {
            doc_id: id.to_string(),
            name: name.clone(),
            reason: reason.clone(),
        };
        let item = self.peer.unsynced_changes(id).map(|changes| outbox::Item {
            doc_id: id.to_string(),
            name: name.clone(),
            summary: self.unsynced_summary(id, &customer),
            reason,
            changes: outbox::to_hex(&changes),
            refused: None,
        });
        (item, lost)
    }

    /// What the server does not have of a customer, in words: the visits it
    /// lacks, else "changes to the customer file".
    fn unsynced_summary(&self, id: &str, customer: &Customer) -> Vec<String> {
        let heads = self.peer.server_heads(id);
        let before = self
            .peer
            .document(id)
            .and_then(|d| d.fork_at(&heads).ok())
            .and_then(|d| Customer::load(&d).ok())
            .unwrap_or_default();
        let mut summary: Vec<String> = customer
            .visits
            .iter()
            .filter(|v| !before.visits.iter().any(|b| b.id == v.id))
            .map(|v| {
                crate::i18n::say(
                    format!("走访 {0}：{1}", v.date, v.summary),
                    format!("visit {0}: {1}", v.date, v.summary),
                )
            })
            .collect();
        if summary.is_empty() {
            summary.push(crate::i18n::pick(
                "客户资料的修改 / changes to the customer file",
            ));
        }
        summary
    }

    /// The customers with changes the server does not have yet, each with
    /// its name and what changed (the sync panel).
    pub fn pending_summary(&self) -> Vec<(String, String, Vec<String>)> {
        self.peer
            .pending_documents()
            .into_iter()
            .filter_map(|d| {
                let customer = Customer::load(self.peer.document(&d)?).ok()?;
                let summary = self.unsynced_summary(&d, &customer);
                Some((d, customer.name, summary))
            })
            .collect()
    }

    /// Syncs every document again now (the sync panel's button): only
    /// online, and only the leading tab, which holds the socket.
    pub fn sync_now(store: &Store) -> bool {
        let effects = {
            let mut e = store.borrow_mut();
            if !(e.leader && e.online) {
                return false;
            }
            for d in e.peer.pending_documents() {
                e.peer.resync(&d);
            }
            e.peer.take_effects()
        };
        report(Engine::apply(store, effects));
        Engine::schedule_flush(store);
        true
    }
}

/// Delivers the outbox's queued items (online, one pass at a time); a refusal
/// is kept on its item, with the server's reason, for the manager to see.
fn deliver_outbox(store: &Store) {
    let (items, token, user) = {
        let mut e = store.borrow_mut();
        if e.delivering || !e.online {
            return;
        }
        let items: Vec<outbox::Item> = e
            .outbox
            .items
            .iter()
            .filter(|i| i.refused.is_none())
            .cloned()
            .collect();
        if items.is_empty() {
            return;
        }
        e.delivering = true;
        (
            items,
            e.session.token.clone(),
            e.session.user.username.clone(),
        )
    };
    let store = store.clone();
    wasm_bindgen_futures::spawn_local(async move {
        for item in items {
            let Ok(verdict) = outbox::deliver(&item, &token).await else {
                break;
            };
            let outbox = {
                let mut e = store.borrow_mut();
                match verdict {
                    None => e.outbox.items.retain(|i| i.doc_id != item.doc_id),
                    Some(why) => {
                        for i in e
                            .outbox
                            .items
                            .iter_mut()
                            .filter(|i| i.doc_id == item.doc_id)
                        {
                            i.refused = Some(why.clone());
                        }
                    }
                }
                e.outbox.clone()
            };
            if let Err(err) = outbox.save(&user).await {
                web_sys::console::error_1(&format!("outbox not kept: {err}").into());
            }
        }
        store.borrow_mut().delivering = false;
        redraw(&store);
    });
}

impl Engine {
    /// Asks the UI to redraw soon (for modules beside the store).
    pub fn redraw_soon(store: &Store) {
        redraw(store);
    }
}

/// Asks the UI to redraw soon. Many sync messages arrive together (a first sync
/// brings hundreds of documents), so redraws are coalesced into one per frame.
fn redraw(store: &Store) {
    if std::mem::replace(&mut store.borrow_mut().redraw_scheduled, true) {
        return;
    }
    let s = store.clone();
    gloo_timers::callback::Timeout::new(16, move || {
        let notify = {
            let mut e = s.borrow_mut();
            e.redraw_scheduled = false;
            e.announce();
            e.notify.clone()
        };
        notify.emit(());
        keep_index_soon(&s);
    })
    .forget();
}

/// Keeps the list index some seconds after the list last changed (a first
/// sync changes it thousands of times), once every stored customer is read.
fn keep_index_soon(store: &Store) {
    {
        let mut e = store.borrow_mut();
        if !e.unread.is_empty()
            || e.signed_out
            || e.index_write_scheduled
            || !e.model.take_index_dirty()
        {
            return;
        }
        e.index_write_scheduled = true;
    }
    let weak = Rc::downgrade(store);
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(INDEX_WRITE_MS).await;
        let Some(store) = weak.upgrade() else {
            return;
        };
        let (user, n, json) = {
            let mut e = store.borrow_mut();
            e.index_write_scheduled = false;
            if e.signed_out {
                return;
            }
            // What is written now holds every change so far.
            e.model.take_index_dirty();
            let index = Index::new(e.model.index_entries());
            let n = index.entries.len();
            (
                e.session.user.username.clone(),
                n,
                serde_json::to_vec(&index),
            )
        };
        drop(store);
        let written = match json {
            Ok(json) => crate::idb::write_list_index(&user, &json).await,
            Err(e) => Err(ClientError::from(format!("{e}"))),
        };
        match written {
            Ok(()) => web_sys::console::info_1(&format!("list index kept: {n} customers").into()),
            Err(e) => {
                // Only the next start's speed depends on it.
                web_sys::console::error_1(&format!("the list index was not kept: {e}").into())
            }
        }
    });
}

/// Runs a local edit: applies it, waits until IndexedDB has committed it, then
/// returns (the caller shows "saved" only after this).
pub async fn edit<R>(
    store: &Store,
    doc_id: &str,
    f: impl FnOnce(&mut Automerge) -> R,
) -> Result<R, ClientError> {
    // Stored but not read yet (the start reads in slices): read it first.
    if store.borrow().peer.document(doc_id).is_none() {
        Engine::read_now(store, doc_id).await;
    }
    let (result, effects) = {
        let mut e = store.borrow_mut();
        if e.peer.document(doc_id).is_none() {
            return Err(ClientError::Document(format!(
                "document {doc_id} is not on this device"
            )));
        }
        let r = e
            .peer
            .change(doc_id, f)
            .map_err(|e| ClientError::Document(e.to_string()))?;
        (r, e.peer.take_effects())
    };
    let others = Engine::apply(store, effects);
    // This edit's chunk (and any synced ones queued before it) now.
    Engine::flush(store).await?;
    for p in others {
        p.await?;
    }
    // Only now, with the change in IndexedDB, does the UI show it.
    store.borrow_mut().refresh_row(doc_id);
    redraw(store);
    Ok(result)
}

/// Changes the user's desk (creating it on this device the first time),
/// returning once IndexedDB has committed the change, as [`edit`].
pub async fn desk_edit<R>(
    store: &Store,
    f: impl FnOnce(&mut Automerge) -> R,
) -> Result<R, ClientError> {
    // The desks the book names, read now if the start has not yet.
    let named: Vec<String> = store.borrow().model.desks().to_vec();
    for d in named {
        if store.borrow().peer.document(&d).is_none() {
            Engine::read_now(store, &d).await;
        }
    }
    let existing = store.borrow().desk_ids().into_iter().next();
    let doc_id = match existing {
        Some(d) => d,
        None => {
            let user = store.borrow().session.user.username.clone();
            let mut doc = Automerge::new();
            doc.transact(|tx| Desk::new(&user).create(tx))
                .map_err(|e| ClientError::Document(format!("{:?}", e.error)))?;
            let (id, effects) = {
                let mut e = store.borrow_mut();
                let id = e.peer.create_document(doc);
                (id, e.peer.take_effects())
            };
            crate::session::set_desk_id(&user, &id);
            let others = Engine::apply(store, effects);
            Engine::flush(store).await?;
            for p in others {
                p.await?;
            }
            id
        }
    };
    edit(store, &doc_id, f).await
}

/// Creates a new customer document on this device (a registration, sent when online).
pub async fn register(store: &Store, c: &Customer) -> Result<String, ClientError> {
    let mut doc = Automerge::new();
    doc.transact(|tx| c.create(tx))
        .map_err(|e| ClientError::Document(format!("{:?}", e.error)))?;
    let (doc_id, effects) = {
        let mut e = store.borrow_mut();
        let id = e.peer.create_document(doc);
        (id, e.peer.take_effects())
    };
    let others = Engine::apply(store, effects);
    Engine::flush(store).await?;
    for p in others {
        p.await?;
    }
    store.borrow_mut().refresh_row(&doc_id);
    redraw(store);
    Ok(doc_id)
}

/// Opens the websocket; on close, retries with back-off.
pub fn connect(store: &Store) {
    // Only the leading tab syncs; one that left (signed out) stops here.
    if !store.borrow().leader {
        return;
    }
    let url = {
        let e = store.borrow();
        let loc = web_sys::window().map(|w| w.location());
        let host = loc.as_ref().and_then(|l| l.host().ok()).unwrap_or_default();
        let scheme = if loc.and_then(|l| l.protocol().ok()).as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{host}/sync?token={}", e.session.token)
    };
    let Ok(ws) = WebSocket::new(&url) else {
        schedule_reconnect(store);
        return;
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let s = store.clone();
    let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        let effects = {
            let mut e = s.borrow_mut();
            e.peer.connected(now_ms());
            e.peer.take_effects()
        };
        report(Engine::apply(&s, effects));
        Engine::schedule_flush(&s);
    });
    let s = store.clone();
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let Ok(ev) = ev.dyn_into::<MessageEvent>() else {
            return;
        };
        let bytes = js_sys::Uint8Array::new(&ev.data()).to_vec();
        let (before, effects) = {
            let mut e = s.borrow_mut();
            let before = (e.peer.pending_changes(), e.peer.last_synced_ms());
            e.peer.receive(&bytes, now_ms());
            (before, e.peer.take_effects())
        };
        report(Engine::apply(&s, effects));
        Engine::schedule_flush(&s);
        let after = {
            let e = s.borrow();
            (e.peer.pending_changes(), e.peer.last_synced_ms())
        };
        Engine::save_server_heads(&s, after.1 != before.1);
        if after.1 != before.1
            && let Some(ms) = after.1
        {
            crate::session::save_last_sync(&s.borrow().session.user.username, ms);
        }
        // The indicator must tell the truth: redraw when what it shows changed.
        if after != before {
            redraw(&s);
        }
    });
    let s = store.clone();
    let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        {
            let mut e = s.borrow_mut();
            e.peer.disconnected(now_ms());
            e.socket = None;
            e.online = false;
            let _ = e.peer.take_effects();
        }
        redraw(&s);
        // Offline, or refused? Only the server can say: a 401 means this session
        // was signed out, revoked or disabled, and retrying cannot help.
        let (s, token) = (s.clone(), s.borrow().session.token.clone());
        wasm_bindgen_futures::spawn_local(async move {
            match crate::http::call("GET", "/api/me", Some(&token), None).await {
                Ok((401, body)) => {
                    // Wiped remotely: everything of this user goes.
                    if serde_json::from_str::<fieldbook_shared::api::ErrorBody>(&body)
                        .is_ok_and(|e| e.wipe)
                    {
                        let user = s.borrow().session.user.username.clone();
                        s.borrow_mut().leave();
                        crate::wipe::ordered(&user, &token);
                        return;
                    }
                    s.borrow_mut().signed_out = true;
                    redraw(&s);
                }
                _ => schedule_reconnect(&s),
            }
        });
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut e = store.borrow_mut();
    e.closures = vec![on_open, on_message, on_close];
    e.socket = Some(ws);
}

fn schedule_reconnect(store: &Store) {
    let delay = {
        let mut e = store.borrow_mut();
        let d = e.retry_ms;
        e.retry_ms = (e.retry_ms * 2).min(4_000);
        d
    };
    let s = store.clone();
    gloo_timers::callback::Timeout::new(delay, move || connect(&s)).forget();
}

/// Asks the browser to keep this site's storage (else, under storage
/// pressure, it may evict the whole offline book), and reads how much it
/// holds; again every half minute, for the indicator.
fn keep_storage(store: &Store) {
    let s = store.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let Some(manager) = web_sys::window().map(|w| w.navigator().storage()) else {
            return;
        };
        let granted = match manager.persist() {
            Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            Err(_) => false,
        };
        loop {
            let usage = match manager.estimate() {
                Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
                    .await
                    .ok()
                    .and_then(|v| js_sys::Reflect::get(&v, &"usage".into()).ok())
                    .and_then(|u| u.as_f64())
                    .unwrap_or(0.0),
                Err(_) => 0.0,
            };
            s.borrow_mut().storage = Some((granted, usage));
            redraw(&s);
            gloo_timers::future::TimeoutFuture::new(30_000).await;
            if s.borrow().signed_out {
                return;
            }
        }
    });
}

/// Closing the tab while synced chunks are only in memory asks first.
fn warn_before_unload(store: &Store) {
    let s = store.clone();
    let warn = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
        let unsaved = s.try_borrow().map(|e| e.unsaved_writes()).unwrap_or(0);
        if unsaved > 0 {
            ev.prevent_default();
            let _ = js_sys::Reflect::set(
                &ev,
                &"returnValue".into(),
                &"尚有数据未保存到本机 / not yet saved on this device".into(),
            );
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("beforeunload", warn.as_ref().unchecked_ref());
    }
    warn.forget();
}

/// How long synced chunks wait to share a transaction with others.
const BATCH_MS: u32 = 30;

/// A chunk write: queued in IndexedDB at once (so writes keep their order even if
/// nobody waits), resolving when committed.
pub type Pending = Pin<Box<dyn Future<Output = Result<(), ClientError>>>>;

/// Reports failed background writes (synced changes, not awaited by anyone).
fn report(pending: Vec<Pending>) {
    for p in pending {
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(err) = p.await {
                web_sys::console::error_1(
                    &format!("could not store a synced change: {err}").into(),
                );
            }
        });
    }
}
