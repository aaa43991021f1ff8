//! Exact Online's JSON: the OData envelope (`{"d": {"results": [...], "__next": "…"}}` for lists,
//! `{"d": {...}}` for one object), its error shape, and the records Koppel reads.

use crate::connectors::ConnectorError;
use serde::Deserialize;
use serde_json::Value;

/// The rows and the next page's URL of a list answer.
pub fn list(body: Value, what: &str) -> Result<(Vec<Value>, Option<String>), ConnectorError> {
    let Value::Object(mut outer) = body else {
        return Err(ConnectorError::Protocol(format!("{what} answered no JSON object")));
    };
    let Some(Value::Object(mut d)) = outer.remove("d") else {
        return Err(ConnectorError::Protocol(format!("{what} answered no \"d\" envelope")));
    };
    let next = d.remove("__next").and_then(|n| n.as_str().map(str::to_owned)).filter(|n| !n.is_empty());
    let rows = match d.remove("results") {
        Some(Value::Array(rows)) => rows,
        _ => return Err(ConnectorError::Protocol(format!("{what} answered no \"d.results\" list"))),
    };
    Ok((rows, next))
}

/// The object of a single-object answer (`{"d": {...}}`; `{"d": {"results": [one]}}` is read too).
pub fn single(body: Value, what: &str) -> Result<Value, ConnectorError> {
    match body {
        Value::Object(mut outer) => match outer.remove("d") {
            Some(Value::Object(mut d)) => match d.remove("results") {
                Some(Value::Array(rows)) => rows
                    .into_iter()
                    .next()
                    .ok_or_else(|| ConnectorError::Protocol(format!("{what} answered no result"))),
                Some(other) => {
                    d.insert("results".into(), other);
                    Ok(Value::Object(d))
                }
                None => Ok(Value::Object(d)),
            },
            _ => Err(ConnectorError::Protocol(format!("{what} answered no \"d\" envelope"))),
        },
        _ => Err(ConnectorError::Protocol(format!("{what} answered no JSON object"))),
    }
}

/// The message of Exact's error shape `{"error": {"code": "", "message": {"lang": "", "value": "…"}}}`.
pub fn error_message(body: &Value) -> Option<String> {
    let error = &body["error"];
    error["message"]["value"]
        .as_str()
        .or(error["message"].as_str())
        .or(body["error_description"].as_str())
        .map(str::to_owned)
}

/// `current/Me`: who the token belongs to and the division in use.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Me {
    pub current_division: i64,
    pub full_name: Option<String>,
    pub user_name: Option<String>,
}

impl Me {
    /// `Jan Jansen (jan@bakkerij.nl)`.
    pub fn identity(&self) -> String {
        match (&self.full_name, &self.user_name) {
            (Some(name), Some(user)) => format!("{name} ({user})"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => "an Exact Online user".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_envelope_and_the_error_shape() {
        let (rows, next) = list(
            json!({"d": {"results": [{"__metadata": {"uri": "u", "type": "Exact.Web.Api.Models.Account"}, "ID": "a"}],
                   "__next": "https://start.exactonline.nl/api/v1/1/crm/Accounts?$skiptoken=guid'a'"}}),
            "crm/Accounts",
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert!(next.unwrap().contains("$skiptoken"));
        let me = single(json!({"d": {"results": [{"CurrentDivision": 7, "FullName": "Jan"}]}}), "Me").unwrap();
        assert_eq!(me["CurrentDivision"], 7);
        assert!(list(json!({"results": []}), "x").is_err());
        let error = json!({"error": {"code": "", "message": {"lang": "", "value": "Ongeldig"}}});
        assert_eq!(error_message(&error).as_deref(), Some("Ongeldig"));
    }
}
