//! The `tributary` binary: parse the command line, start logging, hand over to `cli`.

/// mimalloc: less memory held per thread than glibc's arenas, and faster small allocations
/// (parsing and sanitizing allocate many short strings).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tributary::cli::Cli::parse();
    tributary::cli::init_logging(&cli);
    match tributary::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One clear line: the error and its causes, joined.
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
