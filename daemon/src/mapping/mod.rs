//! Mapping remote records to local ones: a field mapping takes a remote field's value through its
//! transforms, then through its value mappings (remote `green` → local "Groene stroom").

pub mod records;
pub mod statuses;
pub mod stored;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One step applied to a remote value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "argument")]
pub enum Transform {
    Trim,
    Uppercase,
    Lowercase,
    /// Use this value when the remote one is empty.
    Default(String),
    /// Reformat a date (`YYYY-MM-DD` or RFC 3339) with a chrono format such as `%d-%m-%Y`.
    DateFormat(String),
    /// Round a number to this many decimals.
    NumberScale(u32),
}

impl Transform {
    /// Checks the argument; `None` when the transform is usable.
    pub fn problem(&self) -> Option<String> {
        match self {
            Self::DateFormat(format) => {
                use std::fmt::Write;
                let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 31).expect("a valid date");
                let mut out = String::new();
                (format.is_empty() || write!(out, "{}", date.format(format)).is_err())
                    .then(|| format!("{format:?} is not a date format such as %d-%m-%Y"))
            }
            Self::NumberScale(scale) if *scale > 10 => Some("a number scale is at most 10 decimals".into()),
            _ => None,
        }
    }

    /// Applies the transform; `Err` names why the value cannot be transformed.
    pub fn apply(&self, value: &str) -> Result<String, String> {
        Ok(match self {
            Self::Trim => value.trim().to_owned(),
            Self::Uppercase => value.to_uppercase(),
            Self::Lowercase => value.to_lowercase(),
            Self::Default(default) if value.trim().is_empty() => default.clone(),
            Self::Default(_) => value.to_owned(),
            Self::DateFormat(format) => {
                let trimmed = value.trim();
                let date = chrono::NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
                    .or_else(|_| chrono::DateTime::parse_from_rfc3339(trimmed).map(|d| d.date_naive()))
                    .map_err(|_| format!("{value:?} is not a date"))?;
                date.format(format).to_string()
            }
            Self::NumberScale(scale) => {
                let number: f64 = value.trim().parse().map_err(|_| format!("{value:?} is not a number"))?;
                format!("{number:.prec$}", prec = *scale as usize)
            }
        })
    }
}

/// A remote value mapped to a local one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueMapping {
    pub remote: String,
    pub local: String,
}

/// Where a mapped value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    ExtraField,
    Question,
    Attribute,
}

/// One field mapping, as the mapping engine needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    pub remote_field: String,
    pub target_kind: TargetKind,
    pub target: String,
    pub transforms: Vec<Transform>,
    pub values: Vec<ValueMapping>,
    /// Written when the record is created, never overwritten on update.
    pub create_only: bool,
}

impl FieldMapping {
    /// The local value for a remote value: transforms first, then the value mapping (an unmapped
    /// value passes through unchanged).
    pub fn map(&self, remote: &str) -> Result<String, String> {
        let mut value = remote.to_owned();
        for transform in &self.transforms {
            value = transform.apply(&value)?;
        }
        Ok(self.values.iter().find(|m| m.remote == value).map_or(value, |m| m.local.clone()))
    }
}

/// A mapped value: where it goes and what it is.
pub type Mapped = (TargetKind, String, String);
/// A field that could not be mapped: the remote field and why.
pub type MappingProblem = (String, String);

/// Maps the remote fields of one record; returns `(target kind, target, value)` per mapped field and
/// the problems as `(remote field, message)`. Remote fields without a mapping are not copied.
pub fn map_fields(mappings: &[FieldMapping], remote: &BTreeMap<String, String>) -> (Vec<Mapped>, Vec<MappingProblem>) {
    let mut mapped = Vec::new();
    let mut problems = Vec::new();
    for mapping in mappings {
        let value = remote.get(&mapping.remote_field).map(String::as_str).unwrap_or("");
        match mapping.map(value) {
            Ok(local) if local.is_empty() => {}
            Ok(local) => mapped.push((mapping.target_kind, mapping.target.clone(), local)),
            Err(problem) => problems.push((mapping.remote_field.clone(), problem)),
        }
    }
    (mapped, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(transforms: Vec<Transform>, values: &[(&str, &str)]) -> FieldMapping {
        FieldMapping {
            create_only: false,
            remote_field: "origin".into(),
            target_kind: TargetKind::ExtraField,
            target: "origin".into(),
            transforms,
            values: values.iter().map(|(r, l)| ValueMapping { remote: (*r).into(), local: (*l).into() }).collect(),
        }
    }

    #[test]
    fn transforms_then_value_mappings() {
        let origin = mapping(
            vec![Transform::Trim, Transform::Lowercase],
            &[("green", "Groene stroom"), ("grey", "Grijze stroom")],
        );
        assert_eq!(origin.map("  GREEN ").unwrap(), "Groene stroom");
        assert_eq!(origin.map("grey").unwrap(), "Grijze stroom");
        assert_eq!(origin.map("blue").unwrap(), "blue", "unmapped values pass through");
    }

    #[test]
    fn each_transform() {
        assert_eq!(Transform::Default("1".into()).apply(" ").unwrap(), "1");
        assert_eq!(Transform::Default("1".into()).apply("3").unwrap(), "3");
        assert_eq!(Transform::Uppercase.apply("nl").unwrap(), "NL");
        assert_eq!(Transform::DateFormat("%d-%m-%Y".into()).apply("2027-01-15").unwrap(), "15-01-2027");
        assert_eq!(Transform::DateFormat("%d-%m-%Y".into()).apply("2027-01-15T10:00:00Z").unwrap(), "15-01-2027");
        assert!(Transform::DateFormat("%d-%m-%Y".into()).apply("soon").is_err());
        assert_eq!(Transform::NumberScale(2).apply("0.23451").unwrap(), "0.23");
        assert!(Transform::NumberScale(2).apply("abc").is_err());
        assert!(Transform::DateFormat("%Q".into()).problem().is_some());
        assert!(Transform::DateFormat("%Y".into()).problem().is_none());
    }

    #[test]
    fn maps_a_record_and_names_fields_that_fail() {
        let mut years = mapping(vec![Transform::NumberScale(0)], &[]);
        years.remote_field = "years".into();
        years.target = "contract_years".into();
        let origin = mapping(vec![Transform::Lowercase], &[("green", "Groene stroom")]);
        let remote =
            BTreeMap::from([("origin".to_string(), "GREEN".to_string()), ("years".to_string(), "three".to_string())]);
        let (mapped, problems) = map_fields(&[origin, years], &remote);
        assert_eq!(mapped, vec![(TargetKind::ExtraField, "origin".to_string(), "Groene stroom".to_string())]);
        assert_eq!(problems, vec![("years".to_string(), "\"three\" is not a number".to_string())]);
    }
}
