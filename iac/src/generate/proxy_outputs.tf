output "endpoint" {
  description = "Endpoint clients connect to instead of the database's."
  value       = aws_db_proxy.this.endpoint
}

output "arn" {
  description = "ARN of the proxy."
  value       = aws_db_proxy.this.arn
}
