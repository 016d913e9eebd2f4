"""Per-request data loading: loaders (each resource once per request) and loads started ahead."""
