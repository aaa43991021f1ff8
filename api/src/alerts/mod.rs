//! The account's alert webhook (admins only): where the daemon POSTs every alert — a dead job, a pass
//! held back by the brake, a pass that failed for good — signed the Standard Webhooks way.
//! `setAlertWebhook` returns the signing secret once; `alertWebhook` never shows it again.

use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_daemon::alerts::webhook;
use koppel_entity::alert_webhook;

/// Where alerts go. The signing secret is shown once, by `setAlertWebhook`.
#[derive(SimpleObject, Clone)]
pub struct AlertWebhook {
    pub url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the receiver last took an alert (answered 2xx).
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// Why the last delivery failed, until one succeeds; failed deliveries are retried with backoff.
    pub last_error: Option<String>,
}

impl From<alert_webhook::Model> for AlertWebhook {
    fn from(m: alert_webhook::Model) -> Self {
        Self {
            url: m.url,
            created_at: m.created_at,
            updated_at: m.updated_at,
            last_delivered_at: m.last_delivered_at,
            last_error: m.last_error,
        }
    }
}

#[derive(InputObject)]
pub struct SetAlertWebhookInput {
    /// `https` on a public address (like integrations' base URLs, unless private remotes are allowed).
    pub url: String,
}

/// The webhook just set and its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct CreatedAlertWebhook {
    pub alert_webhook: AlertWebhook,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it. Store it now: it is not shown again.
    pub secret: String,
}

crate::payload!(SetAlertWebhookPayload { created: CreatedAlertWebhook });
crate::payload!(RemoveAlertWebhookPayload { alert_webhook: AlertWebhook });

#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// The account's alert webhook, or null (admins only).
    async fn alert_webhook(&self, ctx: &Context<'_>) -> ApiResult<Option<AlertWebhook>> {
        let principal = ctx.principal()?.require_admin()?;
        Ok(webhook::find(ctx.db(), principal.account_id).await?.map(Into::into))
    }
}

#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Sets the account's alert webhook, replacing the one there was, with a new signing secret that is
    /// returned this once (admins only).
    async fn set_alert_webhook(
        &self,
        ctx: &Context<'_>,
        input: SetAlertWebhookInput,
    ) -> ApiResult<SetAlertWebhookPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let engine = &ctx.state().engine;
        let result = async {
            let txn = crate::db::begin_write(ctx.db()).await?;
            let created =
                webhook::set(&txn, &engine.master_key, engine.limits, principal.account_id, &input.url).await?;
            txn.commit().await?;
            tracing::info!(account = %principal.account_id, "alert webhook set");
            Ok(CreatedAlertWebhook { alert_webhook: created.webhook.into(), secret: created.secret })
        }
        .await;
        SetAlertWebhookPayload::from_result(result)
    }

    /// Removes the account's alert webhook (admins only); alerts still queued for it are dropped.
    async fn remove_alert_webhook(&self, ctx: &Context<'_>) -> ApiResult<RemoveAlertWebhookPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let removed =
            webhook::remove(ctx.db(), principal.account_id).await?.ok_or(ApiError::NotFound("alert webhook"))?;
        tracing::info!(account = %principal.account_id, "alert webhook removed");
        RemoveAlertWebhookPayload::from_result(Ok(removed.into()))
    }
}
