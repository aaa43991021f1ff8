//! `integrationKinds`: the connector registry as the API shows it.

use async_graphql::{Json, SimpleObject};
use koppel_daemon::connectors::{FieldSpec, FieldType, KindSpec};

/// One setting or credential field of a kind.
#[derive(SimpleObject)]
pub struct SettingField {
    pub name: String,
    pub label: String,
    /// text, secret, boolean, integer, select, text_list, cron_schedule (five fields on
    /// Europe/Amsterdam's clock) or times_of_day (a list of `HH:MM` on Europe/Amsterdam's clock).
    pub field_type: String,
    pub required: bool,
    pub default: Option<Json<serde_json::Value>>,
    pub help: String,
    /// The allowed values of a select field.
    pub options: Vec<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl From<&FieldSpec> for SettingField {
    fn from(spec: &FieldSpec) -> Self {
        let (options, min, max) = match spec.field_type {
            FieldType::Select(options) | FieldType::MultiSelect(options) => {
                (options.iter().map(|o| (*o).to_owned()).collect(), None, None)
            }
            FieldType::Integer { min, max } => (Vec::new(), Some(min), Some(max)),
            _ => (Vec::new(), None, None),
        };
        Self {
            name: spec.name.into(),
            label: spec.label.into(),
            field_type: spec.field_type.name().into(),
            required: spec.required,
            default: spec.default.map(|d| Json(serde_json::from_str(d).expect("defaults are valid JSON"))),
            help: spec.help.into(),
            options,
            min,
            max,
        }
    }
}

#[derive(SimpleObject)]
pub struct IntegrationKind {
    pub kind: String,
    pub label: String,
    pub description: String,
    /// e.g. products, sale_push, sale_status_pull.
    pub capabilities: Vec<String>,
    pub settings: Vec<SettingField>,
    pub credentials: Vec<SettingField>,
    /// The entities whose records gone at the remote follow a missing-record policy.
    pub synced_entities: Vec<String>,
}

impl From<&KindSpec> for IntegrationKind {
    fn from(spec: &KindSpec) -> Self {
        Self {
            kind: spec.kind.into(),
            label: spec.label.into(),
            description: spec.description.into(),
            capabilities: spec
                .capabilities
                .iter()
                .map(|c| serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
                .collect(),
            settings: spec.all_settings().iter().map(SettingField::from).collect(),
            credentials: spec.credentials.iter().map(SettingField::from).collect(),
            synced_entities: spec.synced_entities.iter().map(|e| e.to_string()).collect(),
        }
    }
}
