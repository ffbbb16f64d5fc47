//! `adaptd`: see `adaptd --help`.

use adaptd::cli::Cli;
use clap::Parser;

/// jemalloc rather than glibc's malloc. Building a component's models allocates
/// thousands of small tables per candidate and frees them on another thread; glibc
/// spent about a third of `adaptd recommend`'s CPU in malloc and free on the
/// real-shaped 10,000-function fleet (`perf`), and with one arena per thread kept the
/// heap freed between groups resident in the service. See [`MALLOC_CONF`] and the
/// figures in docs/benchmarks.md.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts (`_RJEM_MALLOC_CONF` in the environment
/// still overrides them). One arena: the worker threads' own caches serve the small
/// allocations without its lock, and the service's heap does not grow with each
/// thread that ever built a group. Freed pages go back to the system after a second
/// rather than ten, so a service that has finished its cycle does not keep the
/// cycle's peak.
#[cfg(not(target_env = "msvc"))]
#[allow(unsafe_code)]
// SAFETY: jemalloc reads this symbol as a NUL-terminated C string before its first
// allocation; the slice's first word is the pointer to the bytes, which are static.
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8] = b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> std::process::ExitCode {
    adaptd::commands::run_cli(Cli::parse())
}
