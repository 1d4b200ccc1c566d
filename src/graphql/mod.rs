//! The GraphQL schema: one Query/Mutation root per area, merged here.
pub mod actors;
pub mod alert_api;
pub mod alerts;
pub mod audit;
pub mod deliveries;
pub mod destination_config;
pub mod destinations;
pub mod error;
pub mod guard;
pub mod introspection;
pub mod limits;
pub mod metrics;
pub mod overrides;
pub mod people;
pub mod preview;
pub mod scalars;
pub mod settings;
pub mod subscriptions;
pub mod tokens;

use crate::service::Services;
use async_graphql::{MergedObject, Schema, SchemaBuilder};
pub use subscriptions::Subscription;

#[derive(MergedObject, Default)]
pub struct Query(
    destinations::DestinationQuery,
    overrides::OverrideQuery,
    alerts::AlertQuery,
    deliveries::DeliveryQuery,
    tokens::TokenQuery,
    preview::PreviewQuery,
    audit::AuditQuery,
    settings::SettingsQuery,
    alerts::AlertRouteQuery,
    metrics::MetricsQuery,
    people::PeopleQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    destinations::DestinationMutation,
    overrides::OverrideMutation,
    alerts::AlertMutation,
    deliveries::DeliveryMutation,
    tokens::TokenMutation,
    people::PeopleMutation,
);

pub type HeraldSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
}

pub fn build(
    services: Services,
    disable_introspection: bool,
    limits: limits::Limits,
) -> HeraldSchema {
    let (health, override_refs) = deliveries::loaders(&services);
    let deliveries = async_graphql::dataloader::DataLoader::new(
        alerts::DeliveriesLoader(services.clone()),
        tokio::spawn,
    );
    let origins = async_graphql::dataloader::DataLoader::new(
        alert_api::OriginLoader(services.clone()),
        tokio::spawn,
    );
    let people_loaders = actors::PeopleLoaders::new(&services);
    let b = builder()
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(limits::QueryLimits(limits))
        .data(services)
        .data(health)
        .data(override_refs)
        .data(deliveries)
        .data(origins)
        .data(people_loaders);
    if disable_introspection {
        b.disable_introspection()
            .extension(introspection::DenyIntrospection)
            .finish()
    } else {
        b.finish()
    }
}

/// The SDL, stable across runs (what `schema.graphql` holds).
pub fn sdl() -> String {
    use async_graphql::SDLExportOptions;
    builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_enum_items())
}
