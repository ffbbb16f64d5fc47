# The shop's HTTP APIs and workers.

module "checkout_api" {
  source = "./modules/lambda_service"

  function_name = "checkout-api"
  handler       = "index.handler"
  runtime       = "nodejs20.x"
  memory_size   = var.checkout_memory
  s3_bucket     = var.artifacts_bucket
  environment   = local.common_env
  team          = "payments"
}

module "orders_api" {
  source = "./modules/lambda_service"

  function_name = "orders-api"
  handler       = "app.handler"
  runtime       = "python3.12"
  s3_bucket     = var.artifacts_bucket
  environment   = merge(local.common_env, { DB_HOST = aws_db_instance.orders.address })
  team          = "orders"
}

module "etl" {
  source = "./modules/etl"

  name      = "nightly-etl"
  s3_bucket = var.artifacts_bucket
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"

  name = "shop"
  cidr = "10.20.0.0/16"
}

resource "aws_iam_role" "lambda" {
  name = "shop-lambda"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_lambda_function" "image_resize" {
  function_name = "image-resize"
  role          = aws_iam_role.lambda.arn
  handler       = "resize.handler"
  runtime       = "python3.12"
  s3_bucket     = var.artifacts_bucket
  s3_key        = "image-resize.zip"
  memory_size   = var.image_resize_memory
  timeout       = 30
  publish       = true

  environment {
    variables = local.common_env
  }
}

resource "aws_lambda_alias" "image_resize" {
  name             = "live"
  function_name    = aws_lambda_function.image_resize.function_name
  function_version = aws_lambda_function.image_resize.version
}

resource "aws_lambda_function" "pdf_export" {
  function_name = "pdf-export"
  role          = aws_iam_role.lambda.arn
  handler       = "pdf.handler"
  runtime       = "nodejs20.x"
  s3_bucket     = var.artifacts_bucket
  s3_key        = "pdf-export.zip"
  memory_size   = 1024 // Chromium needs at least 1 GB (measured 2025-10)
  timeout       = 60
  publish       = true
  description   = <<-EOT
    Renders invoices and statements as PDF.
    Owned by the finance team.
  EOT
}

resource "aws_lambda_alias" "pdf_export_live" {
  name             = "live"
  function_name    = aws_lambda_function.pdf_export.arn
  function_version = aws_lambda_function.pdf_export.version
}

resource "aws_lambda_function" "report_generator" {
  function_name = "report-generator"
  role          = aws_iam_role.lambda.arn
  handler       = "com.shop.Reports::handle"
  runtime       = "java17"
  s3_bucket     = var.artifacts_bucket
  s3_key        = "report-generator.jar"
  memory_size   = local.report_memory
  timeout       = 120
  publish       = true
}

resource "aws_lambda_alias" "report_generator" {
  name             = "live"
  function_name    = aws_lambda_function.report_generator.function_name
  function_version = aws_lambda_function.report_generator.version
}

# Month-end rush: keep 20 environments warm.
resource "aws_lambda_provisioned_concurrency_config" "report_generator" {
  function_name                     = aws_lambda_alias.report_generator.function_name
  qualifier                         = aws_lambda_alias.report_generator.name
  provisioned_concurrent_executions = var.report_pc
}

resource "aws_lambda_function" "search" {
  function_name = "${local.name_prefix}search"
  role          = aws_iam_role.lambda.arn
  handler       = "search.handler"
  runtime       = "nodejs20.x"
  s3_bucket     = var.artifacts_bucket
  s3_key        = "search-api.zip"
  memory_size   = 2048
  timeout       = 10

  tags = {
    Component = "search-api"
    team      = "catalog"
  }
}

resource "aws_lambda_function" "thumbnail_worker" {
  function_name = "thumbnail-worker"
  role          = aws_iam_role.lambda.arn
  handler       = "thumb.handler"
  runtime       = "nodejs20.x"
  s3_bucket     = var.artifacts_bucket
  s3_key        = "thumbnail-worker.zip"
  memory_size   = 1536
  architectures = ["x86_64"] # the sharp build for arm64 is in the artifacts bucket too
  publish       = true
}

resource "aws_lambda_alias" "thumbnail_worker" {
  name             = "live"
  function_name    = aws_lambda_function.thumbnail_worker.function_name
  function_version = aws_lambda_function.thumbnail_worker.version
}
