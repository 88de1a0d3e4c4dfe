//! How a device keys the stored chunks of its documents so that no write can
//! undo another, whatever runs concurrently (two tabs of the app, a tab of an
//! older release): the same rule as automerge-repo's storage.
//!
//! * A chunk's key is the hash of its bytes: two writers never share a key
//!   unless they write the same bytes, and then either value is right.
//! * A compaction writes one snapshot and deletes exactly the chunks this
//!   writer has loaded or written itself, all folded into that snapshot.
//!   Chunks another writer added meanwhile are not known here, so they stay.
//! * Loading reads every chunk of a document, in any order (Automerge queues a
//!   change until the changes it depends on are there).
//!
//! Releases before this one keyed chunks `[doc, seq]` with a per-tab counter;
//! those keys are read as [`ChunkKey::Legacy`] and folded into the first
//! compaction.

use std::collections::{BTreeSet, HashMap};

/// One stored chunk of a document (the document id is beside it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChunkKey {
    /// `[doc, seq]`: written by a release before content keys.
    Legacy(u32),
    /// `[doc, "i", hash]`: changes after the document's last snapshot.
    Incremental(String),
    /// `[doc, "s", hash]`: the whole document at one moment.
    Snapshot(String),
}

/// The hex SHA-256 of a chunk's bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What one compaction does, in one storage transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    /// The snapshot's key (its bytes are the compaction's).
    pub write: ChunkKey,
    /// The chunks it replaces: only those this writer knew.
    pub delete: Vec<ChunkKey>,
}

/// Per document, the chunks this writer has loaded or written.
#[derive(Debug, Clone, Default)]
pub struct Known {
    docs: HashMap<String, BTreeSet<ChunkKey>>,
}

impl Known {
    /// A chunk read from storage.
    pub fn loaded(&mut self, doc: &str, key: ChunkKey) {
        self.docs.entry(doc.to_string()).or_default().insert(key);
    }

    /// The key of a new incremental chunk, now known.
    pub fn incremental(&mut self, doc: &str, bytes: &[u8]) -> ChunkKey {
        let key = ChunkKey::Incremental(content_hash(bytes));
        self.loaded(doc, key.clone());
        key
    }

    /// A snapshot replacing every chunk known of `doc`.
    pub fn compact(&mut self, doc: &str, snapshot: &[u8]) -> Compaction {
        let write = ChunkKey::Snapshot(content_hash(snapshot));
        let known = self.docs.entry(doc.to_string()).or_default();
        let delete = std::mem::take(known)
            .into_iter()
            .filter(|k| *k != write)
            .collect();
        known.insert(write.clone());
        Compaction { write, delete }
    }

    /// Whether this writer knows the chunk.
    pub fn contains(&self, doc: &str, key: &ChunkKey) -> bool {
        self.docs.get(doc).is_some_and(|k| k.contains(key))
    }

    /// Whether any chunk of `doc` is in a release's old form.
    pub fn has_legacy(&self, doc: &str) -> bool {
        self.docs
            .get(doc)
            .is_some_and(|k| k.iter().any(|k| matches!(k, ChunkKey::Legacy(_))))
    }

    /// A document that left this device.
    pub fn forget(&mut self, doc: &str) {
        self.docs.remove(doc);
    }
}

#[cfg(test)]
mod tests {
    //! Writers sharing one store, as tabs share IndexedDB: any interleaving of
    //! edits, compactions and restarts keeps every change any writer stored.

    use std::collections::BTreeMap;

    use automerge::transaction::Transactable;
    use automerge::{Automerge, ChangeHash, ROOT, ReadDoc};

    use super::*;

    type Store = BTreeMap<ChunkKey, Vec<u8>>;

    struct Writer {
        doc: Automerge,
        saved: Vec<ChangeHash>,
        known: Known,
        since_snapshot: u32,
    }

    const DOC: &str = "doc";

    fn open(store: &Store, actor: u8) -> Writer {
        let mut doc = Automerge::new();
        let mut known = Known::default();
        for (k, bytes) in store {
            doc.load_incremental(bytes).expect("a stored chunk loads");
            known.loaded(DOC, k.clone());
        }
        doc.set_actor(automerge::ActorId::from(vec![actor, 0x5a]));
        let saved = doc.get_heads();
        Writer {
            doc,
            saved,
            known,
            since_snapshot: store.len() as u32,
        }
    }

    /// Stores what the writer has not stored yet, as the peer's `persist` does.
    fn persist(w: &mut Writer, store: &mut Store, compact_after: u32) {
        if w.doc.get_heads() == w.saved {
            return;
        }
        if w.since_snapshot >= compact_after {
            let snapshot = w.doc.save();
            let c = w.known.compact(DOC, &snapshot);
            // One transaction: the deletes and the write.
            for k in &c.delete {
                store.remove(k);
            }
            store.insert(c.write, snapshot);
            w.since_snapshot = 1;
        } else {
            let bytes = w.doc.save_after(&w.saved);
            let k = w.known.incremental(DOC, &bytes);
            store.insert(k, bytes);
            w.since_snapshot += 1;
        }
        w.saved = w.doc.get_heads();
    }

    /// A small deterministic generator (xorshift), so a failing case replays.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn no_interleaving_of_writers_loses_a_stored_change() {
        for seed in 1..=300u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut store = Store::new();
            // A store an older release wrote: `[doc, seq]` chunks.
            let mut first = Automerge::new();
            first.transact(|tx| tx.put(ROOT, "base", 0)).unwrap();
            store.insert(ChunkKey::Legacy(0), first.save());
            let writers = 2 + rng.below(2) as usize;
            let mut w: Vec<Writer> = (0..writers).map(|i| open(&store, i as u8)).collect();
            // Each start of a writer is a new actor (as each start of the app is).
            let mut starts = writers as u8;
            let mut stored: Vec<ChangeHash> = first.get_heads();
            let compact_after = 1 + rng.below(4) as u32;
            for step in 0..40 {
                let i = rng.below(writers as u64) as usize;
                match rng.below(10) {
                    0 => {
                        starts += 1;
                        w[i] = open(&store, starts);
                    }
                    1 => {
                        let snapshot = w[i].doc.save();
                        let c = w[i].known.compact(DOC, &snapshot);
                        for k in &c.delete {
                            store.remove(k);
                        }
                        store.insert(c.write, snapshot);
                    }
                    _ => {
                        w[i].doc
                            .transact(|tx| tx.put(ROOT, format!("k{i}-{step}"), step as i64))
                            .unwrap();
                        persist(&mut w[i], &mut store, compact_after);
                        stored.extend(w[i].doc.get_heads());
                    }
                }
            }
            let after = open(&store, 99);
            for h in &stored {
                assert!(
                    after.doc.get_change_by_hash(h).is_some(),
                    "seed {seed}: a stored change is lost"
                );
            }
        }
    }

    /// The old scheme, for contrast: a per-writer counter and a compaction that
    /// deletes the document's whole key range. The same interleaving loses a
    /// change — the two-tab loss this module exists to prevent.
    #[test]
    fn the_old_per_tab_counter_loses_a_change() {
        let mut store: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        let base = Automerge::new();
        store.insert(0, base.save());
        let (mut a, mut b) = (base.clone(), base.clone());
        a.set_actor(automerge::ActorId::from(vec![1u8]));
        b.set_actor(automerge::ActorId::from(vec![2u8]));
        a.transact(|tx| tx.put(ROOT, "visit-a", 1)).unwrap();
        b.transact(|tx| tx.put(ROOT, "visit-b", 1)).unwrap();
        // Both tabs' next seq is 1.
        store.insert(1, a.save_after(&base.get_heads()));
        store.insert(1, b.save_after(&base.get_heads()));
        let mut loaded = Automerge::new();
        for bytes in store.values() {
            loaded.load_incremental(bytes).unwrap();
        }
        assert!(
            loaded.get(ROOT, "visit-a").unwrap().is_none(),
            "overwritten"
        );

        // With content keys both stay.
        let mut keyed = Store::new();
        let mut known = Known::default();
        for d in [&a, &b] {
            let bytes = d.save_after(&base.get_heads());
            keyed.insert(known.incremental(DOC, &bytes), bytes);
        }
        let after = open(&keyed, 3);
        assert!(after.doc.get(ROOT, "visit-a").unwrap().is_some());
        assert!(after.doc.get(ROOT, "visit-b").unwrap().is_some());
    }

    #[test]
    fn a_compaction_deletes_only_what_it_knew() {
        let mut k = Known::default();
        k.loaded(DOC, ChunkKey::Legacy(3));
        let i = k.incremental(DOC, b"change");
        assert!(k.has_legacy(DOC));
        let c = k.compact(DOC, b"snapshot");
        assert_eq!(c.delete, [ChunkKey::Legacy(3), i]);
        assert_eq!(c.write, ChunkKey::Snapshot(content_hash(b"snapshot")));
        assert!(!k.has_legacy(DOC));
        // The next compaction replaces the snapshot, not itself.
        let c2 = k.compact(DOC, b"snapshot 2");
        assert_eq!(c2.delete, [c.write]);
    }
}
