//! The routing configuration held in memory: every destination as routing sees it
//! (never its config or secrets) and every detection override, so ingesting an alert
//! reads one counter row instead of both tables.
//!
//! Freshness rests on the configuration version
//! ([`store::destinations::config_version`], a counter row in `locks`), which every
//! write to those tables moves on in its own transaction. [`RoutingSnapshot::current`]
//! reads it on the connection it is given (the ingestion transaction) and reloads when
//! it differs from the copy's, so an alert routes by every configuration write that
//! committed before that read, in this process or any other. The copy is loaded after
//! the version is read, so it is never older than its version; a write in this
//! process also drops the copy at once ([`RoutingSnapshot::invalidate`]).
use crate::domain::{Destination, DetectionOverride};
use crate::store;
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The routing configuration at one version.
#[derive(Debug)]
pub struct RoutingConfig {
    pub version: i64,
    /// In `store::destinations::list` order; `config` is always `Null`.
    pub destinations: Vec<Destination>,
    /// By detection id.
    pub overrides: HashMap<String, DetectionOverride>,
}

impl RoutingConfig {
    async fn load<C: ConnectionTrait>(c: &C, version: i64) -> Result<Self, DbErr> {
        let destinations = store::destinations::list_for_routing(c).await?;
        let overrides = store::overrides::list(c)
            .await?
            .into_iter()
            .map(|r| (r.value.detection_id.clone(), r.value))
            .collect();
        Ok(RoutingConfig {
            version,
            destinations,
            overrides,
        })
    }

    /// The override of a detection (ids are stored trimmed).
    pub fn detection(&self, detection_id: &str) -> Option<&DetectionOverride> {
        self.overrides.get(detection_id.trim())
    }
}

/// The process's copy, shared by every clone of `Services`.
#[derive(Clone, Default)]
pub struct RoutingSnapshot {
    held: Arc<Mutex<Option<Arc<RoutingConfig>>>>,
}

impl RoutingSnapshot {
    /// The routing configuration as current as `c` sees it: the held copy when its
    /// version is the stored one, else loaded anew through `c` and kept.
    pub async fn current<C: ConnectionTrait>(&self, c: &C) -> Result<Arc<RoutingConfig>, DbErr> {
        let version = store::destinations::config_version(c).await?;
        self.at_version(c, version).await
    }

    /// [`Self::current`] when the caller has read the stored version through `c`.
    pub async fn at_version<C: ConnectionTrait>(
        &self,
        c: &C,
        version: i64,
    ) -> Result<Arc<RoutingConfig>, DbErr> {
        if let Some(held) = self.held().filter(|h| h.version == version) {
            return Ok(held);
        }
        let fresh = Arc::new(RoutingConfig::load(c, version).await?);
        let mut held = self.held.lock().expect("routing snapshot lock");
        // Of two loads racing, keep the newer (an older one would only cost a reload).
        if held.as_ref().is_none_or(|h| h.version <= version) {
            *held = Some(fresh.clone());
        }
        Ok(fresh)
    }

    fn held(&self) -> Option<Arc<RoutingConfig>> {
        self.held.lock().expect("routing snapshot lock").clone()
    }

    /// Drop the copy: call after a configuration write in this process commits.
    pub fn invalidate(&self) {
        *self.held.lock().expect("routing snapshot lock") = None;
    }
}
