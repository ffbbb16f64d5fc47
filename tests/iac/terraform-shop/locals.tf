locals {
  name_prefix = "shop-${var.environment}-"

  # report-generator renders PDFs with a JVM: it needs headroom.
  report_memory = 2048

  common_env = {
    STAGE     = var.environment
    LOG_LEVEL = "info"
  }
}
