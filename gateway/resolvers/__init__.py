"""Use cases in domain terms: access rules, reads, démarches, accounts, exactly-once writes."""
