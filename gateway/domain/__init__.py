"""Domain values and records: the one vocabulary adapters, resolvers and schema share."""
