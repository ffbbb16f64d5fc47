//! `adaptd`: see `adaptd --help`.

fn main() -> std::process::ExitCode {
    one_malloc_arena();
    adaptd::commands::main()
}

/// Keeps glibc's malloc to one arena. A service cycle builds each group's candidates
/// on scoped worker threads and frees them on another; with glibc's default of up to
/// eight arenas per core, each thread's arena kept its share resident after the free,
/// and the service's peak RSS grew with every group. With one arena (per-thread
/// caches still serve small allocations without the lock), the 2,000-component
/// service benchmark peaked at 79 MB instead of 117 MB with mimalloc, and the
/// 10,000-component figures are in docs/benchmarks.md.
/// `MALLOC_ARENA_MAX` in the environment still wins, since glibc reads it first.
#[allow(unsafe_code)]
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a malloc parameter; it runs before any other
        // thread exists, so no allocation races with it.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
