variable "name" {
  type = string
}

variable "s3_bucket" {
  type = string
}

resource "aws_iam_role" "etl" {
  name               = "${var.name}-role"
  assume_role_policy = <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": { "Service": "lambda.amazonaws.com" },
      "Action": "sts:AssumeRole"
    }
  ]
}
POLICY
}

resource "aws_lambda_function" "etl" {
  function_name = var.name
  role          = aws_iam_role.etl.arn
  handler       = "etl.main"
  runtime       = "python3.12"
  s3_bucket     = var.s3_bucket
  s3_key        = "${var.name}.zip"
  memory_size   = 3008
  timeout       = 900
}

resource "aws_cloudwatch_event_rule" "nightly" {
  name                = "${var.name}-nightly"
  schedule_expression = "cron(0 2 * * ? *)"
}
