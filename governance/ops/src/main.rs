//! `collectiq-ops`: observability and cost governance for CollectIQ. See `collectiq-ops --help`; the exit
//! codes are [`collectiq_ops::cli::exit`].

use collectiq_ops::cli::{self, exit};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let code = match cli::parse(std::env::args_os()) {
        Ok(parsed) => cli::run(parsed).await.unwrap_or_else(|e| {
            // Errors quote values from specs and AWS: escape sequences in them are shown, not run.
            eprintln!("error: {}", vocabulary::text::terminal_safe(&format!("{e:#}")));
            exit::ERROR
        }),
        Err(code) => code,
    };
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
