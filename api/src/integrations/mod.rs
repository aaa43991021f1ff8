//! Integrations with remote systems (consumer side): kinds, typed settings, encrypted credentials per
//! mode, live connection tests, browsing and importing the remote catalogue, and the mappings.

pub mod authorization;
mod import;
mod kinds;
mod mappings;
mod remote;
mod schedules;
mod service;
mod sync;

pub use kinds::IntegrationKind;

use crate::error::ApiResult;
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids};
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Json, MergedObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, integration, integration_credential};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::IntegrationMode")]
pub enum IntegrationMode {
    Test,
    Production,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::MissingRecordPolicy")]
pub enum MissingRecordPolicy {
    /// Leave the local record as it is.
    Ignore,
    /// Keep the local record but switch it off.
    Deactivate,
    /// Remove the local record.
    Delete,
}

/// What happens to a local record whose remote twin is gone (deleted, switched off, access revoked).
#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "MissingRecordPolicyInput")]
pub struct MissingRecordPolicySetting {
    pub entity: String,
    pub policy: MissingRecordPolicy,
}

/// A credential that is set: never its value, only its last four characters (empty for values shorter
/// than 12 characters, which would otherwise be shown almost whole).
#[derive(SimpleObject, Clone)]
pub struct CredentialSet {
    pub mode: IntegrationMode,
    pub field: String,
    pub last_four: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Integration {
    pub id: ID,
    pub kind: String,
    pub name: String,
    pub enabled: bool,
    pub mode: IntegrationMode,
    pub base_url: String,
    /// The kind's settings, with defaults filled in (see `integrationKinds`).
    pub settings: Json<serde_json::Value>,
    pub missing_record_policies: Vec<MissingRecordPolicySetting>,
    /// When a remote record was last imported or synced.
    pub last_synced_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub model: integration::Model,
}

impl From<integration::Model> for Integration {
    fn from(m: integration::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            kind: m.kind.clone(),
            name: m.name.clone(),
            enabled: m.enabled,
            mode: m.mode.into(),
            base_url: m.base_url.clone(),
            settings: Json(m.settings.clone()),
            missing_record_policies: service::policies_of(&m),
            last_synced_at: m.last_synced_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl Integration {
    /// Which credential fields are set, per mode. The values are never returned.
    async fn credentials_set(&self, ctx: &Context<'_>) -> ApiResult<Vec<CredentialSet>> {
        let rows = integration_credential::Entity::find_in(self.model.account_id)
            .filter(integration_credential::Column::IntegrationId.eq(self.model.id))
            .order_by_asc(integration_credential::Column::Mode)
            .order_by_asc(integration_credential::Column::Field)
            .all(ctx.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| CredentialSet {
                mode: r.mode.into(),
                field: r.field,
                last_four: r.last_four,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// Per entity the kind synchronises: when a pass last checked the remote, and last changed something.
    /// The OAuth2 connection per mode, for kinds connected by signing in at the remote (Exact Online):
    /// whether it is connected, the division, until when the refresh token is known to be valid. The
    /// tokens are never shown.
    async fn authorizations(&self, ctx: &Context<'_>) -> ApiResult<Vec<authorization::IntegrationAuthorization>> {
        authorization::of(ctx.db(), &self.model).await
    }

    async fn sync_states(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::runs::EntitySyncState>> {
        let entities = koppel_daemon::connectors::kind(&self.model.kind).map(|k| k.synced_entities).unwrap_or_default();
        crate::runs::sync_states(ctx.db(), &self.model, entities).await
    }

    /// When each entity is reconciled, and when the next pass is queued. Change them with the settings
    /// named here (see `integrationKinds`).
    async fn schedules(&self, ctx: &Context<'_>) -> Vec<schedules::IntegrationSchedule> {
        schedules::of(&self.model, ctx.state().engine.limits.product_sync_every, Utc::now())
    }

    async fn field_mappings(
        &self,
        ctx: &Context<'_>,
        entity: Option<String>,
    ) -> ApiResult<Vec<mappings::FieldMapping>> {
        mappings::field_mappings(ctx.db(), &self.model, entity.as_deref()).await
    }

    /// The status mappings in force: explicit ones, and system statuses mapped automatically by key.
    async fn status_mappings(&self, ctx: &Context<'_>) -> ApiResult<Vec<mappings::StatusMapping>> {
        mappings::status_mappings(ctx.db(), &self.model).await
    }

    async fn flow_mappings(&self, ctx: &Context<'_>) -> ApiResult<Vec<mappings::FlowMapping>> {
        mappings::flow_mappings(ctx.db(), &self.model).await
    }

    async fn question_mappings(&self, ctx: &Context<'_>) -> ApiResult<Vec<mappings::QuestionMapping>> {
        mappings::question_mappings(ctx.db(), &self.model).await
    }
}

#[derive(InputObject)]
pub struct CreateIntegrationInput {
    /// A kind from `integrationKinds`, e.g. `peer`.
    pub kind: String,
    pub name: String,
    pub base_url: String,
    #[graphql(default_with = "IntegrationMode::Test")]
    pub mode: IntegrationMode,
    #[graphql(default)]
    pub enabled: bool,
    /// The kind's settings as an object; missing ones take their default.
    pub settings: Option<Json<serde_json::Value>>,
    /// Per entity; entities left out use `deactivate`.
    #[graphql(default)]
    pub missing_record_policies: Vec<MissingRecordPolicySetting>,
}

#[derive(InputObject)]
pub struct UpdateIntegrationInput {
    pub id: ID,
    pub name: Option<String>,
    /// Moving to another host (scheme, host or port) removes the credentials: set them again.
    pub base_url: Option<String>,
    pub mode: Option<IntegrationMode>,
    pub enabled: Option<bool>,
    /// Replaces the settings; missing ones take their default.
    pub settings: Option<Json<serde_json::Value>>,
    /// Changes the policies of the entities listed.
    pub missing_record_policies: Option<Vec<MissingRecordPolicySetting>>,
}

#[derive(InputObject)]
pub struct DeleteIntegrationInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct CredentialValueInput {
    pub field: String,
    /// The secret; an empty value removes the field.
    pub value: String,
}

#[derive(InputObject)]
pub struct SetIntegrationCredentialsInput {
    pub id: ID,
    pub mode: IntegrationMode,
    pub values: Vec<CredentialValueInput>,
}

#[derive(InputObject)]
pub struct TestIntegrationConnectionInput {
    pub id: ID,
    /// Defaults to the integration's mode.
    pub mode: Option<IntegrationMode>,
}

/// The outcome of a live connection test.
#[derive(SimpleObject)]
pub struct ConnectionTest {
    pub ok: bool,
    /// `OK`, or why not: `UNREACHABLE`, `TIMEOUT`, `WRONG_CREDENTIALS`, `REVOKED`, `WRONG_ACCOUNT`,
    /// `FORBIDDEN`, `RATE_LIMITED`, `REMOTE_ERROR`, `PROTOCOL_ERROR`, `CONFIGURATION`.
    pub code: String,
    pub message: String,
    /// Who the remote says we are.
    pub identity: Option<String>,
    pub latency_ms: i32,
    pub mode: IntegrationMode,
}

crate::payload!(CreateIntegrationPayload { integration: Integration });
crate::payload!(UpdateIntegrationPayload { integration: Integration });
crate::payload!(DeleteIntegrationPayload { deleted_id: ID });
crate::payload!(SetIntegrationCredentialsPayload { integration: Integration });
crate::payload!(TestIntegrationConnectionPayload { test: ConnectionTest });

#[derive(Default)]
struct IntegrationQueryRoot;

#[Object]
impl IntegrationQueryRoot {
    /// The kinds of remote Koppel can connect to, with their capabilities, settings and credential fields.
    async fn integration_kinds(&self, ctx: &Context<'_>) -> ApiResult<Vec<IntegrationKind>> {
        ctx.principal()?.require_admin()?;
        Ok(koppel_daemon::connectors::kinds().iter().map(IntegrationKind::from).collect())
    }

    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn integrations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Integration>> {
        let principal = ctx.principal()?.require_admin()?;
        paginate(
            ctx.db(),
            integration::Entity::find_in(principal.account_id),
            Page::new(first, after)?,
            Integration::from,
        )
        .await
    }

    async fn integration(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Integration> {
        let principal = ctx.principal()?.require_admin()?;
        service::find(ctx.db(), principal.account_id, ids::parse(&id, "integration")?).await.map(Into::into)
    }
}

#[derive(Default)]
struct IntegrationMutationRoot;

#[Object]
impl IntegrationMutationRoot {
    /// Adds an integration (admins only). Settings are checked against the kind; the base URL must be
    /// https on a public address unless private remotes are allowed.
    async fn create_integration(
        &self,
        ctx: &Context<'_>,
        input: CreateIntegrationInput,
    ) -> ApiResult<CreateIntegrationPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = service::create(&ctx.state().engine, principal.account_id, input).await.map(Into::into);
        CreateIntegrationPayload::from_result(result)
    }

    async fn update_integration(
        &self,
        ctx: &Context<'_>,
        input: UpdateIntegrationInput,
    ) -> ApiResult<UpdateIntegrationPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = service::update(&ctx.state().engine, principal.account_id, input).await.map(Into::into);
        UpdateIntegrationPayload::from_result(result)
    }

    /// Deletes an integration with its credentials, links and mappings (admins only). Local records stay.
    async fn delete_integration(
        &self,
        ctx: &Context<'_>,
        input: DeleteIntegrationInput,
    ) -> ApiResult<DeleteIntegrationPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = async {
            let id = ids::parse(&input.id, "integration")?;
            service::delete(ctx.db(), principal.account_id, id).await.map(ids::to_id)
        }
        .await;
        DeleteIntegrationPayload::from_result(result)
    }

    /// Sets credentials for one mode, encrypted at rest (admins only). They are never returned.
    async fn set_integration_credentials(
        &self,
        ctx: &Context<'_>,
        input: SetIntegrationCredentialsInput,
    ) -> ApiResult<SetIntegrationCredentialsPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = service::set_credentials(&ctx.state().engine, principal.account_id, input).await.map(Into::into);
        SetIntegrationCredentialsPayload::from_result(result)
    }

    /// Calls the remote now and tells whether the connection works, and if not, why.
    async fn test_integration_connection(
        &self,
        ctx: &Context<'_>,
        input: TestIntegrationConnectionInput,
    ) -> ApiResult<TestIntegrationConnectionPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = service::test_connection(&ctx.state().engine, principal.account_id, input).await;
        TestIntegrationConnectionPayload::from_result(result)
    }
}

#[derive(MergedObject, Default)]
pub struct IntegrationQuery(IntegrationQueryRoot, remote::RemoteQuery, sync::SyncQuery);

#[derive(MergedObject, Default)]
pub struct IntegrationMutation(
    IntegrationMutationRoot,
    authorization::AuthorizationMutation,
    import::ImportMutation,
    mappings::MappingMutation,
    sync::SyncMutation,
);
