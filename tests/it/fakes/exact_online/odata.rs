//! The part of OData's `$filter` Exact's clients send: comparisons `Field eq 'text'`,
//! `Field eq guid'…'`, `Field eq 12`, `Timestamp gt 123L`, joined with ` or ` or with ` and ` (not
//! both in one filter). A filter the fake does not understand is a 400, as at Exact.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub field: String,
    pub op: String,
    pub value: Literal,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Guid(String),
    Number(i64),
}

/// A parsed `$filter`: any of the alternatives, each all of its comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(pub Vec<Vec<Comparison>>);

impl Filter {
    pub fn parse(filter: &str) -> Result<Self, String> {
        let filter = filter.trim();
        if filter.contains(" and ") && filter.contains(" or ") {
            return Err(format!("the fake reads and or or, not both: {filter}"));
        }
        let alternatives: Vec<&str> =
            if filter.contains(" or ") { filter.split(" or ").collect() } else { vec![filter] };
        alternatives
            .into_iter()
            .map(|alternative| alternative.split(" and ").map(comparison).collect::<Result<Vec<_>, _>>())
            .collect::<Result<Vec<_>, _>>()
            .map(Filter)
    }

    pub fn matches(&self, record: &Value) -> bool {
        self.0.iter().any(|all| all.iter().all(|c| c.matches(record)))
    }
}

fn comparison(text: &str) -> Result<Comparison, String> {
    let mut parts = text.trim().splitn(3, ' ');
    let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("not a comparison: {text}"));
    };
    if !["eq", "gt", "ge", "lt", "le", "ne"].contains(&op) {
        return Err(format!("unknown operator {op}"));
    }
    let value = value.trim();
    let literal = if let Some(guid) = value.strip_prefix("guid'").and_then(|v| v.strip_suffix('\'')) {
        Literal::Guid(guid.to_lowercase())
    } else if let Some(text) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        if text.replace("''", "").contains('\'') {
            return Err(format!("an unescaped quote in {value}"));
        }
        Literal::Text(text.replace("''", "'"))
    } else {
        Literal::Number(value.trim_end_matches('L').parse().map_err(|_| format!("not a literal: {value}"))?)
    };
    Ok(Comparison { field: field.to_owned(), op: op.to_owned(), value: literal })
}

impl Comparison {
    fn matches(&self, record: &Value) -> bool {
        let field = &record[self.field.as_str()];
        let ordering = match (&self.value, field) {
            // Exact pads some codes with spaces; its comparisons do not see them.
            (Literal::Text(want), Value::String(have)) => have.trim().cmp(want.trim()),
            (Literal::Guid(want), Value::String(have)) => have.to_lowercase().cmp(want),
            (Literal::Number(want), Value::Number(have)) => have.as_i64().unwrap_or_default().cmp(want),
            _ => return self.op == "ne",
        };
        match self.op.as_str() {
            "eq" => ordering.is_eq(),
            "ne" => ordering.is_ne(),
            "gt" => ordering.is_gt(),
            "ge" => ordering.is_ge(),
            "lt" => ordering.is_lt(),
            _ => ordering.is_le(),
        }
    }
}
