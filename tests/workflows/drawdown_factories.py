"""Helpers of the drawdown tests: a partner with a key and an active line of its own."""

from dataclasses import dataclass
from decimal import Decimal

from tests.factories import DRAWDOWN_DATA, make_credit_line, make_product
from tests.partners.factories import issue_key, make_partner, partner_client


@dataclass
class LineApi:
    partner: object
    client: object
    line: object


def line_api(*, code: str = "ACME", limit=Decimal("50000.00"), product=None, **line_fields) -> LineApi:
    from products.models import LoanProduct

    product = product or LoanProduct.objects.filter(code="EDUCATION").first() or make_product("EDUCATION")
    partner = make_partner(code, products=[product], throttle_rate="100000/min")
    line = make_credit_line(limit=limit, product=product, partner=partner, **line_fields)
    return LineApi(partner, partner_client(issue_key(partner)), line)


def drawdown_body(**overrides) -> dict:
    return {**DRAWDOWN_DATA, **overrides}
