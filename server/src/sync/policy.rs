//! samod's share policy: each document's decision for each peer from the
//! access tables (`acl.rs`), decided again whenever they change; and a new
//! document's claim, written before its content is accepted.

use fieldbook_shared::access::Access;
use futures::Stream;
use samod::{DocumentId, PeerId, ShareConfig, SharePolicy};

use crate::acl::Acl;
use crate::store::db::Db;

fn share_config(access: Access) -> ShareConfig {
    // The server never pushes documents unasked: a device asks for what its book lists.
    match access {
        Access::None => ShareConfig::none(),
        Access::Read => ShareConfig::read_only().with_announce(false),
        Access::Write => ShareConfig::read_write().with_announce(false),
    }
}

/// The share policy: decisions from [`Acl`], re-decided whenever it changes.
#[derive(Clone)]
pub struct Policy {
    pub acl: Acl,
    /// Where a new claim is written before the claimant may send the document.
    pub db: Db,
}

impl SharePolicy for Policy {
    fn share(
        &self,
        doc_id: DocumentId,
        peer_id: PeerId,
    ) -> impl Stream<Item = ShareConfig> + Send + 'static {
        let acl = self.acl.clone();
        let db = self.db.clone();
        let doc = doc_id.to_string();
        let peer = peer_id.to_string();
        let generation = self.acl.subscribe();
        futures::stream::unfold((true, generation), move |(first, mut generation)| {
            let acl = acl.clone();
            let db = db.clone();
            let doc = doc.clone();
            let peer = peer.clone();
            async move {
                if !first && generation.changed().await.is_err() {
                    return None;
                }
                generation.borrow_and_update();
                let (mut access, claimed) = acl.decide(&doc, &peer);
                if let Some(user) = claimed {
                    // Durable before the document's content is accepted, so a crash
                    // cannot leave a stored document that nobody holds.
                    let doc_id = doc.clone();
                    let stored = db
                        .call(move |c| {
                            c.execute(
                                "INSERT OR IGNORE INTO claims (doc_id, user_id, claimed_at) VALUES (?1, ?2, ?3)",
                                crate::sql_params![doc_id, user, crate::now()],
                            )?;
                            Ok(())
                        })
                        .await;
                    if let Err(e) = stored {
                        tracing::error!(error = %e, doc = %doc, "could not record a claim; refusing the document");
                        acl.drop_claim(&doc);
                        access = Access::None;
                    }
                }
                Some((share_config(access), (false, generation)))
            }
        })
    }
}
