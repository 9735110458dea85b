from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from creditfactory.core.models import StateTransition
from products import services
from products.models import LoanProduct, ProductStatus, ProductVersion
from products.selectors import ProductNotAvailable, product_version_for_origination
from tests.factories import make_branch, make_product
from tests.risk.factories import make_applicant
from workflows.models import CreditApplication


def _originate(version, branch, number="CA1"):
    return CreditApplication.objects.create(
        number=number, product_version=version, branch=branch, amount=Decimal("20000.00"), term=12,
        repayment_method="equal_installment", purpose="education", applicant=make_applicant(),
    )


def test_publishing_a_draft_creates_version_1_and_activates(db):
    product = make_product(publish=False)
    assert product.status == ProductStatus.DRAFT
    assert product.current_version is None
    version = services.product_publish(product=product, actor=None)
    product.refresh_from_db()
    assert (version.version, product.status, product.current_version) == (1, ProductStatus.ACTIVE, version)
    assert version.rate_max_percent == Decimal("8.000000")
    transition = StateTransition.objects.get(object_id=str(product.pk), to_state="active", from_state="draft")
    assert transition.reason == "Published version 1"


def test_editing_an_active_product_creates_the_next_version(db):
    product = make_product()
    services.product_update(product=product, actor=None, rate_max_percent=Decimal("7.5"))
    product.refresh_from_db()
    assert product.current_version.version == 2
    assert product.current_version.rate_max_percent == Decimal("7.500000")
    assert ProductVersion.objects.get(product=product, version=1).rate_max_percent == Decimal("8.000000")


def test_editing_a_draft_does_not_publish(db):
    product = make_product(publish=False)
    services.product_update(product=product, actor=None, name="Education loan 2")
    assert ProductVersion.objects.filter(product=product).count() == 0


def test_origination_keeps_its_version_after_an_edit(db):
    branch = make_branch("b1")
    product = make_product()
    application = _originate(product_version_for_origination(code="EDUCATION"), branch)
    services.product_update(product=product, actor=None, amount_max=Decimal("80000.00"), rate_max_percent=Decimal("7.2"))
    application.refresh_from_db()
    assert application.product_version.version == 1
    assert application.product_version.amount_max == Decimal("100000.00")
    assert application.product_version.rate_max_percent == Decimal("8.000000")
    later = _originate(product_version_for_origination(code="EDUCATION"), branch, number="CA2")
    assert later.product_version.version == 2
    assert later.product_version.amount_max == Decimal("80000.00")


def test_a_published_version_cannot_be_changed_or_deleted(db):
    version = make_product().current_version
    version.rate_max_percent = Decimal("30")
    with pytest.raises(ValidationError):
        version.save()
    with pytest.raises(ValidationError):
        version.delete()
    assert ProductVersion.objects.get(pk=version.pk).rate_max_percent == Decimal("8.000000")


def test_an_invalid_edit_of_an_active_product_changes_nothing(db):
    product = make_product()
    with pytest.raises(ValidationError) as info:
        services.product_update(product=product, actor=None, amount_min=Decimal("200000.00"))
    assert "amount_max" in info.value.message_dict
    product.refresh_from_db()
    assert product.amount_min == Decimal("10000.00")
    assert product.versions.count() == 1


def test_retired_product_is_not_on_offer_but_versions_remain(db):
    product = make_product()
    services.product_retire(product=product, actor=None, reason="end of campaign")
    assert LoanProduct.objects.get(pk=product.pk).status == ProductStatus.RETIRED
    with pytest.raises(ProductNotAvailable):
        product_version_for_origination(code="EDUCATION")
    assert product.versions.count() == 1
    assert StateTransition.objects.filter(object_id=str(product.pk), to_state="retired",
                                          reason="end of campaign").exists()


def test_draft_is_not_on_offer(db):
    make_product(publish=False)
    with pytest.raises(ProductNotAvailable):
        product_version_for_origination(code="EDUCATION")
    with pytest.raises(ProductNotAvailable):
        product_version_for_origination(code="NOPE")


def test_product_edits_are_in_history_with_the_actor(admin_user):
    product = make_product()
    services.product_update(product=product, actor=admin_user, name="Education loan (2027)")
    latest = product.history.order_by("-history_id").first()
    assert latest.name == "Education loan (2027)"
    assert latest.history_user == admin_user
