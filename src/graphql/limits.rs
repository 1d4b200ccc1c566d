//! Query cost limits, each refusal a typed error before anything is resolved:
//! depth and complexity (async-graphql's own checks; list fields multiply their
//! children by their page size, see [`page_size`]), and the number of aliased fields and
//! of root fields per operation, counted here over the parsed document with fragments
//! expanded (so a fragment spread 30 times counts 30 times).
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, ServerError, ServerResult, ValidationResult, Variables};
use std::collections::HashMap;
use std::sync::Arc;

/// The limits of one schema (from `HERALD_GRAPHQL_*`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
}

impl Limits {
    pub fn from_args(a: &crate::config::ServeArgs) -> Self {
        Limits {
            max_depth: a.graphql_max_depth,
            max_complexity: a.graphql_max_complexity,
            max_aliases: a.graphql_max_aliases,
            max_root_fields: a.graphql_max_root_fields,
        }
    }
}

/// The error code of every cost refusal but depth.
pub const TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
/// The error code of a query nested deeper than `HERALD_GRAPHQL_MAX_DEPTH`.
pub const TOO_DEEP: &str = "QUERY_TOO_DEEP";

/// Complexity of a list field whose length is its page size: the children count once
/// per element. The size is clamped to what the field accepts, so an out-of-range value
/// is refused by the resolver, not here.
pub fn page_size(size: Option<i32>, default: i32, max: i32, child_complexity: usize) -> usize {
    list_of(
        size.unwrap_or(default).clamp(1, max) as usize,
        child_complexity,
    )
}

/// Complexity of a list of `n` elements (at least one is counted): the children once
/// per element, plus the field itself.
pub fn list_of(n: usize, child_complexity: usize) -> usize {
    n.max(1)
        .saturating_mul(child_complexity.max(1))
        .saturating_add(1)
}

/// Complexity of a list without paging (destinations, overrides, tokens, an alert's
/// deliveries): counted as this many elements.
pub const UNPAGED_LIST: usize = 10;

pub fn unpaged(child_complexity: usize) -> usize {
    list_of(UNPAGED_LIST, child_complexity)
}

fn refusal(code: &str, message: String) -> ServerError {
    let mut e = ServerError::new(message, None);
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    e
}

/// Counts over a document, fragment spreads expanded (each fragment's counts are
/// computed once; a cyclic spread counts nothing here and is refused by validation).
struct Counter<'a> {
    doc: &'a ExecutableDocument,
    memo: HashMap<Name, (usize, usize)>,
    visiting: Vec<Name>,
}

impl Counter<'_> {
    /// (fields directly in this set with fragments expanded, aliased fields anywhere below)
    fn count(&mut self, set: &SelectionSet) -> (usize, usize) {
        let (mut fields, mut aliases) = (0usize, 0usize);
        for item in &set.items {
            let (f, a) = match &item.node {
                Selection::Field(field) => {
                    let (_, below) = self.count(&field.node.selection_set.node);
                    (1, below.saturating_add(field.node.alias.is_some() as usize))
                }
                Selection::InlineFragment(frag) => self.count(&frag.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            fields = fields.saturating_add(f);
            aliases = aliases.saturating_add(a);
        }
        (fields, aliases)
    }

    fn fragment(&mut self, name: &Name) -> (usize, usize) {
        if let Some(c) = self.memo.get(name) {
            return *c;
        }
        if self.visiting.contains(name) {
            return (0, 0);
        }
        let Some(def) = self.doc.fragments.get(name) else {
            return (0, 0);
        };
        self.visiting.push(name.clone());
        let c = self.count(&def.node.selection_set.node);
        self.visiting.pop();
        self.memo.insert(name.clone(), c);
        c
    }
}

/// Refuse an operation with too many root fields or aliased fields.
pub fn check_document(doc: &ExecutableDocument, limits: &Limits) -> Result<(), ServerError> {
    let mut counter = Counter {
        doc,
        memo: HashMap::new(),
        visiting: Vec::new(),
    };
    for (_, op) in doc.operations.iter() {
        let (roots, aliases) = counter.count(&op.node.selection_set.node);
        if roots > limits.max_root_fields {
            return Err(refusal(
                TOO_COMPLEX,
                format!(
                    "the operation selects {roots} root fields; at most {} are accepted (HERALD_GRAPHQL_MAX_ROOT_FIELDS)",
                    limits.max_root_fields
                ),
            ));
        }
        if aliases > limits.max_aliases {
            return Err(refusal(
                TOO_COMPLEX,
                format!(
                    "the operation uses {aliases} aliased fields; at most {} are accepted (HERALD_GRAPHQL_MAX_ALIASES)",
                    limits.max_aliases
                ),
            ));
        }
    }
    Ok(())
}

pub struct QueryLimits(pub Limits);

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimits(self.0))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for QueryLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        check_document(&doc, &self.0)?;
        Ok(doc)
    }

    /// async-graphql's depth and complexity refusals, typed and naming the limit.
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| match e.message.as_str() {
                    "Query is too complex." => refusal(
                        TOO_COMPLEX,
                        format!(
                            "the query is too complex (more than {}; list fields count once per element of their page, so ask for fewer fields or a smaller pageSize; HERALD_GRAPHQL_MAX_COMPLEXITY)",
                            self.0.max_complexity
                        ),
                    ),
                    "Query is nested too deep." => refusal(
                        TOO_DEEP,
                        format!(
                            "the query is nested deeper than {} levels (HERALD_GRAPHQL_MAX_DEPTH)",
                            self.0.max_depth
                        ),
                    ),
                    _ => e,
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_depth: 16,
        max_complexity: 1000,
        max_aliases: 3,
        max_root_fields: 2,
    };

    fn check(q: &str) -> Result<(), String> {
        check_document(&async_graphql::parser::parse_query(q).unwrap(), &LIMITS)
            .map_err(|e| e.message)
    }

    #[test]
    fn counts_root_fields_through_fragments() {
        assert!(check("{ a b }").is_ok());
        assert!(check("{ a b c }").unwrap_err().contains("3 root fields"));
        assert!(check("{ a ...F } fragment F on Query { b c }")
            .unwrap_err()
            .contains("3 root fields"));
        assert!(check("{ a ... on Query { b c } }").is_err());
        assert!(check("{ a { b c d e } }").is_ok());
    }

    #[test]
    fn counts_aliases_everywhere_and_per_spread() {
        assert!(check("{ x: a { y: b z: c } }").is_ok());
        assert!(check("{ x: a { y: b z: c w: d } }")
            .unwrap_err()
            .contains("4 aliased"));
        // A fragment with two aliases spread twice counts four.
        assert!(check("{ a { ...F ...F } } fragment F on T { p: b q: c }").is_err());
        // Nested fragments multiply without blowing up.
        assert!(check(
            "{ a { ...A } } fragment A on T { ...B ...B } fragment B on T { ...C ...C } fragment C on T { x: f }"
        )
        .unwrap_err()
        .contains("4 aliased"));
        // A cycle is left to validation, without looping here.
        assert!(check("{ a { ...A } } fragment A on T { ...A }").is_ok());
    }
}
