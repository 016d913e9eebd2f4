"""How adapters reach a legacy system: HTTP/1.1 client, retries, breakers, cache, call budget."""
