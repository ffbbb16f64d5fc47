locals {
  # One scheduled action at each hour whose level differs from the hour before.
  steps = {
    for h in range(24) : format("%02d", h) => var.provisioned_by_hour[h]
    if var.provisioned_by_hour[h] != var.provisioned_by_hour[(h + 23) % 24]
  }
  peak = max(var.provisioned_by_hour...)
}

resource "aws_lambda_function" "this" {
  function_name                  = var.name
  package_type                   = "Image"
  image_uri                      = var.image_uri
  role                           = var.role_arn
  memory_size                    = var.memory_size
  architectures                  = [var.architecture]
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  publish                        = true

  environment {
    variables = var.environment
  }
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

# Provisioned concurrency by hour: a scalable target on the alias and one scheduled
# action per change of level (none when the recommendation has none).
resource "aws_appautoscaling_target" "this" {
  count              = local.peak > 0 ? 1 : 0
  service_namespace  = "lambda"
  scalable_dimension = "lambda:function:ProvisionedConcurrency"
  resource_id        = "function:${aws_lambda_function.this.function_name}:${aws_lambda_alias.live.name}"
  min_capacity       = min(var.provisioned_by_hour...)
  max_capacity       = local.peak

  # The scheduled actions below move min and max through the day.
  lifecycle {
    ignore_changes = [min_capacity, max_capacity]
  }
}

resource "aws_appautoscaling_scheduled_action" "step" {
  for_each = local.peak > 0 ? (length(local.steps) > 0 ? local.steps : { "00" = var.provisioned_by_hour[0] }) : {}

  name               = "${var.name}-pc-${each.key}00"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension
  schedule           = "cron(0 ${tonumber(each.key)} * * ? *)"
  timezone           = var.timezone

  scalable_target_action {
    min_capacity = each.value
    max_capacity = each.value
  }
}

# The load balancer calls the alias: a target group of type lambda, the permission to
# invoke it, and a listener rule that takes the service's paths.
resource "aws_lb_target_group" "this" {
  name        = substr("${var.name}-fn", 0, 32)
  target_type = "lambda"
}

resource "aws_lambda_permission" "alb" {
  statement_id  = "AllowLoadBalancer"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  qualifier     = aws_lambda_alias.live.name
  principal     = "elasticloadbalancing.amazonaws.com"
  source_arn    = aws_lb_target_group.this.arn
}

resource "aws_lb_target_group_attachment" "this" {
  target_group_arn = aws_lb_target_group.this.arn
  target_id        = aws_lambda_alias.live.arn
  depends_on       = [aws_lambda_permission.alb]
}

resource "aws_lb_listener_rule" "this" {
  listener_arn = var.listener_arn
  priority     = var.listener_rule_priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    path_pattern {
      values = var.path_patterns
    }
  }
}
