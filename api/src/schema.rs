//! The schema, assembled at the top: per-domain roots merged into one `Query` and one `Mutation`, the
//! limits from the configuration, and the request's loaders. This module imports the domains; nothing
//! imports it but the server, the demo and the CLI.

use crate::config::Config;
use crate::graphql::{introspection, loaders};
use async_graphql::{MergedObject, MergedSubscription, SDLExportOptions, Schema};
use sea_orm::DatabaseConnection;

#[derive(MergedObject, Default)]
pub struct Query(
    crate::session::SessionQuery,
    crate::users::UserQuery,
    crate::organisations::OrganisationQuery,
    crate::extra_fields::ExtraFieldQuery,
    crate::statuses::StatusQuery,
    crate::catalog::CatalogQuery,
    crate::customers::CustomerQuery,
    crate::customers::matches::CustomerMatchQuery,
    crate::invoices::InvoiceQuery,
    crate::sales::SaleQuery,
    crate::provider::ProviderQuery,
    crate::integrations::IntegrationQuery,
    crate::runs::RunQuery,
    crate::alerts::AlertQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    crate::session::SessionMutation,
    crate::users::UserMutation,
    crate::organisations::OrganisationMutation,
    crate::extra_fields::ExtraFieldMutation,
    crate::statuses::StatusMutation,
    crate::catalog::CatalogMutation,
    crate::customers::CustomerMutation,
    crate::customers::matches::CustomerMatchMutation,
    crate::sales::SaleMutation,
    crate::sales::transmissions::TransmissionMutation,
    crate::provider::ProviderMutation,
    crate::integrations::IntegrationMutation,
    crate::alerts::AlertMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(crate::runs::RunSubscription, crate::sales::SaleSubscription);

pub type KoppelSchema = Schema<Query, Mutation, Subscription>;

/// The schema with the configured limits.
pub fn build_schema(config: &Config) -> KoppelSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_depth(config.max_query_depth as usize)
        .limit_complexity(config.max_query_complexity as usize);
    if !config.introspection {
        builder = builder.disable_introspection().extension(introspection::RefuseIntrospection);
    }
    builder.finish()
}

/// The SDL that `koppel schema` prints and `schema.graphql` holds, with fields sorted for stable diffs.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .finish()
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items())
}

/// Adds the caller's loaders to a request, scoped to its account.
pub fn add_loaders(
    mut request: async_graphql::Request,
    db: &DatabaseConnection,
    principal: &crate::auth::Principal,
) -> async_graphql::Request {
    insert_loaders(&mut request.data, db, principal);
    request
}

/// Inserts the caller's loaders into a request's data, or a WebSocket connection's (what its
/// subscriptions yield resolves nested fields through them too). Batchers are made on first use.
pub fn insert_loaders(data: &mut async_graphql::Data, db: &DatabaseConnection, principal: &crate::auth::Principal) {
    data.insert(loaders::RequestLoaders::new(db, principal));
}
