//! The schema, assembled at the top: per-domain roots merged into one `Query` and one `Mutation`, the
//! limits from the configuration, and the request's loaders. This module imports the domains; nothing
//! imports it but the server, the demo and the CLI.

use crate::config::Config;
use crate::graphql::{introspection, loaders};
use async_graphql::dataloader::DataLoader;
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

/// Adds one loader per nested type to a request, scoped to the caller's account.
pub fn add_loaders(
    mut request: async_graphql::Request,
    db: &DatabaseConnection,
    principal: &crate::auth::Principal,
) -> async_graphql::Request {
    insert_loaders(&mut request.data, db, principal);
    request
}

/// Inserts one loader per nested type, scoped to the caller's account: into a request's data, or a
/// WebSocket connection's (what its subscriptions yield resolves nested fields through them too).
pub fn insert_loaders(data: &mut async_graphql::Data, db: &DatabaseConnection, principal: &crate::auth::Principal) {
    let account_id = principal.account_id;
    use koppel_entity::{customer, flow, organisation, product, status, supplier, user};
    data.insert(loaders::ById::<product::Entity>::loader(db.clone(), account_id));
    data.insert(loaders::ById::<supplier::Entity>::loader(db.clone(), account_id));
    data.insert(loaders::ById::<customer::Entity>::loader(db.clone(), account_id));
    data.insert(loaders::ById::<user::Entity>::loader(db.clone(), account_id));
    data.insert(loaders::ById::<status::Entity>::loader(db.clone(), account_id));
    data.insert(loaders::ById::<flow::Entity>::loader(db.clone(), account_id));
    data.insert(loaders::ById::<organisation::Entity>::loader(db.clone(), account_id));
    data.insert(crate::sales::transmissions::TransmissionsOfSale::loader(db.clone(), account_id));
    data.insert(
        DataLoader::new(crate::extra_fields::DefinitionLoader { db: db.clone(), account_id }, tokio::spawn)
            .delay(loaders::BATCH_WINDOW),
    );
    data.insert(
        DataLoader::new(
            crate::visibility::Visibility { db: db.clone(), account_id, organisation_id: principal.organisation_id },
            tokio::spawn,
        )
        .delay(loaders::BATCH_WINDOW),
    );
}
