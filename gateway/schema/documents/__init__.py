"""Documents issued to the customer, attestations on demand."""
