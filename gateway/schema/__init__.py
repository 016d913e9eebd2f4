"""The graph: strawberry types, inputs and root fields, per domain."""
