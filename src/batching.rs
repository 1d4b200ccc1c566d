//! Group commit's queue side: take what has queued as one batch. Both the ingestion
//! writer and the dispatcher's attempt recorder commit each batch in one transaction,
//! so a burst costs a few commits instead of one per call.
use std::time::Duration;
use tokio::sync::mpsc;

/// How a writer forms its batches.
#[derive(Debug, Clone, Copy)]
pub struct BatchPolicy {
    /// Most items in one batch.
    pub max: usize,
    /// How long to wait for more after the first item, when the previous batch held
    /// more than one (under concurrent load); a lone caller never waits for nobody.
    pub linger: Duration,
    /// Within the linger, close the batch once nothing has arrived for this long,
    /// yielding to the callers' tasks in between instead of sleeping (tokio's timer
    /// ticks in whole milliseconds: a 1 ms linger sleeps 1 to 2 ms, most of it after
    /// the last caller arrived). `None`: wait out the linger.
    pub quiet: Option<Duration>,
}

/// Collects batches from a queue (see [`Batcher::next`]).
pub struct Batcher<T> {
    rx: mpsc::Receiver<T>,
    policy: BatchPolicy,
    lingering: bool,
    /// How much of the policy's `max` an item takes (1 each unless told).
    weigh: fn(&T) -> usize,
    /// An item taken that did not fit in the last batch: the next one starts with it.
    carried: Option<T>,
}

impl<T> Batcher<T> {
    pub fn new(rx: mpsc::Receiver<T>, policy: BatchPolicy) -> Self {
        Batcher {
            rx,
            policy,
            lingering: false,
            weigh: |_| 1,
            carried: None,
        }
    }

    /// Bound batches by the items' total weight rather than their number (an item
    /// heavier than the bound makes a batch of its own).
    pub fn weighed(mut self, weigh: fn(&T) -> usize) -> Self {
        self.weigh = weigh;
        self
    }

    /// The next batch: waits for a first item, then takes what has queued up to the
    /// policy's bound (lingering for more when the last batch had company). `None` when
    /// the queue is closed and empty.
    pub async fn next(&mut self) -> Option<Vec<T>> {
        let first = self.first().await?;
        Some(self.fill(first).await)
    }

    /// The first item of the next batch: one carried over, else the queue's next.
    pub async fn first(&mut self) -> Option<T> {
        match self.carried.take() {
            Some(item) => Some(item),
            None => self.rx.recv().await,
        }
    }

    /// A batch that starts with `first`.
    pub async fn fill(&mut self, first: T) -> Vec<T> {
        let mut weight = (self.weigh)(&first);
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + self.policy.linger;
        let mut last = std::time::Instant::now();
        while weight < self.policy.max {
            let next = match self.rx.try_recv() {
                Ok(next) => next,
                Err(mpsc::error::TryRecvError::Empty) if self.lingering => {
                    match self.policy.quiet {
                        Some(quiet) => {
                            let now = std::time::Instant::now();
                            if now.duration_since(last) >= quiet || now >= deadline.into_std() {
                                break;
                            }
                            tokio::task::yield_now().await;
                            continue;
                        }
                        None => match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                            Ok(Some(next)) => next,
                            _ => break,
                        },
                    }
                }
                Err(_) => break,
            };
            last = std::time::Instant::now();
            let w = (self.weigh)(&next);
            if weight + w > self.policy.max {
                self.carried = Some(next);
                break;
            }
            weight += w;
            batch.push(next);
        }
        self.lingering = batch.len() > 1;
        batch
    }

    /// An item carried over to the next batch, if any (see [`Batcher::first`]).
    pub fn has_carried(&self) -> bool {
        self.carried.is_some()
    }

    /// The queue itself (to wait for a first item alongside something else, or close it).
    pub fn queue(&mut self) -> &mut mpsc::Receiver<T> {
        &mut self.rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn takes_what_queued_up_to_the_bound_and_lingers_only_under_load() {
        let (tx, rx) = mpsc::channel(100);
        let mut b = Batcher::new(
            rx,
            BatchPolicy {
                max: 3,
                linger: Duration::from_millis(50),
                quiet: None,
            },
        );
        for i in 0..5 {
            tx.send(i).await.unwrap();
        }
        assert_eq!(b.next().await.unwrap(), vec![0, 1, 2]);
        // The last batch had company: wait for a late item within the linger.
        let late = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            late.send(5).await.unwrap();
        });
        assert_eq!(b.next().await.unwrap(), vec![3, 4, 5]);
        tx.send(6).await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(b.next().await.unwrap(), vec![6]);
        // A lone item after a batch of one is not held back.
        tx.send(7).await.unwrap();
        assert_eq!(b.next().await.unwrap(), vec![7]);
        assert!(started.elapsed() < Duration::from_millis(200));
        drop(tx);
        assert!(b.next().await.is_none());
    }

    #[tokio::test]
    async fn with_a_quiet_gap_the_batch_closes_when_callers_stop_coming() {
        let (tx, rx) = mpsc::channel(100);
        let mut b = Batcher::new(
            rx,
            BatchPolicy {
                max: 100,
                linger: Duration::from_secs(5),
                quiet: Some(Duration::from_millis(40)),
            },
        );
        tx.send(0).await.unwrap();
        tx.send(1).await.unwrap();
        assert_eq!(b.next().await.unwrap(), vec![0, 1]);
        // Under load: callers 10 ms apart join; after the last, the batch closes once
        // 40 ms passed without one, long before the linger.
        let late = tx.clone();
        tokio::spawn(async move {
            for i in 3..6 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                late.send(i).await.unwrap();
            }
        });
        tx.send(2).await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(b.next().await.unwrap(), vec![2, 3, 4, 5]);
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(60), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[tokio::test]
    async fn weighed_batches_stay_within_the_bound_and_carry_the_overflow() {
        let (tx, rx) = mpsc::channel(100);
        let mut b = Batcher::new(
            rx,
            BatchPolicy {
                max: 10,
                linger: Duration::from_millis(0),
                quiet: None,
            },
        )
        .weighed(|n: &usize| *n);
        for n in [4, 5, 3, 12, 1] {
            tx.send(n).await.unwrap();
        }
        assert_eq!(b.next().await.unwrap(), vec![4, 5]);
        assert!(b.has_carried());
        assert_eq!(b.next().await.unwrap(), vec![3]);
        // Heavier than the bound: a batch of its own.
        assert_eq!(b.next().await.unwrap(), vec![12]);
        assert_eq!(b.next().await.unwrap(), vec![1]);
        drop(tx);
        assert!(b.next().await.is_none());
    }
}
