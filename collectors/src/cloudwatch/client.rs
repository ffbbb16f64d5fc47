//! AWS clients (Lambda, CloudWatch, ECS, ELB) for each account and region: credentials through the standard chain
//! (or a named profile), assume-role for other accounts, the endpoint override, and
//! the retry and timeout policy (`adaptd_aws::sdk_loader`, shared with the actuator).

use adaptd_aws::{Access, sdk_loader};
use aws_config::{ConfigLoader, SdkConfig};

use super::config::{AccountTarget, Settings};

/// The region name shown when the chain found none.
pub(crate) const NO_REGION: &str = "(no region)";

/// Clients of one account and region.
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub region: String,
}

/// The base configuration of the credentials' own account: the standard chain, or
/// `profile`, with the endpoint, retry and timeout settings.
fn loader(settings: &Settings, region: Option<&str>) -> ConfigLoader {
    sdk_loader(&Access {
        endpoint_url: settings.endpoint_url.as_deref(),
        profile: settings.profile.as_deref(),
        region,
        credentials: settings.credentials.as_ref(),
        max_attempts: settings.max_attempts,
        timeout: settings.timeout,
    })
}

/// The configuration of `account` in `region`: the base one, or credentials of its
/// role (refreshed by the SDK before they expire).
pub(crate) async fn account_config(
    settings: &Settings,
    account: &AccountTarget,
    region: Option<&str>,
) -> SdkConfig {
    let base = loader(settings, region).load().await;
    let Some(role) = &account.role_arn else {
        return base;
    };
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("adaptd-collector")
        .configure(&base);
    if let Some(id) = &account.external_id {
        provider = provider.external_id(id);
    }
    if let Some(r) = base.region() {
        provider = provider.region(r.clone());
    }
    let provider = provider.build().await;
    loader(settings, region)
        .credentials_provider(provider)
        .load()
        .await
}

impl Clients {
    /// Clients of an account in a region (`None`: the chain's region).
    pub(crate) async fn new(
        settings: &Settings,
        account: &AccountTarget,
        region: Option<&str>,
    ) -> Clients {
        let config = account_config(settings, account, region).await;
        let region = config
            .region()
            .map_or_else(|| NO_REGION.to_owned(), |r| r.to_string());
        Clients {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            ecs: aws_sdk_ecs::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            region,
        }
    }
}
