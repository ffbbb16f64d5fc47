# Cases adaptd must patch carefully, or refuse with a reason.

locals {
  default_memory = 1024

  fns = {
    alpha = { mem = 256 }
    beta  = { mem = 512 }
  }
}

variable "big" {
  type    = bool
  default = false
}

variable "functions" {
  description = "Set per environment; no default."
  type        = map(object({ memory = number }))
}

variable "queue_memory" {
  type    = number
  default = 128
}

variable "cache_pc" {
  type    = number
  default = 2
}

# Two functions share one local: changing it for one changes the other.
resource "aws_lambda_function" "shared_a" {
  function_name = "shared-a"
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "a.handler"
  runtime       = "python3.12"
  filename      = "a.zip"
  memory_size   = local.default_memory
}

resource "aws_lambda_function" "shared_b" {
  function_name = "shared-b"
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "b.handler"
  runtime       = "python3.12"
  filename      = "b.zip"
  memory_size   = local.default_memory
}

# Memory computed by Terraform.
resource "aws_lambda_function" "computed" {
  function_name = "computed"
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "c.handler"
  runtime       = "python3.12"
  filename      = "c.zip"
  memory_size   = var.big ? 2048 : 1024
}

# for_each over a variable no file sets: adaptd cannot expand it.
resource "aws_lambda_function" "dynamic" {
  for_each      = var.functions
  function_name = each.key
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "d.handler"
  runtime       = "python3.12"
  filename      = "d.zip"
  memory_size   = each.value.memory
}

# No memory_size: AWS's default of 128 MB applies.
resource "aws_lambda_function" "bare" {
  function_name = "bare"
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "e.handler"
  runtime       = "python3.12"
  filename      = "e.zip"
}

resource "aws_lambda_function" "queue" {
  function_name = "queue-worker"
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "q.handler"
  runtime       = "python3.12"
  filename      = "q.zip"
  memory_size   = var.queue_memory
}

# Constant provisioned concurrency through a variable.
resource "aws_lambda_function" "cache" {
  function_name = "cache-warmer"
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "w.handler"
  runtime       = "python3.12"
  filename      = "w.zip"
  publish       = true
}

resource "aws_lambda_alias" "cache" {
  name             = "live"
  function_name    = aws_lambda_function.cache.function_name
  function_version = aws_lambda_function.cache.version
}

resource "aws_lambda_provisioned_concurrency_config" "cache" {
  function_name                     = aws_lambda_alias.cache.function_name
  qualifier                         = aws_lambda_alias.cache.name
  provisioned_concurrent_executions = var.cache_pc
}

# Has an alias but no provisioned concurrency yet.
resource "aws_lambda_function" "api" {
  function_name = "api"
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "api.handler"
  runtime       = "python3.12"
  filename      = "api.zip"
  publish       = true
}

resource "aws_lambda_alias" "api" {
  name             = "live"
  function_name    = aws_lambda_function.api.function_name
  function_version = aws_lambda_function.api.version
}

# Keeps files on EFS: a move to Fargate must move them too.
resource "aws_lambda_function" "uploads" {
  function_name = "uploads"
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "u.handler"
  runtime       = "python3.12"
  filename      = "u.zip"

  file_system_config {
    arn              = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1"
    local_mount_path = "/mnt/uploads"
  }
}

module "one" {
  source        = "./modules/fn"
  function_name = "module-one"
}

module "two" {
  source        = "./modules/fn"
  function_name = "module-two"
}

module "each" {
  source   = "./modules/fn"
  for_each = local.fns

  function_name = each.key
  memory_size   = each.value.mem
}

# A Fargate service sized by string literals.
resource "aws_ecs_task_definition" "billing" {
  family                   = "billing"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "512"
  memory                   = "1024"
  container_definitions    = jsonencode([{ name = "billing", image = "billing:1" }])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
}

resource "aws_ecs_service" "billing" {
  name            = "billing"
  cluster         = "arn:aws:ecs:us-east-1:123456789012:cluster/main"
  task_definition = aws_ecs_task_definition.billing.arn
  desired_count   = 3
  launch_type     = "FARGATE"
}
