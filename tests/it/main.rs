//! Herald's integration tests: ONE test binary (`cargo test --test it`), one module per
//! area. Shared code lives in `support/` (test databases, the in-process server, the
//! scripted `Receiver`, `eventually`, real `herald` processes, the raw GraphQL client)
//! and every GraphQL document in `ops.rs`.
//!
//! All tests share this process and run in parallel: nothing may change process-global
//! state (environment variables, the current directory). Settings go into a server's
//! `ServeArgs` or into the environment of a spawned child process.
//!
//! A new area gets a new module here (`mod <topic>;` next to the others).
#[macro_use]
mod support;
mod ops;

mod alerts;
mod api;
mod audit;
mod auth;
mod cli;
mod container;
mod crash;
mod faults;
mod fuzz;
mod http_get;
mod integrations;
mod isolation;
mod limits;
mod operations;
mod outbound;
mod schema;
mod secrets;
mod webhooks;
