"""DRF serializers of the workflows app, one module per concern."""
