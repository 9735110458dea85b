"""Risk models: datasources."""
