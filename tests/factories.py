"""factory_boy factories shared by the suite. Domain objects are made through their services so
tests exercise the same invariants as production code."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from creditfactory.organisations import services as org_services
from creditfactory.organisations.models import Branch
from products import services as product_services
from products.models import LoanProduct


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pass-1234-word")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


def make_branch(code: str, *, name: str | None = None, parent: Branch | None = None) -> Branch:
    return org_services.branch_create(code=code, name=name or code.title(), parent=parent)


def make_staff(username: str, *branches: Branch, **fields):
    user = UserFactory(username=username, **fields)
    for branch in branches:
        org_services.staff_join_branch(user=user, branch=branch)
    return user


EDUCATION_TERMS = dict(
    name="Education loan",
    product_type="consumer",
    amount_min=Decimal("10000.00"),
    amount_max=Decimal("100000.00"),
    term_unit="months",
    term_min=6,
    term_max=36,
    rate_basis="annual",
    rate_min_percent=Decimal("6"),
    rate_default_percent=Decimal("7"),
    rate_max_percent=Decimal("8"),
    repayment_methods=["equal_installment", "equal_principal"],
    purposes=["education"],
    upfront_fee_percent=Decimal("0"),
)


def make_product(code: str = "EDUCATION", *, publish: bool = True, actor=None, **overrides) -> LoanProduct:
    terms = {**EDUCATION_TERMS, **overrides}
    product = product_services.product_create(actor=actor, code=code, **terms)
    if publish:
        product_services.product_publish(product=product, actor=actor)
        product.refresh_from_db()
    return product


def make_credit_line(*, limit=Decimal("50000.00"), product=None, partner=None, applicant=None, revolving=True,
                     status="active", **fields):
    """An active credit line granted for an approved application (made directly: the credit flow
    has its own tests)."""
    import datetime

    from servicing.models import CreditLine
    from servicing.services.calendar import business_date
    from tests.risk.factories import make_application

    application = make_application(product=product, applicant=applicant, partner=partner,
                                   branch=partner.branch if partner is not None else None)
    today = business_date()
    values = dict(application=application, applicant=application.applicant,
                  product_version=application.product_version, branch=application.branch, partner=partner,
                  limit=Decimal(limit), rate_percent=Decimal("7"), rate_basis="annual", grade="B",
                  valid_from=today, valid_until=today + datetime.timedelta(days=365), status=status,
                  revolving=revolving)
    values.update(fields)
    return CreditLine.objects.create(**values)


DRAWDOWN_DATA = dict(amount="20000.00", term=12, term_unit="months", repayment_method="equal_installment",
                     purpose="education", bank_account="6222021234567890128", external_reference="")
