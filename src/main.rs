use clap::Parser;
use identity_server::cli::{self, Cli};
use identity_server::telemetry;

/// Lists and creates allocate many small strings per request; mimalloc serves them with
/// less locking and fragmentation than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("identity-server: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
