//! With introspection switched off, a query that asks for `__schema` or `__type` is refused with an
//! error, instead of async-graphql's silent `null`, so that clients learn why.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};
use std::sync::Arc;

pub struct RefuseIntrospection;

impl ExtensionFactory for RefuseIntrospection {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RefuseIntrospection)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RefuseIntrospection {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let asks = document.operations.iter().any(|(_, op)| asks_introspection(&op.node.selection_set.node))
            || document.fragments.values().any(|f| asks_introspection(&f.node.selection_set.node));
        if asks {
            return Err(ServerError::new("introspection is switched off on this server (KOPPEL_INTROSPECTION)", None));
        }
        Ok(document)
    }
}

fn asks_introspection(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            let name = field.node.name.node.as_str();
            name == "__schema" || name == "__type" || asks_introspection(&field.node.selection_set.node)
        }
        Selection::FragmentSpread(_) => false,
        Selection::InlineFragment(fragment) => asks_introspection(&fragment.node.selection_set.node),
    })
}
