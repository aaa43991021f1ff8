//! The conditions under which a sale may go out automatically (e.g. the product's supplier in a set,
//! an answer equal to a value, the organisation in a set; all or any), evaluated when a sale is made
//! or changes status.

use crate::connectors::sale_settings::{ConditionOperator, SaleCondition, SaleSettings};
use koppel_entity::{Scoped, organisation, product, sale, supplier};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::BTreeMap;

/// What the conditions of a sale can look at: each as the texts a condition value may equal (a name
/// and an id), compared without regard to case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub supplier: Vec<String>,
    pub organisation: Vec<String>,
    /// Answers by question key; a list answer is each of its values.
    pub answers: BTreeMap<String, Vec<String>>,
}

impl Facts {
    pub async fn of(db: &impl ConnectionTrait, sale: &sale::Model) -> Result<Self, DbErr> {
        let mut facts = Facts::default();
        let product = product::Entity::find_by_id_in(sale.account_id, sale.product_id).one(db).await?;
        if let Some(supplier_id) = product.and_then(|p| p.supplier_id)
            && let Some(supplier) = supplier::Entity::find_by_id_in(sale.account_id, supplier_id).one(db).await?
        {
            facts.supplier = vec![supplier.name, supplier.id.to_string()];
        }
        if let Some(id) = sale.organisation_id
            && let Some(organisation) = organisation::Entity::find_by_id_in(sale.account_id, id).one(db).await?
        {
            facts.organisation = vec![organisation.name, organisation.id.to_string()];
        }
        if let Some(answers) = sale.answers.as_object() {
            for (key, value) in answers {
                facts.answers.insert(key.clone(), texts(value));
            }
        }
        Ok(facts)
    }

    fn values_of(&self, field: &str) -> &[String] {
        match field {
            "product.supplier" => &self.supplier,
            "organisation" => &self.organisation,
            _ => field.strip_prefix("answer.").and_then(|key| self.answers.get(key)).map_or(&[], Vec::as_slice),
        }
    }
}

/// An answer as texts: `true`, `3`, `groen`, or each value of a list.
pub fn texts(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().flat_map(texts).collect(),
        other => vec![other.to_string()],
    }
}

fn holds(condition: &SaleCondition, facts: &Facts) -> bool {
    let actual = facts.values_of(&condition.field);
    let matches = actual.iter().any(|a| condition.values.iter().any(|v| v.trim().eq_ignore_ascii_case(a.trim())));
    match condition.operator {
        ConditionOperator::In => matches,
        ConditionOperator::NotIn => !matches,
    }
}

/// Whether the integration's conditions hold for a sale: all of them or any, as configured; no
/// conditions always hold.
pub fn hold(settings: &SaleSettings, facts: &Facts) -> bool {
    if settings.conditions.is_empty() {
        return true;
    }
    let mut each = settings.conditions.iter().map(|c| holds(c, facts));
    if settings.match_all { each.all(|h| h) } else { each.any(|h| h) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(conditions: serde_json::Value, all: bool) -> SaleSettings {
        let mut s = SaleSettings::from_settings(&json!({}));
        s.conditions = serde_json::from_value(conditions).unwrap();
        s.match_all = all;
        s
    }

    fn facts() -> Facts {
        Facts {
            supplier: vec!["Groene Energie BV".into(), "0190-id".into()],
            organisation: vec!["Partner A".into()],
            answers: BTreeMap::from([
                ("rehousing".into(), texts(&json!(false))),
                ("extras".into(), texts(&json!(["solar", "heatpump"]))),
            ]),
        }
    }

    #[test]
    fn all_any_and_none() {
        let supplier = json!({"field": "product.supplier", "operator": "in", "values": ["groene energie bv"]});
        let rehousing = json!({"field": "answer.rehousing", "operator": "in", "values": ["true"]});
        assert!(hold(&settings(json!([]), true), &facts()), "no conditions always hold");
        assert!(hold(&settings(json!([supplier]), true), &facts()), "case does not matter");
        assert!(!hold(&settings(json!([supplier, rehousing]), true), &facts()), "all: rehousing is false");
        assert!(hold(&settings(json!([supplier, rehousing]), false), &facts()), "any: the supplier is enough");
    }

    #[test]
    fn not_in_lists_and_missing_answers() {
        let not_partner = json!({"field": "organisation", "operator": "not_in", "values": ["Partner A"]});
        assert!(!hold(&settings(json!([not_partner]), true), &facts()));
        let extras = json!({"field": "answer.extras", "operator": "in", "values": ["heatpump"]});
        assert!(hold(&settings(json!([extras]), true), &facts()), "one of a list's values");
        let missing = json!({"field": "answer.unknown", "operator": "in", "values": ["x"]});
        assert!(!hold(&settings(json!([missing]), true), &facts()), "an unanswered question matches nothing");
        let missing_not = json!({"field": "answer.unknown", "operator": "not_in", "values": ["x"]});
        assert!(hold(&settings(json!([missing_not]), true), &facts()));
    }
}
