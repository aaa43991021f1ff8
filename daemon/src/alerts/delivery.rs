//! Delivering an alert to the account's webhook, as a job (`alert_webhook`) queued with the alert's event.
//!
//! One POST per attempt through the SSRF-guarded client, with the Standard Webhooks headers:
//! `webhook-id` is the event's id, the same on every retry, so that a receiver can drop duplicates;
//! `webhook-timestamp` is the time of this attempt and `webhook-signature` signs both with the body.
//! A 2xx delivers; 408, 429, 5xx, a timeout or an unreachable receiver are temporary (the queue tries
//! again with backoff, not sooner than `Retry-After` on 429 and 503); any other 4xx is permanent. The
//! URL and the secret are never logged, nor stored with an error.

use super::{signature, webhook};
use crate::Context;
use crate::connectors::ConnectorError;
use crate::error::{DeliveryError, EngineError, EngineResult};
use crate::jobs::NewJob;
use crate::problems::{Problem, ProblemCode, Rejected};
use chrono::Utc;
use koppel_entity::{job, sync_event};
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// The job kind.
pub const KIND: &str = "alert_webhook";

/// The longest `Retry-After` obeyed: a receiver cannot park an alert for longer.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    event_id: i64,
}

/// The delivery job of an alert's event: one per event, however often it is queued.
pub(super) fn job(event: &sync_event::Model) -> NewJob {
    NewJob::new(KIND, serde_json::to_value(Payload { event_id: event.id }).expect("serialises"))
        .for_integration(event.account_id, event.integration_id)
        .dedupe(format!("{KIND}:{}", event.id))
}

/// The body of a delivery: `type`, `timestamp` and `data`, as Standard Webhooks suggests.
pub fn body(event: &sync_event::Model) -> serde_json::Value {
    json!({
        "type": format!("alert.{}", event.action),
        "timestamp": event.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "account": event.account_id,
            "integration": event.integration_id,
            "run": event.run_id,
            "entity": event.entity.map(|e| e.as_str()),
            "action": event.action,
            "message": event.message,
        },
    })
}

/// Delivers the alert a job names; nothing to do when its event was purged or the webhook removed.
#[tracing::instrument(skip_all, fields(event = tracing::field::Empty))]
pub async fn run(ctx: &Context, job: &job::Model) -> EngineResult<()> {
    let payload: Payload = serde_json::from_value(job.payload.clone()).map_err(|e| {
        EngineError::Rejected(Rejected(vec![Problem {
            field: "payload".into(),
            code: ProblemCode::Invalid,
            message: e.to_string(),
        }]))
    })?;
    tracing::Span::current().record("event", payload.event_id);
    let Some(account_id) = job.account_id else { return Ok(()) };
    let event = sync_event::Entity::find_by_id(payload.event_id)
        .filter(sync_event::Column::AccountId.eq(account_id))
        .one(&ctx.db)
        .await?;
    let (Some(event), Some(hook)) = (event, webhook::find(&ctx.db, account_id).await?) else {
        tracing::info!("the alert or the webhook is gone: nothing to deliver");
        return Ok(());
    };
    let outcome = post(ctx, &hook, &event).await;
    let recorded = match &outcome {
        Ok(()) => None,
        Err(error) => Some(format!("{}: {error}", error.label())),
    };
    webhook::record_delivery(&ctx.db, &hook, recorded).await?;
    crate::telemetry::webhook_delivery(match &outcome {
        Ok(()) => "delivered",
        Err(error) if error.is_permanent() => "refused",
        Err(_) => "failed",
    });
    outcome
}

async fn post(
    ctx: &Context,
    hook: &koppel_entity::alert_webhook::Model,
    event: &sync_event::Model,
) -> EngineResult<()> {
    // Checked again: the operator may have stopped allowing private remotes since the URL was set, and
    // the client's DNS guard does not see literal addresses.
    let url =
        crate::net::check_base_url(&hook.url, ctx.limits.allow_private_remotes).map_err(DeliveryError::Address)?;
    let key = webhook::signing_key(&ctx.master_key, hook)?;
    let body = serde_json::to_vec(&body(event)).expect("JSON serialises");
    let id = event.id.to_string();
    let timestamp = Utc::now().timestamp();
    let response = ctx
        .http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature::sign(&key, &id, timestamp, &body))
        .body(body)
        .send()
        .await
        .map_err(transport_error)?;
    classify(response.status().as_u16(), response.headers()).map_err(EngineError::from)
}

/// What a receiver's answer means for the queue.
fn classify(status: u16, headers: &HeaderMap) -> Result<(), DeliveryError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let retry_after = matches!(status, 429 | 503)
        .then(|| headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok())
        .flatten()
        .map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    Err(DeliveryError::Status { status, retry_after })
}

/// A failed request, without its URL (which may carry a token of the receiver's).
fn transport_error(error: reqwest::Error) -> EngineError {
    let error = error.without_url();
    if error.is_timeout() {
        return ConnectorError::Timeout.into();
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    ConnectorError::Unreachable(message).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_2xx_delivers_and_retry_after_counts_on_429_and_503_only() {
        assert_eq!(classify(200, &HeaderMap::new()), Ok(()));
        assert_eq!(classify(204, &HeaderMap::new()), Ok(()));
        let busy = classify(503, &with_retry_after("120")).unwrap_err();
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(120)));
        assert!(!busy.is_permanent());
        assert_eq!(classify(429, &with_retry_after(" 7 ")).unwrap_err().retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(classify(500, &with_retry_after("120")).unwrap_err().retry_after(), None);
        assert_eq!(classify(429, &with_retry_after("Wed, 21 Oct 2026 07:28:00 GMT")).unwrap_err().retry_after(), None);
        assert_eq!(classify(503, &with_retry_after("99999999")).unwrap_err().retry_after(), Some(MAX_RETRY_AFTER));
        assert!(classify(404, &HeaderMap::new()).unwrap_err().is_permanent());
        assert!(!classify(408, &HeaderMap::new()).unwrap_err().is_permanent());
    }

    #[test]
    fn the_body_carries_type_timestamp_and_data() {
        use chrono::TimeZone;
        let account = uuid::Uuid::now_v7();
        let event = sync_event::Model {
            id: 42,
            account_id: account,
            integration_id: uuid::Uuid::nil(),
            run_id: None,
            level: koppel_entity::enums::EventLevel::Alert,
            entity: Some(koppel_entity::enums::LinkedEntity::Product),
            local_id: None,
            remote_id: None,
            action: "held_back".into(),
            direction: None,
            message: "2 of 2 would go".into(),
            payload: None,
            created_at: Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap(),
        };
        assert_eq!(
            body(&event),
            json!({"type": "alert.held_back", "timestamp": "2026-12-02T07:00:00.000Z", "data": {
                "account": account, "integration": uuid::Uuid::nil(), "run": null, "entity": "product",
                "action": "held_back", "message": "2 of 2 would go"}})
        );
    }
}
