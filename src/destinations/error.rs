//! What is wrong with a destination config: a reason and the path of the field it is
//! about (`webhookURL`, `headers[X-Token].value`), scoped to the config as the API
//! names it (`outputConfig.slack.webhookURL`) when reported to the user.

/// A config error with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// Dotted path of the field (`outputConfig.slack.webhookURL`); empty when the error
    /// is about the config as a whole.
    pub path: String,
    /// What is wrong, without the path.
    pub reason: String,
}

impl ConfigError {
    /// An error about the field at `path`.
    pub fn at(path: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// An error about the config as a whole.
    pub fn whole(reason: impl Into<String>) -> Self {
        ConfigError::at("", reason)
    }

    /// The same error with `prefix` in front of its path (`outputConfig.slack`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = match self.path.is_empty() {
            true => prefix.to_string(),
            false => format!("{prefix}.{}", self.path),
        };
        self
    }

    fn render(&self) -> String {
        match self.path.is_empty() {
            true => self.reason.clone(),
            false => format!("{}: {}", self.path, self.reason),
        }
    }
}

impl From<ConfigError> for String {
    fn from(e: ConfigError) -> String {
        e.to_string()
    }
}

/// A config result.
pub type ConfigResult<T> = Result<T, ConfigError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest_and_render_before_the_reason() {
        let e = ConfigError::at("webhookURL", "must be an http or https URL")
            .under("outputConfig.slack");
        assert_eq!(e.path, "outputConfig.slack.webhookURL");
        assert_eq!(
            e.to_string(),
            "outputConfig.slack.webhookURL: must be an http or https URL"
        );
        let whole = ConfigError::whole("invalid configuration: missing field `x`");
        assert_eq!(
            whole.to_string(),
            "invalid configuration: missing field `x`"
        );
        assert_eq!(
            whole.under("outputConfig.sns").to_string(),
            "outputConfig.sns: invalid configuration: missing field `x`"
        );
    }
}
