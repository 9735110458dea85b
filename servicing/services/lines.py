"""Writes of servicing. ``credit_line_grant`` is called by the credit flow's grant node."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from creditfactory.core.money import quantize_fen
from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text

from products.engine.dates import add_months
from servicing.models import CreditLine, CreditLineStatus

__all__ = ["credit_line_grant"]


@transaction.atomic
def credit_line_grant(*, application, decision, actor=None, actor_label: str = "") -> CreditLine:
    """Grant the credit line (授信额度) of an approved application; idempotent per application.

    Limit, rate and grade come from the risk ``decision``. Without one (the automated
    assessment failed and staff approved), or when it gives no limit or rate, the requested
    amount and the product version's default rate apply. Valid for the product's line
    validity from today.
    """
    existing = CreditLine.objects.filter(application=application).first()
    if existing is not None:
        return existing
    version = application.product_version
    limit = decision.limit if decision is not None and decision.limit else application.amount
    has_rate = decision is not None and decision.rate_percent is not None
    valid_from = timezone.localdate()
    values = dict(
        application=application, applicant_id=application.applicant_id, enterprise_id=application.enterprise_id,
        product_version=version, decision=decision, branch_id=application.branch_id,
        partner_id=application.partner_id, limit=quantize_fen(limit),
        rate_percent=decision.rate_percent if has_rate else version.rate_default_percent,
        rate_basis=(decision.rate_basis or version.rate_basis) if has_rate else version.rate_basis,
        grade=decision.grade if decision is not None else "",
        valid_from=valid_from, valid_until=add_months(valid_from, version.line_validity_months),
        status=CreditLineStatus.ACTIVE, revolving=version.line_revolving,
    )
    try:
        with transaction.atomic():  # savepoint: a concurrent grant of the same application wins
            line = CreditLine(**values)
            if getattr(actor, "pk", None):
                line._history_user = actor
            line.save()
    except IntegrityError:
        return CreditLine.objects.get(application=application)
    user = actor if getattr(actor, "pk", None) else None
    record_transition(line, from_state="", to_state=CreditLineStatus.ACTIVE, actor=user,
                      actor_label="" if user else (actor_label or "system"),
                      reason=stored_text(gettext_noop("Granted for application %(number)s."),
                                         number=application.number))
    return line
