variable "name" {
  description = "Name of the proxy."
  type        = string
  default     = "@DB@-proxy"
}

variable "engine_family" {
  description = "POSTGRESQL, MYSQL or SQLSERVER (from the database's engine: @ENGINE@)."
  type        = string
  default     = "@FAMILY@"
}

variable "db_instance_identifier" {
  description = "Identifier of the RDS instance the proxy fronts."
  type        = string
  default     = "@DB@"
}

variable "secret_arn" {
  description = "Secrets Manager secret with the database user's credentials."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the proxy (the database's)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the proxy; clients must reach it, and it the database."
  type        = list(string)
}

variable "max_connections_percent" {
  description = "Share of the database's max_connections the proxy may open."
  type        = number
  default     = 90
}

variable "idle_client_timeout_seconds" {
  description = "Seconds before the proxy closes an idle client connection."
  type        = number
  default     = 1800
}
