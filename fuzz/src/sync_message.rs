//! One websocket binary frame, down every path that reads it.
//!
//! On the server (server/src/sync.rs) each frame is peeked by
//! `sync::check_changes` (the actors of its changes), by
//! `wire::sync_document` (the ACL notes the offer) and by `Authors::note`,
//! then handed to samod's hub, which decodes it with its
//! own (crate-private) decoder: reached here through `Hub::handle_event`, both
//! before and after a handshake. In the browser the frame goes to our sans-IO
//! `Peer`, if the server's guard (`sync::check_changes`) would let it
//! through. Nothing may panic; what `Message::decode` accepts must survive a
//! round trip, and a `sync` frame it accepts must name the document that
//! `sync_document` names.

use std::sync::OnceLock;

use crate::{CLIENT, SERVER, SamodHub, held_doc_id, small_customer_doc, wanted_doc_id};
use fieldbook_server::acl::Acl;
use fieldbook_server::history::Authors;
use fieldbook_shared::peer::wire::{Message, sync_document};
use fieldbook_shared::peer::{Effect, Peer};

fn acl() -> &'static Acl {
    static ACL: OnceLock<Acl> = OnceLock::new();
    ACL.get_or_init(|| {
        let conn = fieldbook_server::store::db::open_and_migrate(std::path::Path::new(":memory:"))
            .expect("an in-memory database");
        conn.execute_batch(
            "INSERT INTO units (code, name) VALUES ('so1', 'East');
             INSERT INTO users (id, username, display_name, password_hash, role, unit)
             VALUES (1, 'm1', 'M1', '', 'manager', 'so1');",
        )
        .expect("a user");
        let acl = Acl::load(&conn).expect("the ACL");
        acl.bind_peer(CLIENT, 1);
        acl
    })
}

/// The saved customer the client holds (made once; loading it is per input).
fn held_doc() -> &'static [u8] {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    DOC.get_or_init(|| small_customer_doc().save())
}

fn server_side(frame: &[u8]) {
    // The pump's guard against changes automerge panics on (caught inside).
    let actors = fieldbook_server::sync::check_changes(frame).unwrap_or_default();
    if let Some(doc) = sync_document(frame) {
        acl().note_offer(&doc, CLIENT);
        Authors::default().note(&doc, actors, 1);
    }
    acl().forget_offers(CLIENT);

    // A fresh hub per input, so every run of an input is the same.
    let mut hub = SamodHub::new();
    // Before any handshake: the first frame of a new connection.
    let fresh = hub.connect(CLIENT);
    hub.receive(fresh, frame.to_vec());
    hub.lose(fresh);
    // After the join, as a sync frame would arrive.
    let joined = hub.connect(CLIENT);
    hub.receive(
        joined,
        Message::Join {
            sender: CLIENT.into(),
        }
        .encode(),
    );
    hub.receive(joined, frame.to_vec());
    hub.receive(joined, frame.to_vec());
    hub.lose(joined);
}

fn client_side(frame: &[u8]) {
    let mut peer = Peer::new(CLIENT.into());
    peer.load_document(held_doc_id(), vec![held_doc().to_vec()])
        .expect("the sample document loads");
    peer.find(wanted_doc_id());
    peer.connected(0.0);
    peer.receive(
        &Message::Peer {
            sender: SERVER.into(),
            target: CLIENT.into(),
            version: "1".into(),
        }
        .encode(),
        1.0,
    );
    let _ = peer.take_effects();
    peer.receive(frame, 2.0);
    // The same frame again (a resend after a reconnect).
    peer.receive(frame, 3.0);
    let _ = peer.pending_changes();
    // A document the frame changed is read as the screens read it.
    for effect in peer.take_effects() {
        if let Effect::DocumentChanged { doc_id } = effect
            && let Some(doc) = peer.document(&doc_id)
        {
            let _ = fieldbook_shared::customer::Customer::load(doc);
        }
    }
}

fn one(frame: &[u8]) {
    let decoded = Message::decode(frame);
    if let Ok(m) = &decoded {
        let again = Message::decode(&m.encode());
        assert_eq!(
            again.as_ref(),
            Ok(m),
            "a decoded message survives a round trip"
        );
    }
    let doc = sync_document(frame);
    if let Ok(Message::Sync { doc: d, .. }) = &decoded {
        assert_eq!(
            doc.as_ref(),
            Some(d),
            "sync_document names the sync frame's document"
        );
    }
    server_side(frame);
    // The server refuses frames whose changes make automerge 0.12 panic
    // (`check_changes`), and sends clients only what samod makes from its own
    // documents; a tablet is never sent such changes. (In the browser a panic
    // aborts: there is no catching it there.)
    if fieldbook_server::sync::check_changes(frame).is_ok() {
        client_side(frame);
    }
}

/// One input of the `sync_message` target.
pub fn input(frame: &[u8]) {
    // `check_changes` catches automerge's panics: let them reach it.
    crate::let_panics_unwind_from(&["automerge", "hexane"]);
    crate::run(|| one(frame));
}
