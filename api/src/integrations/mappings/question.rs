//! Question mappings: a remote question onto a local one, with answer-option mappings and warnings
//! for mismatches that would make sales fail at the remote.

use super::{Then, ValueMapping, connect, integration_of, replace_all};
use crate::catalog::Question;
use crate::error::{ApiError, ApiResult, Problems, UserError, UserErrorCode};
use crate::graphql::{ContextExt, ids};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use koppel_entity::enums::QuestionType;
use koppel_entity::{IntegrationOwned, Scoped, integration, question, question_mapping};
use sea_orm::{ConnectionTrait, QueryOrder, Set};
use std::collections::HashSet;
use uuid::Uuid;

#[derive(SimpleObject, Clone)]
pub struct QuestionMapping {
    pub remote_question_key: String,
    pub local_question: Question,
    pub options: Vec<ValueMapping>,
    /// Mismatches found when the mapping was saved (type, options, required, validations).
    pub warnings: Vec<String>,
}

pub async fn question_mappings(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> ApiResult<Vec<QuestionMapping>> {
    let rows = question_mapping::Entity::find_owned(integration.account_id, integration.id)
        .order_by_asc(question_mapping::Column::RemoteQuestion)
        .all(db)
        .await?;
    let questions = question::Entity::find_by_ids_in(integration.account_id, rows.iter().map(|r| r.local_question_id))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let local = questions.iter().find(|q| q.id == r.local_question_id)?;
            Some(QuestionMapping {
                remote_question_key: r.remote_question,
                local_question: local.clone().into(),
                options: serde_json::from_value(r.option_mappings).unwrap_or_default(),
                warnings: serde_json::from_value(r.warnings).unwrap_or_default(),
            })
        })
        .collect())
}

#[derive(InputObject)]
pub struct QuestionMappingInput {
    pub remote_question_key: String,
    pub local_question_id: ID,
    /// Local answer option → remote answer option.
    #[graphql(default)]
    pub options: Vec<ValueMapping>,
}

#[derive(InputObject)]
pub struct SetQuestionMappingsInput {
    pub integration_id: ID,
    pub mappings: Vec<QuestionMappingInput>,
}

/// Something that will make sales fail at the remote, although the mapping itself is valid.
#[derive(SimpleObject, Clone, Debug)]
pub struct MappingWarning {
    pub field: String,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct SetQuestionMappingsPayload {
    pub question_mappings: Option<Vec<QuestionMapping>>,
    /// Mismatches between a local question and its remote twin (type, options, required, validations).
    pub warnings: Vec<MappingWarning>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct QuestionMappingMutation;

#[Object]
impl QuestionMappingMutation {
    /// Replaces the question mappings (admins only), with answer-option mappings. A local question whose
    /// type, options or rules differ from the remote one is accepted with a warning.
    async fn set_question_mappings(
        &self,
        ctx: &Context<'_>,
        input: SetQuestionMappingsInput,
    ) -> ApiResult<SetQuestionMappingsPayload> {
        let integration = integration_of(ctx, &input.integration_id).await?;
        match set_question_mappings(ctx, &integration, input).await {
            Ok((mappings, warnings)) => {
                Ok(SetQuestionMappingsPayload { question_mappings: Some(mappings), warnings, user_errors: Vec::new() })
            }
            Err(ApiError::Invalid(user_errors)) => {
                Ok(SetQuestionMappingsPayload { question_mappings: None, warnings: Vec::new(), user_errors })
            }
            Err(error) => Err(error),
        }
    }
}

async fn set_question_mappings(
    ctx: &Context<'_>,
    integration: &integration::Model,
    input: SetQuestionMappingsInput,
) -> ApiResult<(Vec<QuestionMapping>, Vec<MappingWarning>)> {
    let db = ctx.db();
    let connector = connect(ctx, integration).await?;
    let remote = connector.questions().await?;
    let mut problems = Problems::new();
    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, mapping) in input.mappings.iter().enumerate() {
        let field = format!("mappings.{i}");
        let Some(remote_question) = remote.iter().find(|q| q.key == mapping.remote_question_key) else {
            problems.add(
                format!("{field}.remoteQuestionKey"),
                UserErrorCode::NotFound,
                format!("the remote has no question {}", mapping.remote_question_key),
            );
            continue;
        };
        if !seen.insert(mapping.remote_question_key.clone()) {
            problems.add(
                format!("{field}.remoteQuestionKey"),
                UserErrorCode::Taken,
                format!("{} is mapped twice", mapping.remote_question_key),
            );
        }
        let local =
            match ids::parse_field(&mapping.local_question_id, &format!("{field}.localQuestionId"), &mut problems) {
                Some(id) => question::Entity::find_by_id_in(integration.account_id, id).one(db).await?,
                None => continue,
            };
        let Some(local) = local else {
            problems.add(format!("{field}.localQuestionId"), UserErrorCode::NotFound, "this question does not exist");
            continue;
        };
        let local_options: Vec<String> =
            serde_json::from_value::<Vec<crate::catalog::questions::AnswerOption>>(local.options.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|o| o.value)
                .collect();
        let remote_options: Vec<String> = remote_question.options.iter().map(|o| o.value.clone()).collect();
        for (j, option) in mapping.options.iter().enumerate() {
            if !local_options.contains(&option.local) {
                problems.add(
                    format!("{field}.options.{j}.local"),
                    UserErrorCode::NotAnOption,
                    format!("{} is not an option of {}", option.local, local.key),
                );
            }
            if !remote_options.contains(&option.remote) {
                problems.add(
                    format!("{field}.options.{j}.remote"),
                    UserErrorCode::NotAnOption,
                    format!("{} is not an option of the remote {}", option.remote, remote_question.key),
                );
            }
        }
        let found = compatibility(&field, &local, remote_question, &mapping.options);
        let messages: Vec<&str> = found.iter().map(|w| w.message.as_str()).collect();
        let stored_warnings = serde_json::to_value(&messages).expect("serialises");
        warnings.extend(found);
        rows.push(question_mapping::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(integration.account_id),
            integration_id: Set(integration.id),
            remote_question: Set(mapping.remote_question_key.clone()),
            local_question_id: Set(local.id),
            option_mappings: Set(serde_json::to_value(&mapping.options).expect("serialises")),
            warnings: Set(stored_warnings),
        });
    }
    problems.into_result()?;
    let old = question_mapping::Entity::delete_owned(integration.account_id, integration.id);
    replace_all(db, old, rows, Then::SalesMappingChanged(integration)).await?;
    Ok((question_mappings(db, integration).await?, warnings))
}

/// Why sales answering `local` may be refused by the remote that asks `remote`.
fn compatibility(
    field: &str,
    local: &question::Model,
    remote: &koppel_daemon::connectors::RemoteQuestion,
    options: &[ValueMapping],
) -> Vec<MappingWarning> {
    let mut warnings = Vec::new();
    let mut warn = |message: String| warnings.push(MappingWarning { field: field.to_owned(), message });
    let local_type = local.question_type.as_str();
    if local_type != remote.question_type {
        warn(format!("{} is a {local_type} question here but {} at the remote", local.key, remote.question_type));
    }
    if remote.required && !local.required {
        warn(format!("the remote requires {}, but {} is optional here", remote.key, local.key));
    }
    if matches!(local.question_type, QuestionType::Select | QuestionType::Multiselect) || !remote.options.is_empty() {
        let local_options: Vec<String> =
            serde_json::from_value::<Vec<crate::catalog::questions::AnswerOption>>(local.options.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|o| o.value)
                .collect();
        for option in &local_options {
            let mapped = options.iter().any(|m| &m.local == option);
            let same = remote.options.iter().any(|r| &r.value == option);
            if !mapped && !same {
                warn(format!("the local option {option} of {} has no counterpart at the remote; map it", local.key));
            }
        }
    }
    if local.validations != remote.validations
        && !(remote.validations.as_object().is_some_and(|o| o.values().all(|v| v.is_null())))
    {
        warn(format!("the validations of {} differ from the remote's ({})", local.key, remote.validations));
    }
    warnings
}
