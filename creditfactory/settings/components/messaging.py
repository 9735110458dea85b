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
VOICE_PROVIDER / VOICE_PROVIDERS: the voice-robot provider, as SMS_PROVIDER / SMS_PROVIDERS.
VOICE_MAX_ATTEMPTS: attempts (busy lines) before a call is marked failed.
VOICE_RETRY_BACKOFF_SECONDS / VOICE_RETRY_BACKOFF_MAX_SECONDS: exponential back-off between attempts.
VOICE_RESULT_HOOKS: dotted paths of functions told each call's end (``call=``).
VOICE_SANDBOX_LATENCY_MS / VOICE_SANDBOX_FAILURE_RATE / VOICE_SANDBOX_SEED: as the SMS sandbox's.
VOICE_SANDBOX_COST_PER_MINUTE: price of a started minute of an answered call in CNY.
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

# The voice robot (语音机器人外呼), docs/configuration.md and docs/sandbox.md.
VOICE_PROVIDER = env_str("VOICE_PROVIDER", "sandbox")
# name → dotted path of a ``creditfactory.core.messaging.voice.VoiceProvider`` subclass.
VOICE_PROVIDERS = {
    "sandbox": "creditfactory.core.messaging.sandbox.SandboxVoiceProvider",
}
VOICE_MAX_ATTEMPTS = env_int("VOICE_MAX_ATTEMPTS", 3)
VOICE_RETRY_BACKOFF_SECONDS = env_int("VOICE_RETRY_BACKOFF_SECONDS", 60)
VOICE_RETRY_BACKOFF_MAX_SECONDS = env_int("VOICE_RETRY_BACKOFF_MAX_SECONDS", 900)
# Called with ``call=`` when a call ends (answered, no answer, failed), in its transaction.
VOICE_RESULT_HOOKS: list[str] = ["collection.services.reminders.voice_reminder_result"]
VOICE_SANDBOX_LATENCY_MS = env_int("VOICE_SANDBOX_LATENCY_MS", 0)
VOICE_SANDBOX_FAILURE_RATE = env_str("VOICE_SANDBOX_FAILURE_RATE", "0")
VOICE_SANDBOX_SEED = env_str("VOICE_SANDBOX_SEED", "")
VOICE_SANDBOX_COST_PER_MINUTE = env_str("VOICE_SANDBOX_COST_PER_MINUTE", "0.12")
