"""The rules of the product, free of I/O: options, numbers, priority, requests."""
