//! Lambda calls: memory, provisioned concurrency, reserved concurrency; and reading
//! each back to tell whether a call's effect is already live.

use aws_sdk_lambda::Client;

use super::{AwsError, i32_of, u32_of};
use crate::plan::Call;

pub(super) async fn execute(c: &Client, call: &Call) -> Result<(), AwsError> {
    match call {
        Call::UpdateFunctionConfiguration {
            function_name,
            memory_mb,
        } => c
            .update_function_configuration()
            .function_name(function_name)
            .memory_size(i32_of(*memory_mb))
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("lambda:UpdateFunctionConfiguration", &e)),
        Call::PutProvisionedConcurrencyConfig {
            function_name,
            qualifier,
            provisioned_concurrent_executions,
        } => c
            .put_provisioned_concurrency_config()
            .function_name(function_name)
            .qualifier(qualifier)
            .provisioned_concurrent_executions(i32_of(*provisioned_concurrent_executions))
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("lambda:PutProvisionedConcurrencyConfig", &e)),
        Call::DeleteProvisionedConcurrencyConfig {
            function_name,
            qualifier,
        } => c
            .delete_provisioned_concurrency_config()
            .function_name(function_name)
            .qualifier(qualifier)
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("lambda:DeleteProvisionedConcurrencyConfig", &e)),
        Call::PutFunctionConcurrency {
            function_name,
            reserved_concurrent_executions,
        } => c
            .put_function_concurrency()
            .function_name(function_name)
            .reserved_concurrent_executions(i32_of(*reserved_concurrent_executions))
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("lambda:PutFunctionConcurrency", &e)),
        Call::DeleteFunctionConcurrency { function_name } => c
            .delete_function_concurrency()
            .function_name(function_name)
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("lambda:DeleteFunctionConcurrency", &e)),
        other => Err(AwsError {
            operation: other.iam_action(),
            message: "not a Lambda call".to_owned(),
        }),
    }
}

pub(super) async fn is_effective(c: &Client, call: &Call) -> Result<bool, AwsError> {
    Ok(match call {
        Call::UpdateFunctionConfiguration {
            function_name,
            memory_mb: want,
        } => memory_mb(c, function_name).await? == *want,
        Call::PutProvisionedConcurrencyConfig {
            function_name,
            qualifier,
            provisioned_concurrent_executions,
        } => {
            provisioned(c, function_name, qualifier).await?
                == Some(*provisioned_concurrent_executions)
        }
        Call::DeleteProvisionedConcurrencyConfig {
            function_name,
            qualifier,
        } => provisioned(c, function_name, qualifier).await?.is_none(),
        Call::PutFunctionConcurrency {
            function_name,
            reserved_concurrent_executions,
        } => reserved(c, function_name).await? == Some(*reserved_concurrent_executions),
        Call::DeleteFunctionConcurrency { function_name } => {
            reserved(c, function_name).await?.is_none()
        }
        _ => false,
    })
}

pub(super) async fn memory_mb(c: &Client, function_name: &str) -> Result<u32, AwsError> {
    let out = c
        .get_function_configuration()
        .function_name(function_name)
        .send()
        .await
        .map_err(|e| AwsError::new("lambda:GetFunctionConfiguration", &e))?;
    Ok(u32_of(out.memory_size().unwrap_or(128)))
}

/// Requested provisioned concurrency of `qualifier`, `None` without a config.
pub(super) async fn provisioned(
    c: &Client,
    function_name: &str,
    qualifier: &str,
) -> Result<Option<u32>, AwsError> {
    match c
        .get_provisioned_concurrency_config()
        .function_name(function_name)
        .qualifier(qualifier)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .requested_provisioned_concurrent_executions()
            .map(u32_of)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_provisioned_concurrency_config_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::new("lambda:GetProvisionedConcurrencyConfig", &e)),
    }
}

/// Reserved concurrency, `None` without a reservation.
pub(super) async fn reserved(c: &Client, function_name: &str) -> Result<Option<u32>, AwsError> {
    let out = c
        .get_function_concurrency()
        .function_name(function_name)
        .send()
        .await
        .map_err(|e| AwsError::new("lambda:GetFunctionConcurrency", &e))?;
    Ok(out.reserved_concurrent_executions().map(u32_of))
}
