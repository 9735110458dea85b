"""Risk tasks: decisions."""
