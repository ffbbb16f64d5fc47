//! `adaptd`: see `adaptd --help`.

/// mimalloc rather than glibc's malloc: a cycle allocates each group's candidates on
/// scoped worker threads and frees them on another, and glibc's per-thread arenas
/// kept that memory resident (twice the live heap, in the service benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    adaptd::cli::main()
}
