image_resize_memory = 1536
