"""Settings for messaging: the SMS provider and the sandbox gateway (see docs/signing.md and
docs/configuration.md).

SMS_PROVIDER: name of the provider in SMS_PROVIDERS that sends new messages ("sandbox").
SMS_SIGNATURE: the registered sender signature, shown as 【...】 before every text.
SMS_DEFAULT_LANGUAGE: language of a template when the caller gives none (zh-hans or en).
SMS_MAX_ATTEMPTS: delivery attempts before a message is marked failed.
SMS_RETRY_BACKOFF_SECONDS / SMS_RETRY_BACKOFF_MAX_SECONDS: exponential back-off between attempts.
SMS_BATCH_SIZE: texts per delivery task when many are queued at once (the daily close's
reminders): one broker message per batch instead of one per text.
SMS_SANDBOX_LATENCY_MS: how long the sandbox gateway takes to answer.
SMS_SANDBOX_FAILURE_RATE: share (0–1) of sends the sandbox refuses with a temporary error.
SMS_SANDBOX_SEED: seed of the sandbox's random failures (empty: unpredictable).
SMS_SANDBOX_COST: price of one segment in CNY.
"""

from ..env import env_int, env_str

SMS_PROVIDER = env_str("SMS_PROVIDER", "sandbox")
# name → dotted path of a ``creditfactory.core.messaging.SmsProvider`` subclass.
SMS_PROVIDERS = {
    "sandbox": "creditfactory.core.messaging.sandbox.SandboxSmsProvider",
}
SMS_SIGNATURE = env_str("SMS_SIGNATURE", "CreditFactory")
SMS_DEFAULT_LANGUAGE = env_str("SMS_DEFAULT_LANGUAGE", "zh-hans")
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 5)
SMS_RETRY_BACKOFF_SECONDS = env_int("SMS_RETRY_BACKOFF_SECONDS", 30)
# Stays below CELERY_VISIBILITY_TIMEOUT so Redis never redelivers a waiting retry.
SMS_RETRY_BACKOFF_MAX_SECONDS = env_int("SMS_RETRY_BACKOFF_MAX_SECONDS", 3600)
SMS_BATCH_SIZE = env_int("SMS_BATCH_SIZE", 100)

SMS_SANDBOX_LATENCY_MS = env_int("SMS_SANDBOX_LATENCY_MS", 0)
SMS_SANDBOX_FAILURE_RATE = env_str("SMS_SANDBOX_FAILURE_RATE", "0")
SMS_SANDBOX_SEED = env_str("SMS_SANDBOX_SEED", "")
SMS_SANDBOX_COST = env_str("SMS_SANDBOX_COST", "0.05")
