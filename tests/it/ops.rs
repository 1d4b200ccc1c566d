//! Every GraphQL document the tests send more than once, written once. Variables are
//! named after the argument (`$input`, `$id`, `$ids`). A test that needs another
//! selection of its own writes it next to itself (or, like the authorization matrix, in
//! its own table); a document wanted twice belongs here.

// ------------------------------------------------------------------------------ alerts

/// Create an alert; its id.
pub const CREATE_ALERT: &str =
    "mutation($input: CreateAlertInput!) { createAlert(input: $input) { id } }";

/// Create an alert; everything the routing tests look at.
pub const CREATE_ALERT_DETAILED: &str = r#"mutation($input: CreateAlertInput!) { createAlert(input: $input) {
  id title severity status type detectionId logType dedupString eventCount deduplicated createdAt lastReceivedEventAt firstEventOccurredAt routed alertContext
  routing { step effectiveSeverity destinations { outputId displayName } warnings excluded { outputId reasons } }
} }"#;

/// One alert and its deliveries with their attempts.
pub const ALERT_DELIVERIES: &str = r#"query($id: ID!) { alert(id: $id) { id eventCount deliveries {
  deliveryId outputId label status success statusCode message attemptCount kind externalId url
  attempts { attemptNumber statusCode success message durationMs dispatchedAt }
} } }"#;

/// A page of alerts (`$input` is an `AlertsInput`).
pub const ALERTS_PAGE: &str = r#"query($input: AlertsInput) { alerts(input: $input) { edges { cursor node { id title severity } } pageInfo { hasNextPage endCursor hasPreviousPage startCursor } } }"#;

/// Re-send an alert to destinations.
pub const DELIVER_ALERT: &str =
    "mutation($input: DeliverAlertInput!) { deliverAlert(input: $input) { id } }";

/// Re-queue the failed deliveries of a destination; how many.
pub const RETRY_FAILED_DELIVERIES: &str =
    "mutation($input: RetryFailedDeliveriesInput!) { retryFailedDeliveries(input: $input) }";

// ------------------------------------------------------------------------ destinations

/// Add a destination; its id and type.
pub const ADD_DESTINATION: &str =
    "mutation($input: DestinationInput!) { addDestination(input: $input) { outputId outputType } }";

/// Add a destination; every field (custom-webhook config shown).
pub const ADD_DESTINATION_DETAILED: &str = r#"mutation($input: DestinationInput!) { addDestination(input: $input) { outputId displayName outputType outputConfig { customWebhook { webhookURL headers { key value } signingSecret } } defaultForSeverity alertTypes logTypes createdBy lastModifiedBy creationTime lastModifiedTime } }"#;

pub const UPDATE_DESTINATION: &str =
    "mutation($input: DestinationInput!) { updateDestination(input: $input) { outputId } }";

pub const DELETE_DESTINATION: &str = "mutation($id: ID!) { deleteDestination(id: $id) }";

/// The ids of every destination (also the cheapest authenticated query).
pub const DESTINATION_IDS: &str = "{ destinations { outputId } }";

/// Every destination's health.
pub const DESTINATION_HEALTH: &str = "{ destinations { outputId displayName health { state lastAttemptAt lastSuccessAt lastError consecutiveFailures pausedAt nextProbeAt pendingCount } } }";

/// Send the test alert to destinations (`$ids`).
pub const SEND_TEST_ALERT: &str = "mutation($ids: [ID!]!) { sendTestAlert(input: {outputIds: $ids}) { outputId success statusCode message } }";

/// What a delivery would send.
pub const PREVIEW_PAYLOAD: &str = "query($input: PreviewPayloadInput!) { previewPayload(input: $input) { method url headers { key value } body } }";

pub const GENERATE_SIGNING_SECRET: &str = "{ generateSigningSecret }";

// ------------------------------------------------------------------ detection overrides

pub const PUT_OVERRIDE: &str = "mutation($input: DetectionOverrideInput!) { putDetectionOverride(input: $input) { detectionId } }";

pub const DELETE_OVERRIDE: &str =
    "mutation($id: ID!) { deleteDetectionOverride(detectionId: $id) }";

pub const OVERRIDE_IDS: &str = "{ detectionOverrides { detectionId } }";

// -------------------------------------------------------------------------- API tokens

pub const CREATE_TOKEN: &str = "mutation($input: CreateAPITokenInput!) { createAPIToken(input: $input) { token { id name value permissions createdBy } } }";

pub const ROTATE_TOKEN: &str =
    "mutation($id: ID!) { rotateAPIToken(id: $id) { token { id value } } }";

pub const DELETE_TOKEN: &str = "mutation($id: ID!) { deleteAPIToken(id: $id) }";

pub const TOKEN_IDS: &str = "{ apiTokens { id } }";

// ----------------------------------------------------------------------- polling API

pub const PENDING_DELIVERIES: &str = "query($input: PendingDeliveriesInput!) { pendingDeliveries(input: $input) { deliveryId payload } }";

pub const ACKNOWLEDGE_DELIVERIES: &str =
    "mutation($input: AcknowledgeDeliveriesInput!) { acknowledgeDeliveries(input: $input) }";

pub const TOKEN_BY_ID: &str = "query($id: ID!) { apiToken(id: $id) { id } }";

// ---------------------------------------------------------------------- small reads

pub const DESTINATION_NAMES: &str = "{ destinations { displayName } }";

pub const DESTINATION_WARNINGS: &str = "{ destinations { displayName warnings } }";

/// The cheapest read of alerts (`AlertRead`).
pub const ALERT_CURSORS: &str = "{ alerts { edges { cursor } } }";

/// Ingest a batch of alerts; each alert's id, title, event count and whether it joined.
pub const CREATE_ALERTS: &str = "mutation($input: [CreateAlertInput!]!) { createAlerts(input: $input) { id title eventCount deduplicated routed } }";

// ------------------------------------------------------------ Panther's alert API

/// One page of an alert's events (`$input` is an `AlertEventsInput`).
pub const ALERT_EVENTS: &str = r#"query($id: ID!, $input: AlertEventsInput) { alert(id: $id) { eventCount events(input: $input) { edges { node } pageInfo { endCursor hasNextPage hasPreviousPage startCursor } } } }"#;

/// An alert's origin, every kind (`type` aliased: the two kinds spell it with different enums).
pub const ALERT_ORIGIN: &str = r#"query($id: ID!) { alert(id: $id) { origin { __typename
  ... on Detection { id name detectionType: type description createdAt updatedAt }
  ... on DeletedDetection { id }
  ... on SystemError { errorType: type relatedComponent } } } }"#;

/// Comment on an alert; the comment with its format and entity.
pub const CREATE_ALERT_COMMENT: &str = r#"mutation($input: CreateAlertCommentInput!) { createAlertComment(input: $input) { comment { id body format createdAt entity { __typename ... on Alert { id title } } } } }"#;

/// Alert metrics (`$input` is a `MetricsInput`).
pub const METRICS: &str = r#"query($input: MetricsInput!) { metrics(input: $input) {
  totalAlerts alertsPerSeverity { label value breakdown } alertsPerRule { entityId label value }
  bytesIngestedPerSource { label value } bytesProcessedPerSource { label value } bytesQueriedPerSource { label value }
  eventsProcessedPerLogType { label value } latencyPerLogType { label value }
  totalBytesIngested totalBytesProcessed totalBytesQueried totalEventsProcessed } }"#;
// ------------------------------------------------------------------------------ people

/// Invite a user (`$input` is an `InviteUserInput`); the user and the set-password link.
pub const INVITE_USER: &str = "mutation($input: InviteUserInput!) { inviteUser(input: $input) { user { id email givenName familyName enabled status role { id name } createdAt lastLoggedInAt } setPasswordLink } }";

/// Change a user (`$input` is an `UpdateUserInput`).
pub const UPDATE_USER: &str = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id email enabled role { name } } } }";

/// Create a role; its id, name and permissions.
pub const CREATE_ROLE: &str = "mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id name permissions } } }";

/// Every role by name.
pub const ROLES: &str = "query($input: RolesInput) { roles(input: $input) { id name permissions createdAt updatedAt updatedBy { __typename } } }";

/// Who last changed an alert, and its assignee.
pub const ALERT_PEOPLE: &str = "query($id: ID!) { alert(id: $id) { id assigneeId assignee { id email } lastModifiedBy updatedBy { __typename ... on User { id email } ... on APIToken { id name } } } }";

/// Change the status of alerts; each alert's status and who changed it.
pub const UPDATE_ALERT_STATUS: &str = "mutation($input: UpdateAlertStatusByIdInput!) { updateAlertStatusById(input: $input) { alerts { id status lastModifiedBy updatedBy { __typename ... on User { email } ... on APIToken { name } } } } }";
