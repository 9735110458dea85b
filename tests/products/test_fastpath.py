"""products.fastpath: the origination's read of a product must give exactly what the ORM gives."""

import pytest
from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Value
from django.test.utils import CaptureQueriesContext

from products import services
from products.fastpath import ProductOffer, product_offer_read
from products.models import LoanProduct
from tests.partners.factories import make_partner
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def _orm_offer(*, code: str, partner_id: int | None) -> ProductOffer | None:
    if partner_id is None:
        open_to_partner = Value(False, output_field=BooleanField())
    else:
        open_to_partner = Exists(LoanProduct.objects.filter(pk=OuterRef("pk"), partners=partner_id))
    row = (
        LoanProduct.objects.filter(code=code)
        .annotate(open_to_partner=open_to_partner)
        .values_list("id", "status", "current_version_id", "updated_at", "open_to_partner")
        .first()
    )
    return None if row is None else ProductOffer(*row)


def _read(*, code: str, partner_id: int | None) -> ProductOffer | None:
    with CaptureQueriesContext(connection) as queries:
        offer = product_offer_read(code=code, partner_id=partner_id)
    assert len(queries) == 1
    return offer


def test_an_active_product_reads_as_the_orm_reads_it_for_a_partner_that_sells_it_or_not():
    product = make_product("EDUCATION")
    selling = make_partner("ACME", products=[product])
    other = make_partner("OTHER", branch=selling.branch)
    for partner_id in (selling.pk, other.pk, None):
        offer = _read(code="EDUCATION", partner_id=partner_id)
        assert offer == _orm_offer(code="EDUCATION", partner_id=partner_id)
        assert (offer.product_id, offer.status, offer.current_version_id) == (
            product.pk, "active", product.current_version_id)
        assert offer.open_to_partner is (partner_id == selling.pk)
        assert offer.updated_at == product.updated_at and offer.updated_at.tzinfo is not None


def test_a_draft_and_a_retired_product_read_as_the_orm_reads_them():
    draft = make_product("DRAFTED", publish=False)
    retired = make_product("OLD")
    services.product_retire(product=retired, actor=None)
    partner = make_partner("ACME", products=[draft, retired])
    for code in ("DRAFTED", "OLD"):
        offer = _read(code=code, partner_id=partner.pk)
        assert offer == _orm_offer(code=code, partner_id=partner.pk)
        assert offer.open_to_partner is True
    assert _read(code="DRAFTED", partner_id=None)[1:3] == ("draft", None)
    assert _read(code="OLD", partner_id=None)[1:3] == ("retired", retired.current_version_id)


def test_an_unknown_code_reads_none_as_the_orm_finds_nothing():
    make_product("EDUCATION")
    assert _read(code="NOPE", partner_id=None) is None
    assert _orm_offer(code="NOPE", partner_id=None) is None
