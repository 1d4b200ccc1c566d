use clap::Parser;
use herald::config::{Cli, Command};

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HERALD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr so `herald token create` prints the token alone on stdout.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        None => herald::app::serve(cli.serve).await,
        Some(Command::Serve(args)) => herald::app::serve(args).await,
        Some(Command::Schema) => {
            print!("{}", herald::graphql::sdl());
            Ok(())
        }
        Some(Command::Token(cmd)) => herald::cli::token(cmd).await,
        Some(Command::Secrets(cmd)) => herald::cli::secrets(cmd).await,
    }
}
