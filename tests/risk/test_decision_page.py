"""The back-office decision pages (branch-scoped, masked, no N+1) and the API decision summary."""


import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from creditfactory.organisations.models import Branch
from risk.serializers.decisions import DecisionSummarySerializer
from risk.services.decisions import risk_assess
from tests.factories import make_branch, make_product, make_staff
from tests.risk.factories import make_applicant, make_application
from workflows.selectors.assessment import assessment_request

from .policy_factories import configure_sources, make_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    return product


def staff(username, branch, *, can_view=True):
    user = make_staff(username, branch)
    if can_view:
        user.user_permissions.add(Permission.objects.get(codename="view_decision"))
    return user


def hq():
    return Branch.objects.filter(code="hq").first() or make_branch("hq")


def test_the_decision_page_explains_the_decision(client, product):
    applicant = make_applicant(sequence="981", mobile="13812345678")
    application = make_application(product=product, applicant=applicant, branch=hq())
    decision = risk_assess(request=assessment_request(application))
    client.force_login(staff("reviewer", hq()))
    response = client.get(f"/risk/decisions/{decision.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="outcome" class="outcome-reject">Reject<' in body
    assert "BUREAU_SEVERE_OVERDUE" in body and "T_DIRECT/SEVERE_OVERDUE" in body
    assert "Overdue now and &gt; 90 DPD in 24 months" in body  # internal description
    assert "Credit record does not qualify" in body  # customer-facing reason
    assert "<code>bureau.overdue_count &gt; 0 and bureau.max_dpd_24m &gt; 90</code>" in body
    assert 'id="total-cost">3.60<' in body
    assert [s["status"] for s in response.context["sources"]] == ["ok"] * 5
    assert applicant.id_number not in body
    assert "13812345678" not in body


def test_the_score_breakdown_is_shown(client, product):
    decision = risk_assess(request=assessment_request(make_application(product=product, branch=hq())))
    client.force_login(staff("reviewer", hq()))
    response = client.get(f"/risk/decisions/{decision.pk}/")
    body = response.content.decode()
    assert "<td>Bureau score</td><td><code>bureau.score</code></td><td>669</td><td>600–699</td>" in body
    assert '<td colspan="4">Score (base score plus points)</td><td class="num">620</td>' in body
    assert 'id="limit">40,000.00<' in body


def test_the_application_link_opens_its_current_decision(client, product):
    decision = risk_assess(request=assessment_request(make_application(product=product, branch=hq())))
    client.force_login(staff("reviewer", hq()))
    response = client.get(f"/risk/decisions/application/{decision.application_id}/")
    assert (response.status_code, response["Location"]) == (302, f"/risk/decisions/{decision.pk}/")


def test_decision_pages_are_scoped_to_the_users_branches(client, product):
    shanghai = make_branch("shanghai", parent=hq())
    beijing = make_branch("beijing", parent=hq())
    decision = risk_assess(request=assessment_request(make_application(product=product, branch=shanghai)))
    client.force_login(staff("bj_reviewer", beijing))
    assert client.get(f"/risk/decisions/{decision.pk}/").status_code == 404
    assert client.get(f"/risk/decisions/application/{decision.application_id}/").status_code == 404
    assert list(client.get("/risk/decisions/").context["decisions"]) == []
    client.force_login(staff("hq_reviewer", hq()))  # head office sees its branches
    assert client.get(f"/risk/decisions/{decision.pk}/").status_code == 200
    assert list(client.get("/risk/decisions/").context["decisions"]) == [decision]


def test_decision_pages_need_the_view_permission(client, product):
    decision = risk_assess(request=assessment_request(make_application(product=product, branch=hq())))
    client.force_login(staff("manager", hq(), can_view=False))
    assert client.get(f"/risk/decisions/{decision.pk}/").status_code == 403
    assert client.get("/risk/decisions/").status_code == 403


def test_the_decision_list_runs_the_same_queries_for_any_number_of_rows(client, product):
    branch = hq()
    client.force_login(staff("reviewer", branch))
    for sequence in ("101", "102"):
        application = make_application(product=product, branch=branch, applicant=make_applicant(sequence=sequence))
        risk_assess(request=assessment_request(application))
    with CaptureQueriesContext(connection) as two:
        assert client.get("/risk/decisions/").status_code == 200
    for sequence in ("103", "104", "105", "106"):
        application = make_application(product=product, branch=branch, applicant=make_applicant(sequence=sequence))
        risk_assess(request=assessment_request(application))
    with CaptureQueriesContext(connection) as six:
        response = client.get("/risk/decisions/")
    assert len(response.context["decisions"]) == 6
    # 9: the header reads the business date; the sidebar asks whether the user works in a signing group
    assert len(six.captured_queries) == len(two.captured_queries) == 9


def test_the_outcome_filter(client, product):
    branch = hq()
    client.force_login(staff("reviewer", branch))
    approved = risk_assess(request=assessment_request(make_application(product=product, branch=branch)))
    rejected = risk_assess(request=assessment_request(make_application(product=product, branch=branch,
                                                                       applicant=make_applicant(sequence="951"))))
    assert list(client.get("/risk/decisions/?outcome=reject").context["decisions"]) == [rejected]
    assert list(client.get("/risk/decisions/?outcome=approve").context["decisions"]) == [approved]


def test_the_api_summary_shows_only_customer_facing_facts(product):
    approved = risk_assess(request=assessment_request(make_application(product=product)))
    with translation.override("en"):
        data = DecisionSummarySerializer(approved).data
    assert data == {"outcome": "approve", "grade": "C", "limit": "40000.00", "rate_percent": "7.000000",
                    "rate_basis": "annual", "reasons": [], "decided_at": data["decided_at"]}
    assert data["decided_at"].startswith(approved.created_at.astimezone().strftime("%Y-%m-%d"))

    application = make_application(product=product, applicant=make_applicant(sequence="991"))
    referred = risk_assess(request=assessment_request(application))
    with translation.override("zh-hans"):
        data = DecisionSummarySerializer(referred).data
    assert (data["outcome"], data["grade"], data["limit"], data["rate_percent"]) == (
        "refer", "D", "20000.00", "8.000000")
    # THIN_FILE's own text (data, in the rule's Chinese field), then the score referral's (a msgid, translated).
    assert data["reasons"] == ["需人工审核", "您的申请将由工作人员进行审核。"]

    application = make_application(product=product, applicant=make_applicant(sequence="951"))
    rejected = risk_assess(request=assessment_request(application))
    with translation.override("en"):
        data = DecisionSummarySerializer(rejected).data
    assert (data["outcome"], data["grade"], data["limit"], data["rate_percent"], data["reasons"]) == (
        "reject", "", None, None, ["Overall assessment not passed"])
    assert set(data) == {"outcome", "grade", "limit", "rate_percent", "rate_basis", "reasons", "decided_at"}
