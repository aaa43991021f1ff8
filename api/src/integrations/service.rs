//! Integration rules: kinds, settings, base URLs (SSRF guard), policies, credentials, connection tests.

use super::{
    ConnectionTest, CreateIntegrationInput, IntegrationMode, MissingRecordPolicySetting,
    SetIntegrationCredentialsInput, TestIntegrationConnectionInput, UpdateIntegrationInput,
};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::ids;
use crate::validate;
use chrono::Utc;
use koppel_daemon::connectors::{self, KindSpec};
use koppel_daemon::{Context as Engine, connect, credentials, reconcile};
use koppel_entity::enums;
use koppel_entity::{Scoped, integration};
use sea_orm::{ActiveModelTrait, ConnectionTrait, ModelTrait, Set};
use serde_json::{Map, Value};
use std::time::Instant;
use uuid::Uuid;

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<integration::Model> {
    integration::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("integration"))
}

fn spec_of(model: &integration::Model) -> ApiResult<&'static KindSpec> {
    connectors::kind(&model.kind)
        .ok_or_else(|| ApiError::internal(std::io::Error::other(format!("unknown integration kind {}", model.kind))))
}

/// The policy per synced entity of the kind: the stored one, or `deactivate`.
pub fn policies_of(model: &integration::Model) -> Vec<MissingRecordPolicySetting> {
    let entities = connectors::kind(&model.kind).map(|k| k.synced_entities).unwrap_or_default();
    entities
        .iter()
        .map(|entity| MissingRecordPolicySetting {
            entity: entity.as_str().into(),
            policy: reconcile::products::missing_policy(model, *entity).into(),
        })
        .collect()
}

fn check_policies(
    spec: &KindSpec,
    given: &[MissingRecordPolicySetting],
    current: &Value,
    problems: &mut Problems,
) -> Value {
    let mut policies: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    for entity in spec.synced_entities {
        policies.entry(entity.to_string()).or_insert_with(|| Value::String("deactivate".into()));
    }
    for (i, setting) in given.iter().enumerate() {
        if !spec.synced_entities.iter().any(|e| e.as_str() == setting.entity) {
            let synced: Vec<&str> = spec.synced_entities.iter().map(|e| e.as_str()).collect();
            problems.add(
                format!("missingRecordPolicies.{i}.entity"),
                UserErrorCode::Invalid,
                format!("{} integrations sync {}, not {}", spec.kind, synced.join(", "), setting.entity),
            );
            continue;
        }
        let policy = enums::MissingRecordPolicy::from(setting.policy);
        policies.insert(setting.entity.clone(), Value::String(policy.as_str().into()));
    }
    Value::Object(policies)
}

fn check_base_url(engine: &Engine, raw: &str, problems: &mut Problems) -> String {
    match koppel_daemon::net::check_base_url(raw, engine.limits.allow_private_remotes) {
        Ok(url) => url.as_str().trim_end_matches('/').to_owned(),
        Err(error) => {
            problems.add("baseUrl", UserErrorCode::Invalid, format!("the base URL {error}"));
            raw.to_owned()
        }
    }
}

fn check_settings(spec: &KindSpec, given: &Value, problems: &mut Problems) -> Value {
    // The kind's own settings and the schedule settings common to every kind.
    let (settings, found) = connectors::validate_settings(&spec.all_settings(), given);
    for (field, kind, message) in found {
        let path = if field.is_empty() { "settings".to_owned() } else { format!("settings.{field}") };
        let code = match kind {
            connectors::SettingProblem::Required => UserErrorCode::Required,
            connectors::SettingProblem::Unknown => UserErrorCode::Unknown,
            connectors::SettingProblem::Invalid => UserErrorCode::Invalid,
        };
        problems.add(path, code, message);
    }
    settings
}

async fn check_name(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    name: &str,
    except: Option<Uuid>,
    problems: &mut Problems,
) -> ApiResult<()> {
    let key = (account_id, integration::Column::Name, "name", "an integration named");
    Ok(validate::unique::<integration::Entity>(db, problems, key, name, except).await?)
}

pub async fn create(engine: &Engine, account_id: Uuid, input: CreateIntegrationInput) -> ApiResult<integration::Model> {
    let db = &engine.db;
    let mut problems = Problems::new();
    let Some(spec) = connectors::kind(input.kind.trim()) else {
        let known: Vec<&str> = connectors::kinds().iter().map(|k| k.kind).collect();
        return Err(ApiError::invalid(
            "kind",
            UserErrorCode::NotAnOption,
            format!("kind must be one of: {}", known.join(", ")),
        ));
    };
    let name = validate::required(&mut problems, "name", &input.name, 200);
    check_name(db, account_id, &name, None, &mut problems).await?;
    let base_url = check_base_url(engine, &input.base_url, &mut problems);
    let settings = check_settings(spec, input.settings.as_ref().map_or(&Value::Null, |s| &s.0), &mut problems);
    let policies = check_policies(spec, &input.missing_record_policies, &Value::Null, &mut problems);
    problems.into_result()?;
    let now = Utc::now();
    let model = integration::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        kind: Set(spec.kind.into()),
        name: Set(name),
        enabled: Set(input.enabled),
        mode: Set(input.mode.into()),
        base_url: Set(base_url),
        settings: Set(settings),
        missing_policies: Set(policies),
        last_synced_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    tracing::info!(integration = %model.id, kind = %model.kind, "integration created");
    Ok(model)
}

pub async fn update(engine: &Engine, account_id: Uuid, input: UpdateIntegrationInput) -> ApiResult<integration::Model> {
    let db = &engine.db;
    let existing = find(db, account_id, ids::parse(&input.id, "integration")?).await?;
    let spec = spec_of(&existing)?;
    let mut problems = Problems::new();
    let mut active: integration::ActiveModel = existing.clone().into();
    if let Some(name) = &input.name {
        let name = validate::required(&mut problems, "name", name, 200);
        check_name(db, account_id, &name, Some(existing.id), &mut problems).await?;
        active.name = Set(name);
    }
    let mut origin_changed = false;
    if let Some(url) = &input.base_url {
        let checked = check_base_url(engine, url, &mut problems);
        origin_changed = origin(&checked) != origin(&existing.base_url);
        active.base_url = Set(checked);
    }
    if let Some(settings) = &input.settings {
        active.settings = Set(check_settings(spec, &settings.0, &mut problems));
    }
    if let Some(policies) = &input.missing_record_policies {
        active.missing_policies = Set(check_policies(spec, policies, &existing.missing_policies, &mut problems));
    }
    if let Some(mode) = input.mode {
        active.mode = Set(mode.into());
    }
    if let Some(enabled) = input.enabled {
        active.enabled = Set(enabled);
    }
    problems.into_result()?;
    active.updated_at = Set(Utc::now());
    let txn = crate::db::begin_write(db).await?;
    if origin_changed {
        // Credentials were given for the old remote; they must not be sent to another host.
        credentials::remove_all(&txn, &existing).await?;
        tracing::info!(integration = %existing.id, "base URL moved to another host: credentials removed");
    }
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Scheme, host and port: where credentials go.
fn origin(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.origin().ascii_serialization())
}

/// Deletes one and says which.
pub async fn delete(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<Uuid> {
    find(db, account_id, id).await?.delete(db).await?;
    Ok(id)
}

pub async fn set_credentials(
    engine: &Engine,
    account_id: Uuid,
    input: SetIntegrationCredentialsInput,
) -> ApiResult<integration::Model> {
    let db = &engine.db;
    let existing = find(db, account_id, ids::parse(&input.id, "integration")?).await?;
    let spec = spec_of(&existing)?;
    let mode = enums::IntegrationMode::from(input.mode);
    let mut problems = Problems::new();
    for (i, value) in input.values.iter().enumerate() {
        if !spec.credentials.iter().any(|c| c.name == value.field) {
            let known: Vec<&str> = spec.credentials.iter().map(|c| c.name).collect();
            problems.add(
                format!("values.{i}.field"),
                UserErrorCode::Unknown,
                format!(
                    "{} is not a credential of {} integrations (known: {})",
                    value.field,
                    spec.kind,
                    known.join(", ")
                ),
            );
        } else if value.value.chars().count() > 4000 {
            problems.add(
                format!("values.{i}.value"),
                UserErrorCode::TooLong,
                "a credential is at most 4000 characters",
            );
        } else if value.value != value.value.trim() {
            problems.add(format!("values.{i}.value"), UserErrorCode::Invalid, "remove the spaces around the value");
        }
    }
    problems.into_result()?;
    let txn = crate::db::begin_write(db).await?;
    for value in &input.values {
        credentials::replace(&txn, &engine.master_key, &existing, mode, &value.field, &value.value).await?;
    }
    txn.commit().await?;
    tracing::info!(integration = %existing.id, mode = mode.as_str(), fields = input.values.len(), "credentials set");
    Ok(existing)
}

pub async fn test_connection(
    engine: &Engine,
    account_id: Uuid,
    input: TestIntegrationConnectionInput,
) -> ApiResult<ConnectionTest> {
    let integration = find(&engine.db, account_id, ids::parse(&input.id, "integration")?).await?;
    let mode = input.mode.map(enums::IntegrationMode::from).unwrap_or(integration.mode);
    let started = Instant::now();
    let outcome = match connect::connector_for(engine, &integration, mode).await {
        Ok(connector) => connector.test_connection().await,
        Err(error) => Err(error),
    };
    let latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    tracing::info!(integration = %integration.id, ok = outcome.is_ok(), latency_ms, "connection tested");
    Ok(match outcome {
        Ok(check) => ConnectionTest {
            ok: true,
            code: "OK".into(),
            message: "connected".into(),
            identity: Some(check.identity),
            latency_ms,
            mode: IntegrationMode::from(mode),
        },
        Err(error) => ConnectionTest {
            ok: false,
            code: error.code().into(),
            message: error.to_string(),
            identity: None,
            latency_ms,
            mode: IntegrationMode::from(mode),
        },
    })
}
