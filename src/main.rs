use clap::Parser;
use identity_server::cli::{self, Cli};
use identity_server::telemetry;

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
