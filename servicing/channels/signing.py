"""Callback signatures: HMAC-SHA256 over ``<timestamp>.<raw body>`` with the channel's
``callback_secret``, hex-encoded, in ``X-CF-Signature``; the Unix timestamp in
``X-CF-Timestamp``; the channel's code in ``X-CF-Channel``."""

import hashlib
import hmac

__all__ = ["CHANNEL_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "callback_signature", "signature_valid"]

CHANNEL_HEADER = "X-CF-Channel"
SIGNATURE_HEADER = "X-CF-Signature"
TIMESTAMP_HEADER = "X-CF-Timestamp"


def callback_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_valid(*, secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    if not (secret and timestamp and signature):
        return False
    return hmac.compare_digest(callback_signature(secret=secret, timestamp=timestamp, body=body), signature)
