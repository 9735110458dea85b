"""Credit growth (额度动态调整 / 信用成长): the periodic review of credit lines.

For each product with an enabled ``CreditGrowthPolicy``, the lines due for review (cadence,
default quarterly, since their last review or grant) are read with their repayment history over
the window in one aggregate query (``servicing.selectors.growth``). Then per line, in its own
transaction:

* **on-time history** (installments fell due in the window, none was ever overdue in it, no loan
  past due now): limit × (1 + increase %) capped at the product's maximum amount, and rate −
  the step, floored at the product's minimum rate — one change (an increase carrying the new
  rate, or a rate change when the limit is at its cap), nothing when both are at their bounds;
* **late history**: the limit × (1 − decrease %), not below what is drawn and held; or a freeze
  (the policy's choice, or when the limit cannot be lowered);
* **no installment due in the window**: nothing.

Every change goes through the line-change flow (``line_change_submit``, source ``system``: applied
directly) with the review's finding as its reason; the line's partner gets ``line.changed``
(from ``line_change_apply``), a borrower of the own channel a text (SMS outbox). Each review is
recorded (``CreditLineReview``, unique per line and business date), so a re-run of the same date
reviews nothing twice.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.display import format_money, format_rate
from creditfactory.core.messaging.services import sms_send
from creditfactory.core.messaging.templates import SmsTemplate, register_template
from creditfactory.core.money import quantize_fen
from creditfactory.core.texts import stored_text
from products.engine.dates import add_months
from servicing.models import (
    CreditGrowthPolicy, CreditLine, CreditLineChangeKind, CreditLineChangeSource, CreditLineChangeStatus,
    CreditLineReview, CreditLineStatus, LateAction, ReviewFinding,
)
from servicing.selectors.growth import LineHistory, line_histories, lines_due_for_review
from servicing.services.calendar import business_date as current_business_date

from .line_changes import line_change_submit

__all__ = ["GROWTH_TEMPLATE", "credit_growth_review", "line_review"]

logger = logging.getLogger("workflows.credit_growth")
HUNDRED = Decimal(100)
SYSTEM_LABEL = "system"
BATCH = 500

GROWTH_TEMPLATE = register_template(SmsTemplate(
    code="credit_line_review",
    texts={
        "zh-hans": "您的授信额度经定期评估已调整：额度{limit}元，利率{rate}，状态{status}。",
        "en": "Your credit line has been reviewed: limit CNY {limit}, rate {rate}, status {status}.",
    },
    description="Credit growth review (额度动态调整): the line's new limit, rate and status.",
))


def _product_terms(line: CreditLine):
    """The bounds: the product's published terms (its current version), else the line's version."""
    product = line.product_version.product
    return product.current_version or line.product_version


def _on_time_change(line: CreditLine, policy: CreditGrowthPolicy) -> dict | None:
    terms = _product_terms(line)
    new_limit = min(quantize_fen(line.limit * (HUNDRED + policy.increase_percent) / HUNDRED), terms.amount_max)
    new_rate = line.rate_percent
    if line.rate_basis == terms.rate_basis:
        new_rate = max(line.rate_percent - policy.rate_step_points, terms.rate_min_percent)
    if new_limit > line.limit:
        return {"kind": CreditLineChangeKind.INCREASE, "new_limit": new_limit,
                "new_rate_percent": new_rate if new_rate < line.rate_percent else None}
    if new_rate < line.rate_percent:
        return {"kind": CreditLineChangeKind.RATE, "new_rate_percent": new_rate}
    return None


def _late_change(line: CreditLine, policy: CreditGrowthPolicy) -> dict:
    if policy.late_action == LateAction.DECREASE:
        lowered = quantize_fen(line.limit * (HUNDRED - policy.decrease_percent) / HUNDRED)
        new_limit = max(lowered, line.used + line.held)
        if new_limit < line.limit:
            return {"kind": CreditLineChangeKind.DECREASE, "new_limit": new_limit}
    return {"kind": CreditLineChangeKind.FREEZE}


def _reason(history: LineHistory, *, finding: str, start: datetime.date, on: datetime.date) -> str:
    figures = {"start": start.isoformat(), "date": on.isoformat(), "due": history.due, "late": history.late,
               "dpd": history.days_past_due}
    if finding == ReviewFinding.ON_TIME:
        text = _("Credit growth review of %(date)s: %(due)s installment(s) due since %(start)s, none overdue.")
    else:
        text = _("Credit growth review of %(date)s: %(late)s installment(s) overdue since %(start)s, "
                 "%(dpd)s day(s) past due now.")
    return (text % figures)[:500]


def _notify(line: CreditLine, change) -> None:
    """A borrower of the own channel gets a text; a partner's borrower hears from the partner
    (``line.changed``, sent by the change itself)."""
    if line.partner_id:
        return
    line.refresh_from_db()
    with translation.override(settings.SMS_DEFAULT_LANGUAGE):
        context = {"limit": format_money(line.limit), "rate": format_rate(line.rate_percent, line.rate_basis),
                   "status": str(CreditLineStatus(line.status).label)}
    sms_send(mobile=line.applicant.mobile, template=GROWTH_TEMPLATE.code, context=context, related=line,
             language=settings.SMS_DEFAULT_LANGUAGE, dedupe_key=f"{GROWTH_TEMPLATE.code}:{change.number}")


@transaction.atomic
def line_review(*, line: CreditLine, policy: CreditGrowthPolicy, history: LineHistory | None,
                business_date: datetime.date) -> CreditLineReview | None:
    """Review one line (its own transaction): record the finding and request the change it calls
    for through the line-change flow. None when the line was reviewed on this date already."""
    start = add_months(business_date, -policy.window)
    history = history or LineHistory(due=0, late=0, days_past_due=0)
    if not history.on_time:
        finding = ReviewFinding.LATE
    elif history.due:
        finding = ReviewFinding.ON_TIME
    else:
        finding = ReviewFinding.NO_HISTORY
    try:
        with transaction.atomic():
            review = CreditLineReview.objects.create(
                credit_line=line, business_date=business_date, window_start=start, finding=finding,
                installments_due=history.due, installments_late=history.late,
                max_days_past_due=history.days_past_due)
    except IntegrityError:
        return None
    change_args = None
    if finding == ReviewFinding.ON_TIME:
        change_args = _on_time_change(line, policy)
        if change_args is None:
            review.note = stored_text(gettext_noop("The limit and the rate are at the product's bounds."))
    elif finding == ReviewFinding.LATE:
        change_args = _late_change(line, policy)
    if change_args is not None:
        try:
            change = line_change_submit(line=line, source=CreditLineChangeSource.SYSTEM, actor_label=SYSTEM_LABEL,
                                        reason=_reason(history, finding=finding, start=start, on=business_date),
                                        **change_args)
        except ValidationError as exc:  # the line changed meanwhile (e.g. frozen): nothing asked
            review.note = "; ".join(exc.messages)[:500]
        else:
            review.change = change
            if change.status == CreditLineChangeStatus.APPLIED:
                _notify(line, change)
    review.save(update_fields=["note", "change", "updated_at"])
    return review


def credit_growth_review(*, business_date: datetime.date | None = None, product=None) -> dict:
    """Review every line due for review on ``business_date`` (default: the business date), per
    enabled policy (``product``: only that product's). Returns counts by finding and of changes
    applied. Safe to re-run: a line is reviewed once per date, and not again before its cadence."""
    on = business_date or current_business_date()
    counts = {"reviewed": 0, **{finding: 0 for finding in ReviewFinding.values}, "changed": 0}
    policies = CreditGrowthPolicy.objects.filter(enabled=True).select_related("product")
    if product is not None:
        policies = policies.filter(product=product)
    for policy in policies:
        start = add_months(on, -policy.window)
        line_ids = list(lines_due_for_review(policy=policy, business_date=on).values_list("pk", flat=True))
        for offset in range(0, len(line_ids), BATCH):
            batch = line_ids[offset:offset + BATCH]
            histories = line_histories(line_ids=batch, window_start=start, business_date=on)
            lines = CreditLine.objects.select_related("product_version__product__current_version", "applicant")
            for line in lines.filter(pk__in=batch).order_by("pk"):
                review = line_review(line=line, policy=policy, history=histories.get(line.pk), business_date=on)
                if review is None:
                    continue
                counts["reviewed"] += 1
                counts[review.finding] += 1
                if review.change_id and review.change.status == CreditLineChangeStatus.APPLIED:
                    counts["changed"] += 1
    logger.info("credit growth review of %s: %s", on.isoformat(), counts)
    return counts
