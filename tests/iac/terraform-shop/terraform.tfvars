# Production values. Keep in sync with the runbook.
environment     = "prod"
checkout_memory = 1024 # raised after the Black Friday incident
report_pc       = 20
