//! An account's alert webhook: its URL, checked like every remote address, and its signing secret,
//! generated here, shown to the admin once and stored encrypted under the master key (with the account
//! as additional data, so that a ciphertext copied to another account's row does not decrypt).

use super::signature;
use crate::Limits;
use crate::crypto::MasterKey;
use crate::error::{DeliveryError, EngineError};
use crate::problems::{Problem, ProblemCode, Rejected};
use chrono::Utc;
use koppel_entity::{Scoped, alert_webhook};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, QueryFilter, Set};
use uuid::Uuid;

/// The longest URL accepted.
const MAX_URL: usize = 2000;

fn additional_data(account_id: Uuid) -> String {
    format!("alert_webhook/{account_id}")
}

/// The account's webhook, if it has one.
pub async fn find(db: &impl ConnectionTrait, account_id: Uuid) -> Result<Option<alert_webhook::Model>, DbErr> {
    alert_webhook::Entity::find_in(account_id).one(db).await
}

/// A webhook just set, with its secret: the one moment the secret is known outside the database.
pub struct Created {
    pub webhook: alert_webhook::Model,
    /// `whsec_…`, for the receiver to verify signatures with.
    pub secret: String,
}

/// Sets the account's webhook to `url` with a new secret (replacing the one there was). A refused URL
/// is a problem on `url`. Runs in the caller's transaction.
pub async fn set(
    db: &impl ConnectionTrait,
    key: &MasterKey,
    limits: Limits,
    account_id: Uuid,
    url: &str,
) -> Result<Created, EngineError> {
    let refused =
        |message: String| Rejected(vec![Problem { field: "url".into(), code: ProblemCode::Invalid, message }]);
    if url.trim().len() > MAX_URL {
        return Err(refused(format!("the URL is longer than {MAX_URL} characters")).into());
    }
    let checked = crate::net::check_base_url(url, limits.allow_private_remotes)
        .map_err(|error| refused(format!("the URL {error}")))?;
    let secret = signature::generate_secret();
    let ciphertext = key.encrypt(&secret, &additional_data(account_id));
    let now = Utc::now();
    let webhook = match find(db, account_id).await? {
        Some(existing) => {
            let mut active: alert_webhook::ActiveModel = existing.into();
            active.url = Set(checked.to_string());
            active.secret_ciphertext = Set(ciphertext);
            active.updated_at = Set(now);
            active.last_delivered_at = Set(None);
            active.last_error = Set(None);
            active.update(db).await?
        }
        None => {
            alert_webhook::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(account_id),
                url: Set(checked.to_string()),
                secret_ciphertext: Set(ciphertext),
                created_at: Set(now),
                updated_at: Set(now),
                last_delivered_at: Set(None),
                last_error: Set(None),
            }
            .insert(db)
            .await?
        }
    };
    Ok(Created { webhook, secret })
}

/// Removes the account's webhook; returns it, or `None` when there was none.
pub async fn remove(db: &impl ConnectionTrait, account_id: Uuid) -> Result<Option<alert_webhook::Model>, DbErr> {
    let Some(existing) = find(db, account_id).await? else { return Ok(None) };
    alert_webhook::Entity::delete_many_in(account_id)
        .filter(alert_webhook::Column::Id.eq(existing.id))
        .exec(db)
        .await?;
    Ok(Some(existing))
}

/// The HMAC key of a webhook's secret.
pub fn signing_key(key: &MasterKey, webhook: &alert_webhook::Model) -> Result<Vec<u8>, DeliveryError> {
    let secret = key
        .decrypt(&webhook.secret_ciphertext, &additional_data(webhook.account_id))
        .map_err(|_| DeliveryError::Secret)?;
    signature::signing_key(&secret).ok_or(DeliveryError::Secret)
}

/// Notes how a delivery to this webhook went: the time of the last success, the last error until then.
pub async fn record_delivery(
    db: &impl ConnectionTrait,
    webhook: &alert_webhook::Model,
    error: Option<String>,
) -> Result<(), DbErr> {
    let mut update = alert_webhook::Entity::update_many_in(webhook.account_id)
        .filter(alert_webhook::Column::Id.eq(webhook.id))
        .col_expr(alert_webhook::Column::LastError, Expr::value(error.clone()));
    if error.is_none() {
        update = update.col_expr(alert_webhook::Column::LastDeliveredAt, Expr::value(Some(Utc::now())));
    }
    update.exec(db).await?;
    Ok(())
}
