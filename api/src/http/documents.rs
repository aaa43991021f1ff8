//! Parsed GraphQL documents, kept by their text. A client sends the same few documents again and again
//! (with other variables); parsing one took about 5 % of the CPU of a list request, copying a parsed one
//! a fraction of that. Parsing does not depend on the schema, so one cache serves the process.
//! Validation, limits and execution still run for every request.

use async_graphql::parser::types::ExecutableDocument;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// The most documents kept; past it, the cache starts over.
const CAPACITY: usize = 512;

/// Longer documents are parsed every time (and do not crowd out the common ones).
const LONGEST: usize = 16 * 1024;

static PARSED: LazyLock<Mutex<HashMap<String, Arc<ExecutableDocument>>>> = LazyLock::new(Default::default);

/// Gives `request` its parsed document from the cache, or parses it and keeps it. A document that does
/// not parse is left to the schema, which reports why.
pub fn prepare(request: &mut async_graphql::Request) {
    if request.query.len() > LONGEST {
        return;
    }
    let cached = PARSED.lock().expect("documents lock").get(&request.query).cloned();
    if let Some(document) = cached {
        request.set_parsed_query(ExecutableDocument::clone(&document));
        return;
    }
    let Ok(document) = request.parsed_query() else { return };
    let document = Arc::new(document.clone());
    let mut parsed = PARSED.lock().expect("documents lock");
    if parsed.len() >= CAPACITY {
        parsed.clear();
    }
    parsed.insert(request.query.clone(), document);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_a_broken_one_is_left_alone() {
        let text = "query Cached($first: Int) { products(first: $first) { nodes { name } } }";
        let mut first = async_graphql::Request::new(text);
        prepare(&mut first);
        assert!(PARSED.lock().unwrap().contains_key(text));
        let mut second = async_graphql::Request::new(text);
        prepare(&mut second);
        let document = second.parsed_query().expect("set from the cache");
        assert_eq!(document.operations.iter().next().and_then(|(name, _)| name).map(|n| n.as_str()), Some("Cached"));

        let mut broken = async_graphql::Request::new("query { products(");
        prepare(&mut broken);
        assert!(!PARSED.lock().unwrap().contains_key("query { products("));
        assert!(broken.parsed_query().is_err(), "the schema reports the parse error");
    }
}
