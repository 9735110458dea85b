"""The Celery task that pays a drawdown out, sent by the drawdown flow's ``disburse`` step once
its round commits (``workflows.services.drawdown_steps.step_disburse``). Kept apart from
``workflows.tasks`` so the step can import it (``workflows.tasks`` imports the flow's services).

Thin and safe to run any number of times: ``disbursement_send`` prepares one disbursement per
drawdown, its reference derived from the drawdown (``PAY-<number>``), and asks the channel again
only while no send was accepted — with the same reference, which the channel dedupes. A worker
killed between the channel's answer and its commit therefore pays once when the task is
redelivered (``acks_late``): the redelivered task prepares the same reference and asks again."""

from __future__ import annotations

from celery import shared_task

from servicing.fastpath import DRAWDOWN_TO_PAY
from servicing.models import DrawdownStatus
from servicing.services.payments import disbursement_send

__all__ = ["drawdown_disbursement_send"]


@shared_task(name="workflows.drawdown_disbursement_send", acks_late=True, ignore_result=True)
def drawdown_disbursement_send(drawdown_id: int) -> str:
    drawdown = DRAWDOWN_TO_PAY.get(drawdown_id)  # with its applicant, one prebuilt statement
    if drawdown is None or drawdown.status != DrawdownStatus.DISBURSING:
        return "skipped"
    return disbursement_send(drawdown=drawdown).status
