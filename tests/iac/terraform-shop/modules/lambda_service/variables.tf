variable "function_name" {
  type = string
}

variable "handler" {
  type = string
}

variable "runtime" {
  type = string
}

variable "memory_size" {
  description = "Memory (MB)."
  type        = number
  default     = 512
}

variable "s3_bucket" {
  type = string
}

variable "environment" {
  type    = map(string)
  default = {}
}

variable "team" {
  type = string
}
