"""A credit line with chosen figures, without running the credit flow: an application row (the
line's one-to-one origin) and the line itself."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from servicing.models import CreditLine
from tests.risk.factories import make_applicant, make_application


def make_line(*, limit="50000.00", used="0.00", held="0.00", status="active", partner=None, product=None,
              applicant=None, branch=None, valid_until=None, revolving=True, sequence="123") -> CreditLine:
    application = make_application(product=product, branch=branch, applicant=applicant or make_applicant(
        sequence=sequence), partner=partner)
    today = timezone.localdate()
    valid_until = valid_until or today + timedelta(days=365)
    return CreditLine.objects.create(
        application=application, applicant=application.applicant, product_version=application.product_version,
        branch=application.branch, partner=partner, limit=Decimal(limit), used=Decimal(used), held=Decimal(held),
        revolving=revolving, rate_percent=Decimal("7"), rate_basis="annual", grade="B",
        valid_from=min(today, valid_until - timedelta(days=365)), valid_until=valid_until, status=status,
    )
