//! The writes of one ingested batch: its new alerts, their deliveries, and the events
//! of the alerts it created or joined. Through sea-orm inside the caller's transaction
//! ([`BatchWrites::write`], any database), or on SQLite in one transaction on the batch
//! writers' own connection ([`write_if_unchanged`], [`super::Turn::on_handle`]): one
//! prepared statement per table executed per row, and no hop to sqlx's thread.
//!
//! The handle path keeps the batch's reads (the routing configuration, the open alerts
//! its inputs may join) consistent without holding the write lock while reading:
//! `PRAGMA data_version` on a connection changes whenever ANOTHER connection (of this
//! process or another) commits. The ingestion writer reads it before its reads; inside
//! `BEGIN IMMEDIATE` it reads it again, and writes only when it has not moved, so
//! nothing was committed between its reads and its writes but by its own connection.
//! And that one commits only in turns at the write gate, which the writer holds from
//! its reads to its write (as it does the gate's other connection, the one it reads
//! with).
use super::{alert_events, alerts, deliveries, entities::delivery, rows};
use crate::domain::Alert;
use sea_orm::{ConnectionTrait, DbErr};

/// What one ingested batch writes.
#[derive(Debug, Default)]
pub struct BatchWrites {
    /// The alerts it creates, in creation order; the write sets their `seq`.
    pub alerts: Vec<Alert>,
    /// The deliveries of those alerts (taken by the write).
    pub deliveries: Vec<deliveries::Delivery>,
    /// The events of each input, for the alert it created or joined, in input order.
    pub events: Vec<alert_events::NewEvent>,
    /// Alerts stored before the batch that its inputs joined: (seq, events added).
    pub joined: Vec<(i64, i64)>,
    pub now: i64,
}

impl BatchWrites {
    /// Write inside the caller's transaction, which holds the batch's dedup keys
    /// ([`super::lock_dedup_keys`]). Nothing else is locked: on PostgreSQL the alerts'
    /// `seq` follows their transaction's id, and pages list only the alerts that no
    /// running transaction can precede (`alerts::insert_many`, `alerts::list`).
    pub async fn write<C: ConnectionTrait>(&mut self, txn: &C) -> Result<(), DbErr> {
        deliveries::insert_many(txn, std::mem::take(&mut self.deliveries)).await?;
        alert_events::insert_many(txn, &self.events).await?;
        for &(seq, n) in &self.joined {
            alerts::add_events(txn, seq, n, self.now).await?;
        }
        if self.alerts.is_empty() {
            return Ok(());
        }
        alerts::insert_many(txn, &mut self.alerts).await
    }

    /// The same statements on a raw SQLite handle, inside the caller's transaction.
    fn write_on_handle(&mut self, c: &rusqlite::Connection) -> rusqlite::Result<()> {
        let seqs = rows::insert_on_handle(c, self.alerts.iter().map(alerts::active))?;
        for (alert, seq) in self.alerts.iter_mut().zip(seqs) {
            alert.seq = seq;
        }
        rows::insert_on_handle(
            c,
            std::mem::take(&mut self.deliveries)
                .into_iter()
                .map(delivery::ActiveModel::from),
        )?;
        rows::insert_on_handle(c, self.events.iter().map(alert_events::active))?;
        if !self.joined.is_empty() {
            let mut add = c.prepare_cached(
                "UPDATE alerts SET event_count = event_count + ?2, \
                 last_received_event_at = ?3, updated_at = ?3 WHERE seq = ?1",
            )?;
            for &(seq, n) in &self.joined {
                add.execute(rusqlite::params![seq, n, self.now])?;
            }
        }
        Ok(())
    }
}

/// What [`write_if_unchanged`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Written and committed.
    Committed,
    /// Another connection committed since the version the batch was read at: nothing
    /// was written; read again at this version.
    Changed { data_version: i64 },
}

/// `PRAGMA data_version` of the batch writers' SQLite connection (see the module's
/// notes).
pub fn data_version(turn: &super::Turn<'_>) -> Result<i64, DbErr> {
    turn.on_handle(read_data_version)
}

fn read_data_version(c: &rusqlite::Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
}

/// On the batch writers' SQLite connection, in the caller's write-gate turn: in ONE
/// `BEGIN IMMEDIATE` transaction, if no other connection has committed since
/// `seen` was read ([`data_version`]), write the batch, and the attempts the recorder
/// offered meanwhile ([`super::WriteGate::offer_attempts`]), and commit; else write
/// nothing and answer the version now.
pub fn write_if_unchanged(
    turn: &super::Turn<'_>,
    seen: i64,
    writes: &mut BatchWrites,
) -> Result<Written, DbErr> {
    let mut ride = None;
    let written = turn.on_handle(|c| {
        super::immediate(c, |c| {
            let now = read_data_version(c)?;
            if now != seen {
                return Ok(Written::Changed { data_version: now });
            }
            writes.write_on_handle(c)?;
            // The attempts the recorder offered, if any: one commit for both.
            ride = turn.take_ride().map(|r| r.record_on(c));
            Ok(Written::Committed)
        })
    });
    if let Some(ride) = ride {
        ride.answer(written.is_ok());
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{payload::test_alert, AlertId, DeliveryKind, DestinationId};
    use sea_orm::TransactionTrait;
    use serde_json::json;

    fn writes(now: i64, dedup: &str) -> BatchWrites {
        let mut alert = test_alert(now);
        alert.id = AlertId::new_ordered();
        alert.dedup_string = dedup.into();
        alert.log_type = Some("AWS.CloudTrail".into());
        alert.alert_context = json!({"user": "ann", "n": [1, 2.5, null, true], "s": "é\"'"});
        alert.tags = vec!["a".into(), "b \"quoted\"".into()];
        alert.routed = false;
        let delivery = deliveries::new_delivery(
            Some(&alert.id),
            &DestinationId::from("d1"),
            "Slack",
            DeliveryKind::Routed,
            false,
            now,
        );
        BatchWrites {
            events: vec![alert_events::NewEvent {
                alert_id: alert.id.clone(),
                event: json!({"e": 1, "nested": {"x": [true]}}),
                received_at: now,
            }],
            alerts: vec![alert],
            deliveries: vec![delivery],
            joined: Vec::new(),
            now,
        }
    }

    /// The same alert as stored by the reference, but for what differs by design.
    fn like(mut a: Alert, other: &Alert) -> Alert {
        a.seq = other.seq;
        a.id = other.id.clone();
        a.dedup_string = other.dedup_string.clone();
        (a.created_at, a.updated_at) = (other.created_at, other.updated_at);
        (a.first_event_at, a.last_received_event_at) =
            (other.first_event_at, other.last_received_event_at);
        a
    }

    #[tokio::test]
    async fn a_batch_is_written_on_the_handle_only_when_nothing_changed_since_its_reads() {
        let (_dir, db) = crate::store::tests::temp_sqlite().await;
        let gate = super::super::WriteGate::for_db(&db);
        let turn = gate
            .enter()
            .await
            .expect("a file database queues its writers");
        let seen = data_version(&turn).unwrap();

        // Another connection commits a batch, through sea-orm: the reference for how
        // rows are stored.
        let mut reference = writes(1_000, "k1");
        let txn = db.begin().await.unwrap();
        reference.write(&txn).await.unwrap();
        txn.commit().await.unwrap();

        // Read before that commit: nothing is written.
        let mut batch = writes(2_000, "k2");
        let Written::Changed { data_version: now } =
            write_if_unchanged(&turn, seen, &mut batch).unwrap()
        else {
            panic!("a commit by another connection went unseen");
        };
        assert_ne!(now, seen);
        assert!(alerts::get(&db, &batch.alerts[0].id)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            batch.deliveries.len(),
            1,
            "the deliveries are still to write"
        );

        // Read again at the new version: written, and stored as sea-orm stores it.
        assert_eq!(
            write_if_unchanged(&turn, now, &mut batch).unwrap(),
            Written::Committed
        );
        assert_eq!(
            data_version(&turn).unwrap(),
            now,
            "the writer's own commits leave its version as it was"
        );
        let ours = &batch.alerts[0];
        let stored = alerts::get(&db, &ours.id).await.unwrap().unwrap();
        assert_eq!(&stored, ours, "the write set its seq");
        let theirs = alerts::get(&db, &reference.alerts[0].id)
            .await
            .unwrap()
            .unwrap();
        assert!(stored.seq > theirs.seq);
        assert_eq!(like(theirs, &stored), stored);
        let mut rows = deliveries::for_alerts(&db, &[theirs_id(&reference), ours.id.clone()])
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        let (b, a) = (rows.pop().unwrap(), rows.pop().unwrap());
        let mut a_like_b = a.clone();
        (a_like_b.id, a_like_b.alert_id) = (b.id.clone(), b.alert_id.clone());
        (
            a_like_b.created_at,
            a_like_b.updated_at,
            a_like_b.next_attempt_at,
        ) = (b.created_at, b.updated_at, b.next_attempt_at);
        assert_eq!(a_like_b, b);
        let (events, _) = alert_events::page(&db, &ours.id, None, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, batch.events[0].event);

        // A joined alert takes its events.
        let mut join = BatchWrites {
            joined: vec![(stored.seq, 2)],
            now: 3_000,
            ..BatchWrites::default()
        };
        assert_eq!(
            write_if_unchanged(&turn, now, &mut join).unwrap(),
            Written::Committed
        );
        let joined = alerts::get(&db, &ours.id).await.unwrap().unwrap();
        assert_eq!(joined.event_count, 3);
        assert_eq!(joined.last_received_event_at, 3_000);
        assert_eq!(joined.updated_at, 3_000);

        // A failed write stores none of its batch and leaves no transaction open.
        let mut failing = writes(4_000, "k3");
        let first = failing.alerts[0].id.clone();
        let mut again = reference.alerts[0].clone();
        again.event_count = 99;
        failing.alerts.push(again);
        write_if_unchanged(&turn, now, &mut failing).expect_err("an alert id stored twice");
        assert!(alerts::get(&db, &first).await.unwrap().is_none());
        let mut after = writes(5_000, "k4");
        assert_eq!(
            write_if_unchanged(&turn, now, &mut after).unwrap(),
            Written::Committed
        );
    }

    /// Attempts the recorder offers ride in the next ingestion commit, answered after
    /// it; a carrier that fails stores none of them and tells their owner, who records
    /// them itself; an offer taken back is not carried.
    #[tokio::test]
    async fn offered_attempts_ride_in_the_ingestion_commit_or_stay_with_their_owner() {
        use crate::domain::DeliveryStatus;
        use deliveries::{AttemptRecord, NewAttempt, Next, Recorded};
        let (_dir, db) = crate::store::tests::temp_sqlite().await;
        let gate = super::super::WriteGate::for_db(&db);
        // Three deliveries being sent by worker "w1".
        let mut leased = writes(1_000, "k0");
        let alert_id = leased.alerts[0].id.clone();
        let base = leased.deliveries[0].clone();
        leased.deliveries = (0..3)
            .map(|i| {
                let mut d = base.clone();
                d.id = crate::domain::DeliveryId::new_ordered();
                d.label = format!("d{i}");
                d.status = DeliveryStatus::InFlight;
                d.claimed_by = Some("w1".into());
                d.lease_until = Some(60_000);
                d
            })
            .collect();
        let ids: Vec<_> = leased.deliveries.iter().map(|d| d.id.clone()).collect();
        let txn = db.begin().await.unwrap();
        leased.write(&txn).await.unwrap();
        txn.commit().await.unwrap();
        let record = |i: usize| AttemptRecord {
            attempt: NewAttempt {
                delivery_id: ids[i].clone(),
                number: 1,
                dispatched_at: 2_000,
                status_code: 200,
                success: true,
                message: "ok".into(),
                duration_ms: 1,
            },
            output_id: DestinationId::from("d1"),
            claim_id: "w1".into(),
            next: Next::Succeeded,
            external: None,
            breaker: None,
        };
        let status = |i: usize| {
            let db = db.clone();
            let id = ids[i].clone();
            let alert_id = alert_id.clone();
            async move {
                let rows = deliveries::for_alerts(&db, &[alert_id]).await.unwrap();
                rows.into_iter().find(|d| d.id == id).unwrap().status
            }
        };
        let attempts = || {
            let db = db.clone();
            async move {
                let row = db
                    .query_one(sea_orm::Statement::from_string(
                        sea_orm::DatabaseBackend::Sqlite,
                        "SELECT count(*) FROM delivery_attempts",
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get_by_index::<i64>(0).unwrap()
            }
        };

        // Carried: recorded in the ingestion's commit, answered after it.
        let mut answer = gate.offer_attempts(vec![record(0)]).expect("offered");
        assert!(
            gate.offer_attempts(vec![record(1)]).is_none(),
            "one batch waits at a time"
        );
        let turn = gate.enter().await.unwrap();
        let seen = data_version(&turn).unwrap();
        let mut batch = writes(3_000, "k1");
        assert_eq!(
            write_if_unchanged(&turn, seen, &mut batch).unwrap(),
            Written::Committed
        );
        assert_eq!(
            answer.try_recv().unwrap().unwrap(),
            [Recorded::Stored(None)]
        );
        assert!(turn.take_ride().is_none(), "taken by the carrier");
        assert_eq!(status(0).await, DeliveryStatus::Succeeded);
        assert_eq!(attempts().await, 1);

        // A carrier whose own writes fail never takes them: still offered.
        let _answer = gate.offer_attempts(vec![record(1)]).expect("offered");
        let mut failing = writes(4_000, "k2");
        failing.alerts.push(batch.alerts[0].clone());
        write_if_unchanged(&turn, seen, &mut failing).expect_err("an alert id stored twice");
        assert!(turn.take_ride().is_some(), "still offered");

        // Attempts that fail inside the carrier's transaction: none is stored, the
        // carrier's batch commits, and the owner hears.
        db.execute_unprepared(
            "CREATE TRIGGER poison BEFORE INSERT ON delivery_attempts WHEN NEW.message = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        )
        .await
        .unwrap();
        let seen = data_version(&turn).unwrap();
        let mut poisoned = record(2);
        poisoned.attempt.message = "poison".into();
        let mut answer = gate
            .offer_attempts(vec![record(1), poisoned])
            .expect("offered");
        let mut carrier = writes(4_500, "k2");
        assert_eq!(
            write_if_unchanged(&turn, seen, &mut carrier).unwrap(),
            Written::Committed
        );
        assert!(answer.try_recv().unwrap().is_err());
        assert!(alerts::get(&db, &carrier.alerts[0].id)
            .await
            .unwrap()
            .is_some());
        assert_eq!(status(1).await, DeliveryStatus::InFlight);
        assert_eq!(status(2).await, DeliveryStatus::InFlight);
        assert_eq!(attempts().await, 1);
        // The owner records them in its own turn.
        let own = deliveries::record_attempts_in_turn(Some(&turn), &db, vec![record(1)])
            .await
            .unwrap();
        assert_eq!(own, [Recorded::Stored(None)]);
        assert_eq!(status(1).await, DeliveryStatus::Succeeded);

        // Taken back by its owner before any carrier came: not carried.
        let _answer = gate.offer_attempts(vec![record(2)]).expect("offered");
        assert!(turn.take_ride().is_some());
        let mut next = writes(5_000, "k3");
        assert_eq!(
            write_if_unchanged(&turn, seen, &mut next).unwrap(),
            Written::Committed
        );
        assert_eq!(status(2).await, DeliveryStatus::InFlight);
        assert_eq!(attempts().await, 2);
    }

    fn theirs_id(w: &BatchWrites) -> AlertId {
        w.alerts[0].id.clone()
    }
}
