queue_memory = 256
