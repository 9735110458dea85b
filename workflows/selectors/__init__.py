"""Reads of the workflows app, one module per concern."""
