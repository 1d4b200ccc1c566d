//! Use cases. Each takes plain inputs, validates them, and calls the store inside a
//! transaction where several writes must land together.
pub mod alerts;
pub mod audit;
pub mod deliveries;
pub mod destinations;
pub mod metrics;
pub mod overrides;
pub mod people;
pub mod preview;
pub mod snapshot;
pub mod tokens;

use crate::auth::Tokens;
use crate::dispatch::Dispatcher;
use sea_orm::DatabaseConnection;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    /// Seals and opens destination secrets at rest (passed to `store::destinations`).
    pub cipher: crate::crypto::Cipher,
    pub dispatcher: Dispatcher,
    pub tokens: Tokens,
    /// Whether database writes currently succeed (read by `/healthz`).
    pub writes: std::sync::Arc<crate::store::WriteHealth>,
    /// The queue of `createAlert` calls to this process's ingestion writer (group
    /// commit, see [`alerts::start_writer`]).
    pub ingest: alerts::IngestQueue,
    /// Destinations and detection overrides as routing sees them (see [`snapshot`]).
    pub routing: snapshot::RoutingSnapshot,
    /// Console sessions (see [`crate::auth::sessions`]).
    pub sessions: crate::auth::sessions::Sessions,
    /// Sign-in settings and rate limits, set-password links, SSO (see [`people`]).
    pub people: people::People,
    /// Live updates for GraphQL subscriptions (this process's events only; see
    /// [`crate::domain::live`]). Published after commits, built only when watched.
    pub live: crate::domain::live::LiveBus,
}
