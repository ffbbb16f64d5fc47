output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "alias_arn" {
  description = "ARN of alias `live`, which the load balancer invokes."
  value       = aws_lambda_alias.live.arn
}

output "target_group_arn" {
  description = "ARN of the target group the listener rule forwards to."
  value       = aws_lb_target_group.this.arn
}
