variable "name" {
  description = "Name of the ECS service, task family, log group and target group."
  type        = string
  default     = "@NAME@"
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the service runs in."
  type        = string
}

variable "container_image" {
  description = "Image of the service: the function's code behind an HTTP server."
  type        = string
}

variable "container_port" {
  description = "Port the container listens on."
  type        = number
  default     = 8080
}

variable "environment" {
  description = "Environment variables of the container (the function's, usually)."
  type        = map(string)
  default     = {}
}

variable "cpu" {
  description = "CPU units per task (1024 = 1 vCPU), as adaptd recommends."
  type        = number
  default     = @CPU@
}

variable "memory" {
  description = "Memory per task (MB), as adaptd recommends."
  type        = number
  default     = @MEMORY@
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64; the image must be built for it."
  type        = string
  default     = "@ARCH@"
}

variable "timezone" {
  description = "IANA time zone of tasks_by_hour; AWS keeps each step at its local hour across daylight-saving changes."
  type        = string
  default     = "@TZ@"
}

variable "tasks_by_hour" {
  description = "Tasks to run in each hour of the day (in var.timezone), index 0 = 00:00-01:00, as adaptd recommends."
  type        = list(number)
  default     = @TASKS@

  validation {
    condition     = length(var.tasks_by_hour) == 24
    error_message = "tasks_by_hour needs one value per hour of the day (24)."
  }
}

variable "execution_role_arn" {
  description = "Role ECS uses to pull the image and write logs."
  type        = string
}

variable "task_role_arn" {
  description = "Role the service's code runs as (the function's permissions)."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "VPC of the load balancer's target group."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets the tasks run in."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the tasks; they must admit the load balancer on container_port."
  type        = list(string)
}

variable "listener_arn" {
  description = "Load balancer listener that forwards the service's requests."
  type        = string
}

variable "listener_rule_priority" {
  description = "Priority of the listener rule."
  type        = number
  default     = 100
}

variable "path_patterns" {
  description = "Request paths that go to the service."
  type        = list(string)
  default     = ["/*"]
}

variable "health_check_path" {
  description = "Path the target group checks."
  type        = string
  default     = "/health"
}

variable "log_retention_days" {
  description = "How long the service's logs are kept."
  type        = number
  default     = 30
}
