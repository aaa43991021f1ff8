//! Checking a sale's answers against the question definitions: type, required, options, limits and
//! conditions. Pure, so that every rule is unit-tested; problems are reported as `answers.<key>`.

use crate::catalog::questions::{AnswerOption, QuestionCondition, QuestionValidations};
use crate::error::{Problems, UserErrorCode};
use koppel_entity::{enums::QuestionType, question};
use serde_json::{Map, Value};

/// The answers as stored: a JSON object by question key, holding only answers to questions that apply.
pub fn check(
    questions: &[question::Model],
    answers: &[(String, Value)],
    problems: &mut Problems,
) -> Map<String, Value> {
    let mut given: Map<String, Value> = Map::new();
    for (key, value) in answers {
        let key = key.trim();
        if contains_control_characters(value) || crate::validate::has_control_characters(key) {
            problems.add(
                format!("answers.{key}"),
                UserErrorCode::Invalid,
                format!("{key} contains control characters"),
            );
            continue;
        }
        if given.contains_key(key) {
            problems.add(format!("answers.{key}"), UserErrorCode::Invalid, format!("{key} is answered twice"));
        } else if !questions.iter().any(|q| q.key == key) {
            problems.add(
                format!("answers.{key}"),
                UserErrorCode::Unknown,
                format!("{key} is not a question of this product or flow"),
            );
        }
        given.insert(key.to_owned(), value.clone());
    }

    let mut stored = Map::new();
    for question in questions {
        let field = format!("answers.{}", question.key);
        let conditions: Vec<QuestionCondition> =
            serde_json::from_value(question.conditions.clone()).unwrap_or_default();
        let applies = conditions.iter().all(|c| given.get(&c.question_key).is_some_and(|v| as_text(v) == c.equals));
        let answer = given.get(&question.key).filter(|v| !is_empty(v));
        match (applies, answer) {
            (false, Some(_)) => {
                problems.add(&field, UserErrorCode::Invalid, format!("{} does not apply to this sale", question.key))
            }
            (false, None) => {}
            (true, None) if question.required => problems.add(
                &field,
                UserErrorCode::Required,
                format!("{} is required: {}", question.key, question.label),
            ),
            (true, None) => {}
            (true, Some(value)) => {
                if check_value(question, value, &field, problems) {
                    stored.insert(question.key.clone(), value.clone());
                }
            }
        }
    }
    stored
}

fn contains_control_characters(value: &Value) -> bool {
    match value {
        Value::String(s) => crate::validate::has_control_characters(s),
        Value::Array(items) => items.iter().any(contains_control_characters),
        Value::Object(map) => {
            map.iter().any(|(k, v)| crate::validate::has_control_characters(k) || contains_control_characters(v))
        }
        _ => false,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// How an answer compares in a condition.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check_value(question: &question::Model, value: &Value, field: &str, problems: &mut Problems) -> bool {
    let limits: QuestionValidations = serde_json::from_value(question.validations.clone()).unwrap_or_default();
    let options: Vec<AnswerOption> = serde_json::from_value(question.options.clone()).unwrap_or_default();
    let is_option = |v: &str| options.iter().any(|o| o.value == v);
    let allowed = || options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>().join(", ");
    let before = problems.len();
    let mut fail = |code, message: String| problems.add(field, code, message);
    match question.question_type {
        QuestionType::Text | QuestionType::Email => match value.as_str() {
            None => fail(UserErrorCode::Invalid, format!("{} must be text", question.key)),
            Some(text) => {
                let length = text.chars().count() as i64;
                if limits.min_length.is_some_and(|min| length < i64::from(min)) {
                    fail(
                        UserErrorCode::Invalid,
                        format!("{} must be at least {} characters", question.key, limits.min_length.unwrap_or(0)),
                    );
                }
                let max = limits.max_length.map_or(10_000, i64::from);
                if length > max {
                    fail(UserErrorCode::TooLong, format!("{} must be at most {max} characters", question.key));
                }
                if question.question_type == QuestionType::Email && !crate::validate::is_email(text.trim()) {
                    fail(UserErrorCode::Invalid, format!("{} must be an e-mail address", question.key));
                }
            }
        },
        QuestionType::Number => match value.as_f64() {
            None => fail(UserErrorCode::Invalid, format!("{} must be a number", question.key)),
            Some(n) => {
                if limits.min.is_some_and(|min| n < min) || limits.max.is_some_and(|max| n > max) {
                    fail(
                        UserErrorCode::Invalid,
                        format!(
                            "{} must be between {} and {}",
                            question.key,
                            limits.min.map_or("-∞".into(), |v| v.to_string()),
                            limits.max.map_or("∞".into(), |v| v.to_string())
                        ),
                    );
                }
            }
        },
        QuestionType::Boolean => {
            if !value.is_boolean() {
                fail(UserErrorCode::Invalid, format!("{} must be true or false", question.key));
            }
        }
        QuestionType::Date => {
            let valid = value.as_str().is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok());
            if !valid {
                fail(UserErrorCode::Invalid, format!("{} must be a date as YYYY-MM-DD", question.key));
            }
        }
        QuestionType::Select => match value.as_str() {
            Some(choice) if is_option(choice) => {}
            _ => fail(UserErrorCode::NotAnOption, format!("{} must be one of: {}", question.key, allowed())),
        },
        QuestionType::Multiselect => {
            let valid = value.as_array().is_some_and(|items| items.iter().all(|i| i.as_str().is_some_and(is_option)));
            if !valid {
                fail(UserErrorCode::NotAnOption, format!("{} must be a list of: {}", question.key, allowed()));
            }
        }
    }
    problems.len() == before
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;
    use uuid::Uuid;

    fn question(key: &str, question_type: QuestionType, required: bool) -> question::Model {
        question::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            flow_id: None,
            product_id: None,
            key: key.into(),
            label: key.into(),
            question_type,
            required,
            validations: json!({}),
            conditions: json!([]),
            options: json!([]),
            position: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn problems_of(questions: &[question::Model], answers: Value) -> Vec<(String, UserErrorCode)> {
        let answers: Vec<(String, Value)> = answers.as_object().unwrap().clone().into_iter().collect();
        let mut problems = Problems::new();
        check(questions, &answers, &mut problems);
        problems.into_problems().into_iter().map(|e| (e.field, e.code.into())).collect()
    }

    #[test]
    fn required_options_types_and_conditions() {
        let mut payment = question("payment_method", QuestionType::Select, true);
        payment.options = json!([{"value": "direct_debit", "label": "Automatische incasso"}, {"value": "giro", "label": "Acceptgiro"}]);
        let rehousing = question("rehousing", QuestionType::Boolean, true);
        let mut move_date = question("move_date", QuestionType::Date, true);
        move_date.conditions = json!([{"questionKey": "rehousing", "equals": "true"}]);
        let mut years = question("contract_years", QuestionType::Number, false);
        years.validations = json!({"min": 1.0, "max": 5.0});
        let questions = [payment, rehousing, move_date, years];

        assert_eq!(problems_of(&questions, json!({"payment_method": "giro", "rehousing": false})), vec![]);
        assert_eq!(
            problems_of(&questions, json!({"payment_method": "cash", "rehousing": true, "contract_years": 7})),
            vec![
                ("answers.payment_method".into(), UserErrorCode::NotAnOption),
                ("answers.move_date".into(), UserErrorCode::Required),
                ("answers.contract_years".into(), UserErrorCode::Invalid),
            ]
        );
        assert_eq!(
            problems_of(&questions, json!({"rehousing": "yes", "move_date": "2026-13-01", "colour": "red"})),
            vec![
                ("answers.colour".into(), UserErrorCode::Unknown),
                ("answers.payment_method".into(), UserErrorCode::Required),
                ("answers.rehousing".into(), UserErrorCode::Invalid),
                ("answers.move_date".into(), UserErrorCode::Invalid),
            ]
        );
    }

    #[test]
    fn answers_to_questions_that_do_not_apply_are_refused() {
        let rehousing = question("rehousing", QuestionType::Boolean, true);
        let mut move_date = question("move_date", QuestionType::Date, true);
        move_date.conditions = json!([{"questionKey": "rehousing", "equals": "true"}]);
        assert_eq!(
            problems_of(&[rehousing, move_date], json!({"rehousing": false, "move_date": "2027-01-01"})),
            vec![("answers.move_date".into(), UserErrorCode::Invalid)]
        );
    }
}
