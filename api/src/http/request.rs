//! Reading GraphQL requests from a POST body or a GET query string, with the parameter rules of the
//! GraphQL-over-HTTP spec: `query` is a string, `operationName` a string or null, `variables` and
//! `extensions` a map or null. Anything else is refused before execution (400 `BAD_USER_INPUT`).

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, Request, Variables};
use serde_json::{Map, Value};

/// Why a request could not be read; the message is sent to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

/// A POST body: one operation as a JSON object, or a batch as an array of them.
pub fn from_json_body(body: &[u8]) -> Result<BatchRequest, Unreadable> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Unreadable("the request body is empty: send a JSON object with a `query`".into()));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| Unreadable(format!("the request body is not valid JSON: {error}")))?;
    match value {
        Value::Object(parameters) => Ok(BatchRequest::Single(from_parameters(parameters)?)),
        Value::Array(operations) if !operations.is_empty() => operations
            .into_iter()
            .map(|operation| match operation {
                Value::Object(parameters) => from_parameters(parameters),
                _ => Err(Unreadable("every operation in a batch must be a JSON object".into())),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(BatchRequest::Batch),
        _ => Err(Unreadable("the request body must be a JSON object with a `query`, or an array of them".into())),
    }
}

/// A GET query string's parameters: `query`, and `operationName`, `variables` and `extensions`, the
/// last two as JSON text.
pub fn from_query_string(pairs: Vec<(String, String)>) -> Result<Request, Unreadable> {
    let mut parameters = Map::new();
    for (name, text) in pairs {
        if parameters.contains_key(&name) {
            return Err(Unreadable(format!("the parameter `{name}` is given twice")));
        }
        let value = match name.as_str() {
            "variables" | "extensions" => serde_json::from_str(&text)
                .map_err(|_| Unreadable(format!("`{name}` must be a JSON object, URL-encoded")))?,
            _ => Value::String(text),
        };
        parameters.insert(name, value);
    }
    from_parameters(parameters)
}

fn from_parameters(mut parameters: Map<String, Value>) -> Result<Request, Unreadable> {
    let query = match parameters.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Err(Unreadable("`query` must be a string holding a GraphQL document".into())),
        None => return Err(Unreadable("the request has no `query`".into())),
    };
    let mut request = Request::new(query);
    match parameters.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request = request.operation_name(name),
        Some(_) => return Err(Unreadable("`operationName` must be a string or null".into())),
    }
    match parameters.remove("variables") {
        None | Some(Value::Null) => {}
        Some(variables @ Value::Object(_)) => request = request.variables(Variables::from_json(variables)),
        Some(_) => return Err(Unreadable("`variables` must be a map (a JSON object) or null".into())),
    }
    match parameters.remove("extensions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(extensions)) => {
            for (name, value) in extensions {
                let value = async_graphql::Value::from_json(value)
                    .map_err(|_| Unreadable(format!("the extension `{name}` is not a GraphQL value")))?;
                request.extensions.0.insert(name, value);
            }
        }
        Some(_) => return Err(Unreadable("`extensions` must be a map (a JSON object) or null".into())),
    }
    Ok(request)
}

/// Whether the operation a request would run changes something (a mutation or a subscription), which
/// a GET must not do. A document that does not parse, or does not say which operation runs, is left
/// to execution, which reports it.
pub fn is_not_a_query(request: &Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else { return false };
    let kind = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation.node.ty),
        DocumentOperations::Multiple(operations) => {
            request.operation_name.as_deref().and_then(|name| operations.get(name)).map(|operation| operation.node.ty)
        }
    };
    kind.is_some_and(|kind| kind != OperationType::Query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Result<BatchRequest, Unreadable> {
        from_json_body(&serde_json::to_vec(&value).unwrap())
    }

    #[test]
    fn reads_operations_and_batches() {
        let Ok(BatchRequest::Single(request)) =
            body(json!({ "query": "query Q($n: Int) { __typename }", "operationName": "Q", "variables": { "n": 1 },
                         "extensions": { "some": "value" } }))
        else {
            panic!("one operation")
        };
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(request.variables.get("n"), Some(&async_graphql::Value::from(1)));
        assert_eq!(request.extensions.0.get("some"), Some(&async_graphql::Value::from("value")));
        let nulls =
            body(json!({ "query": "{ __typename }", "operationName": null, "variables": null, "extensions": null }));
        assert!(nulls.is_ok());
        let Ok(BatchRequest::Batch(batch)) = body(json!([{ "query": "{ a }" }, { "query": "{ b }" }])) else {
            panic!("a batch")
        };
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn refuses_parameters_of_the_wrong_type() {
        for (value, about) in [
            (json!({ "notquery": "{ __typename }" }), "no `query`"),
            (json!({ "query": { "obj": "ect" } }), "`query`"),
            (json!({ "query": 0 }), "`query`"),
            (json!({ "query": ["array"] }), "`query`"),
            (json!({ "query": "{ a }", "operationName": false }), "`operationName`"),
            (json!({ "query": "{ a }", "variables": "string" }), "`variables`"),
            (json!({ "query": "{ a }", "variables": ["array"] }), "`variables`"),
            (json!({ "query": "{ a }", "extensions": 0 }), "`extensions`"),
            (json!("a string"), "JSON object"),
            (json!([]), "JSON object"),
            (json!([{ "query": "{ a }" }, 1]), "batch"),
        ] {
            let Err(Unreadable(message)) = body(value.clone()) else { panic!("{value} was accepted") };
            assert!(message.contains(about), "{value}: {message}");
        }
        assert!(from_json_body(b"").unwrap_err().0.contains("empty"));
        assert!(from_json_body(b"{ \"not a JSON").unwrap_err().0.contains("not valid JSON"));
    }

    #[test]
    fn reads_get_parameters_with_json_variables() {
        let pairs = |list: &[(&str, &str)]| list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        let request = from_query_string(pairs(&[
            ("query", "query T($name: String!) { __type(name: $name) { name } }"),
            ("variables", r#"{"name":"Sale"}"#),
        ]))
        .unwrap();
        assert_eq!(request.variables.get("name"), Some(&async_graphql::Value::from("Sale")));
        assert!(from_query_string(pairs(&[("query", "{ a }"), ("variables", "[1]")])).is_err());
        assert!(from_query_string(pairs(&[("query", "{ a }"), ("variables", "{not json")])).is_err());
        assert!(from_query_string(pairs(&[("variables", "{}")])).is_err());
        assert!(from_query_string(pairs(&[("query", "{ a }"), ("query", "{ b }")])).is_err());
    }

    #[test]
    fn tells_mutations_from_queries() {
        let request = |query: &str, name: Option<&str>| {
            let request = Request::new(query);
            match name {
                Some(name) => request.operation_name(name),
                None => request,
            }
        };
        assert!(is_not_a_query(&request("mutation { login }", None)));
        assert!(is_not_a_query(&request("subscription { events }", None)));
        assert!(!is_not_a_query(&request("{ me }", None)));
        assert!(!is_not_a_query(&request("query Q { me }", None)));
        let two = "query Q { me } mutation M { login }";
        assert!(is_not_a_query(&request(two, Some("M"))));
        assert!(!is_not_a_query(&request(two, Some("Q"))));
        assert!(!is_not_a_query(&request("{", None)));
    }
}
