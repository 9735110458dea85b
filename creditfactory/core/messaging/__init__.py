"""Outbound messaging (SMS): templates, the provider interface and registry, the sandbox gateway
and the outbox services. Send through ``creditfactory.core.messaging.services.sms_send``; never
call a provider directly."""

from .base import (  # noqa: F401
    OutgoingSms,
    SendReceipt,
    SmsPermanentError,
    SmsProvider,
    SmsProviderError,
    SmsTemporaryError,
    count_segments,
)
from .registry import get_provider, register_provider, unregister_provider  # noqa: F401
from .templates import SMS_TEMPLATES, SmsTemplate, get_template, register_template, render_template  # noqa: F401

