//! Who delivered each change: noted by the sync pump (and by the server's own
//! writes) before samod applies it, taken by the projector, which records it
//! for the per-field history (`history.rs`). The side channel between the
//! pump and the projector, explicit in `AppState::authors`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The user who delivered each change (by hash) of one document.
pub type Senders = HashMap<String, i64>;

/// A noted delivery: its sender, and whether a projection already passed it
/// over once (the change had not reached the document yet).
#[derive(Clone, Copy)]
struct Note {
    user: i64,
    passed_over: bool,
    at: std::time::Instant,
}

/// Who delivered each change of each document since its last projection.
#[derive(Clone, Default)]
pub struct Authors(Arc<Mutex<HashMap<String, HashMap<String, Note>>>>);

impl Authors {
    /// Called by the sync pump for every incoming `sync` frame of `doc`
    /// before samod applies it, with the hashes of its changes (from
    /// `sync::check_changes`). The first sender of a change keeps it.
    pub fn note(&self, doc: &str, hashes: BTreeSet<String>, user: i64) {
        if hashes.is_empty() {
            return;
        }
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let notes = all.entry(doc.to_string()).or_default();
        for hash in hashes {
            notes.entry(hash).or_insert(Note {
                user,
                passed_over: false,
                at: std::time::Instant::now(),
            });
        }
    }

    /// The senders of `changes` (the projection's new changes of `doc`). A
    /// noted change not among them has not reached the document yet (noted
    /// just before samod applied it): it waits for the next projection once,
    /// and is dropped after that (a duplicate, or a change samod refused).
    pub fn take(&self, doc: &str, changes: &[(String, String)]) -> Senders {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut notes) = all.remove(doc) else {
            return Senders::new();
        };
        let mut senders = Senders::new();
        for (hash, _) in changes {
            if let Some(note) = notes.remove(hash) {
                senders.insert(hash.clone(), note.user);
            }
        }
        notes.retain(|_, note| !std::mem::replace(&mut note.passed_over, true));
        if !notes.is_empty() {
            all.insert(doc.to_string(), notes);
        }
        senders
    }

    /// Forgets notes older than `age`: frames for documents that never
    /// arrived, or that no projection reads (the housekeeping sweep calls
    /// this, so junk frames cannot pile up here). Returns how many went.
    pub fn forget_older_than(&self, age: std::time::Duration) -> usize {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut gone = 0;
        all.retain(|_, notes| {
            let before = notes.len();
            notes.retain(|_, n| n.at.elapsed() < age);
            gone += before - notes.len();
            !notes.is_empty()
        });
        gone
    }

    /// The sender of a change noted but not yet recorded, if any.
    pub fn peek(&self, doc: &str) -> Senders {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.get(doc)
            .map(|notes| notes.iter().map(|(h, n)| (h.clone(), n.user)).collect())
            .unwrap_or_default()
    }
}
