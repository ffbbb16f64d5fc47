variable "name" {
  description = "Name of the function, its alias's target group and log group."
  type        = string
  default     = "@NAME@"
}

variable "image_uri" {
  description = "Image of the function: the service's image with a Lambda runtime interface (for an HTTP server, the AWS Lambda Web Adapter extension), built for `architecture`."
  type        = string
}

variable "role_arn" {
  description = "Execution role of the function (the task role's permissions, and CloudWatch Logs)."
  type        = string
}

variable "environment" {
  description = "Environment variables of the function (the container's, usually)."
  type        = map(string)
  default     = {}
}

variable "memory_size" {
  description = "Memory (MB), as adaptd recommends."
  type        = number
  default     = @MEMORY@
}

variable "architecture" {
  description = "x86_64 or arm64; the image must be built for it."
  type        = string
  default     = "@ARCH@"
}

variable "timeout" {
  description = "Seconds one request may take (at most 900: Lambda's limit)."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "Lambda runs a request for at most 900 seconds."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency, as adaptd recommends (-1: none)."
  type        = number
  default     = @RESERVED@
}

variable "timezone" {
  description = "IANA time zone of provisioned_by_hour; AWS keeps each step at its local hour across daylight-saving changes."
  type        = string
  default     = "@TZ@"
}

variable "provisioned_by_hour" {
  description = "Provisioned concurrency of alias `live` in each hour of the day (in var.timezone), index 0 = 00:00-01:00, as adaptd recommends."
  type        = list(number)
  default     = @PC@

  validation {
    condition     = length(var.provisioned_by_hour) == 24
    error_message = "provisioned_by_hour needs one value per hour of the day (24)."
  }
}

variable "listener_arn" {
  description = "Load balancer listener that forwards the service's requests today."
  type        = string
}

variable "listener_rule_priority" {
  description = "Priority of the listener rule (lower than the service's rule, to take its traffic)."
  type        = number
  default     = 90
}

variable "path_patterns" {
  description = "Request paths that go to the function."
  type        = list(string)
  default     = ["/*"]
}
