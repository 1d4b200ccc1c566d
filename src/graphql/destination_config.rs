//! The GraphQL face of destination configs: one one-of input field and one output
//! field per destination type. Adding a type: a variant here, a field in
//! `DestinationConfig`, and its arm in `from_stored`.
use crate::destinations::asana::AsanaConfig;
use crate::destinations::blink_ops::BlinkOpsConfig;
use crate::destinations::custom_webhook::CustomWebhookConfig;
use crate::destinations::discord::DiscordConfig;
use crate::destinations::email::EmailConfig;
use crate::destinations::github::GithubConfig;
use crate::destinations::google_pub_sub::GooglePubSubConfig;
use crate::destinations::incident_io::IncidentIoConfig;
use crate::destinations::jira::JiraConfig;
use crate::destinations::jira_data_center::JiraDataCenterConfig;
use crate::destinations::mindflow::MindflowConfig;
use crate::destinations::ms_teams::MsTeamsConfig;
use crate::destinations::opsgenie::OpsgenieConfig;
use crate::destinations::pager_duty::PagerDutyConfig;
use crate::destinations::polling::PollingConfig;
use crate::destinations::rapid7::Rapid7Config;
use crate::destinations::service_now::ServiceNowConfig;
use crate::destinations::slack::SlackConfig;
use crate::destinations::slack_bot::SlackBotConfig;
use crate::destinations::sns::SnsConfig;
use crate::destinations::splunk::SplunkConfig;
use crate::destinations::sqs::SqsConfig;
use crate::destinations::tines::TinesConfig;
use crate::destinations::torq::TorqConfig;
use async_graphql::{OneofObject, SimpleObject};
use serde_json::Value;

/// Exactly one field: the destination type and its configuration.
#[derive(OneofObject)]
pub enum DestinationConfigInput {
    CustomWebhook(CustomWebhookConfig),
    Polling(PollingConfig),
    Slack(SlackConfig),
    SlackBot(SlackBotConfig),
    MsTeams(MsTeamsConfig),
    Discord(DiscordConfig),
    PagerDuty(PagerDutyConfig),
    Opsgenie(OpsgenieConfig),
    Jira(JiraConfig),
    JiraDataCenter(JiraDataCenterConfig),
    Github(GithubConfig),
    Asana(AsanaConfig),
    Sns(SnsConfig),
    Sqs(SqsConfig),
    GooglePubSub(GooglePubSubConfig),
    Splunk(SplunkConfig),
    IncidentIo(IncidentIoConfig),
    Tines(TinesConfig),
    Torq(TorqConfig),
    BlinkOps(BlinkOpsConfig),
    Mindflow(MindflowConfig),
    ServiceNow(ServiceNowConfig),
    Rapid7(Rapid7Config),
    Email(EmailConfig),
}

impl DestinationConfigInput {
    /// The `outputType` (lower-cased field name) and the config as stored.
    pub fn into_parts(self) -> (String, Value) {
        fn json<T: serde::Serialize>(t: T) -> Value {
            serde_json::to_value(t).unwrap_or_default()
        }
        match self {
            DestinationConfigInput::CustomWebhook(c) => ("customwebhook".into(), json(c)),
            DestinationConfigInput::Polling(c) => ("polling".into(), json(c)),
            DestinationConfigInput::Slack(c) => ("slack".into(), json(c)),
            DestinationConfigInput::SlackBot(c) => ("slackbot".into(), json(c)),
            DestinationConfigInput::MsTeams(c) => ("msteams".into(), json(c)),
            DestinationConfigInput::Discord(c) => ("discord".into(), json(c)),
            DestinationConfigInput::PagerDuty(c) => ("pagerduty".into(), json(c)),
            DestinationConfigInput::Opsgenie(c) => ("opsgenie".into(), json(c)),
            DestinationConfigInput::Jira(c) => ("jira".into(), json(c)),
            DestinationConfigInput::JiraDataCenter(c) => ("jiradatacenter".into(), json(c)),
            DestinationConfigInput::Github(c) => ("github".into(), json(c)),
            DestinationConfigInput::Asana(c) => ("asana".into(), json(c)),
            DestinationConfigInput::Sns(c) => ("sns".into(), json(c)),
            DestinationConfigInput::Sqs(c) => ("sqs".into(), json(c)),
            DestinationConfigInput::GooglePubSub(c) => ("googlepubsub".into(), json(c)),
            DestinationConfigInput::Splunk(c) => ("splunk".into(), json(c)),
            DestinationConfigInput::IncidentIo(c) => ("incidentio".into(), json(c)),
            DestinationConfigInput::Tines(c) => ("tines".into(), json(c)),
            DestinationConfigInput::Torq(c) => ("torq".into(), json(c)),
            DestinationConfigInput::BlinkOps(c) => ("blinkops".into(), json(c)),
            DestinationConfigInput::Mindflow(c) => ("mindflow".into(), json(c)),
            DestinationConfigInput::ServiceNow(c) => ("servicenow".into(), json(c)),
            DestinationConfigInput::Rapid7(c) => ("rapid7".into(), json(c)),
            DestinationConfigInput::Email(c) => ("email".into(), json(c)),
        }
    }
}

/// The configuration of a destination, secrets redacted; one field is set.
#[derive(SimpleObject, Default)]
pub struct DestinationConfig {
    custom_webhook: Option<CustomWebhookConfig>,
    polling: Option<PollingConfig>,
    slack: Option<SlackConfig>,
    slack_bot: Option<SlackBotConfig>,
    ms_teams: Option<MsTeamsConfig>,
    discord: Option<DiscordConfig>,
    pager_duty: Option<PagerDutyConfig>,
    opsgenie: Option<OpsgenieConfig>,
    jira: Option<JiraConfig>,
    jira_data_center: Option<JiraDataCenterConfig>,
    github: Option<GithubConfig>,
    asana: Option<AsanaConfig>,
    sns: Option<SnsConfig>,
    sqs: Option<SqsConfig>,
    google_pub_sub: Option<GooglePubSubConfig>,
    splunk: Option<SplunkConfig>,
    incident_io: Option<IncidentIoConfig>,
    tines: Option<TinesConfig>,
    torq: Option<TorqConfig>,
    blink_ops: Option<BlinkOpsConfig>,
    mindflow: Option<MindflowConfig>,
    service_now: Option<ServiceNowConfig>,
    rapid7: Option<Rapid7Config>,
    email: Option<EmailConfig>,
}

impl DestinationConfig {
    pub fn from_stored(output_type: &str, config: &Value) -> Self {
        fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
            serde_json::from_value(v.clone()).ok()
        }
        let mut out = DestinationConfig::default();
        if output_type == "customwebhook" {
            out.custom_webhook = parse(config)
        }
        if output_type == "polling" {
            out.polling = parse(config)
        }
        if output_type == "slack" {
            out.slack = parse(config)
        }
        if output_type == "slackbot" {
            out.slack_bot = parse(config)
        }
        if output_type == "msteams" {
            out.ms_teams = parse(config)
        }
        if output_type == "discord" {
            out.discord = parse(config)
        }
        if output_type == "pagerduty" {
            out.pager_duty = parse(config)
        }
        if output_type == "opsgenie" {
            out.opsgenie = parse(config)
        }
        if output_type == "jira" {
            out.jira = parse(config)
        }
        if output_type == "jiradatacenter" {
            out.jira_data_center = parse(config)
        }
        if output_type == "github" {
            out.github = parse(config)
        }
        if output_type == "asana" {
            out.asana = parse(config)
        }
        if output_type == "sns" {
            out.sns = parse(config)
        }
        if output_type == "sqs" {
            out.sqs = parse(config)
        }
        if output_type == "googlepubsub" {
            out.google_pub_sub = parse(config)
        }
        if output_type == "splunk" {
            out.splunk = parse(config)
        }
        if output_type == "incidentio" {
            out.incident_io = parse(config)
        }
        if output_type == "tines" {
            out.tines = parse(config)
        }
        if output_type == "torq" {
            out.torq = parse(config)
        }
        if output_type == "blinkops" {
            out.blink_ops = parse(config)
        }
        if output_type == "mindflow" {
            out.mindflow = parse(config)
        }
        if output_type == "servicenow" {
            out.service_now = parse(config)
        }
        if output_type == "rapid7" {
            out.rapid7 = parse(config)
        }
        if output_type == "email" {
            out.email = parse(config)
        }
        out
    }
}
