"""Credit lines granted by the credit flow: values from the risk decision, validity, idempotency,
the fallback without a decision, the state log, and the read-only admin."""

from decimal import Decimal

import pytest
from django.utils import timezone

from creditfactory.core.state import transitions_for
from risk.services.decisions import risk_assess
from products.engine.dates import add_months
from servicing.models import CreditLine
from servicing.services import credit_line_grant
from tests.risk.factories import make_applicant, make_application
from tests.risk.policy_factories import configure_sources, make_policy
from tests.factories import make_product
from workflows.selectors.assessment import assessment_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided():
    configure_sources()
    product = make_product("EDUCATION", line_validity_months=6)
    make_policy(product)
    application = make_application(product=product, applicant=make_applicant(sequence="123"))
    return application, risk_assess(request=assessment_request(application))


def test_a_line_takes_limit_rate_and_grade_from_the_decision(decided, admin_user):
    application, decision = decided
    line = credit_line_grant(application=application, decision=decision, actor=admin_user)
    today = timezone.localdate()
    assert (line.limit, line.used, line.rate_percent, line.rate_basis, line.grade, line.status) == (
        Decimal("40000.00"), Decimal("0"), Decimal("7.000000"), "annual", "C", "active")
    assert (line.valid_from, line.valid_until) == (today, add_months(today, 6))
    assert (line.applicant, line.product_version, line.decision, line.branch) == (
        application.applicant, application.product_version, decision, application.branch)
    [move] = transitions_for(line)
    assert (move.from_state, move.to_state, move.actor) == ("", "active", admin_user)
    assert line.history.count() == 1 and line.history.first().history_user == admin_user


def test_granting_twice_returns_the_same_line(decided):
    application, decision = decided
    first = credit_line_grant(application=application, decision=decision)
    assert credit_line_grant(application=application, decision=decision) == first
    assert CreditLine.objects.count() == 1
    assert transitions_for(first).count() == 1


def test_without_a_decision_the_requested_amount_and_default_rate_apply(decided):
    application, _decision = decided
    line = credit_line_grant(application=application, decision=None, actor_label="system")
    assert (line.limit, line.rate_percent, line.grade, line.decision) == (
        Decimal("20000.00"), Decimal("7.000000"), "", None)


def test_the_admin_lists_lines_read_only_and_masked(admin_client, decided):
    application, decision = decided
    credit_line_grant(application=application, decision=decision)
    page = admin_client.get("/admin/servicing/creditline/").content.decode()
    assert application.number in page
    assert application.applicant.id_number_masked in page and application.applicant.id_number not in page
    assert admin_client.get("/admin/servicing/creditline/add/").status_code == 403
