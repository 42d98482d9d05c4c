//! The `zhengzhao` command line.

/// mimalloc instead of the C library's allocator: a node allocates and frees many small,
/// short-lived buffers per request from several threads, which glibc's malloc serves with
/// locking and consolidation work (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    zhengzhao::cli::main()
}
