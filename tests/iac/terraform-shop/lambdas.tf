/*
 * Small functions that share one definition. Each key is the function name.
 */
locals {
  small_functions = {
    "auth-token" = {
      handler = "token.handler"
      runtime = "nodejs20.x"
      memory  = 1024
    }
    "email-sender" = {
      handler = "mail.handler"
      runtime = "python3.12"
      memory  = 512 # SES client only
    }
    "webhook-ingest" = {
      handler = "bootstrap"
      runtime = "provided.al2023"
      memory  = 256
    }
    "audit-log-writer" = {
      handler = "audit.handler"
      runtime = "python3.12"
      memory  = 256
    }
  }
}

resource "aws_lambda_function" "small" {
  for_each = local.small_functions

  function_name = each.key
  role          = aws_iam_role.lambda.arn
  handler       = each.value.handler
  runtime       = each.value.runtime
  memory_size   = each.value.memory
  s3_bucket     = var.artifacts_bucket
  s3_key        = "${each.key}.zip"

  tags = {
    team = "platform"
  }
}
