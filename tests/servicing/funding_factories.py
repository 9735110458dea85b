"""Factories for funding and disbursement tests: a granted line, a drawdown on it (made directly:
these tests exercise routing and the channel, not drawdown creation), funders, pairs and rules."""

import itertools
from decimal import Decimal

import pytest
from django.utils import translation

from creditfactory.core.pii import mask_bank_account
from servicing.models import CoLendingPair, CoLendingShare, Drawdown, Funder, PaymentChannel, RoutingRule
from servicing.services import business_date, credit_line_grant
from tests.factories import make_product
from tests.risk.factories import make_applicant, make_application

_numbers = itertools.count(1)


def make_line(*, product=None, grade: str = "B", sequence: str = "123", region: str = "110105", limit=None):
    from products.models import LoanProduct

    product = product or LoanProduct.objects.filter(code="EDUCATION").first() or make_product("EDUCATION")
    application = make_application(product=product, applicant=make_applicant(sequence=sequence, region=region))
    line = credit_line_grant(application=application, decision=None, actor_label="test")
    line.grade = grade
    line.limit = limit or Decimal("100000.00")
    line.save(update_fields=["grade", "limit"])
    return line


def make_drawdown(*, line=None, amount=Decimal("20000.00"), term: int = 12, bank_account: str = "6222021234567890128",
                  status: str = "routing", **fields) -> Drawdown:
    line = line or make_line()
    return Drawdown.objects.create(
        number=fields.pop("number", f"DD{next(_numbers):08d}"), credit_line=line, applicant=line.applicant,
        product_version=line.product_version, branch=line.branch, channel="api", amount=Decimal(amount), term=term,
        term_unit="months", repayment_method="equal_installment", purpose="education", bank_account=bank_account,
        bank_account_masked=mask_bank_account(bank_account), requested_on=business_date(), status=status, **fields)


def make_funder(code: str, *, kind: str = "own", priority: int = 100, cost="4.5", daily_quota=None, total_quota=None,
                products=(), **fields) -> Funder:
    funder = Funder.objects.create(
        code=code, name=fields.pop("name", code.upper()), kind=kind, priority=priority,
        cost_of_funds_percent=Decimal(cost), daily_quota=None if daily_quota is None else Decimal(daily_quota),
        total_quota=None if total_quota is None else Decimal(total_quota), **fields)
    funder.products.set(products)
    return funder


def make_pair(code: str, shares, *, name: str | None = None) -> CoLendingPair:
    pair = CoLendingPair.objects.create(code=code, name=name or code.upper())
    for funder, percent in shares:
        CoLendingShare.objects.create(pair=pair, funder=funder, share_percent=Decimal(percent))
    return pair


def make_rule(name: str, *, funder=None, pair=None, priority: int = 100, products=(), **conditions) -> RoutingRule:
    rule = RoutingRule.objects.create(name=name, funder=funder, pair=pair, priority=priority, **conditions)
    rule.products.set(products)
    return rule


def make_channel(code: str = "sandbox", **fields) -> PaymentChannel:
    return PaymentChannel.objects.create(code=code, name=fields.pop("name", "Sandbox bank"),
                                         callback_secret=fields.pop("callback_secret", "test-secret-123"), **fields)


@pytest.fixture
def english():
    """The texts these tests compare are English: another test that left a language active in
    this thread must not change them."""
    with translation.override("en"):
        yield
