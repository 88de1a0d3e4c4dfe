//! Giving the memory of unloaded documents and closed connections back to the
//! system.
//!
//! samod unloads documents no device has synced for a while
//! (`Config::unload_idle`). The server allocates with jemalloc (main.rs):
//! under glibc's malloc, memory freed by unloaded documents stayed resident,
//! pinned by the few live allocations scattered among it, so RSS grew by
//! about 6 KB for every document ever synced while the live heap did not
//! grow at all (BENCHMARKS.md). jemalloc returns freed pages on its own after
//! a few seconds; after documents unload or connections close (a unit's
//! tablets all syncing in the morning), this makes it return them at once,
//! and trims glibc's heap, which SQLite still uses.

use std::time::Duration;

use samod::Repo;

use crate::state::AppState;
use jemalloc::{jemalloc_heap, jemalloc_size_classes, purge_jemalloc};

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
            // Reading the statistics merges every arena's: only when logged.
            if tracing::enabled!(tracing::Level::DEBUG)
                && let Some((allocated, resident)) = jemalloc_heap()
            {
                tracing::debug!(
                    allocated,
                    resident,
                    "heap after returning freed memory (bytes: live allocations, resident pages)"
                );
            }
            if tracing::enabled!(tracing::Level::TRACE) {
                let classes: Vec<String> = jemalloc_size_classes()
                    .iter()
                    .map(|(size, count)| format!("{size}:{count}"))
                    .collect();
                tracing::trace!(
                    classes = classes.join(" "),
                    "live allocations by size class (bytes:count)"
                );
            }
        }
        last = now;
    }
}

fn open_connections(state: &AppState) -> usize {
    let conns = state.sync_conns.lock().unwrap_or_else(|e| e.into_inner());
    conns.values().sum()
}

fn trim() {
    if let Err(code) = purge_jemalloc() {
        tracing::warn!(code, "jemalloc would not return its free pages");
    }
    system_trim();
}

/// SQLite allocates with the system's malloc, not the Rust allocator.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn system_trim() {
    // SAFETY: malloc_trim only walks and releases glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn system_trim() {}

/// jemalloc's controls and statistics. The `jemalloc` feature (on unless a
/// crate turns the server's default features off) is off only in the fuzz
/// targets' check (`cargo xtask test`), which so skips jemalloc's C build.
#[cfg(feature = "jemalloc")]
mod jemalloc {
    /// jemalloc (the server's allocator, see main.rs) returns freed pages on its
    /// own after a few seconds; this makes it do so now, so that memory readings
    /// taken right after are comparable.
    pub(super) fn purge_jemalloc() -> Result<(), i32> {
        // 4096 is MALLCTL_ARENAS_ALL: every arena.
        mallctl_do(c"arena.4096.purge")
    }

    /// Runs a jemalloc control that takes no input and gives no output.
    fn mallctl_do(name: &std::ffi::CStr) -> Result<(), i32> {
        // SAFETY: such a control reads and writes no buffer of ours.
        let code = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            )
        };
        if code == 0 { Ok(()) } else { Err(code) }
    }

    /// jemalloc's own count of live allocations and of the pages it holds
    /// resident: RSS alone cannot tell live memory from memory not yet returned.
    pub(super) fn jemalloc_heap() -> Option<(usize, usize)> {
        advance_epoch()?;
        Some((
            mallctl_read(c"stats.allocated")?,
            mallctl_read(c"stats.resident")?,
        ))
    }

    /// jemalloc's live allocations by size class, `(size, count)` for each class
    /// in use. A difference of these between two readings says what a change in
    /// live memory is made of, e.g. one 384-byte allocation fewer per idle client
    /// (BENCHMARKS.md), where the total moves with noise from the small classes.
    pub(super) fn jemalloc_size_classes() -> Vec<(usize, usize)> {
        let mut classes = Vec::new();
        if advance_epoch().is_none() {
            return classes;
        }
        // Small classes are counted in regions, large ones in extents; 4096 is
        // MALLCTL_ARENAS_ALL.
        let kinds = [
            (
                c"arenas.nbins",
                "arenas.bin",
                "stats.arenas.4096.bins",
                "curregs",
            ),
            (
                c"arenas.nlextents",
                "arenas.lextent",
                "stats.arenas.4096.lextents",
                "curlextents",
            ),
        ];
        for (number, sizes, stats, current) in kinds {
            let Some(n) = mallctl_read::<u32>(number) else {
                continue;
            };
            for j in 0..n {
                let name = |s: String| std::ffi::CString::new(s).expect("no NUL in a mallctl name");
                let size = mallctl_read::<usize>(&name(format!("{sizes}.{j}.size")));
                let count = mallctl_read::<usize>(&name(format!("{stats}.{j}.{current}")));
                if let (Some(size), Some(count)) = (size, count)
                    && count > 0
                {
                    classes.push((size, count));
                }
            }
        }
        classes
    }

    /// jemalloc's statistics are cached until the epoch is advanced.
    fn advance_epoch() -> Option<()> {
        let mut epoch: u64 = 1;
        // SAFETY: a documented mallctl name; the input is the size given.
        let code = unsafe {
            tikv_jemalloc_sys::mallctl(
                c"epoch".as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                (&raw mut epoch).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        (code == 0).then_some(())
    }

    /// Reads one jemalloc statistic or setting of type `T` (as documented for
    /// the name: `size_t` or `unsigned` here).
    fn mallctl_read<T: Copy + Default>(name: &std::ffi::CStr) -> Option<T> {
        let mut value = T::default();
        let mut len = std::mem::size_of::<T>();
        // SAFETY: the output buffer is a `T` of the size given, and jemalloc
        // writes at most that many bytes.
        let code = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                (&raw mut value).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        (code == 0 && len == std::mem::size_of::<T>()).then_some(value)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn jemalloc_takes_the_purge_request() {
            assert_eq!(super::purge_jemalloc(), Ok(()));
        }

        #[test]
        fn jemalloc_counts_its_heap() {
            // Straight from jemalloc: the test binary's allocator is the system's.
            // SAFETY: a plain allocation, written to and freed below.
            let block = unsafe { tikv_jemalloc_sys::malloc(4 << 20) };
            assert!(!block.is_null());
            unsafe { std::ptr::write_bytes(block.cast::<u8>(), 1, 4 << 20) };
            let (during, resident) = super::jemalloc_heap().expect("jemalloc statistics");
            unsafe { tikv_jemalloc_sys::free(block) };
            assert!(during >= 4 << 20, "allocated {during}");
            assert!(resident >= 4 << 20, "resident {resident}");
        }

        #[test]
        fn jemalloc_counts_by_size_class() {
            // Thread caches hold regions jemalloc counts as live: flushed before
            // each reading so the count moves by exactly what this test holds.
            let count_384 = || {
                assert_eq!(super::mallctl_do(c"thread.tcache.flush"), Ok(()));
                super::jemalloc_size_classes()
                    .iter()
                    .find(|(size, _)| *size == 384)
                    .map_or(0, |(_, count)| *count)
            };
            let before = count_384();
            // SAFETY: plain allocations, freed below.
            let blocks: Vec<_> = (0..1000)
                .map(|_| unsafe { tikv_jemalloc_sys::malloc(384) })
                .collect();
            assert!(blocks.iter().all(|b| !b.is_null()));
            let during = count_384();
            for block in blocks {
                unsafe { tikv_jemalloc_sys::free(block) };
            }
            let after = count_384();
            assert_eq!(during - before, 1000, "384-byte regions while held");
            assert_eq!(after, before, "384-byte regions after freeing");
        }
    }
}

/// Without jemalloc (see above): nothing to purge or to read.
#[cfg(not(feature = "jemalloc"))]
mod jemalloc {
    pub(super) fn purge_jemalloc() -> Result<(), i32> {
        Ok(())
    }

    pub(super) fn jemalloc_heap() -> Option<(usize, usize)> {
        None
    }

    pub(super) fn jemalloc_size_classes() -> Vec<(usize, usize)> {
        Vec::new()
    }
}
