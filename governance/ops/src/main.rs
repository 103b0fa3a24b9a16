//! `collectiq-ops`: observability and cost governance for CollectIQ. See `collectiq-ops --help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = collectiq_ops::cli::Cli::parse();
    match collectiq_ops::cli::run(cli).await {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
