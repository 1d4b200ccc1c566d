//! Live updates: what changed in this process, broadcast to GraphQL subscriptions.
//!
//! A bounded `tokio::sync::broadcast` channel. Publishers (ingestion, alert updates,
//! the dispatcher) build an event only when someone listens ([`LiveBus::publish`] takes
//! a closure), so with no subscriber a publish costs one atomic read. A subscriber that
//! falls more than [`CAPACITY`] events behind is told how many it missed
//! (`RecvError::Lagged`) and goes on from the oldest kept; a publisher never waits.
//! Events are per process: a subscriber sees what the process it is connected to did.
use super::{Alert, AlertId, DeliveryId};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Events kept for the slowest subscriber before it lags.
pub const CAPACITY: usize = 1024;

/// Something a subscription may want to hear of.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// An alert was created (committed), as it was stored.
    AlertCreated(Arc<Alert>),
    /// An alert changed (status, assignee, events joined by dedup, a comment), as it
    /// stands after the change was committed.
    AlertUpdated(Arc<Alert>),
    /// A delivery was queued, re-sent, or had an attempt recorded (read it from the
    /// store for its current state). `alert_id` is `None` for test sends.
    DeliveryUpdated {
        delivery_id: DeliveryId,
        alert_id: Option<AlertId>,
    },
}

/// The sending side, cheap to clone; every clone sends to the same subscribers.
#[derive(Clone)]
pub struct LiveBus {
    tx: broadcast::Sender<LiveEvent>,
}

impl Default for LiveBus {
    fn default() -> Self {
        LiveBus {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl LiveBus {
    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }

    /// How many subscribers listen now.
    pub fn watchers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Whether anyone listens (publishers skip building events otherwise).
    pub fn is_watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Publish the event `make` builds, only when someone listens. Never waits.
    pub fn publish(&self, make: impl FnOnce() -> LiveEvent) {
        if self.is_watched() {
            let _ = self.tx.send(make());
        }
    }

    /// Publish one event per item, built only when someone listens.
    pub fn publish_all<T>(
        &self,
        items: impl IntoIterator<Item = T>,
        make: impl Fn(T) -> LiveEvent,
    ) {
        if self.is_watched() {
            for item in items {
                let _ = self.tx.send(make(item));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_built_without_a_subscriber_and_a_lagging_one_is_told() {
        let bus = LiveBus::default();
        bus.publish(|| unreachable!("built for nobody"));
        let mut rx = bus.subscribe();
        for i in 0..(CAPACITY + 5) {
            bus.publish(|| LiveEvent::DeliveryUpdated {
                delivery_id: DeliveryId::from(format!("d{i}")),
                alert_id: None,
            });
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(5))
        ));
        assert!(matches!(
            rx.try_recv(),
            Ok(LiveEvent::DeliveryUpdated { .. })
        ));
    }
}
