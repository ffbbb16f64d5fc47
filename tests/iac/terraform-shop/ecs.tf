# inventory-api: the one service on ECS Fargate, behind the shop's load balancer.
# Sized for the launch: two tasks of 1 vCPU and 2 GB; neither target-tracking policy
# (CPU, memory) has scaled it above its minimum at today's load.

resource "aws_ecs_cluster" "shop" {
  name = "shop"
}

resource "aws_lb_target_group" "inventory" {
  name        = "inventory-api"
  port        = 8080
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = module.vpc.vpc_id

  health_check {
    path = "/healthz"
  }
}

resource "aws_ecs_task_definition" "inventory" {
  family                   = "inventory-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "1024"
  memory                   = "2048"
  container_definitions = jsonencode([{
    name         = "inventory-api"
    image        = "inventory-api:3.4.1"
    portMappings = [{ containerPort = 8080 }]
    environment  = [for k, v in local.common_env : { name = k, value = v }]
  }])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
}

resource "aws_ecs_service" "inventory" {
  name            = "inventory-api"
  cluster         = aws_ecs_cluster.shop.arn
  task_definition = aws_ecs_task_definition.inventory.arn
  desired_count   = 2
  launch_type     = "FARGATE"

  load_balancer {
    target_group_arn = aws_lb_target_group.inventory.arn
    container_name   = "inventory-api"
    container_port   = 8080
  }

  network_configuration {
    subnets = var.private_subnet_ids
  }

  # The count is Application Auto Scaling's (below), not Terraform's.
  lifecycle {
    ignore_changes = [desired_count]
  }

  tags = {
    team = "catalog"
  }
}

resource "aws_appautoscaling_target" "inventory" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.shop.name}/${aws_ecs_service.inventory.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = 2
  max_capacity       = 6
}

resource "aws_appautoscaling_policy" "inventory_cpu" {
  name               = "inventory-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.inventory.service_namespace
  resource_id        = aws_appautoscaling_target.inventory.resource_id
  scalable_dimension = aws_appautoscaling_target.inventory.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = 60
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "inventory_memory" {
  name               = "inventory-api-memory"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.inventory.service_namespace
  resource_id        = aws_appautoscaling_target.inventory.resource_id
  scalable_dimension = aws_appautoscaling_target.inventory.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = 80

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageMemoryUtilization"
    }
  }
}
