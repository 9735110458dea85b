"""The funding demo data: three business models, rules that use all three, the sandbox channel;
seeding twice adds nothing."""

from decimal import Decimal

import pytest

from products import demo as products_demo
from products.models import LoanProduct
from servicing import demo_funding
from servicing.models import CoLendingPair, Funder, PaymentChannel, RoutingRule
from servicing.routing import RouteSample
from servicing.services import funding_preview

from .funding_factories import english

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_demo_routes_to_own_funds_the_bank_and_the_co_lending_pair():
    lines = []
    products_demo.seed(context={}, log=lambda _m: None)
    demo_funding.seed(context={}, log=lines.append)
    demo_funding.seed(context={}, log=lines.append)
    assert len(lines) == 3 + 1 + 4 + 1  # the second run added nothing
    assert sorted(Funder.objects.values_list("kind", flat=True)) == ["co_lender", "facilitation", "own"]
    pair = CoLendingPair.objects.get()
    assert sorted((s.funder.code, s.share_percent) for s in pair.shares.all()) == [
        ("bank-co", Decimal("70.000000")), ("own", Decimal("30.000000"))]
    assert RoutingRule.objects.count() == 4 and PaymentChannel.objects.get().provider == "sandbox"
    products = {p.code: p for p in LoanProduct.objects.all()}

    def route(code, amount):
        outcome = funding_preview(sample=RouteSample(product_id=products[code].pk, product_code=code,
                                                     amount=Decimal(amount), term=12))
        return outcome.pair.code if outcome.pair else outcome.funder.code

    assert route("BUSINESS", "100000.00") == "co-30-70"
    assert route("RENOVATION", "30000.00") == "co-30-70"
    assert route("EDUCATION", "80000.00") == "bank-a"
    assert route("EDUCATION", "50000.00") == "own"
    assert route("EMERGENCY", "5000.00") == "own"
