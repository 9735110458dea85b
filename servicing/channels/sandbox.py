"""The sandbox bank: a payment channel for development, demos, tests and benchmarks, configured
on ``PaymentChannel`` like a data source (latency, failure rate, cost per transaction). The
outcome follows the account's last four digits (documented in docs/sandbox.md; keep in step):

* ``0001`` — refused by the beneficiary bank: the callback says failed;
* ``0002`` — paid, but the bank never calls back: the status query says paid;
* ``0003`` — the send times out (the bank has it nonetheless), no callback; the query says failed;
* anything else — paid, confirmed by a callback.

Scheduled debits (代扣, ``debit``) always call back: an account ending ``0004`` has insufficient
funds — every debit fails (disbursements to it succeed); ``0005`` pays half of what is asked
(rounded down to the fen); any other account pays all of it.

The bank keeps its own book (``SandboxBankTransfer``): a reference it has seen is never paid
again, whatever the number of sends. It calls back asynchronously — a Celery task enqueued when
the sending transaction commits (right after it with eager Celery) — signed with the channel's
``callback_secret``, into the same code path as ``POST /api/v1/payments/callback``.
A failure rate above 0 refuses that share of sends at random before the bank takes them
(``ChannelUnavailable``: safe to send again)."""

from __future__ import annotations

import random
import time
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from creditfactory.core.tasks import enqueue_on_commit

from .base import ChannelTimeout, ChannelUnavailable, PaymentOrder, PaymentProviderBase, QueryResult, SendResult
from .registry import register

__all__ = ["DEBIT_FAILURES", "HALF_SUFFIX", "INSUFFICIENT_SUFFIX", "REFUSED_SUFFIX", "SILENT_SUFFIX", "TIMEOUT_SUFFIX",
           "SandboxPaymentProvider"]

REFUSED_SUFFIX = "0001"
SILENT_SUFFIX = "0002"
TIMEOUT_SUFFIX = "0003"
INSUFFICIENT_SUFFIX = "0004"
HALF_SUFFIX = "0005"
DEBIT_FAILURES = {
    INSUFFICIENT_SUFFIX: ("INSUFFICIENT_FUNDS", "The account has insufficient funds (sandbox)."),
}
FAILURES = {
    REFUSED_SUFFIX: ("ACCOUNT_REFUSED", "The beneficiary bank refused the transfer (sandbox)."),
    TIMEOUT_SUFFIX: ("TIMEOUT", "The transfer timed out at the beneficiary bank (sandbox)."),
}


@register
class SandboxPaymentProvider(PaymentProviderBase):
    name = "sandbox"
    label = _("Sandbox (simulated bank)")

    def send(self, order: PaymentOrder) -> SendResult:
        from servicing.fastpath import sandbox_transfer_insert
        from servicing.models import SandboxBankTransfer

        self._sleep(self.channel.latency_ms / 1000)
        if self._injected_failure():
            raise ChannelUnavailable(f"sandbox channel {self.channel.code}: unavailable (simulated)")
        suffix = order.account[-4:]
        transfer = SandboxBankTransfer(
            channel=self.channel, reference=order.reference, bank_reference=f"SBX-{order.reference}",
            amount=order.amount, account_suffix=suffix, outcome="failed" if suffix in FAILURES else "paid",
            calls_back=suffix not in (SILENT_SUFFIX, TIMEOUT_SUFFIX))
        # the unique reference is the bank's dedupe (one INSERT … ON CONFLICT DO NOTHING, no savepoint)
        duplicate = not sandbox_transfer_insert(transfer)
        if duplicate:
            transfer = SandboxBankTransfer.objects.get(reference=order.reference)
        if duplicate:
            SandboxBankTransfer.objects.filter(pk=transfer.pk).update(received=F("received") + 1)
        elif transfer.calls_back:
            from servicing.tasks import sandbox_bank_callback

            enqueue_on_commit(sandbox_bank_callback, reference=order.reference)
        if suffix == TIMEOUT_SUFFIX:
            raise ChannelTimeout(f"sandbox channel {self.channel.code}: no answer for {order.reference} (simulated)")
        return SendResult(accepted=True, channel_reference=transfer.bank_reference, duplicate=duplicate)

    def debit(self, order: PaymentOrder) -> SendResult:
        from servicing.models import SandboxBankTransfer

        self._sleep(self.channel.latency_ms / 1000)
        if self._injected_failure():
            raise ChannelUnavailable(f"sandbox channel {self.channel.code}: unavailable (simulated)")
        suffix = order.account[-4:]
        if suffix in DEBIT_FAILURES:
            outcome, settled = "failed", Decimal("0.00")
        elif suffix == HALF_SUFFIX:
            outcome, settled = "paid", (order.amount / 2).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        else:
            outcome, settled = "paid", order.amount
        try:
            with transaction.atomic():
                transfer = SandboxBankTransfer.objects.create(
                    channel=self.channel, reference=order.reference, bank_reference=f"SBX-{order.reference}",
                    amount=order.amount, account_suffix=suffix, outcome=outcome, calls_back=True, direction="debit",
                    settled_amount=settled)
            duplicate = False
        except IntegrityError:
            transfer, duplicate = SandboxBankTransfer.objects.get(reference=order.reference), True
        if duplicate:
            SandboxBankTransfer.objects.filter(pk=transfer.pk).update(received=F("received") + 1)
        else:
            from servicing.tasks import sandbox_bank_callback

            enqueue_on_commit(sandbox_bank_callback, reference=order.reference)
        return SendResult(accepted=True, channel_reference=transfer.bank_reference, duplicate=duplicate)

    def query(self, reference: str) -> QueryResult:
        from servicing.models import SandboxBankTransfer

        self._sleep(self.channel.latency_ms / 1000)
        transfer = SandboxBankTransfer.objects.filter(reference=reference).first()
        if transfer is None:
            return QueryResult(status="unknown")
        code, message = FAILURES.get(transfer.account_suffix, ("", ""))
        return QueryResult(status=transfer.outcome, channel_reference=transfer.bank_reference,
                           failure_code=code, failure_message=message)

    def _injected_failure(self) -> bool:
        rate = Decimal(self.channel.failure_rate_percent or 0)
        if rate <= 0:
            return False
        if rate >= 100:
            return True
        return Decimal(random.random()) * 100 < rate  # noqa: S311 - a simulation, not security

    @staticmethod
    def _sleep(seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
