"""The partner platform's writes and reads: partners and their credentials (``partners``), the
webhook outbox (``webhooks``) and its HTTP delivery (``delivery``), idempotency keys
(``idempotency``) and usage statistics (``usage``)."""
