"""The drawdown flow end to end with eager Celery and the sandbox bank: an active line to a
booked, co-lent loan whose journal balances; the review path (four-eyes against whoever entered
the drawdown, permission, reject releases); a refused payment fails and releases line and
quotas; the settlement task run twice books once; the sweep settles a lost settlement."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from creditfactory.core.state import transitions_for
from creditfactory.partners.models import WebhookEvent
from servicing.models import (
    CreditLine,
    Disbursement,
    Drawdown,
    DrawdownFunding,
    Funder,
    FunderQuotaDay,
    JournalEntry,
    JournalLine,
    Loan,
)
from tests.factories import make_staff
from tests.servicing.funding_factories import make_channel, make_funder, make_pair, make_rule
from tests.workflows.flow_factories import grant
from workflows.selectors.drawdowns import drawdown_process
from workflows.services.drawdowns import (
    drawdown_disbursements_sweep,
    drawdown_request,
    drawdown_review,
    drawdown_settled,
)
from workflows.tasks import drawdown_disbursement_settled

from .drawdown_factories import drawdown_body, line_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def money():
    """Own funds for small drawdowns, a 30/70 co-lending pair (bank leads) above 30,000."""
    own = make_funder("own", kind="own", priority=10, cost="3.5", daily_quota="1000000.00")
    bank = make_funder("bank", kind="co_lender", priority=20, cost="4.0")
    partner_bank = make_funder("coop", kind="co_lender", priority=30, cost="4.5")
    pair = make_pair("pair3070", [(partner_bank, "30"), (bank, "70")])
    make_rule("Large to the pair", pair=pair, priority=1, amount_min=Decimal("30000.01"))
    make_rule("Own funds", funder=own, fallback=True, priority=100)
    make_channel()
    return {"own": own, "bank": bank, "coop": partner_bank}


def review_queue(api, *, members):
    """The product's disbursement review node routed to a work group of ``members``."""
    from creditfactory.organisations import services as org_services
    from workflows.models import DRAWDOWN_FLOW, ProcessNodeConfig
    from workflows.services.configuration import node_config_ensure_defaults

    group = org_services.work_group_create(code="dd_review", name="Disbursement review", branch=api.line.branch,
                                           policy="claim", lead=members[0], members=members)
    product = api.line.product_version.product
    node_config_ensure_defaults(product, flow=DRAWDOWN_FLOW)
    ProcessNodeConfig.objects.filter(product=product, flow=DRAWDOWN_FLOW, node="review").update(work_group=group)
    return group


def _request(api, capture, **body):
    with capture(execute=True):
        drawdown = drawdown_request(line=api.line, data=drawdown_body(**body), partner=api.partner,
                                    actor_label=api.partner.actor_label)
    return Drawdown.objects.get(pk=drawdown.pk)


def test_an_active_line_to_a_booked_co_lent_loan(money, django_capture_on_commit_callbacks):
    api = line_api(limit=Decimal("100000.00"))
    drawdown = _request(api, django_capture_on_commit_callbacks, amount="40000.00")
    assert (drawdown.status, drawdown.line_hold, drawdown.value_date is not None) == ("disbursed", "posted", True)
    assert [t.to_state for t in transitions_for(drawdown).order_by("at", "id")] == [
        "requested", "checking", "routing", "disbursing", "disbursed"]
    line = CreditLine.objects.get(pk=api.line.pk)
    assert (line.used, line.held) == (Decimal("40000.00"), Decimal("0.00"))
    loan = Loan.objects.get(drawdown=drawdown)
    assert (loan.principal, loan.value_date, loan.term) == (Decimal("40000.00"), drawdown.value_date, 12)
    parts = dict(DrawdownFunding.objects.filter(drawdown=drawdown).values_list("funder__code", "principal"))
    assert parts == {"bank": Decimal("28000.00"), "coop": Decimal("12000.00")}
    assert set(DrawdownFunding.objects.filter(drawdown=drawdown).values_list("hold_status", flat=True)) == {"posted"}
    totals = JournalLine.objects.filter(entry__loan=loan).aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals["d"] == totals["c"] and totals["d"] >= Decimal("40000.00")
    events = list(WebhookEvent.objects.filter(partner=api.partner).order_by("id").values_list("event", flat=True))
    assert events == ["drawdown.approved", "drawdown.disbursed", "loan.booked"]
    assert Disbursement.objects.get(drawdown=drawdown).status == "paid"
    assert drawdown_process(drawdown).status == "DONE"
    detail = api.client.get(f"/api/v1/drawdowns/{drawdown.pk}").json()
    assert (detail["status"], detail["loan"]) == ("disbursed", loan.pk)
    assert {row["funder"]: row["principal"] for row in detail["funding"]} == {"bank": "28000.00", "coop": "12000.00"}


def test_a_booked_drawdown_leaves_seven_task_rows_no_switch(money, django_capture_on_commit_callbacks):
    """check, route and settle pick their next node themselves: no Switch task rows (ten before)."""
    api = line_api()
    drawdown = _request(api, django_capture_on_commit_callbacks)
    assert drawdown.status == "disbursed"
    process = drawdown_process(drawdown)
    nodes = [task.flow_task.name for task in process.task_set.order_by("id")]
    assert nodes == ["start", "check", "route", "disburse", "settle", "book", "end"]
    assert process.task_set.filter(flow_task_type="SWITCH").count() == 0


def test_the_settlement_task_run_twice_books_once(money, django_capture_on_commit_callbacks):
    api = line_api()
    drawdown = _request(api, django_capture_on_commit_callbacks)
    entries = JournalEntry.objects.count()
    drawdown_disbursement_settled(drawdown_id=drawdown.pk)
    assert drawdown_settled(drawdown_id=drawdown.pk) is False
    assert (Loan.objects.filter(drawdown=drawdown).count(), JournalEntry.objects.count()) == (1, entries)
    line = CreditLine.objects.get(pk=api.line.pk)
    assert (line.used, line.held) == (Decimal("20000.00"), Decimal("0.00"))
    assert WebhookEvent.objects.filter(event="loan.booked").count() == 1


def test_a_refused_payment_fails_the_drawdown_and_releases_line_and_quota(money, django_capture_on_commit_callbacks):
    api = line_api()
    drawdown = _request(api, django_capture_on_commit_callbacks, bank_account="6222021234560001")
    assert (drawdown.status, drawdown.line_hold) == ("failed", "released")
    assert drawdown.reasons[-1]["code"] != ""
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")
    assert Funder.objects.get(code="own").total_used == Decimal("0.00")
    assert FunderQuotaDay.objects.get(funder__code="own").used == Decimal("0.00")
    assert not Loan.objects.exists()
    assert WebhookEvent.objects.filter(event="drawdown.failed").count() == 1


def test_review_four_eyes_then_approve_pays(money, django_capture_on_commit_callbacks):
    api = line_api(limit=Decimal("100000.00"))
    clerk = grant(make_staff("clerk", api.line.branch), "servicing.enter_drawdown", "servicing.review_drawdown")
    reviewer = grant(make_staff("reviewer", api.line.branch), "servicing.review_drawdown")
    outsider = grant(make_staff("outsider", api.line.branch), "servicing.review_drawdown")
    review_queue(api, members=[reviewer, clerk])
    api.line.product_version.__class__.objects.filter(pk=api.line.product_version_id).update(
        drawdown_review_above=Decimal("50000.00"))
    api.line.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        drawdown = drawdown_request(line=api.line, data=drawdown_body(amount="60000.00"), actor=clerk)
    drawdown.refresh_from_db()
    assert (drawdown.status, drawdown.review_required) == ("reviewing", True)
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(ValidationError):
        drawdown_review(drawdown=drawdown, actor=clerk, action="approve")
    with pytest.raises(PermissionDenied):
        drawdown_review(drawdown=drawdown, actor=outsider, action="approve")
    with django_capture_on_commit_callbacks(execute=True):
        drawdown_review(drawdown=drawdown, actor=reviewer, action="approve")
    drawdown.refresh_from_db()
    assert (drawdown.status, drawdown.reviewed_by) == ("disbursed", reviewer)
    assert Loan.objects.filter(drawdown=drawdown).count() == 1


def test_review_reject_releases_line_and_quota(money, django_capture_on_commit_callbacks):
    api = line_api(limit=Decimal("100000.00"))
    reviewer = grant(make_staff("reviewer", api.line.branch), "servicing.review_drawdown")
    review_queue(api, members=[reviewer])
    api.line.product_version.__class__.objects.filter(pk=api.line.product_version_id).update(
        drawdown_review_purposes=["education"])
    api.line.refresh_from_db()
    drawdown = _request(api, django_capture_on_commit_callbacks)
    assert drawdown.status == "reviewing"
    drawdown_review(drawdown=drawdown, actor=reviewer, action="reject", reason="Income does not support it")
    drawdown.refresh_from_db()
    assert (drawdown.status, drawdown.line_hold, drawdown.reasons[-1]) == (
        "rejected", "released", {"code": "review", "text": "Income does not support it"})
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")
    assert Funder.objects.get(code="own").total_used == Decimal("0.00")
    assert WebhookEvent.objects.filter(event="drawdown.rejected").count() == 1


def test_the_sweep_settles_a_drawdown_whose_settlement_task_was_lost(money, django_capture_on_commit_callbacks,
                                                                      settings):
    settings.SERVICING_DISBURSEMENT_SETTLED_TASK = "tests.nothing.registered"
    api = line_api()
    drawdown = _request(api, django_capture_on_commit_callbacks)
    assert (drawdown.status, Disbursement.objects.get(drawdown=drawdown).status) == ("disbursing", "paid")
    with django_capture_on_commit_callbacks(execute=True):
        assert drawdown_disbursements_sweep() == {"sent": 0, "queried": 0, "settled": 1}
    drawdown.refresh_from_db()
    assert drawdown.status == "disbursed" and Loan.objects.filter(drawdown=drawdown).count() == 1
    assert drawdown_disbursements_sweep() == {"sent": 0, "queried": 0, "settled": 0}


@pytest.fixture
def in_loan_rules():
    from products.models import LoanProduct
    from tests.factories import make_product
    from tests.risk.policy_factories import configure_sources, make_in_loan_policy

    configure_sources()
    product = LoanProduct.objects.filter(code="EDUCATION").first() or make_product("EDUCATION")
    make_in_loan_policy(product)
    return product


def _line_for(sequence, product):
    from tests.risk.factories import make_applicant

    return line_api(product=product, applicant=make_applicant(sequence=sequence))


def test_an_in_loan_reject_rejects_and_releases(money, in_loan_rules, django_capture_on_commit_callbacks):
    api = _line_for("970", in_loan_rules)  # dishonest debtor: the court rule rejects
    drawdown = _request(api, django_capture_on_commit_callbacks)
    assert (drawdown.status, drawdown.check_outcome, drawdown.line_hold) == ("rejected", "reject", "released")
    assert drawdown.reasons == [{"code": "in_loan_check", "text": "The borrower has a new court record"}]
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")
    assert not Disbursement.objects.exists() and not Funder.objects.filter(total_used__gt=0).exists()
    assert WebhookEvent.objects.filter(event="drawdown.rejected").count() == 1


def test_an_in_loan_refer_goes_to_the_disbursement_review(money, in_loan_rules, django_capture_on_commit_callbacks):
    api = _line_for("960", in_loan_rules)  # eight institutions in 30 days: refer
    review_queue(api, members=[grant(make_staff("reviewer", api.line.branch), "servicing.review_drawdown")])
    drawdown = _request(api, django_capture_on_commit_callbacks)
    assert (drawdown.status, drawdown.check_outcome, drawdown.review_required) == ("reviewing", "refer", False)
