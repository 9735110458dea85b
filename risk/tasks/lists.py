"""Risk tasks: lists."""
