"""Django forms of the workflows back office, one module per concern."""
