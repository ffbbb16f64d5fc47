resource "aws_db_instance" "orders" {
  identifier                  = "orders-db"
  engine                      = "postgres"
  engine_version              = "16.3"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 100
  username                    = "orders"
  manage_master_user_password = true
  skip_final_snapshot         = false
}
