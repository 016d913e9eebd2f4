"""How a document runs: the schema build, persisted documents, operation limits, extensions."""
