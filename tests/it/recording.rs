//! Recording finished attempts in batches: each record moves its delivery on only while
//! its lease holder still holds it, exactly as if the records were written one by one
//! in order, also when a batch names one delivery twice or holds more records than one
//! statement takes; and the destination's health and circuit breaker count the batch
//! as if one by one. Both writers are held to it: `record_attempts` (sea-orm, one
//! `UPDATE … FROM (VALUES …)` per chunk) and the attempt recorder's
//! `record_attempts_in_turn` (on an SQLite file, statements run on the batch writers'
//! own connection). SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

use crate::support::TestDb;
use herald::domain::{DeliveryKind, DeliveryStatus, DestinationId};
use herald::store::deliveries::{
    self, AttemptRecord, BreakerChange, BreakerPolicy, Delivery, NewAttempt, Next, Recorded,
};

/// Which of the two batch writers records.
#[derive(Clone, Copy, Debug)]
enum Writer {
    /// `record_attempts`, through sea-orm.
    Batch,
    /// `record_attempts_in_turn`, the attempt recorder's.
    InTurn,
}

async fn write(
    db: &sea_orm::DatabaseConnection,
    writer: Writer,
    records: Vec<AttemptRecord>,
) -> Vec<Recorded> {
    match writer {
        Writer::Batch => deliveries::record_attempts(db, records).await,
        Writer::InTurn => {
            // A turn at the gate, as the recorder takes it: on an SQLite file, the
            // batch writers' own connection.
            let gate = herald::store::WriteGate::for_db(db);
            let turn = gate.enter().await;
            deliveries::record_attempts_in_turn(turn.as_ref(), db, records).await
        }
    }
    .unwrap()
}

const NOW: i64 = 1_800_000_000_000;

/// A delivery leased to `holder`, stored.
async fn leased(db: &sea_orm::DatabaseConnection, holder: &str) -> Delivery {
    let mut d = deliveries::new_delivery(
        None,
        &DestinationId::from("dest"),
        "dest",
        DeliveryKind::Routed,
        false,
        NOW,
    );
    d.status = DeliveryStatus::InFlight;
    d.claimed_by = Some(holder.into());
    d.lease_until = Some(NOW + 60_000);
    deliveries::insert_many(db, vec![d.clone()]).await.unwrap();
    d
}

fn record(d: &Delivery, holder: &str, next: Next, status_code: i32) -> AttemptRecord {
    AttemptRecord {
        attempt: NewAttempt {
            delivery_id: d.id.clone(),
            number: d.attempt_count + 1,
            dispatched_at: NOW + 1,
            status_code,
            success: status_code == 200,
            message: format!("answered {status_code}"),
            duration_ms: 3,
        },
        output_id: d.output_id.clone(),
        claim_id: holder.into(),
        next,
        external: None,
        breaker: None,
    }
}

async fn stored(db: &sea_orm::DatabaseConnection, d: &Delivery) -> Delivery {
    deliveries::get_many(db, std::slice::from_ref(&d.id))
        .await
        .unwrap()
        .pop()
        .unwrap()
}

async fn a_batch_moves_each_delivery_on_as_if_recorded_one_by_one(db: TestDb) {
    let db = herald::store::connect(&db.url).await.unwrap();
    for writer in [Writer::Batch, Writer::InTurn] {
        moves_each_delivery_on(&db, writer).await;
    }
}

async fn moves_each_delivery_on(db: &sea_orm::DatabaseConnection, writer: Writer) {
    let db = db.clone();
    // Named twice, the holder first: the second record finds the lease let go.
    let twice = leased(&db, "me").await;
    // Named twice, another holder first: only the second record is the holder's.
    let other_first = leased(&db, "me").await;
    // A retry, and a failed probe held without using up the budget.
    let retried = leased(&db, "me").await;
    let mut held = leased(&db, "me").await;
    held.attempt_count = 0;
    let mut external = record(&held, "me", Next::Hold(NOW + 30_000), 503);
    external.external = Some(herald::destinations::ExternalRef {
        id: "TICKET-1".into(),
        url: Some("https://example.com/TICKET-1".into()),
    });
    let out = write(
        &db,
        writer,
        vec![
            record(&twice, "me", Next::Succeeded, 200),
            record(&other_first, "someone-else", Next::Succeeded, 200),
            record(&twice, "me", Next::RetryAt(NOW + 5_000), 500),
            record(&other_first, "me", Next::Failed, 400),
            record(&retried, "me", Next::RetryAt(NOW + 7_000), 502),
            external,
        ],
    )
    .await;
    assert_eq!(
        out,
        vec![
            Recorded::Stored(None),
            Recorded::LeaseLost,
            Recorded::LeaseLost,
            Recorded::Stored(None),
            Recorded::Stored(None),
            Recorded::Stored(None),
        ]
    );
    let t = stored(&db, &twice).await;
    assert_eq!(t.status, DeliveryStatus::Succeeded);
    assert_eq!((t.claimed_by, t.lease_until), (None, None));
    assert_eq!(t.last_status_code, Some(200));
    let o = stored(&db, &other_first).await;
    assert_eq!(o.status, DeliveryStatus::Failed);
    assert_eq!(o.last_message.as_deref(), Some("answered 400"));
    let r = stored(&db, &retried).await;
    assert_eq!(r.status, DeliveryStatus::Pending);
    assert_eq!((r.next_attempt_at, r.attempt_count), (NOW + 7_000, 1));
    assert_eq!(r.attempts_base, 0);
    assert_eq!(r.external_id, None);
    let h = stored(&db, &held).await;
    assert_eq!(
        (h.status, h.next_attempt_at),
        (DeliveryStatus::Pending, NOW + 30_000)
    );
    assert_eq!(
        h.attempts_base, 1,
        "{writer:?}: a held probe does not use up the budget"
    );
    assert_eq!(h.external_id.as_deref(), Some("TICKET-1"));
    assert_eq!(
        h.external_url.as_deref(),
        Some("https://example.com/TICKET-1")
    );
    // One attempt row per record that took, none for a lost lease.
    let ids = [&twice, &other_first, &retried, &held].map(|d| d.id.clone());
    let attempts = deliveries::attempts_for(&db, &ids).await.unwrap();
    assert_eq!(attempts.len(), 4);
    assert_eq!(
        attempts
            .iter()
            .filter(|a| a.delivery_id == twice.id)
            .count(),
        1
    );
}

async fn a_batch_larger_than_one_statement_is_recorded_whole(db: TestDb) {
    let db = herald::store::connect(&db.url).await.unwrap();
    for writer in [Writer::Batch, Writer::InTurn] {
        recorded_whole(&db, writer).await;
    }
}

async fn recorded_whole(db: &sea_orm::DatabaseConnection, writer: Writer) {
    let db = db.clone();
    let mut all = Vec::new();
    for _ in 0..300 {
        all.push(leased(&db, "me").await);
    }
    let out = write(
        &db,
        writer,
        all.iter()
            .map(|d| record(d, "me", Next::Succeeded, 200))
            .collect(),
    )
    .await;
    assert!(out.iter().all(|r| *r == Recorded::Stored(None)));
    let ids: Vec<_> = all.iter().map(|d| d.id.clone()).collect();
    let rows = deliveries::get_many(&db, &ids).await.unwrap();
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().all(|d| d.status == DeliveryStatus::Succeeded));
    assert_eq!(
        deliveries::attempts_for(&db, &ids).await.unwrap().len(),
        300
    );
}

/// Failures pause the destination at the record that reached the threshold, and a
/// success resumes it, with the health row as if recorded one by one: the same from
/// both writers, each on its own destination.
async fn a_batch_moves_the_breaker_at_the_record_that_crossed_it(db: TestDb) {
    let db = herald::store::connect(&db.url).await.unwrap();
    let policy = BreakerPolicy {
        failures: 2,
        probe_ms: 60_000,
    };
    for (writer, dest) in [(Writer::Batch, "batch"), (Writer::InTurn, "in-turn")] {
        let output_id = DestinationId::from(dest);
        let mut ds = Vec::new();
        for _ in 0..4 {
            let mut d = leased(&db, "me").await;
            d.output_id = output_id.clone();
            ds.push(d);
        }
        let failing = |d: &Delivery| AttemptRecord {
            output_id: output_id.clone(),
            breaker: Some(policy),
            ..record(d, "me", Next::RetryAt(NOW + 5_000), 503)
        };
        let out = write(&db, writer, ds[..3].iter().map(failing).collect()).await;
        assert_eq!(
            out,
            vec![
                Recorded::Stored(None),
                Recorded::Stored(None),
                Recorded::Stored(Some(BreakerChange::Paused {
                    consecutive_failures: 3
                })),
            ],
            "{writer:?}: the batch's failures counted together, the change on its last record"
        );
        assert_eq!(
            deliveries::paused(&db)
                .await
                .unwrap()
                .iter()
                .filter(|(id, _)| *id == output_id)
                .count(),
            1,
            "{writer:?}"
        );
        let ok = AttemptRecord {
            output_id: output_id.clone(),
            breaker: Some(policy),
            ..record(&ds[3], "me", Next::Succeeded, 200)
        };
        let out = write(&db, writer, vec![ok]).await;
        assert_eq!(
            out,
            vec![Recorded::Stored(Some(BreakerChange::Resumed))],
            "{writer:?}"
        );
        let health = deliveries::health(&db, std::slice::from_ref(&output_id))
            .await
            .unwrap();
        let h = health[0].1.as_ref().expect("a health row");
        assert_eq!(
            (h.consecutive_failures, h.paused_at, h.last_success_at),
            (0, None, Some(NOW + 1)),
            "{writer:?}"
        );
        assert_eq!(h.last_error.as_deref(), Some("answered 503"), "{writer:?}");
    }
}

on_both!(
    a_batch_moves_each_delivery_on_as_if_recorded_one_by_one,
    a_batch_larger_than_one_statement_is_recorded_whole,
    a_batch_moves_the_breaker_at_the_record_that_crossed_it
);
