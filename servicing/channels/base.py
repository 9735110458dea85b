"""The payment-channel interface. A provider pays a borrower's account for a disbursement
reference — the channel's idempotency key: sending the same reference again must never pay
twice — confirms later by a signed callback, and answers status queries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["ChannelTimeout", "ChannelUnavailable", "PaymentOrder", "PaymentProviderBase", "QueryResult", "SendResult"]


class ChannelUnavailable(Exception):
    """The channel refused the request before taking it (down, throttled): safe to send again."""


class ChannelTimeout(Exception):
    """No answer in time: the channel may or may not have the payment — ask it (status query) or
    send the same reference again; never a new reference."""


@dataclass(frozen=True)
class PaymentOrder:
    reference: str
    amount: Decimal
    account: str
    account_name: str


@dataclass(frozen=True)
class SendResult:
    accepted: bool
    channel_reference: str = ""
    duplicate: bool = False  # the channel had this reference already: nothing new was paid
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class QueryResult:
    status: str  # "paid" | "failed" | "pending" | "unknown" (the channel never received it)
    channel_reference: str = ""
    failure_code: str = ""
    failure_message: str = ""


class PaymentProviderBase:
    name = ""

    def __init__(self, channel):
        self.channel = channel

    def send(self, order: PaymentOrder) -> SendResult:
        raise NotImplementedError

    def query(self, reference: str) -> QueryResult:
        raise NotImplementedError

    def debit(self, order: PaymentOrder) -> SendResult:
        """Ask the bank to debit ``order.amount`` from the borrower's ``order.account`` (代扣, under
        the borrower's signed authorisation); the result comes by signed callback with the amount
        collected. Same reference, same debit: never collected twice."""
        raise NotImplementedError
