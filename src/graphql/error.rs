//! Service errors to GraphQL errors with `extensions.code`, in one place.
use crate::error::AppError;
use async_graphql::ErrorExtensions;

pub fn to_gql(e: AppError) -> async_graphql::Error {
    if let AppError::Internal(inner) = &e {
        tracing::error!(error = ?inner, "internal error");
    }
    let code = e.code();
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", code))
}

/// `.gql()?` in resolvers.
pub trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<AppError>> GqlResultExt<T> for Result<T, E> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| to_gql(e.into()))
    }
}

/// Clearer wording for what async-graphql itself reports about bad input values (it has
/// no code and speaks of its own types): one message per problem, naming what to send.
pub fn reword(message: &str) -> Option<String> {
    const ONE_OF: &str = "Oneof input objects requires have exactly one field";
    if message.contains(ONE_OF) {
        let place = argument_of(message).unwrap_or("the input");
        let hint = if place.ends_with("outputConfig") {
            " (the destination type being configured, e.g. {customWebhook: {webhookURL: \"https://…\"}})"
        } else {
            ""
        };
        return Some(format!("{place} must have exactly one field{hint}"));
    }
    let unknown = message
        .split_once("unknown field \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(field, _)| field);
    if let (Some(field), true) = (unknown, message.contains("\"DestinationConfigInput\"")) {
        let types = destination_type_fields();
        let closest = types
            .iter()
            .map(|t| {
                (
                    strsim::jaro_winkler(&t.to_lowercase(), &field.to_lowercase()),
                    t,
                )
            })
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, t)| format!(" Did you mean \"{t}\"?"))
            .unwrap_or_default();
        let place = argument_of(message).unwrap_or("outputConfig");
        return Some(format!(
            "{place}: \"{field}\" is not a destination type.{closest} Destination types: {}.",
            types.join(", ")
        ));
    }
    None
}

/// `input.outputConfig` from `Invalid value for argument "input.outputConfig", …`.
fn argument_of(message: &str) -> Option<&str> {
    message
        .split_once("argument \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(arg, _)| arg)
}

/// The field names of `DestinationConfigInput` (one per destination type), read once
/// from the schema itself so they cannot drift from it.
fn destination_type_fields() -> &'static [String] {
    static FIELDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        let sdl = super::sdl();
        let Some((_, body)) = sdl.split_once("input DestinationConfigInput @oneOf {") else {
            return Vec::new();
        };
        body.split('}')
            .next()
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().split_once(':').map(|(name, _)| name.to_string()))
            .filter(|n| !n.is_empty() && !n.starts_with('"'))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::reword;

    #[test]
    fn one_of_errors_say_what_to_send() {
        let m = reword("Invalid value for argument \"input.outputConfig\", Oneof input objects requires have exactly one field").unwrap();
        assert!(
            m.starts_with("input.outputConfig must have exactly one field (the destination type"),
            "{m}"
        );
    }

    #[test]
    fn unknown_destination_types_get_a_suggestion() {
        let m = reword("Invalid value for argument \"input.outputConfig\", unknown field \"slak\" of type \"DestinationConfigInput\"").unwrap();
        assert!(
            m.contains("\"slak\" is not a destination type. Did you mean \"slack\"?"),
            "{m}"
        );
        assert!(m.contains("customWebhook, discord"), "{m}");
        assert_eq!(reword("something else"), None);
    }
}
