//! Typed settings and credential fields of a connector kind, and their validation.

use crate::slots::Schedule;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldType {
    Text,
    /// Never shown again once set.
    Secret,
    Boolean,
    Integer {
        min: i64,
        max: i64,
    },
    Select(&'static [&'static str]),
    /// A list of short texts, e.g. status keys.
    TextList,
    /// A cron expression of five fields on Amsterdam's clock ([`crate::slots::Schedule::cron`]).
    CronSchedule,
    /// A list of times of day (`HH:MM`) on Amsterdam's clock ([`crate::slots::Schedule::times_of_day`]).
    TimesOfDay,
    /// Any number of the options, e.g. the holidays a delay skips.
    MultiSelect(&'static [&'static str]),
    /// Sale conditions ([`super::sale_settings::SaleCondition`]).
    Conditions,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

impl FieldType {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Secret => "secret",
            Self::Boolean => "boolean",
            Self::Integer { .. } => "integer",
            Self::Select(_) => "select",
            Self::TextList => "text_list",
            Self::CronSchedule => "cron_schedule",
            Self::TimesOfDay => "times_of_day",
            Self::MultiSelect(_) => "multi_select",
            Self::Conditions => "conditions",
            Self::Date => "date",
        }
    }
}

/// One setting or credential field.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub field_type: FieldType,
    pub required: bool,
    /// A JSON literal.
    pub default: Option<&'static str>,
    pub help: &'static str,
}

/// What is wrong with a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingProblem {
    Required,
    Unknown,
    Invalid,
}

/// Checks `given` against `specs`: unknown fields, wrong types, missing required ones. Returns the
/// settings with defaults filled in, and the problems as `(field, kind, message)`.
pub fn validate_settings(specs: &[FieldSpec], given: &Value) -> (Value, Vec<(String, SettingProblem, String)>) {
    let mut problems = Vec::new();
    let empty = Map::new();
    let given = match given {
        Value::Object(map) => map,
        Value::Null => &empty,
        _ => {
            return (
                Value::Object(Map::new()),
                vec![(String::new(), SettingProblem::Invalid, "settings must be an object".into())],
            );
        }
    };
    for key in given.keys() {
        if !specs.iter().any(|s| s.name == key) {
            problems.push((key.clone(), SettingProblem::Unknown, format!("{key} is not a setting of this kind")));
        }
    }
    let mut settings = Map::new();
    for spec in specs {
        let value = match given.get(spec.name).filter(|v| !v.is_null()) {
            Some(value) => value.clone(),
            None => match spec.default {
                Some(default) => serde_json::from_str(default).expect("defaults are valid JSON"),
                None if spec.required => {
                    problems.push((spec.name.into(), SettingProblem::Required, format!("{} is required", spec.label)));
                    continue;
                }
                None => continue,
            },
        };
        let problem = match (spec.field_type, &value) {
            (FieldType::Text | FieldType::Secret, Value::String(s)) if spec.required && s.trim().is_empty() => {
                Some(format!("{} is required", spec.label))
            }
            (FieldType::Text | FieldType::Secret, Value::String(s)) if s.chars().count() > 500 => {
                Some(format!("{} must be at most 500 characters", spec.label))
            }
            (FieldType::Text | FieldType::Secret, Value::String(_)) => None,
            (FieldType::Boolean, Value::Bool(_)) => None,
            (FieldType::Integer { min, max }, Value::Number(n)) => match n.as_i64() {
                Some(i) if (min..=max).contains(&i) => None,
                _ => Some(format!("{} must be a whole number from {min} to {max}", spec.label)),
            },
            (FieldType::Select(options), Value::String(s)) if options.contains(&s.as_str()) => None,
            (FieldType::Select(options), _) => Some(format!("{} must be one of: {}", spec.label, options.join(", "))),
            (FieldType::TextList, Value::Array(items))
                if items.iter().all(|i| i.as_str().is_some_and(|s| !s.is_empty())) =>
            {
                None
            }
            (FieldType::TextList, _) => Some(format!("{} must be a list of texts", spec.label)),
            (FieldType::CronSchedule, Value::String(s)) => {
                Schedule::cron(s).err().map(|why| format!("{} {why}", spec.label))
            }
            (FieldType::CronSchedule, _) => {
                Some(format!("{} must be a cron expression such as \"*/15 * * * *\"", spec.label))
            }
            (FieldType::TimesOfDay, Value::Array(items)) => {
                let times: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                match times {
                    Some(times) => Schedule::times_of_day(&times).err().map(|why| format!("{} {why}", spec.label)),
                    None => Some(format!("{} must be a list of times of day like [\"07:00\", \"19:00\"]", spec.label)),
                }
            }
            (FieldType::MultiSelect(options), Value::Array(items)) => {
                let unknown: Vec<String> = items
                    .iter()
                    .filter(|i| !i.as_str().is_some_and(|s| options.contains(&s)))
                    .map(|i| i.to_string())
                    .collect();
                (!unknown.is_empty())
                    .then(|| format!("{}: {} not among {}", spec.label, unknown.join(", "), options.join(", ")))
            }
            (FieldType::MultiSelect(options), _) => {
                Some(format!("{} must be a list of some of: {}", spec.label, options.join(", ")))
            }
            (FieldType::Conditions, value) => super::sale_settings::conditions_problem(spec.label, value),
            (FieldType::Date, Value::String(s)) if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => None,
            (FieldType::Date, _) => Some(format!("{} must be a date like \"2019-05-28\"", spec.label)),
            (FieldType::TimesOfDay, _) => {
                Some(format!("{} must be a list of times of day like [\"07:00\", \"19:00\"]", spec.label))
            }
            (field_type, _) => Some(format!("{} must be {}", spec.label, field_type.name())),
        };
        match problem {
            Some(message) => problems.push((spec.name.into(), SettingProblem::Invalid, message)),
            None => {
                settings.insert(spec.name.into(), value);
            }
        }
    }
    (Value::Object(settings), problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPECS: &[FieldSpec] = &[
        FieldSpec {
            name: "accountName",
            label: "Account name",
            field_type: FieldType::Text,
            required: true,
            default: None,
            help: "",
        },
        FieldSpec {
            name: "delay",
            label: "Delay",
            field_type: FieldType::Integer { min: 0, max: 30 },
            required: false,
            default: Some("0"),
            help: "",
        },
        FieldSpec {
            name: "mode",
            label: "Mode",
            field_type: FieldType::Select(&["manual", "all"]),
            required: false,
            default: Some("\"manual\""),
            help: "",
        },
        FieldSpec {
            name: "statuses",
            label: "Statuses",
            field_type: FieldType::TextList,
            required: false,
            default: Some("[]"),
            help: "",
        },
    ];

    #[test]
    fn fills_defaults_and_names_every_bad_field() {
        let (settings, problems) = validate_settings(SPECS, &json!({"accountName": "b"}));
        assert!(problems.is_empty());
        assert_eq!(settings, json!({"accountName": "b", "delay": 0, "mode": "manual", "statuses": []}));

        let (_, problems) =
            validate_settings(SPECS, &json!({"delay": 31, "mode": "sometimes", "statuses": [1], "colour": "red"}));
        let fields: Vec<&str> = problems.iter().map(|(f, _, _)| f.as_str()).collect();
        assert_eq!(fields, ["colour", "accountName", "delay", "mode", "statuses"]);
    }

    const SCHEDULES: &[FieldSpec] = &[
        FieldSpec {
            name: "productSyncSchedule",
            label: "Product sync schedule",
            field_type: FieldType::CronSchedule,
            required: false,
            default: None,
            help: "",
        },
        FieldSpec {
            name: "saleStatusSyncTimes",
            label: "Sale status sync times",
            field_type: FieldType::TimesOfDay,
            required: false,
            default: Some(r#"["07:00", "19:00"]"#),
            help: "",
        },
    ];

    #[test]
    fn schedules_are_checked_and_a_bad_one_names_its_field() {
        let (settings, problems) = validate_settings(SCHEDULES, &json!({"productSyncSchedule": "0 6-18 * * 1-5"}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            settings,
            json!({"productSyncSchedule": "0 6-18 * * 1-5", "saleStatusSyncTimes": ["07:00", "19:00"]})
        );

        let (_, problems) = validate_settings(
            SCHEDULES,
            &json!({"productSyncSchedule": "every 15 minutes", "saleStatusSyncTimes": ["7am"]}),
        );
        let found: Vec<(&str, SettingProblem)> = problems.iter().map(|(f, k, _)| (f.as_str(), *k)).collect();
        assert_eq!(
            found,
            [("productSyncSchedule", SettingProblem::Invalid), ("saleStatusSyncTimes", SettingProblem::Invalid)]
        );
        assert!(
            problems[0].2.starts_with("Product sync schedule must be a cron expression of five fields"),
            "{problems:?}"
        );
        assert!(problems[1].2.contains("\"7am\""), "{problems:?}");

        let (_, problems) =
            validate_settings(SCHEDULES, &json!({"productSyncSchedule": 15, "saleStatusSyncTimes": "07:00"}));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
