"""Outbound messages (SMS outbox)."""
