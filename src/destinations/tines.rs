//! `tines`: the Panther payload JSON to a Tines webhook action (its secret is part of the URL).
super::json_webhook::json_webhook!(
    /// A Tines webhook.
    Tines, TinesConfig, "TinesConfigInput", "tines"
);
