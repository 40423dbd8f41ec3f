//! Giving freed memory back to the system after heavy output, on glibc (elsewhere these do
//! nothing).
//!
//! Two habits of glibc's allocator kept a worker's burst in the gateway's memory long after it
//! was freed. Its mmap threshold rises to the size of every large block freed (up to 32 MiB),
//! so once a multi-MiB `history` snapshot (built for a client or a screen save) was freed, the
//! next ones came from the heap and their pages stayed resident; [`tune`] fixes the threshold
//! where glibc starts it. And the screen model's 64 KiB scrollback buffers, freed when they are
//! packed, sit in the heap between live blocks; [`release_free_memory`] hands such free pages
//! back (`malloc_trim`), which the screen thread does after packing.

/// Allocations at least this big are mapped on their own and unmapped when freed (glibc's
/// initial `M_MMAP_THRESHOLD`, kept from rising). glibc's own `MALLOC_MMAP_THRESHOLD_`
/// variable, when set, wins.
pub(crate) const MMAP_THRESHOLD: usize = 128 * 1024;

/// Fixes the allocator's mmap threshold at [`MMAP_THRESHOLD`] for the whole process, unless
/// `MALLOC_MMAP_THRESHOLD_` is set. Called once at start-up.
pub(crate) fn tune() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // Fits: 128 KiB.
        let value = MMAP_THRESHOLD as libc::c_int;
        // SAFETY: mallopt only sets an allocator parameter; it takes the allocator's own lock.
        #[allow(unsafe_code)]
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, value) };
        if ok != 1 {
            tracing::debug!(value, "mallopt(M_MMAP_THRESHOLD) refused");
        }
    }
}

/// Returns the free pages of every allocator arena to the system. It walks the arenas under
/// their locks, so it runs on a worker's screen thread after packing, never on the runtime.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases memory the allocator holds free; it takes each
        // arena's lock, so it is safe from any thread.
        #[allow(unsafe_code)]
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
