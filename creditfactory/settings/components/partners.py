"""Settings for the partner API platform: keys, signing, throttling, idempotency, webhooks
(see docs/api.md and docs/configuration.md)."""

from ..env import env_bool, env_int, env_str

# --- Authentication and throttling -------------------------------------------------------------
# Used for partners whose own rate limit is empty. Per process unless CACHE_URL points at Redis.
PARTNER_DEFAULT_THROTTLE_RATE = env_str("PARTNER_DEFAULT_THROTTLE_RATE", "120/min")
# A signed request's X-CF-Timestamp may differ from the server clock by at most this much.
PARTNER_SIGNATURE_MAX_SKEW_SECONDS = env_int("PARTNER_SIGNATURE_MAX_SKEW_SECONDS", 300)
# last_used_at of a key is written at most this often.
PARTNER_API_KEY_TOUCH_SECONDS = env_int("PARTNER_API_KEY_TOUCH_SECONDS", 60)

# --- Idempotency ------------------------------------------------------------------------------------
# Keys (and their stored responses) are kept at least this long; the documented promise is 24 h.
IDEMPOTENCY_RETENTION_HOURS = env_int("IDEMPOTENCY_RETENTION_HOURS", 48)
# A key still "in progress" after this long belongs to a crashed request and may be taken over.
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env_int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 120)
# true: every create-POST must carry Idempotency-Key (money-moving POSTs always require it).
IDEMPOTENCY_KEY_REQUIRED = env_bool("IDEMPOTENCY_KEY_REQUIRED", False)

# --- Webhooks ---------------------------------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10)
# Retry n (n ≥ 1) waits BASE × 2^(n-1) seconds, at most MAX (must stay under CELERY_VISIBILITY_TIMEOUT).
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600)
# How often beat re-enqueues due deliveries (a lost task or a restart loses nothing).
WEBHOOK_SWEEP_SECONDS = env_int("WEBHOOK_SWEEP_SECONDS", 30)
# Partner URLs must be https, and may not point into private or loopback networks (SSRF), unless
# these are relaxed (local development, tests with a server on 127.0.0.1).
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", True)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)

# --- Periodic tasks (merged into CELERY_BEAT_SCHEDULE by base.py) -----------------------------------
PARTNERS_BEAT_SCHEDULE = {
    "partners-webhook-deliver-due": {"task": "core.webhook_deliver_due", "schedule": float(WEBHOOK_SWEEP_SECONDS)},
    "partners-idempotency-purge": {"task": "core.idempotency_purge", "schedule": 3600.0},
}
