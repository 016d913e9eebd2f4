"""GraphQL gateway of the insurer's customer space over four legacy back-ends."""
