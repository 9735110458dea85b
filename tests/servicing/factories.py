"""Factories for the money half: funders, credit lines, drawdowns with their funding parts — the
rows a booked loan starts from. Lines are granted through ``credit_line_grant``; drawdown and
funding rows are written as the drawdown and funding services leave them at disbursement."""

from __future__ import annotations

import datetime
from decimal import Decimal
from itertools import count

from creditfactory.core.pii import mask_id_number
from servicing.models import Drawdown, DrawdownFunding, DrawdownStatus, Funder, FundingHoldStatus
from servicing.services import credit_line_grant
from servicing.services.ledger import split_by_share
from tests.risk.factories import make_applicant, make_application

_numbers = count(1)


def make_funder(code: str = "own", *, kind: str = "own", cost_of_funds_percent=Decimal("3.5"), priority=100,
                **fields) -> Funder:
    funder, _created = Funder.objects.get_or_create(
        code=code, defaults=dict(name=fields.pop("name", code.upper()), kind=kind,
                                 cost_of_funds_percent=cost_of_funds_percent, priority=priority, **fields))
    return funder


def make_line(*, product=None, limit=Decimal("50000.00"), rate_percent=Decimal("7"), partner=None, sequence="123",
              **fields):
    application = make_application(product=product, applicant=make_applicant(sequence=sequence), partner=partner)
    line = credit_line_grant(application=application, decision=None, actor_label="test")
    values = {"limit": limit, "rate_percent": rate_percent, **fields}
    for name, value in values.items():
        setattr(line, name, value)
    line.save(update_fields=list(values))
    return line


def make_drawdown(*, line, amount=Decimal("20000.00"), term=12, repayment_method="equal_installment",
                  funders: list[tuple[Funder, Decimal]] | None = None, status=DrawdownStatus.DISBURSING,
                  value_date: datetime.date | None = None, **fields) -> Drawdown:
    """A drawdown as the flow leaves it before booking: disbursing, its funding parts routed
    (``funders``: ``[(funder, share_percent), …]``, default one own-funds funder at 100 %)."""
    number = f"DD{next(_numbers):08d}"
    drawdown = Drawdown.objects.create(
        number=number, credit_line=line, applicant=line.applicant, product_version=line.product_version,
        branch=line.branch, partner=line.partner, channel=fields.pop("channel", "api"), amount=amount, term=term,
        term_unit=line.product_version.term_unit, repayment_method=repayment_method,
        purpose=fields.pop("purpose", "education"), bank_account="6222021234567890128",
        bank_account_masked=mask_id_number("6222021234567890128")[:32], status=status,
        requested_on=value_date or datetime.date(2026, 12, 4), value_date=value_date, **fields)
    funders = funders or [(make_funder(), Decimal(100))]
    parts = split_by_share(amount=amount, shares=[(funder.pk, share) for funder, share in funders])
    lead = max(funders, key=lambda pair: pair[1])[0]
    DrawdownFunding.objects.bulk_create([
        DrawdownFunding(drawdown=drawdown, funder=funder, share_percent=share, principal=parts[funder.pk],
                        rate_percent=funder.cost_of_funds_percent, lead=funder == lead,
                        business_date=drawdown.requested_on, hold_status=FundingHoldStatus.POSTED)
        for funder, share in funders])
    return drawdown
