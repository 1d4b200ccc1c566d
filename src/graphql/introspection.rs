//! With `HERALD_DISABLE_INTROSPECTION=true`, introspection queries are refused with a
//! typed error (async-graphql's own switch answers them with `null` silently).
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};
use std::sync::Arc;

pub struct DenyIntrospection;

impl ExtensionFactory for DenyIntrospection {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DenyIntrospection)
    }
}

fn introspects(set: &SelectionSet) -> bool {
    set.items.iter().any(|s| match &s.node {
        Selection::Field(f) => {
            matches!(f.node.name.node.as_str(), "__schema" | "__type")
                || introspects(&f.node.selection_set.node)
        }
        Selection::InlineFragment(f) => introspects(&f.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

/// Whether a document asks for `__schema` or `__type` anywhere (fragments included).
pub fn uses_introspection(doc: &ExecutableDocument) -> bool {
    doc.operations
        .iter()
        .any(|(_, op)| introspects(&op.node.selection_set.node))
        || doc
            .fragments
            .values()
            .any(|f| introspects(&f.node.selection_set.node))
}

#[async_graphql::async_trait::async_trait]
impl Extension for DenyIntrospection {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if uses_introspection(&doc) {
            let mut e = ServerError::new(
                "introspection is disabled on this server (HERALD_DISABLE_INTROSPECTION)",
                None,
            );
            e.extensions
                .get_or_insert_with(Default::default)
                .set("code", "FORBIDDEN");
            return Err(e);
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str) -> bool {
        uses_introspection(&async_graphql::parser::parse_query(q).unwrap())
    }

    #[test]
    fn finds_introspection_wherever_it_hides() {
        assert!(check("{ __schema { types { name } } }"));
        assert!(check("query Q { __type(name: \"Alert\") { name } }"));
        assert!(check(
            "{ ...F } fragment F on Query { __schema { queryType { name } } }"
        ));
        assert!(check(
            "{ ... on Query { __schema { queryType { name } } } }"
        ));
        assert!(!check("{ destinations { __typename outputId } }"));
    }
}
