"""Celery tasks of servicing. Thin: each loads ids and calls a service; each is idempotent."""

import json
import logging
import time
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from servicing.channels.signing import callback_signature


@shared_task(name="servicing.sandbox_bank_callback", acks_late=True, ignore_result=True)
def sandbox_bank_callback(*, reference: str) -> dict:
    """The sandbox bank calls back for a payment it received: a signed body into the same code
    path as ``POST /api/v1/payments/callback``. Safe to run twice: the second is a replay."""
    from servicing.channels.sandbox import DEBIT_FAILURES, FAILURES
    from servicing.models import SandboxBankTransfer
    from servicing.services.payments import CallbackInvalid, payment_callback_receive

    from servicing.fastpath import SANDBOX_TRANSFER, sandbox_callback_sent

    transfer = SANDBOX_TRANSFER.get(reference)  # with its channel, one prebuilt statement
    if transfer is None:
        raise SandboxBankTransfer.DoesNotExist(f"No sandbox transfer {reference}.")
    failures = DEBIT_FAILURES if transfer.direction == "debit" else FAILURES
    code, message = failures.get(transfer.account_suffix, ("", "")) if transfer.outcome == "failed" else ("", "")
    amount = transfer.settled_amount if transfer.direction == "debit" else transfer.amount
    body = json.dumps({"reference": reference, "status": transfer.outcome, "channel_reference": transfer.bank_reference,
                       "amount": str(amount), "failure_code": code, "failure_message": message},
                      separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    signature = callback_signature(secret=transfer.channel.callback_secret, timestamp=timestamp, body=body)
    try:
        settled = payment_callback_receive(channel_code=transfer.channel.code, body=body, timestamp=timestamp,
                                                signature=signature, channel=transfer.channel)
    except CallbackInvalid as exc:  # e.g. a reference we do not know: a bank would get 400 and give up
        return {"reference": reference, "status": "rejected", "errors": exc.errors}
    sandbox_callback_sent(transfer_id=transfer.pk, at=timezone.now())  # one prebuilt statement
    return {"reference": reference, "status": settled.status}


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


# --- the daily close --------------------------------------------------------------------------------


def _close_dispatch(run, chunk_ids) -> None:
    """Queue a run's chunks; when a stage has none, move the run on at once."""
    from servicing.services.close import close_stage_complete

    while run is not None and not chunk_ids:
        run, chunk_ids = close_stage_complete(run_id=run.pk)
    for chunk_id in chunk_ids:
        close_chunk_task.delay(chunk_id)


@shared_task(name="servicing.close_day", acks_late=True)
def close_day_task(until: str | None = None, on_date: str | None = None) -> dict:
    """Nightly (beat, entry ``servicing.close-day``): close every business date up to ``until``
    (ISO date; default yesterday's calendar date in Asia/Shanghai, so missed dates are caught up in
    order), fanned out over the workers by loan-id range. ``on_date`` re-runs that closed date.
    Starting a date whose run is unfinished resumes it (a killed worker's chunks run again)."""
    from servicing.services.calendar import business_date
    from servicing.services.close import close_run_start

    if on_date:
        run, chunk_ids = close_run_start(business_date=date.fromisoformat(on_date))
    else:
        last = date.fromisoformat(until) if until else timezone.localdate() - timedelta(days=1)
        current = business_date()
        if current > last:
            return {"closed": None, "business_date": current.isoformat()}
        run, chunk_ids = close_run_start(business_date=current, until=last)
    _close_dispatch(run, chunk_ids)
    return {"run": run.pk, "business_date": run.business_date.isoformat(), "chunks": len(chunk_ids)}


@shared_task(name="servicing.close_chunk", acks_late=True)
def close_chunk_task(chunk_id: int) -> bool:
    """One chunk of a close run; the chunk that completes its stage moves the run on, here and
    now (not behind whatever the chunks queued meanwhile, e.g. the reminders' deliveries). Safe
    to run twice (a done chunk is skipped; moving a stage on is claimed once)."""
    from servicing.services.close import close_chunk_execute, close_stage_complete

    if close_chunk_execute(chunk_id=chunk_id):
        from servicing.models import CloseChunk

        _close_dispatch(*close_stage_complete(
            run_id=CloseChunk.objects.values_list("run_id", flat=True).get(pk=chunk_id)))
        return True
    return False


@shared_task(name="servicing.close_stage", acks_late=True)
def close_stage_task(run_id: int) -> None:
    """A run's stage is complete: advance the date, queue the next stage's (or date's) chunks
    (kept for messages queued before the chunk task moved the run on itself)."""
    from servicing.services.close import close_stage_complete

    _close_dispatch(*close_stage_complete(run_id=run_id))


@shared_task(name="servicing.collection_request", acks_late=True, ignore_result=True)
def collection_request_task(loan_id: int, on_date: str) -> str:
    """The scheduled debit (代扣) of one loan, sent by the start of ``on_date`` (the daily close):
    asks the payment channel once per loan and date; stale (the business date moved on) or
    unknown loans are skipped."""
    import datetime

    from servicing.models import Loan
    from servicing.services.calendar import business_date
    from servicing.services.repayments.collection import collection_request

    day = datetime.date.fromisoformat(on_date)
    loan = Loan.objects.filter(pk=loan_id).first()
    if loan is None or business_date() != day:
        return "skipped"
    debit = collection_request(loan=loan, business_date=day)
    return debit.status if debit is not None else "nothing"


@shared_task(name="servicing.collection_request_batch", acks_late=True, ignore_result=True)
def collection_request_batch_task(loan_ids: list[int], on_date: str) -> dict:
    """The scheduled debits of a batch of loans (the start of day sends ``CLOSE_DEBIT_BATCH_SIZE``
    loans per task, not a task per loan): each loan's request in turn, each idempotent per loan and
    date, so a redelivered batch asks nothing twice. A loan whose request raises is handed to a
    ``servicing.collection_request`` task of its own (logged), the batch goes on."""
    outcomes: dict[str, int] = {}
    for loan_id in loan_ids:
        try:
            outcome = collection_request_task.run(loan_id, on_date)
        except Exception:  # noqa: BLE001 — this loan alone is retried; the others are not held up
            logging.getLogger("servicing.close").exception("scheduled debit of loan %s on %s", loan_id, on_date)
            collection_request_task.apply_async((loan_id, on_date), countdown=60)
            outcome = "requeued"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
