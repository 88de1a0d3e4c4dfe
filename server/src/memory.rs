//! Giving the memory of unloaded documents back to the system.
//!
//! samod unloads documents no device has synced for a while
//! (`Config::unload_idle`), but glibc's malloc keeps what they freed in its
//! per-thread arenas, so the server's RSS only ever grew. After documents have
//! been unloaded, `malloc_trim` returns the free pages.

use std::time::Duration;

use samod::Repo;

/// How often the number of loaded documents is looked at.
const EVERY: Duration = Duration::from_secs(3);

/// Runs until the repo stops: trims the heap whenever documents were unloaded
/// since the last look.
pub async fn trim_after_unloads(repo: Repo) {
    let mut last = repo.loaded_document_count();
    loop {
        tokio::time::sleep(EVERY).await;
        let now = repo.loaded_document_count();
        if now < last {
            tracing::debug!(
                unloaded = last - now,
                loaded = now,
                "returning freed memory"
            );
            trim();
        }
        last = now;
    }
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
