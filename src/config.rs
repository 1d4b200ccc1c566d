//! Command line and environment configuration (every flag has an `HERALD_*` variable).
use crate::domain::permission::Permission;
use clap::{Args, Parser, Subcommand};

/// How much longer than `--request-timeout-ms` a lease must last at least: the time
/// a send may overrun its timeout while the reply is dropped, plus a second to record.
pub const LEASE_MARGIN_MS: u64 = 1_500;
#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Herald: alert routing and delivery service with a GraphQL API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The database every command opens (global: accepted before or after the
    /// subcommand).
    #[command(flatten)]
    pub db: DbArgs,
    /// Options for `serve` (the default command).
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// Parse the command line (and environment). `serve`'s own flags given before
    /// another subcommand (`herald --listen X token list`) are refused rather than
    /// ignored; the database flags are global and may stand anywhere.
    pub fn parse_checked() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let mut cmd = Cli::command();
        let matches = cmd.get_matches_mut();
        if let Some(sub) = matches.subcommand_name() {
            let misplaced = cmd
                .get_arguments()
                .filter(|a| !a.is_global_set())
                .find(|a| {
                    matches.value_source(a.get_id().as_str())
                        == Some(clap::parser::ValueSource::CommandLine)
                });
            if let Some(arg) = misplaced {
                let flag = arg.get_long().unwrap_or(arg.get_id().as_str()).to_string();
                cmd.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("--{flag} is an option of `herald serve`, not of `herald {sub}`"),
                )
                .exit();
            }
        }
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        cli.serve.db = cli.db.clone();
        if let Some(Command::Serve(args)) = &mut cli.command {
            args.db = cli.db.clone();
        }
        let serve = match &cli.command {
            None => Some(&cli.serve),
            Some(Command::Serve(args)) => Some(&**args),
            Some(_) => None,
        };
        if let Some(Err(e)) = serve.map(ServeArgs::validate) {
            cmd.error(clap::error::ErrorKind::ValueValidation, e).exit();
        }
        cli
    }
}

// Parsed once at start-up: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP/GraphQL server and the delivery dispatcher (default).
    Serve(Box<ServeArgs>),
    /// Manage API tokens from the command line (bootstrapping).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Manage the encryption of secrets at rest.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Manage console users from the command line (the first administrator).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print the one-time link where they set their password, alone
    /// on stdout.
    Create {
        /// The user's e-mail address (unique, case-insensitive).
        #[arg(long)]
        email: String,
        /// The user's role, by name or id (built in: Admin, Analyst, AnalystReadOnly).
        #[arg(long)]
        role: String,
        /// The user's given (first) name.
        #[arg(long)]
        given_name: Option<String>,
        /// The user's family (last) name.
        #[arg(long)]
        family_name: Option<String>,
        /// Herald's public URL, the base of the link (as `herald serve` has it).
        #[arg(
            long,
            env = "HERALD_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        /// How long the link stays valid, in hours.
        #[arg(long, env = "HERALD_INVITE_TTL_HOURS", default_value_t = 168)]
        invite_ttl_hours: u64,
    },
    /// Print a new one-time set-password link for an existing user (a forgotten
    /// password), alone on stdout. Earlier links stop working.
    ResetPassword {
        /// The user's e-mail address (case-insensitive).
        #[arg(long)]
        email: String,
        /// Herald's public URL, the base of the link (as `herald serve` has it).
        #[arg(
            long,
            env = "HERALD_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        /// How long the link stays valid, in hours.
        #[arg(long, env = "HERALD_INVITE_TTL_HOURS", default_value_t = 168)]
        invite_ttl_hours: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every destination secret and the stored JWT secret under a new key, in
    /// one transaction (stop the servers first). The current key comes from
    /// HERALD_ENCRYPTION_KEY or the key file. With a key file, the new key replaces it
    /// after the commit; otherwise the new key is printed alone on stdout, to be set as
    /// HERALD_ENCRYPTION_KEY.
    RotateKey {
        /// The new key (base64 of 32 bytes). Default: a generated one.
        #[arg(long, env = "HERALD_NEW_ENCRYPTION_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
}

#[derive(Debug, Clone, Default, Args)]
pub struct DbArgs {
    /// Database URL: `sqlite://FILE?mode=rwc` (embedded; `mode=rwc` lets `serve` create
    /// the file) or `postgres://user:pass@host/db`. `token` and `secrets` commands only
    /// open an existing database: give them the server's.
    #[arg(
        long,
        global = true,
        env = "HERALD_DATABASE_URL",
        default_value = "sqlite://herald.db?mode=rwc"
    )]
    pub database_url: String,
    /// HS256 secret used to sign API tokens. When unset, one is generated once and stored
    /// (encrypted) in the database.
    #[arg(long, global = true, env = "HERALD_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Key that encrypts destination secrets and the stored JWT secret at rest (base64 of
    /// 32 bytes). SQLite: when unset, one is generated into the key file on first start.
    /// PostgreSQL: required.
    #[arg(
        long,
        global = true,
        env = "HERALD_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub encryption_key: Option<String>,
    /// Where the generated encryption key is kept when HERALD_ENCRYPTION_KEY is unset
    /// (SQLite only). Default: beside the database file, `<file>.key`.
    #[arg(long, global = true, env = "HERALD_ENCRYPTION_KEY_FILE")]
    pub encryption_key_file: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The database: parsed once as [`Cli::db`] (global flags) and copied here.
    #[arg(skip)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "HERALD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Base URL of the console, used to build each alert's `link`.
    #[arg(
        long,
        env = "HERALD_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
    /// Delivery attempts before a delivery is marked FAILED.
    #[arg(long, env = "HERALD_MAX_ATTEMPTS", default_value_t = 10)]
    pub max_attempts: u32,
    /// Base delay of the exponential backoff (full jitter), in milliseconds.
    #[arg(long, env = "HERALD_RETRY_BASE_DELAY_MS", default_value_t = 1000)]
    pub retry_base_delay_ms: u64,
    /// Cap on a single backoff delay, in milliseconds (a Retry-After header is honoured up to one hour).
    #[arg(long, env = "HERALD_RETRY_MAX_DELAY_MS", default_value_t = 300_000)]
    pub retry_max_delay_ms: u64,
    /// Timeout of one outbound request, in milliseconds.
    #[arg(long, env = "HERALD_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// How long a claimed delivery stays leased to a worker before another may take it over;
    /// at least the request timeout plus 1500 ms (a shorter lease is refused at start).
    #[arg(long, env = "HERALD_LEASE_MS", default_value_t = 60_000)]
    pub lease_ms: u64,
    /// How often idle workers look for due deliveries, in milliseconds.
    #[arg(long, env = "HERALD_POLL_INTERVAL_MS", default_value_t = 500)]
    pub poll_interval_ms: u64,
    /// Deliveries sent concurrently by this process.
    #[arg(long, env = "HERALD_WORKERS", default_value_t = 128)]
    pub workers: usize,
    /// How long graceful shutdown waits for in-flight deliveries, in milliseconds.
    #[arg(long, env = "HERALD_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Browser origins allowed to call the API (the console), comma-separated; `*` for any.
    /// Default: none (same-origin only).
    #[arg(
        long = "cors-origin",
        env = "HERALD_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Refuse GraphQL introspection queries.
    #[arg(long, env = "HERALD_DISABLE_INTROSPECTION", default_value_t = false)]
    pub disable_introspection: bool,

    // --- Inbound limits -------------------------------------------------------------
    /// Largest request body accepted, in bytes (enforced while reading, before the token
    /// check and before parsing).
    #[arg(long, env = "HERALD_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// GraphQL: deepest selection nesting accepted.
    #[arg(long, env = "HERALD_GRAPHQL_MAX_DEPTH", default_value_t = 16)]
    pub graphql_max_depth: usize,
    /// GraphQL: largest query complexity accepted (list fields count their page size).
    #[arg(long, env = "HERALD_GRAPHQL_MAX_COMPLEXITY", default_value_t = 50_000)]
    pub graphql_max_complexity: usize,
    /// GraphQL: most aliased fields in one operation (fragments counted where spread).
    #[arg(long, env = "HERALD_GRAPHQL_MAX_ALIASES", default_value_t = 30)]
    pub graphql_max_aliases: usize,
    /// GraphQL: most root fields in one operation (and most requests in one batch).
    #[arg(long, env = "HERALD_GRAPHQL_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub graphql_max_root_fields: usize,
    /// GraphQL: largest response body, in bytes (a batch's together); a larger one is
    /// replaced by a `RESPONSE_TOO_LARGE` error.
    #[arg(
        long,
        env = "HERALD_GRAPHQL_MAX_RESPONSE_BYTES",
        default_value_t = 16 * 1024 * 1024
    )]
    pub graphql_max_response_bytes: usize,

    // --- Outbound safety ------------------------------------------------------------
    /// Allow deliveries to loopback, private, link-local and other non-public addresses.
    #[arg(long, env = "HERALD_ALLOW_PRIVATE_NETWORKS", default_value_t = false)]
    pub allow_private_networks: bool,
    /// Non-public ranges deliveries may reach anyway (CIDRs, comma-separated).
    #[arg(
        long = "outbound-allow",
        env = "HERALD_OUTBOUND_ALLOWLIST",
        value_delimiter = ','
    )]
    pub outbound_allowlist: Vec<String>,
    /// Most bytes of a destination's response read (the rest is dropped unread).
    #[arg(long, env = "HERALD_MAX_RESPONSE_BYTES", default_value_t = 64 * 1024)]
    pub max_response_bytes: usize,
    /// Template rendering budget: largest output, in bytes.
    #[arg(long, env = "HERALD_TEMPLATE_MAX_BYTES", default_value_t = 256 * 1024)]
    pub template_max_bytes: usize,
    /// Template rendering budget: minijinja fuel (instructions).
    #[arg(long, env = "HERALD_TEMPLATE_FUEL", default_value_t = 200_000)]
    pub template_fuel: u64,

    // --- Delivery robustness --------------------------------------------------------
    /// Deliveries one destination may have in flight at once in this process, so a slow
    /// destination cannot hold every worker (1 to --workers). Default: a quarter of the
    /// workers (at least 1).
    #[arg(long, env = "HERALD_DESTINATION_WORKERS")]
    pub destination_workers: Option<usize>,
    /// A delivery whose lease expired this many times while in flight (the process died
    /// mid-send each time) is quarantined as FAILED.
    #[arg(long, env = "HERALD_MAX_LOST_LEASES", default_value_t = 3)]
    pub max_lost_leases: u32,
    /// Consecutive failed attempts after which a destination is paused (circuit breaker).
    #[arg(long, env = "HERALD_BREAKER_FAILURES", default_value_t = 20)]
    pub breaker_failures: u32,
    /// While paused, how often one probe delivery is sent, in milliseconds.
    #[arg(long, env = "HERALD_BREAKER_PROBE_MS", default_value_t = 30_000)]
    pub breaker_probe_ms: u64,

    // --- Operations -----------------------------------------------------------------
    /// Bearer token required by `GET /metrics` (default: none).
    #[arg(long, env = "HERALD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `/metrics` on this separate address instead of the main listener.
    #[arg(long, env = "HERALD_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,

    // --- Egress ---------------------------------------------------------------------
    /// Send every HTTP delivery through this proxy (`http://host:port` or `https://…`,
    /// credentials as `user:password@`). Proxy variables of the environment
    /// (`HTTP_PROXY`, …) are never used. The proxy resolves destination names: the SSRF
    /// guard still refuses non-public IP literals, the proxy must refuse the rest.
    /// E-mail goes through `CONNECT` with an `http://` proxy (`smtp://`, optionally
    /// `?tls=required`; `smtps://` is refused), directly with an `https://` one.
    #[arg(long, env = "HERALD_OUTBOUND_PROXY", hide_env_values = true)]
    pub outbound_proxy: Option<String>,
    /// Local address outbound connections (deliveries, e-mail, the proxy) are made from.
    #[arg(long, env = "HERALD_OUTBOUND_BIND_ADDRESS")]
    pub outbound_bind_address: Option<std::net::IpAddr>,
    /// The public IP address deliveries leave from, for receivers to allow-list; shown
    /// by the `generalSettings` query (Panther's "Gateway Public IP").
    #[arg(long, env = "HERALD_GATEWAY_PUBLIC_IP")]
    pub gateway_public_ip: Option<String>,

    // --- People: console sign-in and SSO -------------------------------------------
    #[command(flatten)]
    pub people: PeopleArgs,
}

/// Console users: session lifetimes, sign-in rate limits, invitation links and OIDC
/// single sign-on.
#[derive(Debug, Clone, Args)]
pub struct PeopleArgs {
    /// A console session ends after this many minutes without a request.
    #[arg(long, env = "HERALD_SESSION_IDLE_MINUTES", default_value_t = 60)]
    pub session_idle_minutes: u64,
    /// A console session ends this many hours after sign-in, however busy.
    #[arg(long, env = "HERALD_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u64,
    /// Sign-in attempts allowed per account per minute (a burst of this many, then one
    /// more each 60/N seconds); the next is answered 429 with Retry-After. Each client
    /// address gets four times as many.
    #[arg(long, env = "HERALD_LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 5)]
    pub login_attempts_per_minute: u32,
    /// How long a set-password link (from `inviteUser` or `herald user create`) stays
    /// valid, in hours. Each link works once.
    #[arg(long, env = "HERALD_INVITE_TTL_HOURS", default_value_t = 168)]
    pub invite_ttl_hours: u64,
    /// OpenID Connect issuer URL for single sign-on (its
    /// `/.well-known/openid-configuration` is read). Unset: SSO is off.
    #[arg(long, env = "HERALD_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id Herald is registered with at the issuer (the ID token's audience).
    #[arg(long, env = "HERALD_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// The client secret Herald is registered with at the issuer.
    #[arg(long, env = "HERALD_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// Role (name or id) given to a user signing in through SSO for the first time.
    /// Unset: only users that already exist (matched by verified e-mail) may sign in.
    #[arg(long, env = "HERALD_OIDC_DEFAULT_ROLE")]
    pub oidc_default_role: Option<String>,
}

impl PeopleArgs {
    /// The OIDC settings, when SSO is configured (issuer and client id set).
    pub fn oidc(&self) -> Option<OidcSettings> {
        let set = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Some(OidcSettings {
            issuer: set(&self.oidc_issuer)?.trim_end_matches('/').to_string(),
            client_id: set(&self.oidc_client_id)?,
            client_secret: set(&self.oidc_client_secret).unwrap_or_default(),
            default_role: set(&self.oidc_default_role),
        })
    }
}

/// Single sign-on through an OpenID Connect issuer.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub default_role: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it alone on stdout.
    Create {
        /// Token name, recorded as createdBy/lastModifiedBy of what it changes.
        #[arg(long)]
        name: String,
        /// Permission to grant (repeatable; names are case-insensitive). Default: every
        /// permission.
        #[arg(long = "permission", value_enum, ignore_case = true)]
        permissions: Vec<Permission>,
        /// Lifetime such as `30d`, `12h`, `90m`. Default: no expiry.
        #[arg(long)]
        expires_in: Option<String>,
        /// Only accept the token from this CIDR block or address (repeatable). Default: anywhere.
        #[arg(long = "allowed-cidr")]
        allowed_cidrs: Vec<String>,
    },
    /// List active tokens (id, name, permissions, expiry) under a header row.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id (and every token it minted).
    Revoke {
        /// The token's id (the first column of `herald token list`).
        id: String,
    },
}

impl ServeArgs {
    /// Check every value's range and the relations between values, as loaded: the
    /// error names each offending flag with its variable and says what is allowed.
    /// Nothing is clamped afterwards, so a value that passes is used as given.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut problems: Vec<String> = Vec::new();
        let mut check = |flag: &str, env: &str, value: u64, min: u64, max: u64| {
            if value < min || value > max {
                let allowed = if max == u64::MAX {
                    format!("at least {min}")
                } else {
                    format!("between {min} and {max}")
                };
                problems.push(format!("--{flag} ({env}) must be {allowed}, got {value}"));
            }
        };
        let any = u64::MAX;
        let size = |v: usize| v as u64;
        check(
            "max-attempts",
            "HERALD_MAX_ATTEMPTS",
            self.max_attempts.into(),
            1,
            any,
        );
        check(
            "retry-max-delay-ms",
            "HERALD_RETRY_MAX_DELAY_MS",
            self.retry_max_delay_ms,
            self.retry_base_delay_ms,
            any,
        );
        check(
            "request-timeout-ms",
            "HERALD_REQUEST_TIMEOUT_MS",
            self.request_timeout_ms,
            1,
            any,
        );
        // A lease must outlive one request, or a slow send could be taken over by
        // another worker and sent twice.
        check(
            "lease-ms",
            "HERALD_LEASE_MS",
            self.lease_ms,
            self.request_timeout_ms.saturating_add(LEASE_MARGIN_MS),
            any,
        );
        check(
            "poll-interval-ms",
            "HERALD_POLL_INTERVAL_MS",
            self.poll_interval_ms,
            1,
            any,
        );
        check("workers", "HERALD_WORKERS", size(self.workers), 1, any);
        if let Some(n) = self.destination_workers {
            check(
                "destination-workers",
                "HERALD_DESTINATION_WORKERS",
                size(n),
                1,
                size(self.workers.max(1)),
            );
        }
        check(
            "max-lost-leases",
            "HERALD_MAX_LOST_LEASES",
            self.max_lost_leases.into(),
            1,
            any,
        );
        check(
            "breaker-failures",
            "HERALD_BREAKER_FAILURES",
            self.breaker_failures.into(),
            1,
            i32::MAX as u64,
        );
        check(
            "breaker-probe-ms",
            "HERALD_BREAKER_PROBE_MS",
            self.breaker_probe_ms,
            1,
            i64::MAX as u64,
        );
        check(
            "max-body-bytes",
            "HERALD_MAX_BODY_BYTES",
            size(self.max_body_bytes),
            1,
            any,
        );
        check(
            "graphql-max-depth",
            "HERALD_GRAPHQL_MAX_DEPTH",
            size(self.graphql_max_depth),
            1,
            any,
        );
        check(
            "graphql-max-complexity",
            "HERALD_GRAPHQL_MAX_COMPLEXITY",
            size(self.graphql_max_complexity),
            1,
            any,
        );
        check(
            "graphql-max-root-fields",
            "HERALD_GRAPHQL_MAX_ROOT_FIELDS",
            size(self.graphql_max_root_fields),
            1,
            any,
        );
        check(
            "graphql-max-response-bytes",
            "HERALD_GRAPHQL_MAX_RESPONSE_BYTES",
            size(self.graphql_max_response_bytes),
            1,
            any,
        );
        check(
            "max-response-bytes",
            "HERALD_MAX_RESPONSE_BYTES",
            size(self.max_response_bytes),
            1,
            any,
        );
        check(
            "template-max-bytes",
            "HERALD_TEMPLATE_MAX_BYTES",
            size(self.template_max_bytes),
            1,
            any,
        );
        check(
            "template-fuel",
            "HERALD_TEMPLATE_FUEL",
            self.template_fuel,
            1,
            any,
        );
        let people = &self.people;
        check(
            "session-idle-minutes",
            "HERALD_SESSION_IDLE_MINUTES",
            people.session_idle_minutes,
            1,
            i32::MAX as u64,
        );
        check(
            "session-max-hours",
            "HERALD_SESSION_MAX_HOURS",
            people.session_max_hours,
            1,
            i32::MAX as u64,
        );
        check(
            "login-attempts-per-minute",
            "HERALD_LOGIN_ATTEMPTS_PER_MINUTE",
            people.login_attempts_per_minute.into(),
            1,
            1_000_000,
        );
        check(
            "invite-ttl-hours",
            "HERALD_INVITE_TTL_HOURS",
            people.invite_ttl_hours,
            1,
            i32::MAX as u64,
        );
        let oidc_set = [&people.oidc_issuer, &people.oidc_client_id]
            .iter()
            .filter(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()))
            .count();
        if oidc_set == 1 {
            problems.push(
                "single sign-on needs both --oidc-issuer (HERALD_OIDC_ISSUER) and \
                 --oidc-client-id (HERALD_OIDC_CLIENT_ID)"
                    .into(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("invalid configuration: {}", problems.join("; "))
        }
    }

    /// Deliveries one destination may have in flight in this process: as configured,
    /// by default a quarter of the workers (at least 1).
    pub fn destination_workers(&self) -> usize {
        self.destination_workers
            .unwrap_or((self.workers / 4).max(1))
    }

    /// Defaults for tests and embedding: every value as documented, a given database.
    pub fn for_database(url: &str) -> Self {
        let cli = Cli::parse_from(["herald"]);
        let mut args = cli.serve;
        args.db = cli.db;
        args.db.database_url = url.to_string();
        args.db.jwt_secret = None;
        args
    }
}

/// `--permission NAME`: the names of the API (`AlertRead`, …), listed by `--help`.
impl clap::ValueEnum for Permission {
    fn value_variants<'a>() -> &'a [Self] {
        &Permission::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let help = match self {
            Permission::AlertRead => "read alerts and their deliveries",
            Permission::AlertModify => "create, update and deliver alerts",
            Permission::DestinationRead => "read destinations",
            Permission::DestinationModify => "create, change and delete destinations",
            Permission::RuleRead => "read detection overrides",
            Permission::RuleModify => "change detection overrides",
            Permission::OrganizationApiTokenRead => "read API tokens",
            Permission::OrganizationApiTokenModify => "create, rotate and revoke API tokens",
            Permission::DeliveryPoll => "lease deliveries of polling destinations",
            Permission::AuditLogRead => "read the audit log",
            Permission::UserRead => "read users and roles",
            Permission::UserModify => "invite, change and delete users; manage roles",
            Permission::GeneralSettingsRead => "read general settings",
            Permission::GeneralSettingsModify => "change general settings",
            Permission::SummaryRead => "read summaries and metrics",
        };
        Some(clap::builder::PossibleValue::new(self.name()).help(help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs::for_database("sqlite::memory:")
    }

    #[test]
    fn the_documented_defaults_are_valid() {
        args().validate().unwrap();
        assert_eq!(args().destination_workers(), 32);
    }

    #[test]
    fn a_value_out_of_range_is_an_error_naming_the_flag_and_variable() {
        let mut a = args();
        a.workers = 0;
        let e = a.validate().unwrap_err().to_string();
        assert!(
            e.contains("--workers (HERALD_WORKERS) must be at least 1, got 0"),
            "{e}"
        );
        let mut a = args();
        a.request_timeout_ms = 0;
        a.breaker_failures = u32::MAX;
        let e = a.validate().unwrap_err().to_string();
        assert!(
            e.contains("--request-timeout-ms (HERALD_REQUEST_TIMEOUT_MS) must be at least 1"),
            "{e}"
        );
        assert!(
            e.contains(
                "--breaker-failures (HERALD_BREAKER_FAILURES) must be between 1 and 2147483647"
            ),
            "{e}"
        );
    }

    #[test]
    fn related_values_are_checked_together() {
        let mut a = args();
        a.retry_base_delay_ms = 5000;
        a.retry_max_delay_ms = 1000;
        let e = a.validate().unwrap_err().to_string();
        assert!(
            e.contains(
                "--retry-max-delay-ms (HERALD_RETRY_MAX_DELAY_MS) must be at least 5000, got 1000"
            ),
            "{e}"
        );
        let mut a = args();
        a.workers = 8;
        a.destination_workers = Some(9);
        let e = a.validate().unwrap_err().to_string();
        assert!(e.contains("must be between 1 and 8, got 9"), "{e}");
        a.destination_workers = Some(8);
        a.validate().unwrap();
        assert_eq!(a.destination_workers(), 8);
        // A lease shorter than a request (plus the margin) would let a slow send be
        // taken over and sent twice.
        let mut a = args();
        a.request_timeout_ms = 10_000;
        a.lease_ms = 11_000;
        let e = a.validate().unwrap_err().to_string();
        assert!(
            e.contains("--lease-ms (HERALD_LEASE_MS) must be at least 11500, got 11000"),
            "{e}"
        );
        a.lease_ms = 11_500;
        a.validate().unwrap();
    }

    #[test]
    fn sso_needs_an_issuer_and_a_client_id_together() {
        let mut a = args();
        assert!(a.people.oidc().is_none());
        a.people.oidc_issuer = Some("https://id.example.com/".into());
        let e = a.validate().unwrap_err().to_string();
        assert!(e.contains("HERALD_OIDC_CLIENT_ID"), "{e}");
        a.people.oidc_client_id = Some("herald".into());
        a.validate().unwrap();
        let o = a.people.oidc().unwrap();
        assert_eq!(o.issuer, "https://id.example.com");
        assert_eq!(o.default_role, None);
        a.people.session_idle_minutes = 0;
        let e = a.validate().unwrap_err().to_string();
        assert!(e.contains("HERALD_SESSION_IDLE_MINUTES"), "{e}");
    }

    #[test]
    fn the_command_line_refuses_an_invalid_value() {
        let e = Cli::try_parse_from(["herald", "--workers", "0"])
            .map(|c| c.serve.validate())
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(e.contains("--workers"), "{e}");
    }
}
