//! `collectiq-ops`: observability and cost governance for CollectIQ. See `collectiq-ops --help`; the exit
//! codes are [`collectiq_ops::cli::exit`].

use collectiq_ops::cli::{self, exit};
use collectiq_ops::output;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let code = match cli::parse(std::env::args_os()) {
        Ok(parsed) => cli::run(parsed).await.unwrap_or_else(|e| {
            // Never `eprintln!`: it panics (exit 101) when stderr is a closed pipe.
            output::error_line(&format!("{e:#}"));
            exit::ERROR
        }),
        Err(code) => code,
    };
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
