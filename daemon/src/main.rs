//! `adaptd`: see `adaptd --help`.

use adaptd::cli::{Cli, Command};
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_)) {
        one_malloc_arena();
    }
    adaptd::commands::run_cli(cli)
}

/// Keeps glibc's malloc to one arena in the long-lived service. A service cycle builds
/// each group's candidates on scoped worker threads and frees them on another; with
/// glibc's default of up to eight arenas per core, each thread's arena kept its share
/// resident after the free, and the service's peak RSS grew with every group. With one
/// arena (per-thread caches still serve small allocations without the lock), the
/// 2,000-component service benchmark peaked at 79 MB instead of 117 MB with mimalloc,
/// and the 10,000-component figures are in docs/benchmarks.md.
///
/// The one-shot commands keep glibc's default: their worker threads allocate
/// thousands of small tables per component, and on one arena they queue for its lock.
/// `adaptd recommend` on the 10,000-function real-shaped fleet took 20.1 s on one arena
/// and 10.9 s on the default ones (peak RSS 351 → 468 MB), measured side by side.
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
