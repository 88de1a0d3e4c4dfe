use std::collections::{HashMap, HashSet};

use crate::{
    DialerId, DocSearchPhase, DocumentActorId,
    actors::hub::{
        dialer::{DialerState, DialerStatus},
        state::ActorInfo,
    },
};

pub(super) struct Searches {
    pub(super) phases: HashMap<DocumentActorId, DocSearchPhase>,
    pub(super) last_dialers: HashMap<DialerId, DialerStatus>,
    /// Fieldbook patch: actors added or whose phase was set since the last
    /// `pop_state_updates`, which looked at every actor after every hub event
    /// (O(loaded documents) hash inserts per message).
    changed: HashSet<DocumentActorId>,
}

impl Searches {
    pub(super) fn new() -> Self {
        Self {
            phases: HashMap::new(),
            last_dialers: HashMap::new(),
            changed: HashSet::new(),
        }
    }

    /// Fieldbook patch: an actor was added or its search phase was set.
    pub(super) fn mark_changed(&mut self, actor: DocumentActorId) {
        self.changed.insert(actor);
    }

    /// Fieldbook patch: an actor has ended; its last phase is not needed.
    pub(super) fn forget(&mut self, actor: &DocumentActorId) {
        self.phases.remove(actor);
        self.changed.remove(actor);
    }

    pub(super) fn add_search(&mut self, actor: DocumentActorId, phase: DocSearchPhase) {
        self.phases.insert(actor, phase);
    }

    pub(super) fn pop_state_updates(
        &mut self,
        actors: &HashMap<DocumentActorId, ActorInfo>,
        dialers: &HashMap<DialerId, DialerState>,
    ) -> HashMap<DocumentActorId, DocSearchPhase> {
        let new_dialer_state = dialers
            .iter()
            .map(|(dialer_id, state)| (*dialer_id, state.status.clone()))
            .collect::<HashMap<DialerId, DialerStatus>>();
        let dialers_changed = self.last_dialers != new_dialer_state;
        self.last_dialers = new_dialer_state;

        let mut result = HashMap::new();
        // Fieldbook patch: only actors marked changed can differ from their
        // last phase, unless the dialers changed (then every actor reports).
        let changed = std::mem::take(&mut self.changed);
        let mut check = |actor_id: &DocumentActorId, actor: &ActorInfo| {
            let last_phase = self.phases.get(actor_id);
            if last_phase != Some(&actor.search_phase) || dialers_changed {
                result.insert(*actor_id, actor.search_phase.clone());
            }
            self.phases.insert(*actor_id, actor.search_phase.clone());
        };
        if dialers_changed {
            for (actor_id, actor) in actors {
                check(actor_id, actor);
            }
        } else {
            for actor_id in &changed {
                if let Some(actor) = actors.get(actor_id) {
                    check(actor_id, actor);
                }
            }
        }
        result
    }
}
