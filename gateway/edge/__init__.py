"""The HTTP edge, before GraphQL: the /graphql view, routes, request scope, probes, limits."""
