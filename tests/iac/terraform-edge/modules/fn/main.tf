variable "function_name" {
  type = string
}

variable "memory_size" {
  type    = number
  default = 128
}

resource "aws_lambda_function" "this" {
  function_name = var.function_name
  role          = "arn:aws:iam::123456789012:role/fn"
  handler       = "m.handler"
  runtime       = "python3.12"
  filename      = "m.zip"
  memory_size   = var.memory_size
}
