"""Benchmark of the gateway against the mocks as separate processes (`python -m bench --help`)."""
