"""Risk models: lists."""
