"""Partner API plumbing: idempotency keys, webhooks (outbox and deliveries), usage statistics."""
