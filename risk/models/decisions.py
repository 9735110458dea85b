"""Risk models: decisions."""
