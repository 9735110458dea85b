"""Celery tasks of servicing. Thin: each loads ids and calls a service; each is idempotent."""

import json
import time
from datetime import date

from celery import shared_task
from django.utils import timezone

from servicing.channels.signing import callback_signature


@shared_task(name="servicing.sandbox_bank_callback", acks_late=True)
def sandbox_bank_callback(*, reference: str) -> dict:
    """The sandbox bank calls back for a payment it received: a signed body into the same code
    path as ``POST /api/v1/payments/callback``. Safe to run twice: the second is a replay."""
    from servicing.channels.sandbox import FAILURES
    from servicing.models import SandboxBankTransfer
    from servicing.services.payments import CallbackInvalid, payment_callback_receive

    transfer = SandboxBankTransfer.objects.select_related("channel").get(reference=reference)
    code, message = FAILURES.get(transfer.account_suffix, ("", "")) if transfer.outcome == "failed" else ("", "")
    body = json.dumps({"reference": reference, "status": transfer.outcome, "channel_reference": transfer.bank_reference,
                       "amount": str(transfer.amount), "failure_code": code, "failure_message": message},
                      separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    signature = callback_signature(secret=transfer.channel.callback_secret, timestamp=timestamp, body=body)
    try:
        disbursement = payment_callback_receive(channel_code=transfer.channel.code, body=body, timestamp=timestamp,
                                                signature=signature)
    except CallbackInvalid as exc:  # e.g. a reference we do not know: a bank would get 400 and give up
        return {"reference": reference, "status": "rejected", "errors": exc.errors}
    SandboxBankTransfer.objects.filter(pk=transfer.pk, callback_sent_at__isnull=True).update(
        callback_sent_at=timezone.now())
    return {"reference": reference, "status": disbursement.status}


@shared_task(name="servicing.lines_expire", acks_late=True)
def lines_expire_task(on_date: str | None = None) -> int:
    """Daily (beat, entry ``servicing.lines-expire``): expire the lines whose validity ended before
    ``on_date`` (ISO date; default the business date). Safe to re-run."""
    from servicing.services.lines import lines_expire

    return lines_expire(on_date=date.fromisoformat(on_date) if on_date else None)


@shared_task(name="servicing.ledger_check")
def ledger_check() -> dict:
    """The nightly proof of the books (``manage.py ledger_check``): records the run
    (``LedgerCheckRun``), logs every difference as an error on ``servicing.ledger`` (the alert) and
    returns them; changes no balance, so it is safe to run at any time."""
    from servicing.services.ledger_checks import ledger_check_record

    run = ledger_check_record()
    return {"run": run.pk, "passed": run.passed,
            "differences": [f"{d['check']} {d['subject']}: expected {d['expected']}, found {d['actual']}"
                            for d in run.differences]}
