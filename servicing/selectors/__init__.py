"""Reads of servicing, one module per concern."""
