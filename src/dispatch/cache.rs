//! The destinations deliveries go to, read and decrypted once per configuration
//! version instead of once per delivery. The version ([`store::destinations::config_version`])
//! moves on in the transaction of every configuration write, in any process; a copy
//! made at an older version is dropped as soon as a newer version is seen.
use crate::crypto::Cipher;
use crate::domain::DestinationId;
use crate::store::{self, destinations::DestinationRecord};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A destination as sent to, with the scrubber of its secrets (built once per
/// configuration version, not per send).
pub type Sendable = (
    Arc<DestinationRecord>,
    Arc<crate::destinations::secrets::Scrubber>,
);

#[derive(Default)]
pub struct DestinationCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    version: i64,
    /// `None`: the destination does not exist (deleted) at this version.
    by_id: HashMap<DestinationId, Option<Sendable>>,
    /// The ids of every destination that is sent to (not polled), at this version.
    push_ids: Option<Arc<Vec<DestinationId>>>,
}

impl DestinationCache {
    /// The destination as of configuration `version` (or newer), with its scrubber:
    /// from the copy when it holds it at that version, else read from the store and
    /// kept.
    pub async fn get<C: ConnectionTrait>(
        &self,
        db: &C,
        cipher: &Cipher,
        id: &DestinationId,
        version: i64,
    ) -> Result<Option<Sendable>, DbErr> {
        {
            let mut state = self.state.lock().expect("destination cache");
            state.catch_up(version);
            if version == state.version {
                if let Some(held) = state.by_id.get(id) {
                    return Ok(held.clone());
                }
            }
        }
        let read = store::destinations::get(db, cipher, id).await?.map(|r| {
            let scrubber = crate::destinations::integration(&r.destination.output_type)
                .map(|i| i.scrubber(&r.destination.config))
                .unwrap_or_default();
            (Arc::new(r), Arc::new(scrubber))
        });
        let mut state = self.state.lock().expect("destination cache");
        // Kept only if no newer version was seen meanwhile (the read may predate it).
        if state.version == version {
            state.by_id.insert(id.clone(), read.clone());
        }
        Ok(read)
    }

    /// The ids of every destination that is sent to rather than polled, as of
    /// configuration `version` (or newer): read once per version.
    pub async fn push_ids<C: ConnectionTrait>(
        &self,
        db: &C,
        version: i64,
    ) -> Result<Arc<Vec<DestinationId>>, DbErr> {
        {
            let mut state = self.state.lock().expect("destination cache");
            state.catch_up(version);
            if version == state.version {
                if let Some(held) = &state.push_ids {
                    return Ok(held.clone());
                }
            }
        }
        let read: Arc<Vec<DestinationId>> = Arc::new(
            store::destinations::list_for_routing(db)
                .await?
                .into_iter()
                .filter(|d| !crate::destinations::is_pull(&d.output_type))
                .map(|d| d.id)
                .collect(),
        );
        let mut state = self.state.lock().expect("destination cache");
        if state.version == version {
            state.push_ids = Some(read.clone());
        }
        Ok(read)
    }
}

impl State {
    /// Drop what was kept at an older version once `version` is seen.
    fn catch_up(&mut self, version: i64) {
        if version > self.version {
            self.version = version;
            self.by_id.clear();
            self.push_ids = None;
        }
    }
}
