"""Logs, metrics, traces, back-end call records and health windows."""
