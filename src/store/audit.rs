//! Audit log table: append-only, read newest first by `seq`.
use super::entities::audit_entry::{self, Column, Entity};
use crate::domain::{AuditAction, AuditTargetType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

pub use audit_entry::Model as AuditRow;

/// Append an entry (`seq` is assigned by the database).
pub async fn insert<C: ConnectionTrait>(db: &C, row: AuditRow) -> Result<(), DbErr> {
    Entity::insert(audit_entry::ActiveModel {
        seq: NotSet,
        id: Set(row.id),
        at: Set(row.at),
        actor_id: Set(row.actor_id),
        actor_name: Set(row.actor_name),
        action: Set(row.action),
        target_type: Set(row.target_type),
        target_id: Set(row.target_id),
        before: Set(row.before),
        after: Set(row.after),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Keyset position: only entries older (smaller `seq`) than this one.
    pub before_seq: Option<i64>,
    pub limit: u64,
    pub target_type: Option<crate::domain::AuditTargetType>,
    pub target_id: Option<String>,
    pub actor_id: Option<String>,
    /// `at >= from`
    pub from: Option<i64>,
    /// `at < to`
    pub to: Option<i64>,
}

/// One page, newest first; fetches `limit + 1` rows to tell whether more exist.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    f: &AuditFilter,
) -> Result<(Vec<AuditRow>, bool), DbErr> {
    let mut cond = Condition::all();
    if let Some(seq) = f.before_seq {
        cond = cond.add(Column::Seq.lt(seq));
    }
    if let Some(t) = f.target_type {
        cond = cond.add(Column::TargetType.eq(t));
    }
    if let Some(t) = &f.target_id {
        cond = cond.add(Column::TargetId.eq(t.as_str()));
    }
    if let Some(a) = &f.actor_id {
        cond = cond.add(Column::ActorId.eq(a.as_str()));
    }
    if let Some(t) = f.from {
        cond = cond.add(Column::At.gte(t));
    }
    if let Some(t) = f.to {
        cond = cond.add(Column::At.lt(t));
    }
    let read = Entity::find()
        .filter(cond)
        .order_by_desc(Column::Seq)
        .limit(f.limit + 1)
        .all(db)
        .await;
    let enums: [super::EnumColumn; 2] = [
        ("action", AuditAction::SPELLINGS),
        ("target_type", AuditTargetType::SPELLINGS),
    ];
    let mut rows = super::locate_damaged(db, read, "audit_log", "seq", &enums).await?;
    let more = rows.len() as u64 > f.limit;
    rows.truncate(f.limit as usize);
    Ok((rows, more))
}
