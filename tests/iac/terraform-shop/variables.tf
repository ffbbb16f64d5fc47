variable "region" {
  description = "AWS region of the shop."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  type    = string
  default = "prod"
}

# Memory of the checkout API; the real value is in terraform.tfvars.
variable "checkout_memory" {
  description = "Memory (MB) of checkout-api."
  type        = number
  default     = 512
}

variable "image_resize_memory" {
  description = "Memory (MB) of image-resize; set per environment in *.auto.tfvars."
  type        = number
}

variable "report_pc" {
  description = "Provisioned environments of report-generator for the month-end rush."
  type        = number
  default     = 20
}

variable "artifacts_bucket" {
  type    = string
  default = "shop-artifacts"
}

variable "private_subnet_ids" {
  type    = list(string)
  default = []
}
