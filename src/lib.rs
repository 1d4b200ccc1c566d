//! Herald: self-hosted alert routing and delivery.
//!
//! Layers, outermost first:
//! - [`http`]: routes and token authentication in front of the schema.
//! - [`graphql`]: the API schema; resolvers check input, call a service, map the result.
//! - [`service`]: use cases (ingest an alert, save a destination) in terms of the store.
//! - [`routing`]: the pure routing decision (Panther's precedence).
//! - [`dispatch`]: the outbox worker pool, retry policy and attempt recording.
//! - [`destinations`]: one module per destination type behind one trait.
//! - [`outbound`]: the guarded, bounded HTTP client and SSRF policy every sender uses.
//! - [`store`]: sea-orm entities and queries; the only place that speaks SQL.
//! - [`domain`]: plain types shared by all of the above.
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod destinations;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod logging;
pub mod outbound;
pub mod routing;
pub mod service;
pub mod store;
pub mod telemetry;
