"""Customer-space accounts: the type, registration, sessions, recovery."""
