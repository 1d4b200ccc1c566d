use clap::Parser;
use herald::config::{Cli, Command};

fn init_tracing() -> anyhow::Result<()> {
    use herald::logging::{EscapedStderr, Format};
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HERALD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let format = std::env::var("HERALD_LOG_FORMAT").unwrap_or_default();
    let format = Format::parse(&format).ok_or_else(|| {
        anyhow::anyhow!("HERALD_LOG_FORMAT must be `text` or `json`, not {format:?}")
    })?;
    // Logs go to stderr so `herald token create` prints the token alone on stdout.
    let fmt = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        // Colours are off: escape sequences in logged values are escaped, not obeyed.
        Format::Text => fmt.with_ansi(false).with_writer(EscapedStderr).init(),
        Format::Json => fmt.json().with_writer(std::io::stderr).init(),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing()?;
    match cli.command {
        None => herald::app::serve(cli.serve).await,
        Some(Command::Serve(args)) => herald::app::serve(*args).await,
        Some(Command::Schema) => {
            print!("{}", herald::graphql::sdl());
            Ok(())
        }
        Some(Command::Token(cmd)) => herald::cli::token(cmd).await,
        Some(Command::Secrets(cmd)) => herald::cli::secrets(cmd).await,
    }
}
