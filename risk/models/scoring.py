"""Risk models: scoring."""
