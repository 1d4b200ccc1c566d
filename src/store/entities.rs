//! sea-orm entities, one module per table (see `migrations/`).
#![allow(clippy::derive_partial_eq_without_eq)]

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod setting {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
    }
    no_relations!();
}

pub mod lock {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "locks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub n: i64,
    }
    no_relations!();
}

pub mod api_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub current_jti: String,
        pub permissions: String,
        pub allowed_cidrs: String,
        pub created_at: i64,
        pub created_by: String,
        pub expires_at: Option<i64>,
        pub last_used_at: Option<i64>,
        pub rotated_at: Option<i64>,
        pub revoked_at: Option<i64>,
        /// The token that minted this one; revoking it revokes this one too.
        pub parent_id: Option<String>,
        /// Who created it and who last rotated it (`user:<id>` / `token:<id>`).
        pub created_by_actor: Option<String>,
        pub rotated_by_actor: Option<String>,
    }
    no_relations!();
}

pub mod destination {
    use crate::domain::DestinationId;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "destinations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: DestinationId,
        pub display_name: String,
        /// Lower-cased display name, unique.
        pub display_name_key: String,
        pub output_type: String,
        pub config: String,
        pub default_for_severity: String,
        pub alert_types: Option<String>,
        pub log_types: String,
        pub max_requests_per_second: Option<f64>,
        pub max_concurrency: Option<i32>,
        pub created_by: String,
        pub created_at: i64,
        pub last_modified_by: String,
        pub last_modified_at: i64,
    }
    no_relations!();
}

pub mod detection_override {
    use crate::domain::Severity;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "detection_overrides")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub detection_id: String,
        pub display_name: Option<String>,
        pub output_ids: Option<String>,
        pub severity: Option<Severity>,
        pub dedup_period_minutes: Option<i32>,
        pub runbook: Option<String>,
        pub tags: Option<String>,
        pub created_by: String,
        pub created_at: i64,
        pub last_modified_by: String,
        pub last_modified_at: i64,
    }
    no_relations!();
}

pub mod alert {
    use crate::domain::{AlertId, AlertStatus, AlertType, Severity};
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "alerts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: AlertId,
        pub detection_id: String,
        pub title: String,
        pub severity: Severity,
        pub status: AlertStatus,
        pub alert_type: AlertType,
        pub log_type: Option<String>,
        pub dedup_string: String,
        pub description: String,
        pub runbook: String,
        pub reference: String,
        pub tags: String,
        pub alert_context: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub first_event_at: i64,
        pub last_received_event_at: i64,
        pub event_count: i64,
        pub log_source: Option<String>,
        pub resource_type: Option<String>,
        pub assignee_id: Option<String>,
        pub name: String,
        pub routing: String,
        pub routed: bool,
        pub created_by: String,
        pub last_modified_by: String,
        /// Who last changed it (`user:<id>` / `token:<id>`).
        pub updated_by_actor: Option<String>,
    }
    no_relations!();
}

pub mod alert_comment {
    use crate::domain::CommentFormat;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "alert_comments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub alert_id: String,
        pub body: String,
        pub created_by: String,
        pub created_at: i64,
        pub format: CommentFormat,
        /// Who wrote it (`user:<id>` / `token:<id>`).
        pub created_by_actor: Option<String>,
    }
    no_relations!();
}

pub mod alert_event {
    use crate::domain::AlertId;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "alert_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub alert_id: AlertId,
        /// The event as JSON text.
        pub event: String,
        pub received_at: i64,
    }
    no_relations!();
}

pub mod deleted_detection {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "deleted_detections")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub detection_id: String,
        pub deleted_at: i64,
    }
    no_relations!();
}

pub mod delivery {
    use crate::domain::{AlertId, DeliveryId, DeliveryKind, DeliveryStatus, DestinationId};
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: DeliveryId,
        pub alert_id: Option<AlertId>,
        pub output_id: DestinationId,
        pub label: String,
        pub kind: DeliveryKind,
        pub status: DeliveryStatus,
        pub pull: bool,
        pub attempt_count: i32,
        pub attempts_base: i32,
        pub next_attempt_at: i64,
        pub lease_until: Option<i64>,
        pub claimed_by: Option<String>,
        pub last_status_code: Option<i32>,
        pub last_message: Option<String>,
        pub last_dispatched_at: Option<i64>,
        pub external_id: Option<String>,
        pub external_url: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
        /// Leases that expired while IN_FLIGHT (the sending process died).
        pub lost_leases: i32,
    }
    no_relations!();
}

pub mod delivery_attempt {
    use crate::domain::DeliveryId;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "delivery_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub delivery_id: DeliveryId,
        pub attempt_number: i32,
        pub dispatched_at: i64,
        pub status_code: i32,
        pub success: bool,
        pub message: String,
        pub duration_ms: i64,
    }
    no_relations!();
}

pub mod destination_health {
    use crate::domain::DestinationId;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "destination_health")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub output_id: DestinationId,
        pub last_attempt_at: Option<i64>,
        pub last_success_at: Option<i64>,
        pub last_error: Option<String>,
        pub consecutive_failures: i32,
        /// Circuit breaker: paused since, and when the next probe may go.
        pub paused_at: Option<i64>,
        pub next_probe_at: Option<i64>,
    }
    no_relations!();
}

pub mod audit_entry {
    use crate::domain::{AuditAction, AuditTargetType};
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub at: i64,
        pub actor_id: String,
        pub actor_name: String,
        pub action: AuditAction,
        pub target_type: AuditTargetType,
        pub target_id: String,
        pub before: Option<String>,
        pub after: Option<String>,
    }
    no_relations!();
}

pub mod role {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        /// Lower-cased name, unique.
        pub name_key: String,
        /// JSON list of permission names.
        pub permissions: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub updated_by_actor: Option<String>,
    }
    no_relations!();
}

pub mod user {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub email: String,
        /// Lower-cased e-mail, unique.
        pub email_key: String,
        pub given_name: Option<String>,
        pub family_name: Option<String>,
        pub role_id: String,
        pub enabled: bool,
        pub status: String,
        /// argon2id PHC string; never leaves the store and `auth::password`.
        pub password_hash: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
        pub last_logged_in_at: Option<i64>,
    }
    no_relations!();
}

pub mod session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        /// SHA-256 (hex) of the session cookie's value.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id_hash: String,
        pub user_id: String,
        pub created_at: i64,
        pub last_seen_at: i64,
        /// Absolute end of the session.
        pub expires_at: i64,
        pub revoked_at: Option<i64>,
    }
    no_relations!();
}

pub mod password_link {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "password_links")]
    pub struct Model {
        /// SHA-256 (hex) of the link's token.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub user_id: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
    }
    no_relations!();
}

pub mod oidc_login {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_logins")]
    pub struct Model {
        /// SHA-256 (hex) of the `state` parameter.
        #[sea_orm(primary_key, auto_increment = false)]
        pub state_hash: String,
        pub nonce: String,
        pub pkce_verifier: String,
        pub created_at: i64,
        pub expires_at: i64,
    }
    no_relations!();
}
