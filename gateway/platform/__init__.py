"""What every layer stands on: the shared store, rate limiters, Redis, the business clock."""
