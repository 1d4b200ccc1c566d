//! Herald's integration tests: ONE test binary (`cargo test --test it`; one area:
//! `cargo test --test it alerts::`), one module per area. Shared code lives in
//! `support/`: test databases and `on_both!`/`on_postgres!`, the in-process
//! `TestServer` with typed helpers (`create_alert`, `add_destination`, `settled`, …) and
//! fixtures (`NewAlert`, `NewDestination`), the scripted `Receiver`, `eventually`,
//! `all_pages`, real `herald` processes, and the GraphQL client the benchmark shares.
//! Every GraphQL document used more than once is in `ops.rs`.
//!
//! All tests share this process and run in parallel: nothing may change process-global
//! state (environment variables, the current directory); settings go into a server's
//! `ServeArgs` or into the environment of a spawned child process, and a test that
//! measures memory measures a `herald` process of its own. Servers, receivers and
//! processes stop when dropped, so a failing test leaves nothing running.
//!
//! A new area is a new file here and a `mod <topic>;` line below.
#[macro_use]
mod support;
mod ops;

mod alerts;
mod api;
mod assignment;
mod audit;
mod auth;
mod batch;
mod cli;
mod cli_causes;
mod console;
mod console_alerts;
mod console_dashboard;
mod console_destinations;
mod console_overrides;
mod console_settings;
mod container;
mod crash;
mod damaged_rows;
mod faults;
mod fuzz;
mod http_get;
mod integrations;
mod isolation;
mod limits;
mod metrics;
mod oidc;
mod operations;
mod outbound;
mod panther_alerts;
mod panther_client;
mod people;
mod plans;
mod recording;
mod routing_snapshot;
mod scale_out;
mod schema;
mod secrets;
mod subscriptions;
mod token_cache;
mod user_cli;
mod webhooks;
