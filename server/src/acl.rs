//! The access-control tables in memory (samod's share policy built on them is
//! `sync::policy`).
//!
//! The tables in SQLite are the truth; this cache mirrors them so that the share
//! policy answers without I/O. Every change bumps a generation, and each open
//! policy stream re-decides, so a revoked device stops receiving at once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use crate::store::sql::{Connection, OptionalExtension};
use fieldbook_shared::access::{Access, Assignment, Viewer, book_access, customer_access};
use fieldbook_shared::vocab::Role;
use tokio::sync::watch;

use crate::error::ServerError;

/// A user as access control sees them.
#[derive(Debug, Clone)]
pub struct UserAcl {
    pub username: String,
    pub role: Role,
    pub unit: String,
    pub disabled: bool,
}

#[derive(Default)]
struct Tables {
    users: HashMap<i64, UserAcl>,
    /// Unit code -> parent code.
    units: HashMap<String, Option<String>>,
    /// Authenticated sync peers -> user.
    peers: HashMap<String, i64>,
    customers: HashMap<String, Assignment>,
    books: HashMap<String, i64>,
    claims: HashMap<String, i64>,
    /// Documents nobody holds yet -> the connected peers that sent their content.
    /// Only such a peer may claim one: samod asks the policy for every connected
    /// peer, and the first one asked is not necessarily the one that has it.
    offers: HashMap<String, HashSet<String>>,
    /// Server-written documents every active user may read (the warning list).
    shared: HashSet<String>,
}

/// The shared access-control cache.
#[derive(Clone)]
pub struct Acl {
    tables: Arc<RwLock<Tables>>,
    generation: Arc<watch::Sender<u64>>,
    /// The other nodes, told of each change of the tables (several nodes on
    /// PostgreSQL: `cluster.rs`).
    cluster: Arc<std::sync::OnceLock<crate::cluster::Cluster>>,
}

impl Acl {
    /// Loads the cache from the database.
    pub fn load(conn: &Connection) -> Result<Self, ServerError> {
        let acl = Acl {
            tables: Arc::default(),
            generation: Arc::new(watch::channel(0).0),
            cluster: Arc::default(),
        };
        acl.reload(conn)?;
        Ok(acl)
    }

    /// Re-reads every table (after an admin change) and wakes the policy streams.
    pub fn reload(&self, conn: &Connection) -> Result<(), ServerError> {
        let mut t = Tables::default();
        let mut stmt =
            conn.prepare("SELECT id, username, role, unit, disabled, book_doc FROM users")?;
        let mut rows = stmt.query(())?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let role: String = r.get(2)?;
            t.users.insert(
                id,
                UserAcl {
                    username: r.get(1)?,
                    role: Role::parse(&role),
                    unit: r.get(3)?,
                    disabled: r.get::<_, i64>(4)? != 0,
                },
            );
            if let Some(book) = r.get::<_, Option<String>>(5)? {
                t.books.insert(book, id);
            }
        }
        let mut stmt = conn.prepare("SELECT code, parent FROM units")?;
        let mut rows = stmt.query(())?;
        while let Some(r) = rows.next()? {
            t.units.insert(r.get(0)?, r.get(1)?);
        }
        let mut stmt =
            conn.prepare("SELECT doc_id, primary_user, assistant_user, unit FROM customers")?;
        let mut rows = stmt.query(())?;
        while let Some(r) = rows.next()? {
            t.customers.insert(
                r.get(0)?,
                Assignment {
                    primary: r.get(1)?,
                    assistant: r.get(2)?,
                    unit: r.get(3)?,
                },
            );
        }
        let mut stmt = conn.prepare("SELECT doc_id, user_id FROM claims")?;
        let mut rows = stmt.query(())?;
        while let Some(r) = rows.next()? {
            t.claims.insert(r.get(0)?, r.get(1)?);
        }
        {
            let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
            // Peers are bound by live connections, not stored: keep them; shared
            // documents are registered at start-up.
            t.peers = std::mem::take(&mut tables.peers);
            t.offers = std::mem::take(&mut tables.offers);
            t.shared = std::mem::take(&mut tables.shared);
            *tables = t;
        }
        self.bump();
        Ok(())
    }

    fn bump(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// From now on, every change of the tables is told to the other nodes.
    pub fn join(&self, cluster: crate::cluster::Cluster) {
        let _ = self.cluster.set(cluster);
    }

    /// A change of the tables (which the database already holds): the other
    /// nodes read them again.
    fn write(&self, f: impl FnOnce(&mut Tables)) {
        self.write_here(f);
        if let Some(c) = self.cluster.get() {
            c.acl_changed();
        }
    }

    /// A change of what only this node knows (its sockets and their offers).
    fn write_here(&self, f: impl FnOnce(&mut Tables)) {
        f(&mut self.tables.write().unwrap_or_else(|e| e.into_inner()));
        self.bump();
    }

    /// Notes that `peer` sent the content of `doc_id`. For a document nobody holds
    /// yet, this makes the peer eligible to claim it; the policy streams re-decide
    /// in case samod asked before the content arrived.
    pub fn note_offer(&self, doc_id: &str, peer: &str) {
        /// Bounds the memory a peer sending made-up document ids can take.
        const MAX_OFFERED_DOCS: usize = 10_000;
        {
            let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
            if t.is_known(doc_id)
                || t.offers.get(doc_id).is_some_and(|p| p.contains(peer))
                || t.offers.len() >= MAX_OFFERED_DOCS
            {
                return;
            }
        }
        self.write_here(|t| {
            t.offers
                .entry(doc_id.to_string())
                .or_default()
                .insert(peer.to_string());
        });
    }

    /// Forgets what a closed connection offered.
    pub fn forget_offers(&self, peer: &str) {
        let mut t = self.tables.write().unwrap_or_else(|e| e.into_inner());
        t.offers.retain(|_, peers| {
            peers.remove(peer);
            !peers.is_empty()
        });
    }

    /// Forgets a signed-out or revoked device: its share policies turn to none
    /// and its open websocket closes (see `sync`).
    pub fn unbind_peer(&self, peer: &str) {
        self.unbind_peer_here(peer);
        if let Some(c) = self.cluster.get() {
            c.unbind(peer);
        }
    }

    /// Forgets a device whose socket may be on this node (another node signed it out).
    pub fn unbind_peer_here(&self, peer: &str) {
        self.write_here(|t| {
            t.peers.remove(peer);
        });
    }

    /// Whether `peer` is still bound to `user_id` and the user is active.
    pub fn peer_is_live(&self, peer: &str, user_id: i64) -> bool {
        let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
        t.peers.get(peer) == Some(&user_id) && t.users.get(&user_id).is_some_and(|u| !u.disabled)
    }

    /// Wakes on every change of the tables.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Binds an authenticated sync peer id to its user.
    pub fn bind_peer(&self, peer: &str, user_id: i64) {
        self.write_here(|t| {
            t.peers.insert(peer.to_string(), user_id);
        });
    }

    /// Records a registered customer's assignment (and drops its claim).
    pub fn set_customer(&self, doc_id: &str, assignment: Assignment) {
        self.write(|t| {
            t.claims.remove(doc_id);
            t.customers.insert(doc_id.to_string(), assignment);
        });
    }

    /// Records a user's book document.
    pub fn set_book(&self, doc_id: &str, user_id: i64) {
        self.write(|t| {
            t.books.insert(doc_id.to_string(), user_id);
        });
    }

    /// Records a document every active user may read (and none may write).
    pub fn set_shared(&self, doc_id: &str) {
        self.write_here(|t| {
            t.shared.insert(doc_id.to_string());
        });
    }

    /// Whether `doc_id` is a user's book or a shared server document.
    pub fn is_server_written(&self, doc_id: &str) -> bool {
        let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
        t.books.contains_key(doc_id) || t.shared.contains(doc_id)
    }

    /// Records a user (new, or changed by an admin).
    pub fn set_user(&self, user_id: i64, user: UserAcl) {
        self.write(|t| {
            t.users.insert(user_id, user);
        });
    }

    /// Records a unit of the org tree.
    pub fn set_unit(&self, code: &str, parent: Option<String>) {
        self.write(|t| {
            t.units.insert(code.to_string(), parent);
        });
    }

    pub(crate) fn drop_claim(&self, doc_id: &str) {
        self.write(|t| {
            t.claims.remove(doc_id);
        });
    }

    /// The user a sync peer is bound to.
    pub fn user_of_peer(&self, peer: &str) -> Option<i64> {
        self.tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .peers
            .get(peer)
            .copied()
    }

    /// The user who holds an unregistered document, if any.
    /// The claimant of `doc_id` as the tables hold it, for a claim another
    /// node took (this one's cache did not hear of it); kept in the cache.
    pub fn claimant_stored(
        &self,
        conn: &Connection,
        doc_id: &str,
    ) -> Result<Option<i64>, ServerError> {
        if let Some(u) = self.claimant(doc_id) {
            return Ok(Some(u));
        }
        let stored: Option<i64> = conn
            .query_row(
                "SELECT user_id FROM claims WHERE doc_id = ?1",
                [doc_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(u) = stored {
            self.write_here(|t| {
                t.claims.insert(doc_id.to_string(), u);
            });
        }
        Ok(stored)
    }

    pub fn claimant(&self, doc_id: &str) -> Option<i64> {
        self.tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .claims
            .get(doc_id)
            .copied()
    }

    /// The assignment of a registered customer.
    pub fn assignment(&self, doc_id: &str) -> Option<Assignment> {
        self.tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .customers
            .get(doc_id)
            .cloned()
    }

    /// Whether `unit` lies strictly below `ancestor` in the org tree.
    pub fn is_below(&self, unit: &str, ancestor: &str) -> bool {
        let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
        unit != ancestor && t.is_within(unit, ancestor)
    }

    /// Whether `unit` lies in the subtree of `ancestor` (itself included).
    pub fn is_within(&self, unit: &str, ancestor: &str) -> bool {
        self.tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_within(unit, ancestor)
    }

    /// The user's access to a document, the claim rule included.
    pub fn access(&self, user_id: i64, doc_id: &str) -> Access {
        self.tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .access(user_id, doc_id)
    }

    /// The registered customers `user_id` may open, sorted by document id.
    ///
    /// Every book is written from this, so it is the books pass's inner loop
    /// (507 users by 100,000 customers after a rule change): the user is
    /// looked up once, not once per customer, and nothing is hashed per
    /// customer (SipHash was a third of the pass).
    pub fn visible_customers(&self, user_id: i64) -> Vec<String> {
        let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let Some(user) = t.users.get(&user_id).filter(|u| !u.disabled) else {
            return Vec::new();
        };
        let viewer = Viewer {
            user_id,
            role: &user.role,
            unit: &user.unit,
        };
        let mut docs: Vec<String> = t
            .customers
            .iter()
            // No hashing per customer: a customer's id is never a book's nor
            // the shared list's (the server makes those), so `access` would
            // come to `customer_access` for each.
            .filter(|(_, a)| {
                customer_access(viewer, a, |u, anc| t.is_within(u, anc)) != Access::None
            })
            .map(|(d, _)| d.clone())
            .collect();
        docs.sort_unstable();
        docs
    }

    /// Users whose book should list `doc_id` (everyone who may open it).
    pub fn users_who_see(&self, doc_id: &str) -> Vec<i64> {
        let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let mut users: Vec<i64> = t
            .users
            .keys()
            .copied()
            .filter(|u| t.access(*u, doc_id) != Access::None)
            .collect();
        users.sort();
        users
    }

    /// Decides, for a document nobody holds yet, whether `peer` may create it: the
    /// first active user to send an unknown document's content holds it until it
    /// registers.
    pub fn decide(&self, doc_id: &str, peer: &str) -> (Access, Option<i64>) {
        {
            let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
            let Some(&user) = t.peers.get(peer) else {
                return (Access::None, None);
            };
            if t.is_known(doc_id) {
                return (t.access(user, doc_id), None);
            }
            if t.users.get(&user).is_none_or(|u| u.disabled) {
                return (Access::None, None);
            }
        }
        let user = self.user_of_peer(peer).unwrap_or_default();
        let mut t = self.tables.write().unwrap_or_else(|e| e.into_inner());
        // Re-check under the write lock: another peer may have claimed it meanwhile.
        if let Some(&holder) = t.claims.get(doc_id) {
            return (
                if holder == user {
                    Access::Write
                } else {
                    Access::None
                },
                None,
            );
        }
        if !t.offers.get(doc_id).is_some_and(|p| p.contains(peer)) {
            return (Access::None, None);
        }
        t.offers.remove(doc_id);
        t.claims.insert(doc_id.to_string(), user);
        (Access::Write, Some(user))
    }
}

impl Tables {
    /// Whether anybody holds `doc_id` (or it is one of the server's own).
    fn is_known(&self, doc_id: &str) -> bool {
        self.customers.contains_key(doc_id)
            || self.books.contains_key(doc_id)
            || self.shared.contains(doc_id)
            || self.claims.contains_key(doc_id)
    }

    fn is_within(&self, unit: &str, ancestor: &str) -> bool {
        let mut cur = Some(unit);
        let mut hops = 0;
        while let Some(u) = cur {
            if u == ancestor {
                return true;
            }
            hops += 1;
            if hops > 64 {
                return false; // a cycle in the org tree: deny rather than loop
            }
            cur = self.units.get(u).and_then(|p| p.as_deref());
        }
        false
    }

    fn access(&self, user_id: i64, doc_id: &str) -> Access {
        let Some(user) = self.users.get(&user_id) else {
            return Access::None;
        };
        if user.disabled {
            return Access::None;
        }
        let viewer = Viewer {
            user_id,
            role: &user.role,
            unit: &user.unit,
        };
        if self.shared.contains(doc_id) {
            return Access::Read;
        }
        if let Some(owner) = self.books.get(doc_id) {
            return book_access(viewer, *owner);
        }
        if let Some(a) = self.customers.get(doc_id) {
            return customer_access(viewer, a, |u, anc| self.is_within(u, anc));
        }
        match self.claims.get(doc_id) {
            Some(&holder) if holder == user_id => Access::Write,
            _ => Access::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl_with_two_managers() -> Acl {
        let conn = crate::store::db::open_and_migrate(std::path::Path::new(":memory:")).unwrap();
        conn.execute_batch(
            "INSERT INTO units (code, name) VALUES ('so1', 'East'), ('so2', 'West');
             INSERT INTO users (id, username, display_name, password_hash, role, unit)
             VALUES (1, 'm1', 'M1', '', 'manager', 'so1'), (3, 'm3', 'M3', '', 'manager', 'so2');",
        )
        .unwrap();
        let acl = Acl::load(&conn).unwrap();
        acl.bind_peer("p1", 1);
        acl.bind_peer("p3", 3);
        acl
    }

    #[test]
    fn only_the_peer_that_sent_a_new_document_may_claim_it() {
        let acl = acl_with_two_managers();
        // samod asks about every connected peer; p1 is asked first but never sent it.
        assert_eq!(acl.decide("new", "p1"), (Access::None, None));
        acl.note_offer("new", "p3");
        assert_eq!(acl.decide("new", "p1"), (Access::None, None));
        assert_eq!(acl.decide("new", "p3"), (Access::Write, Some(3)));
        assert_eq!(acl.claimant("new"), Some(3));
        // Once held, an offer from someone else changes nothing.
        acl.note_offer("new", "p1");
        assert_eq!(acl.decide("new", "p1").0, Access::None);
    }

    /// Who sees which customers, as every book is written from it: the
    /// same as asking `access` customer by customer, for a manager, an
    /// assistant, a head of a parent unit, a head elsewhere, the center and
    /// a disabled user.
    #[test]
    fn visible_customers_are_those_access_lets_a_user_open() {
        let acl = acl_with_two_managers();
        let user = |name: &str, role: Role, unit: &str, disabled: bool| UserAcl {
            username: name.into(),
            role,
            unit: unit.into(),
            disabled,
        };
        acl.set_unit("co1", None);
        acl.set_unit("so1", Some("co1".into()));
        acl.set_unit("so2", Some("co1".into()));
        acl.set_unit("so3", None);
        acl.set_user(4, user("h1", Role::Head, "co1", false));
        acl.set_user(5, user("h3", Role::Head, "so3", false));
        acl.set_user(6, user("admin", Role::Admin, "co1", false));
        acl.set_user(7, user("gone", Role::Manager, "so1", true));
        let assign = |primary, assistant, unit: &str| Assignment {
            primary,
            assistant,
            unit: unit.into(),
        };
        acl.set_customer("c-b", assign(1, None, "so1"));
        acl.set_customer("c-a", assign(3, Some(1), "so2"));
        acl.set_customer("c-c", assign(3, None, "so2"));
        acl.set_customer("c-d", assign(7, None, "so1"));
        acl.set_book("book-1", 1);
        acl.set_shared("warnings");
        let docs = ["c-a", "c-b", "c-c", "c-d"];
        for u in [1, 3, 4, 5, 6, 7, 99] {
            let expected: Vec<String> = docs
                .iter()
                .filter(|d| acl.access(u, d) != Access::None)
                .map(|d| d.to_string())
                .collect();
            assert_eq!(acl.visible_customers(u), expected, "user {u}");
        }
        assert_eq!(acl.visible_customers(1), ["c-a", "c-b"]);
        assert_eq!(
            acl.visible_customers(4).len(),
            4,
            "the head of the parent unit"
        );
        assert!(acl.visible_customers(5).is_empty(), "a head elsewhere");
        assert!(acl.visible_customers(7).is_empty(), "a disabled user");
    }

    #[test]
    fn a_closed_connection_forgets_its_offers() {
        let acl = acl_with_two_managers();
        acl.note_offer("new", "p3");
        acl.forget_offers("p3");
        assert_eq!(acl.decide("new", "p3"), (Access::None, None));
    }
}
