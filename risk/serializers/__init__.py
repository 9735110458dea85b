"""API serializers of the risk app."""
