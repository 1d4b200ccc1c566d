use herald::config::{Cli, Command};

/// jemalloc: under a burst of alerts, glibc's malloc and free were a fifth of the
/// workers' time (perf; BENCHMARKS.md). Few arenas and quick return of freed pages keep
/// the peak RSS where glibc had it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The allocator's settings, read by jemalloc at start-up (its `malloc_conf`).
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 69] =
    b"narenas:2,dirty_decay_ms:500,muzzy_decay_ms:0,background_thread:true\0";

/// `default`: the level without `HERALD_LOG` (the server's progress at `info`; commands
/// only warnings, so their own output stands alone; a command's slow statement, such as
/// the first `PRAGMA journal_mode = WAL` on a new file, is not a warning worth its noise).
fn init_tracing(default: &str) -> anyhow::Result<()> {
    use herald::logging::{EscapedStderr, Format};
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HERALD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
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

/// Errors are reported once, as `error: …` with each distinct cause on its own line
/// (no backtrace, no anyhow `Debug` report), and exit status 1.
fn report(e: &anyhow::Error) {
    let mut shown = e.to_string();
    eprintln!("error: {shown}");
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        // A wrapper that already quotes its cause would print it twice.
        if !text.is_empty() && !shown.contains(&text) {
            eprintln!("  because: {text}");
            shown.push('\n');
            shown.push_str(&text);
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    init_tracing(if serving {
        "info"
    } else {
        "warn,sqlx::query=error"
    })?;
    match cli.command {
        None => herald::app::serve(cli.serve).await,
        Some(Command::Serve(args)) => herald::app::serve(*args).await,
        Some(Command::Schema) => {
            print!("{}", herald::graphql::sdl());
            Ok(())
        }
        Some(Command::Token(cmd)) => herald::cli::token(cmd, &cli.db).await,
        Some(Command::Secrets(cmd)) => herald::cli::secrets(cmd, &cli.db).await,
        Some(Command::User(cmd)) => herald::cli::user(cmd, &cli.db).await,
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse_checked();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            std::process::ExitCode::FAILURE
        }
    }
}
