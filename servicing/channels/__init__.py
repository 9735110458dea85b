"""Payment-channel adapters (支付通道): one interface (``base``), providers registered by name
(``registry``; ``PaymentChannel.provider`` picks one), the callback signature (``signing``) and
the sandbox bank (``sandbox``)."""

from .base import ChannelTimeout, ChannelUnavailable, PaymentOrder, PaymentProviderBase, QueryResult, SendResult
from .registry import provider_for

__all__ = ["ChannelTimeout", "ChannelUnavailable", "PaymentOrder", "PaymentProviderBase", "QueryResult", "SendResult",
           "provider_for"]
