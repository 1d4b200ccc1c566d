//! Herald: self-hosted alert routing and delivery.
//!
//! Layers, outermost first. A module uses only the layers below it; `src/layers.rs`
//! holds the floors and a test fails on any import that runs upwards or sideways.
//! - [`app`]: assembles the state, the router and the dispatcher; nothing else uses it.
//! - [`http`] (and [`cli`]): routes, authentication in front of the schema, health.
//! - [`graphql`]: the API schema; resolvers check input, call a service, map the result.
//! - [`service`]: use cases (ingest an alert, save a destination, mint a token). Every
//!   write, and every read with a rule in it (names resolved, leases, visibility), goes
//!   through a service, which takes `&Services`. Plain reads of rows (lists, lookups by
//!   id, the data loaders) go straight to the [`store`]: it is the read model.
//! - [`dispatch`]: the outbox worker pool, retry policy and attempt recording.
//! - [`auth`]: tokens, principals and the policy of what a token may grant.
//! - [`store`]: sea-orm entities and queries; the only place that speaks SQL. It seals
//!   destination secrets, so it knows each type's secret fields.
//! - [`destinations`]: one module per destination type behind one trait, and the
//!   transport pieces they share.
//! - [`routing`]: the pure routing decision (Panther's precedence); [`crypto`];
//!   [`outbound`], the guarded, bounded HTTP client and SSRF policy every sender uses.
//! - [`config`]: settings, validated when loaded.
//! - [`domain`]: plain types shared by all of the above, with [`error`], [`telemetry`],
//!   [`logging`], [`batching`] (group commit's queue side) and [`graphiql`]'s
//!   embedded page.
pub mod app;
pub mod auth;
pub mod batching;
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
#[cfg(test)]
mod layers;
pub mod logging;
pub mod outbound;
pub mod routing;
pub mod service;
pub mod store;
pub mod telemetry;
