"""Back-office pages of the workflows app (viewflow Site viewsets), one module per concern."""
