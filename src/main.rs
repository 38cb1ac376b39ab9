//! The `tributary` binary: parse the command line, start logging, hand over to `cli`.

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
