"""Risk models: rules."""
