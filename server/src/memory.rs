//! Giving the memory of unloaded documents and closed connections back to the
//! system.
//!
//! samod unloads documents no device has synced for a while
//! (`Config::unload_idle`), but glibc's malloc keeps what they freed in its
//! per-thread arenas, so the server's RSS only ever grew. The same goes for a
//! burst of connections (a unit's tablets all syncing in the morning) once
//! they close. After either, `malloc_trim` returns the free pages.

use std::time::Duration;

use samod::Repo;

use crate::app::AppState;

/// How often the number of loaded documents is looked at.
const EVERY: Duration = Duration::from_secs(3);

/// Runs until the repo stops: trims the heap whenever the documents loaded or
/// the sync connections open changed since the last look. Growth counts too:
/// a new device's first sync leaves much freed behind it.
pub async fn trim_after_frees(state: AppState) {
    let counts = |repo: &Repo| (repo.loaded_document_count(), open_connections(&state));
    let mut last = counts(&state.repo);
    loop {
        tokio::time::sleep(EVERY).await;
        let now = counts(&state.repo);
        if now != last {
            tracing::debug!(
                loaded = now.0,
                connections = now.1,
                "documents or connections came or went: returning freed memory"
            );
            trim();
        }
        last = now;
    }
}

fn open_connections(state: &AppState) -> usize {
    let conns = state.sync_conns.lock().unwrap_or_else(|e| e.into_inner());
    conns.values().sum()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks and releases glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
