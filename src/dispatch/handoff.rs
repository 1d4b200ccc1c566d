//! The in-memory hand-off from ingestion to the workers. The ingestion writer reserves
//! room ([`crate::dispatch::Dispatcher::reserve`]), inserts that many new deliveries
//! already leased to this process in the alert's transaction, and after the commit
//! hands them over with the alert in memory ([`HandOffSlots::hand_off`]): no claim
//! query and no re-read. Deliveries beyond the room are inserted PENDING and claimed as
//! before. The room is bounded, so that a burst cannot leave leases running out in a
//! queue; a worker renews a lease that waited long (see `process_handed`).
use super::Dispatcher;
use crate::domain::payload::Payload;
use crate::domain::{Alert, DeliveryStatus, DestinationId};
use crate::store::deliveries::Delivery;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// A delivery leased to this process, waiting for a worker, with what sending it needs.
pub(super) struct HandOff {
    pub delivery: Delivery,
    pub work: Work,
    /// When it was queued (a delivery of a destination at its limit does not wait in
    /// the queue for long: see [`HandOffs::take`]).
    pub queued_at: std::time::Instant,
}

/// Where a queued delivery came from.
pub(super) enum Work {
    /// Committed by this process's ingestion: the alert in memory, the destination to
    /// read (from the copy kept per configuration version) at this version.
    Committed {
        alert: Arc<Alert>,
        payload: Arc<Payload>,
        version: i64,
    },
    /// Claimed from the table in a batch, loaded; `probe`: the probe of a paused
    /// destination.
    Claimed { probe: bool, loaded: super::Loaded },
}

/// The queue of handed-off deliveries and the room reserved in it.
pub(super) struct HandOffs {
    cap: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<HandOff>,
    /// Room promised to ingestion batches not yet committed.
    reserved: usize,
}

impl HandOffs {
    pub fn new(cap: usize) -> Self {
        HandOffs {
            cap,
            state: Mutex::default(),
        }
    }

    fn reserve(&self, wanted: usize) -> usize {
        let mut s = self.state.lock().expect("hand-off queue");
        let room = self.cap.saturating_sub(s.queue.len() + s.reserved);
        let n = wanted.min(room);
        s.reserved += n;
        n
    }

    fn unreserve(&self, n: usize) {
        let mut s = self.state.lock().expect("hand-off queue");
        s.reserved = s.reserved.saturating_sub(n);
    }

    fn push(&self, reserved: usize, items: Vec<HandOff>) {
        let mut s = self.state.lock().expect("hand-off queue");
        s.reserved = s.reserved.saturating_sub(reserved);
        s.queue.extend(items);
    }

    /// Queue claimed deliveries (no room was reserved for them: the claim asks for at
    /// most [`HandOffs::room`]).
    pub fn push_claimed(&self, items: Vec<HandOff>) {
        self.state
            .lock()
            .expect("hand-off queue")
            .queue
            .extend(items);
    }

    /// Those of `destinations` with at least `enough` deliveries waiting in the queue.
    pub fn enough_queued(
        &self,
        mut destinations: Vec<DestinationId>,
        enough: usize,
    ) -> Vec<DestinationId> {
        if destinations.is_empty() {
            return destinations;
        }
        let s = self.state.lock().expect("hand-off queue");
        destinations.retain(|id| {
            s.queue
                .iter()
                .filter(|h| h.delivery.output_id == *id)
                .take(enough)
                .count()
                >= enough
        });
        destinations
    }

    /// How many more deliveries the queue may take, and how many wait in it.
    pub fn room(&self) -> (usize, usize) {
        let s = self.state.lock().expect("hand-off queue");
        let held = s.queue.len() + s.reserved;
        (self.cap.saturating_sub(held), s.queue.len())
    }

    /// The oldest queued delivery whose destination is not at its concurrency; and the
    /// deliveries of `stalled` destinations (at their concurrency and giving no slot
    /// back) that have waited longer than `patience`, taken out to go back to the table
    /// (so that a hanging destination cannot fill the queue and keep the claim from
    /// finding other destinations' work). A destination that is merely busy keeps its
    /// queue: putting its deliveries back only to claim them again cost a write each,
    /// twice, on the one SQLite writer (the benchmark's slowest statements).
    pub fn take(
        &self,
        saturated: &[DestinationId],
        stalled: &[DestinationId],
        patience: std::time::Duration,
    ) -> (Option<HandOff>, Vec<HandOff>) {
        let mut s = self.state.lock().expect("hand-off queue");
        let mut stale = Vec::new();
        let now = std::time::Instant::now();
        let mut i = 0;
        let mut found = None;
        while i < s.queue.len() {
            let h = &s.queue[i];
            if !saturated.contains(&h.delivery.output_id) {
                found = s.queue.remove(i);
                break;
            }
            if stalled.contains(&h.delivery.output_id) && now.duration_since(h.queued_at) > patience
            {
                stale.extend(s.queue.remove(i));
            } else {
                i += 1;
            }
        }
        (found, stale)
    }
}

/// Room for deliveries handed straight to this process's workers; what is not handed
/// off (the transaction failed) is given back when this is dropped.
pub struct HandOffSlots {
    dispatcher: Dispatcher,
    n: usize,
    /// Some of the deliveries asked for found no room: they are inserted PENDING.
    short: bool,
    now: i64,
}

impl Dispatcher {
    /// Room for up to `wanted` new deliveries to be handed to the workers; lease that
    /// many with [`HandOffSlots::lease`] in the inserting transaction.
    pub fn reserve(&self, wanted: usize, now: i64) -> HandOffSlots {
        let n = if self.inner.recorder.get().is_some() {
            self.inner.handoffs.reserve(wanted)
        } else {
            // Not started (no claim loop, no workers): nothing can be handed over.
            0
        };
        HandOffSlots {
            dispatcher: self.clone(),
            n,
            short: n < wanted,
            now,
        }
    }
}

impl HandOffSlots {
    /// How many deliveries may be leased for the hand-off.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether some of the deliveries asked for are left for the claim loop (it must
    /// be woken for them: see [`Dispatcher::wake`]).
    pub fn short(&self) -> bool {
        self.short
    }

    /// Make a new (PENDING, not yet inserted) delivery row leased to this process.
    pub fn lease(&self, d: &mut Delivery) {
        let inner = &self.dispatcher.inner;
        d.status = DeliveryStatus::InFlight;
        d.claimed_by = Some(inner.claim_id.clone());
        d.lease_until = Some(self.now + inner.cfg.lease.as_millis() as i64);
        d.updated_at = self.now;
    }

    /// After the commit: hand the leased deliveries to the workers, with their alert
    /// (each alert's payload is built once for all its deliveries) and the
    /// configuration version they were routed at.
    pub fn hand_off(mut self, version: i64, work: Vec<(Arc<Alert>, Vec<Delivery>)>) {
        let inner = &self.dispatcher.inner;
        let mut items = Vec::new();
        for (alert, deliveries) in work {
            let mut payloads: Vec<(crate::domain::DeliveryKind, Arc<Payload>)> = Vec::new();
            for delivery in deliveries {
                let payload = match payloads.iter().find(|(k, _)| *k == delivery.kind) {
                    Some((_, p)) => p.clone(),
                    None => {
                        let p =
                            Arc::new(Payload::new(&alert, &inner.cfg.public_url, delivery.kind));
                        payloads.push((delivery.kind, p.clone()));
                        p
                    }
                };
                items.push(HandOff {
                    delivery,
                    work: Work::Committed {
                        alert: alert.clone(),
                        payload,
                        version,
                    },
                    queued_at: std::time::Instant::now(),
                });
            }
        }
        inner.handoffs.push(self.n, items);
        self.n = 0;
        inner.wake.notify_one();
    }
}

impl Drop for HandOffSlots {
    fn drop(&mut self) {
        if self.n > 0 {
            self.dispatcher.inner.handoffs.unreserve(self.n);
        }
    }
}
