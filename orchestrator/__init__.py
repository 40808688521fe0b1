"""Omni: marketer-written YAML scenarios run as durable Temporal workflows."""
