"""Helpers of the partner-API origination tests: a partner selling the test product with a key,
request bodies (sandbox applicants by ID sequence, docs/sandbox.md), a signing schedule, and the
next Monday (always in the future, so slots are bookable)."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tests.partners.factories import issue_key, make_partner, partner_client
from tests.documents import pdf_bytes, png_bytes
from tests.workflows.factories import make_schedule, make_signing_group
from tests.workflows.flow_factories import Origination, applicant_data, setup_origination

URL = "/api/v1/applications"
PNG = png_bytes()
PDF = pdf_bytes()


@dataclass
class Api:
    o: Origination
    partner: object
    client: object
    key: str


def api_setup(code: str = "EDUCATION", *, partner_code: str = "ACME", signing: bool = False,
              straight_through: bool = False, **origination) -> Api:
    """A product (review + approval by default; ``straight_through``: sandbox approvals within
    20,000.00 go straight to the contract or signing) sold by one partner with a fresh key."""
    if straight_through:
        origination.update(auto_approval=True, ceiling=Decimal("20000.00"), approval=False)
    o = setup_origination(code, signing=signing, **origination)
    partner = make_partner(partner_code, branch=o.branch, products=[o.product], throttle_rate="100000/min")
    key = issue_key(partner)
    return Api(o, partner, partner_client(key), key)


def another_partner(api: Api, code: str = "OTHER"):
    partner = make_partner(code, branch=api.o.branch, products=[api.o.product], throttle_rate="100000/min")
    return partner, partner_client(issue_key(partner))


def body(sequence: str = "123", *, product: str = "EDUCATION", **overrides) -> dict:
    applicant = applicant_data(sequence)
    applicant["monthly_income"] = str(applicant["monthly_income"])
    data = {
        "product": product, "amount": "20000.00", "term": 12, "term_unit": "months",
        "repayment_method": "equal_installment", "purpose": "education", "applicant": applicant,
        "consents": {"credit_report": True, "personal_information": True},
    }
    data.update(overrides)
    return data


def next_monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def signing_schedule(api: Api, officer, *, capacity: int = 2):
    group = make_signing_group(branch=api.o.branch, code="signing", members=[officer])
    return make_schedule(work_group=group, capacity=capacity)


def ensure_permissions():
    """Content types and permissions for every app. A transactional test's flush removes them and
    only a serialized rollback (which ``--nomigrations`` has nothing to serialize for) would bring
    them back; creating the missing ones is a no-op when they are there."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0)
        create_permissions(app_config, verbosity=0)
