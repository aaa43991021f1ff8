//! The GraphQL schema: per-domain roots merged into one `Query` and one `Mutation`.

pub mod context;
pub mod ids;
mod introspection;
pub mod loaders;
pub mod pagination;
pub mod payload;
pub mod search;

use crate::config::Config;
use async_graphql::{EmptySubscription, MergedObject, SDLExportOptions, Schema};

pub use context::ContextExt;

#[derive(MergedObject, Default)]
pub struct Query(
    crate::accounts::AccountQuery,
    crate::users::UserQuery,
    crate::organisations::OrganisationQuery,
    crate::extra_fields::ExtraFieldQuery,
    crate::statuses::StatusQuery,
    crate::catalog::CatalogQuery,
    crate::customers::CustomerQuery,
    crate::sales::SaleQuery,
    crate::provider::ProviderQuery,
    crate::integrations::IntegrationQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    crate::accounts::AccountMutation,
    crate::users::UserMutation,
    crate::organisations::OrganisationMutation,
    crate::extra_fields::ExtraFieldMutation,
    crate::statuses::StatusMutation,
    crate::catalog::CatalogMutation,
    crate::customers::CustomerMutation,
    crate::sales::SaleMutation,
    crate::provider::ProviderMutation,
    crate::integrations::IntegrationMutation,
);

pub type KoppelSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with the configured limits.
pub fn build_schema(config: &Config) -> KoppelSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(config.max_query_depth as usize)
        .limit_complexity(config.max_query_complexity as usize);
    if !config.introspection {
        builder = builder.disable_introspection().extension(introspection::RefuseIntrospection);
    }
    builder.finish()
}

/// The SDL that `koppel schema` prints and `schema.graphql` holds, with fields sorted for stable diffs.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items())
}
