//! The sale-forwarding settings, common to every kind that receives sales ([`super::Capability::SalePush`]),
//! and their typed form ([`SaleSettings`]).

use super::{FieldSpec, FieldType};
use crate::calendar::{Holiday, WorkingDays};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The keys of the holidays a condition-free working-day delay can skip, for [`FieldType::MultiSelect`].
pub const HOLIDAY_KEYS: &[&str] = &[
    "new_years_day",
    "good_friday",
    "easter_monday",
    "kings_day",
    "liberation_day",
    "ascension_day",
    "whit_monday",
    "christmas_day",
    "boxing_day",
];

/// What a sale condition can look at.
pub const CONDITION_FIELDS: &str = "product.supplier, organisation or answer.<question key>";

pub const SALE_SETTINGS: &[FieldSpec] = &[
    FieldSpec {
        name: "saleProcessing",
        label: "Sale processing",
        field_type: FieldType::Boolean,
        required: false,
        default: Some("true"),
        help: "Whether sales go to this integration at all, automatically or by hand.",
    },
    FieldSpec {
        name: "autoProcessing",
        label: "Automatic sale processing",
        field_type: FieldType::Select(&["manual", "all", "specific"]),
        required: false,
        default: Some("\"manual\""),
        help: "manual: only by hand (sendSale); all: a sale goes out when it is made and on every status \
               change; specific: only when it gets one of the statuses in processOnStatuses.",
    },
    FieldSpec {
        name: "processOnStatuses",
        label: "Process on statuses",
        field_type: FieldType::TextList,
        required: false,
        default: Some("[]"),
        help: "With specific processing: the keys of the local statuses that send a sale.",
    },
    FieldSpec {
        name: "saleConditions",
        label: "Conditions",
        field_type: FieldType::Conditions,
        required: false,
        default: Some("[]"),
        help: "When a sale may be sent automatically: a list of {field, operator, values} where field is \
               product.supplier (the supplier's name or id), organisation (its name or id) or \
               answer.<question key>, operator is in or not_in, and values a list of texts. Empty: always.",
    },
    FieldSpec {
        name: "saleConditionsMatch",
        label: "Conditions to meet",
        field_type: FieldType::Select(&["all", "any"]),
        required: false,
        default: Some("\"all\""),
        help: "all: every condition must hold; any: one is enough.",
    },
    FieldSpec {
        name: "delayWorkingDays",
        label: "Delay in working days",
        field_type: FieldType::Integer { min: 0, max: 30 },
        required: false,
        default: Some("0"),
        help: "Send a sale this many Dutch working days after it qualifies (weekends and the holidays below \
               skipped); 0 sends at once.",
    },
    FieldSpec {
        name: "sendHour",
        label: "Send at (hour)",
        field_type: FieldType::Integer { min: 0, max: 23 },
        required: false,
        default: Some("9"),
        help: "With a delay: the hour of the day (Europe/Amsterdam) the sale goes out.",
    },
    FieldSpec {
        name: "holidays",
        label: "Holidays that are not working days",
        field_type: FieldType::MultiSelect(HOLIDAY_KEYS),
        required: false,
        default: Some(
            r#"["new_years_day", "good_friday", "easter_monday", "kings_day", "liberation_day", "ascension_day", "whit_monday", "christmas_day", "boxing_day"]"#,
        ),
        help: "The Dutch national holidays the delay skips. Leave one out to count it as a working day \
               (e.g. Good Friday, or Liberation Day outside lustrum years).",
    },
    FieldSpec {
        name: "statusAfterSuccess",
        label: "Status after sending",
        field_type: FieldType::Text,
        required: false,
        default: None,
        help: "The key of the local status a sale gets once the remote accepted it.",
    },
    FieldSpec {
        name: "checkStatusUpdates",
        label: "Check for sale status updates",
        field_type: FieldType::Boolean,
        required: false,
        default: Some("false"),
        help: "Fetch the statuses of sent sales from the remote (at the sale status sync times) and apply the \
               mapped ones.",
    },
    FieldSpec {
        name: "sendOptIn",
        label: "Send opt-in data",
        field_type: FieldType::Boolean,
        required: false,
        default: Some("false"),
        help: "Send the opt-in data recorded with a sale.",
    },
    FieldSpec {
        name: "maxSendAttempts",
        label: "Attempts before giving up",
        field_type: FieldType::Integer { min: 1, max: 50 },
        required: false,
        default: Some("8"),
        help: "How often a sale is tried when the remote is down or busy (with growing waits) before it is \
               marked dead and an alert is raised.",
    },
];

/// When sales go out automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoProcessing {
    Manual,
    All,
    Specific,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionOperator {
    In,
    NotIn,
}

/// One condition on a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleCondition {
    /// `product.supplier`, `organisation` or `answer.<question key>`.
    pub field: String,
    pub operator: ConditionOperator,
    pub values: Vec<String>,
}

impl SaleCondition {
    /// Why the condition cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let known = matches!(self.field.as_str(), "product.supplier" | "organisation")
            || self.field.strip_prefix("answer.").is_some_and(|key| !key.is_empty());
        if !known {
            return Some(format!("{:?} is not a condition field ({CONDITION_FIELDS})", self.field));
        }
        if self.values.is_empty() {
            return Some(format!("the condition on {} needs at least one value", self.field));
        }
        None
    }
}

/// An integration's sale-forwarding settings, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleSettings {
    pub processing: bool,
    pub auto: AutoProcessing,
    pub on_statuses: Vec<String>,
    pub conditions: Vec<SaleCondition>,
    /// Every condition must hold (else: one is enough).
    pub match_all: bool,
    pub delay_working_days: u32,
    pub send_hour: u32,
    pub working_days: WorkingDays,
    pub status_after_success: Option<String>,
    pub check_status_updates: bool,
    pub send_opt_in: bool,
    pub max_attempts: i32,
}

impl SaleSettings {
    /// Reads validated settings (defaults filled in by [`super::validate_settings`]); a missing value
    /// takes its default.
    pub fn from_settings(settings: &Value) -> Self {
        let texts = |name: &str| -> Vec<String> {
            settings[name]
                .as_array()
                .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let holidays = match settings["holidays"].as_array() {
            Some(list) => list.iter().filter_map(|v| v.as_str().and_then(Holiday::from_key)).collect(),
            None => Holiday::ALL.to_vec(),
        };
        Self {
            processing: settings["saleProcessing"].as_bool().unwrap_or(true),
            auto: serde_json::from_value(settings["autoProcessing"].clone()).unwrap_or(AutoProcessing::Manual),
            on_statuses: texts("processOnStatuses"),
            conditions: serde_json::from_value(settings["saleConditions"].clone()).unwrap_or_default(),
            match_all: settings["saleConditionsMatch"].as_str() != Some("any"),
            delay_working_days: settings["delayWorkingDays"].as_u64().unwrap_or(0) as u32,
            send_hour: settings["sendHour"].as_u64().unwrap_or(9).min(23) as u32,
            working_days: WorkingDays { holidays },
            status_after_success: settings["statusAfterSuccess"]
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            check_status_updates: settings["checkStatusUpdates"].as_bool().unwrap_or(false),
            send_opt_in: settings["sendOptIn"].as_bool().unwrap_or(false),
            max_attempts: settings["maxSendAttempts"].as_i64().unwrap_or(8).clamp(1, 50) as i32,
        }
    }
}

/// Checks a conditions setting; `None` when it is usable.
pub(super) fn conditions_problem(label: &str, value: &Value) -> Option<String> {
    match serde_json::from_value::<Vec<SaleCondition>>(value.clone()) {
        Ok(conditions) => conditions.iter().find_map(SaleCondition::problem).map(|why| format!("{label}: {why}")),
        Err(_) => Some(format!(
            "{label} must be a list of {{\"field\": …, \"operator\": \"in\" or \"not_in\", \"values\": […]}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::validate_settings;
    use serde_json::json;

    #[test]
    fn the_holiday_keys_are_the_calendars() {
        let keys: Vec<&str> = Holiday::ALL.iter().map(|h| h.key()).collect();
        assert_eq!(keys, HOLIDAY_KEYS);
    }

    #[test]
    fn defaults_and_typed_values() {
        let (settings, problems) = validate_settings(SALE_SETTINGS, &json!({}));
        assert!(problems.is_empty(), "{problems:?}");
        let typed = SaleSettings::from_settings(&settings);
        assert!(typed.processing);
        assert_eq!(typed.auto, AutoProcessing::Manual);
        assert_eq!(typed.working_days, WorkingDays::default());
        assert_eq!((typed.delay_working_days, typed.send_hour, typed.max_attempts), (0, 9, 8));

        let given = json!({
            "autoProcessing": "specific",
            "processOnStatuses": ["approved"],
            "saleConditions": [{"field": "answer.rehousing", "operator": "in", "values": ["false"]}],
            "saleConditionsMatch": "any",
            "holidays": ["easter_monday"],
            "delayWorkingDays": 2,
        });
        let (settings, problems) = validate_settings(SALE_SETTINGS, &given);
        assert!(problems.is_empty(), "{problems:?}");
        let typed = SaleSettings::from_settings(&settings);
        assert_eq!(typed.auto, AutoProcessing::Specific);
        assert!(!typed.match_all);
        assert_eq!(typed.working_days.holidays, vec![Holiday::EasterMonday]);
        assert_eq!(typed.conditions[0].operator, ConditionOperator::In);
    }

    #[test]
    fn bad_conditions_and_holidays_are_named() {
        let given = json!({
            "saleConditions": [{"field": "weather", "operator": "in", "values": ["sun"]}],
            "holidays": ["carnival"],
        });
        let (_, problems) = validate_settings(SALE_SETTINGS, &given);
        let fields: Vec<&str> = problems.iter().map(|(f, _, _)| f.as_str()).collect();
        assert_eq!(fields, ["saleConditions", "holidays"], "{problems:?}");
        assert!(problems[0].2.contains("\"weather\" is not a condition field"), "{problems:?}");
        assert!(problems[1].2.contains("carnival"), "{problems:?}");
        let (_, problems) = validate_settings(SALE_SETTINGS, &json!({"saleConditions": [{"field": "organisation"}]}));
        assert_eq!(problems.len(), 1, "{problems:?}");
    }
}
