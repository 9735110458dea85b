"""Risk services, one module per concern."""
