"""What a credit decision or an in-loan check is taken for: ``AssessmentRequest``, a small value object the caller
(the credit flow, ``workflows``) builds from its application. Risk reads nothing of the
application itself; the decision and the data-source calls refer to it by its id (a string
foreign key, ``"workflows.CreditApplication"``).

The loan part of it, ``risk.strategies.LoanRequest`` (amount, term, unit, method and the start
date), is what limit and pricing compute on; it is built with the decision's date
(``loan_request``) and is the key of the strategies' schedule cache, so it stays free of the
applicant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .strategies import LoanRequest

__all__ = ["AssessmentRequest", "DrawdownCheckRequest"]


@dataclass(frozen=True)
class AssessmentRequest:
    """One application as risk sees it. ``product_version`` is the application's (immutable)
    ``products.ProductVersion``; ``applicant`` and ``enterprise`` are ``risk.Applicant`` and
    ``risk.Enterprise`` (or None)."""

    application_id: int
    product_version: Any
    applicant: Any
    enterprise: Any
    amount: Decimal
    term: int
    term_unit: str
    method: str
    purpose: str
    channel: str
    device_id: str = ""
    created_at: datetime | None = None  # when the application was made: the features' default date

    def loan_request(self, start_date: date) -> LoanRequest:
        """The loan asked for, starting on ``start_date`` (the decision's date)."""
        return LoanRequest(amount=self.amount, term=self.term, term_unit=self.term_unit, method=self.method,
                           start_date=start_date)


@dataclass(frozen=True)
class DrawdownCheckRequest:
    """One drawdown as the in-loan check (贷中支用审核) sees it, built by servicing from its
    ``Drawdown``. Ids, not objects: risk imports nothing of servicing. ``drawdown_reference``
    (the drawdown's number) makes the check idempotent: asking again returns the same check."""

    applicant_id: int
    product_id: int
    amount: Decimal
    drawdown_reference: str
    line_id: int | None = None
    product_version_id: int | None = None
    term: int | None = None
    term_unit: str = ""
    purpose: str = ""
    channel: str = ""
    device_id: str = ""
