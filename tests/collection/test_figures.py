"""The figures on a constructed portfolio, exact: recovery rate by bucket, roll rates, cure rate,
promise-kept rate, collector and agency performance, compliance refusals; filters; the page."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from collection.models import (
    AgencyAssignment, CaseStageChange, CollectionCase, ComplianceRefusal, Contact, FieldVisit, LegalReferral, Promise,
)
from collection.selectors import collection_figures
from servicing.models import Loan, Repayment
from servicing.services.calendar import business_date_set
from tests.collection.factories import make_agency, make_case
from tests.factories import UserFactory
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db

D = Decimal
OPENED = datetime.date(2027, 1, 5)


def day(month, dd):
    return datetime.date(2027, month, dd)


@pytest.fixture
def portfolio():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    li, wang = UserFactory(username="li"), UserFactory(username="wang")
    agency = make_agency("AG1", commission=D("15"))
    loans = [make_loan() for _ in range(4)]
    for loan, owed in zip(loans, [(D("10000.00"), D("100.00")), (D("5000.00"), D("0")), (D("8000.00"), D("0")),
                                  (D("6000.00"), D("0"))]):
        Loan.objects.filter(pk=loan.pk).update(principal_outstanding=owed[0], interest_receivable=owed[1])
    a = make_case(loans[0], bucket="M1", opened_on=OPENED)
    b = make_case(loans[1], bucket="M1", opened_on=OPENED)
    type(b).objects.filter(pk=b.pk).update(status="closed", close_reason="cured", closed_on=day(1, 10))
    c = make_case(loans[2], bucket="M2", opened_on=OPENED)
    d = make_case(loans[3], bucket="M3", opened_on=OPENED, agency=agency)
    for case, buckets in ((a, ["M1"]), (b, ["M1"]), (c, ["M1", "M2"]), (d, ["M1", "M2", "M3"])):
        CaseStageChange.objects.bulk_create([CaseStageChange(case=case, business_date=OPENED, to_bucket=bucket,
                                                             to_step=0, dpd=1) for bucket in buckets])
    AgencyAssignment.objects.create(case=d, agency=agency, commission_percent=D("15"), start=day(2, 4))
    for n, (loan, amount, on, credit) in enumerate([
            (loans[0], "1000.00", day(1, 6), "0"), (loans[0], "500.00", day(1, 1), "0"),  # before the case
            (loans[1], "2000.00", day(1, 8), "0"), (loans[1], "300.00", day(1, 12), "0"),  # after it closed
            (loans[3], "600.00", day(2, 10), "100.00")]):  # 100.00 beyond what was owed
        Repayment.objects.create(loan=loan, number=f"R{n}", source="api", amount=D(amount), value_date=on,
                                 reference=f"ref-{n}", status="posted", credit_balance=D(credit))
    now = timezone.now()
    for case, who, n in ((a, {"collector": li}, 3), (c, {"collector": wang}, 1), (d, {"agency": agency}, 2)):
        for _ in range(n):
            Contact.objects.create(case=case, applicant=case.loan.applicant, channel="call", result="reached",
                                   at=now, local_date=OPENED, **who)
    Promise.objects.create(case=a, amount=D("1000.00"), made_on=OPENED, due_on=day(1, 7), status="kept",
                           paid=D("1000.00"), collector=li)
    Promise.objects.create(case=c, amount=D("800.00"), made_on=OPENED, due_on=day(1, 7), status="broken",
                           collector=li)
    Promise.objects.create(case=d, amount=D("700.00"), made_on=OPENED, due_on=day(3, 1), agency=agency)
    for case, rule in ((a, "contact_hours"), (a, "contact_hours"), (c, "daily_limit")):
        ComplianceRefusal.objects.create(case=case, rule=rule, channel="call", party="borrower", at=now)
    return {"agency": agency, "loans": loans}


def test_the_figures_of_a_constructed_portfolio(portfolio):
    figures = collection_figures()
    assert figures["cases"] == 4
    assert [(r["bucket"], r["cases"], r["recovered"], r["owed"], r["rate"]) for r in figures["recovery"]] == [
        ("M1", 2, D("3000.00"), D("10100.00"), D("22.90")),  # 3000 / 13100
        ("M2", 1, D("0"), D("8000.00"), D("0.00")),
        ("M3", 1, D("500.00"), D("6000.00"), D("7.69")),  # 500 / 6500
        ("M3+", 0, D("0"), D("0"), None)]
    assert [(r["from"], r["to"], r["entered"], r["rolled"], r["rate"]) for r in figures["rolls"]] == [
        ("M1", "M2", 4, 2, D("50.00")), ("M2", "M3", 2, 1, D("50.00")), ("M3", "M3+", 1, 0, D("0.00"))]
    assert (figures["cured"], figures["cure_rate"]) == (1, D("25.00"))
    assert (figures["promises_kept"], figures["promises_broken"], figures["promise_kept_rate"]) == (1, 1, D("50.00"))
    assert figures["collectors"] == [
        {"collector": "li", "contacts": 3, "promises": 2, "kept": 1, "kept_amount": D("1000.00"), "visits": 0,
         "legal_referrals": 0},
        {"collector": "wang", "contacts": 1, "promises": 0, "kept": 0, "kept_amount": D("0"), "visits": 0,
         "legal_referrals": 0}]
    [agency] = figures["agencies"]
    assert (agency["agency"], agency["contacts"], agency["promises"], agency["recovered"], agency["commission"]) == (
        portfolio["agency"], 2, 1, D("500.00"), D("75.00"))
    assert figures["refusals"] == {"contact_hours": 2, "daily_limit": 1}


def test_the_figures_filter_by_date_and_product(portfolio):
    assert collection_figures(date_from=day(1, 6))["cases"] == 0
    assert collection_figures(date_to=OPENED)["cases"] == 4
    product = portfolio["loans"][0].product_version.product
    assert collection_figures(product=product)["cases"] == 4


def test_the_figures_page(client, portfolio):
    user = UserFactory(username="boss")
    client.force_login(user)
    assert client.get("/collection/figures/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_collection_figures"))
    response = client.get("/collection/figures/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "22.90" in page and "75.00" in page and "Contact hours: 2" in page
    assert client.get("/collection/figures/?date_from=not-a-date").status_code == 422


@pytest.fixture
def fieldwork(portfolio):
    """On top of the portfolio: li visits case A (M1) twice — met, then not found; wang visits C
    (M2), the borrower refuses to talk; the agency visits D (M3) and meets the borrower. Legal
    referrals: C by wang (approved, M2), D by the agency (pending, M3), B by li before it closed
    (rejected, M1). The voice robot called A's borrower four times (answered twice, no answer
    once, not connected once) and is calling C's."""
    li, wang = (UserFactory._meta.model.objects.get(username=name) for name in ("li", "wang"))
    agency = portfolio["agency"]
    a, b, c, d = (CollectionCase.objects.get(loan=loan) for loan in portfolio["loans"])
    now = timezone.now()

    def visit(case, result, contact_result, **who):
        contact = Contact.objects.create(case=case, applicant=case.loan.applicant, channel="visit",
                                         result=contact_result, at=now, local_date=OPENED, **who)
        FieldVisit.objects.create(case=case, contact=contact, result=result, bucket=case.bucket)

    visit(a, "visited", "reached", collector=li)
    visit(a, "not_found", "no_answer", collector=li)
    visit(c, "refused", "refused", collector=wang)
    visit(d, "visited", "reached", agency=agency)
    for case, status, who in ((c, "approved", {"requested_by": wang}), (d, "requested", {"agency": agency}),
                              (b, "rejected", {"requested_by": li})):
        LegalReferral.objects.create(case=case, reason="r", status=status, bucket=case.bucket, owed=D("100.00"),
                                     requested_on=OPENED, **who)
    for case, result in ((a, "reached"), (a, "reached"), (a, "no_answer"), (a, "failed"), (c, "calling")):
        Contact.objects.create(case=case, applicant=case.loan.applicant, channel="voice", result=result, at=now,
                               local_date=OPENED)
    return portfolio


def test_visits_legal_referrals_and_voice_reminders_in_the_figures(fieldwork):
    figures = collection_figures()
    assert figures["collectors"] == [
        {"collector": "li", "contacts": 5, "promises": 2, "kept": 1, "kept_amount": D("1000.00"), "visits": 2,
         "legal_referrals": 1},
        {"collector": "wang", "contacts": 2, "promises": 0, "kept": 0, "kept_amount": D("0"), "visits": 1,
         "legal_referrals": 1}]
    [agency] = figures["agencies"]
    assert (agency["contacts"], agency["visits"], agency["legal_referrals"], agency["promises"],
            agency["commission"]) == (3, 1, 1, 1, D("75.00"))
    assert [(r["bucket"], r["visits"], r["met"], r["legal_referrals"], r["legal_approved"])
            for r in figures["fieldwork"]] == [("M1", 2, 1, 1, 0), ("M2", 1, 1, 1, 1), ("M3", 1, 1, 1, 0),
                                               ("M3+", 0, 0, 0, 0)]
    assert figures["voice"] == {"placed": 5, "answered": 2, "no_answer": 1, "failed": 1, "calling": 1,
                                "answer_rate": D("50.00")}  # 2 of the 4 calls that ended
    # the product filter keeps them; a date range without cases drops them
    empty = collection_figures(date_from=day(1, 6))
    assert (empty["voice"]["placed"], empty["collectors"], sum(r["visits"] for r in empty["fieldwork"])) == (0, [], 0)


def test_the_figures_page_shows_visits_legal_referrals_and_voice(client, fieldwork):
    user = UserFactory(username="boss")
    user.user_permissions.add(Permission.objects.get(codename="view_collection_figures"))
    client.force_login(user)
    page = client.get("/collection/figures/").content.decode()
    assert ('<tr data-bucket="M2"><td>M2</td><td class="num">1</td><td class="num">1</td><td class="num">1</td>'
            '<td class="num">1</td></tr>') in page
    assert '<dd id="voice-placed">5</dd>' in page and '<dd id="voice-rate">50.00</dd>' in page
    row = page[page.index('<tr data-collector="li">'):]
    assert row.index('<td class="num">2</td><td class="num">1</td></tr>') < 250
