"""Unit economics (单笔信贷结构核算, docs/economics.md): a constructed co-lent loan's income,
costs and contribution margin match a hand calculation to the fen; the sums per grouping; the
pricing simulator's margin and break-even rate; the pages, their permission and their errors."""

import datetime
from decimal import Decimal

import pytest

from risk.models import DataSourceCall, InLoanCheck
from servicing.models import CollectionDebit, Disbursement, Installment
from servicing.services.calendar import business_date_set
from tests.factories import make_branch, make_product, make_staff
from tests.partners.factories import make_partner
from tests.servicing.factories import make_funder
from tests.servicing.funding_factories import make_channel
from tests.servicing.repayment_factories import make_loan
from tests.workflows.flow_factories import grant
from workflows.models import AcquisitionCost, ExpectedLossRate
from workflows.selectors.economics import PricingInputs, economics_by, loan_economics, pricing_simulate

pytestmark = pytest.mark.django_db

D = Decimal
ON = datetime.date(2027, 1, 20)


@pytest.fixture
def loan():
    """20,000.00 over 12 months at 7 % (ACT/360), booked 2026-12-04 through partner ACME, co-lent
    30 % by bank-a (cost of funds 4 %) and 70 % by bank-b (3.5 %), grade B. Installment 1 (1,613.86
    principal, 116.67 interest) was paid on its due date 2027-01-04; installment 2 has accrued 50.00
    of interest by 2027-01-20."""
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    product = make_product("EDUCATION")
    acme = make_partner("ACME", products=[product])
    a = make_funder("bank-a", kind="co_lender", cost_of_funds_percent=D("4"))
    b = make_funder("bank-b", kind="co_lender", cost_of_funds_percent=D("3.5"))
    loan = make_loan(product=product, partner=acme, funders=[(a, D(30)), (b, D(70))], grade="B")
    first = Installment.objects.get(loan=loan, number=1)
    assert (first.principal, first.interest, first.due_date) == (D("1613.86"), D("116.67"), datetime.date(2027, 1, 4))
    Installment.objects.filter(pk=first.pk).update(
        interest_accrued=D("116.67"), principal_paid=D("1613.86"), interest_paid=D("116.67"), status="paid",
        settled_on=datetime.date(2027, 1, 4))
    Installment.objects.filter(loan=loan, number=2).update(interest_accrued=D("50.00"))
    # costs: acquisition (the partner's row wins over the default), data, payment, expected loss
    AcquisitionCost.objects.create(per_loan=D("10.00"))
    AcquisitionCost.objects.create(partner=acme, per_loan=D("80.00"), percent_of_principal=D("1"))
    ExpectedLossRate.objects.create(grade="B", pd_percent=D("2"), lgd_percent=D("60"))
    application = loan.credit_line.application
    for cost in (D("12.50"), D("0.00")):  # a paid call and a cache hit
        DataSourceCall.objects.create(applicant=loan.applicant, application=application, source="credit_report",
                                      provider="sandbox", query_key="k", status="ok", cost=cost)
    common = dict(applicant=loan.applicant, product=product)
    InLoanCheck.objects.create(reference="C1", kind="drawdown", subject_reference=loan.drawdown.number,
                               data_cost=D("3.00"), **common)
    InLoanCheck.objects.create(reference="C2", kind="warning", subject_reference="w1",
                               credit_line_id=loan.credit_line_id, data_cost=D("4.00"), **common)
    channel = make_channel(cost_per_transaction=D("0.80"))
    Disbursement.objects.create(drawdown=loan.drawdown, channel=channel, reference="PAY-1", amount=D("20000.00"),
                                status="paid", cost=D("1.50"))
    CollectionDebit.objects.create(loan=loan, channel=channel, reference="DEB-1", business_date=first.due_date,
                                   amount=D("1730.53"), collected=D("1730.53"), status="collected")
    return loan


def test_a_co_lent_loans_margin_matches_the_hand_calculation(loan):
    e = loan_economics(loan, on=ON)
    # income: interest earned 116.67 + 50.00; no penalty, no fee
    assert (e.interest_income, e.penalty_income, e.fee_income, e.income) == (D("166.67"), 0, 0, D("166.67"))
    # cost of funds: principal × days out = 1,613.86 × 31 (to 2027-01-04) + 18,386.14 × 47 (to 2027-01-20)
    # = 914,178.24; bank-a 30 % at 4 % / 360 = 30.4726… → 30.47; bank-b 70 % at 3.5 % / 360 = 62.2149… → 62.21
    assert e.funding == [("bank-b", D("70.000000"), D("3.500000"), D("62.21")),
                         ("bank-a", D("30.000000"), D("4.000000"), D("30.47"))]
    assert e.cost_of_funds == D("92.68")
    assert e.acquisition_cost == D("280.00")  # ACME's row: 80.00 + 1 % of 20,000.00
    assert e.data_cost == D("19.50")  # application 12.50 (+ a cache hit 0) + drawdown check 3.00 + warning 4.00
    assert e.payment_cost == D("2.30")  # the payout's fee 1.50 + one debit at 0.80
    assert (e.expected_loss, e.risk_cost) == (D("240.00"), D("240.00"))  # 20,000.00 × 2 % × 60 %
    assert e.margin == D("166.67") - D("92.68") - D("280.00") - D("19.50") - D("2.30") - D("240.00")
    assert e.margin == D("-467.81")


def test_a_paid_off_loan_bears_no_expected_loss_and_a_written_off_one_its_write_off(loan):
    from servicing.models import Loan, WriteOffRequest

    Loan.objects.filter(pk=loan.pk).update(status="closed")
    assert loan_economics(loan, on=ON).risk_cost == 0
    Loan.objects.filter(pk=loan.pk).update(status="written_off")
    WriteOffRequest.objects.create(loan=loan, proposed_on=ON, days_past_due=181, status="approved",
                                   principal=D("18386.14"))
    assert loan_economics(loan, on=ON).risk_cost == D("18386.14")


def test_sums_per_grouping(loan):
    other = make_loan(product=loan.product_version.product, amount=D("10000.00"), grade="B")
    rows = [loan_economics(loan, on=ON), loan_economics(other, on=ON)]
    [by_grade] = economics_by(rows, grouping="grade")
    assert (by_grade["group"], by_grade["loans"], by_grade["principal"]) == ("B", 2, D("30000.00"))
    assert by_grade["risk_cost"] == D("360.00")  # 240.00 + 10,000.00 × 2 % × 60 %
    by_funder = {row["group"]: row["loans"] for row in economics_by(rows, grouping="funder")}
    assert by_funder == {"BANK-B": 1, "OWN": 1}  # the lead funder: bank-b's 70 %; the other's own funds


def test_the_pricing_simulator_finds_the_break_even_rate():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    product = make_product("EDUCATION")
    ExpectedLossRate.objects.create(grade="A", pd_percent=D("1"), lgd_percent=D("50"))
    ExpectedLossRate.objects.create(grade="C", pd_percent=D("5"), lgd_percent=D("70"))
    version = product.current_version
    inputs = PricingInputs(product_version=version, amount=D("20000.00"), term=12, method="equal_installment",
                           grade_mix={"A": D("60"), "C": D("40")}, cost_of_funds_percent=D("3.5"),
                           acquisition_cost=D("100.00"), data_cost=D("20.00"), payment_cost=D("1.00"),
                           rate_percent=D("7"), start=datetime.date(2026, 12, 4))
    result = pricing_simulate(inputs)
    # expected loss: 20,000 × (60 % × 1 % × 50 % + 40 % × 5 % × 70 %) = 60.00 + 280.00
    assert result.expected_loss == D("340.00")
    assert result.payment_cost == D("13.00")  # the payout and 12 installments at 1.00
    assert result.interest == D("766.41")  # the engine's schedule: 20,000.00 at 7 %, 12 months
    assert result.margin == (result.interest + result.fees - result.cost_of_funds - D("100.00") - D("20.00")
                             - D("13.00") - D("340.00"))
    # the break-even rate: the lowest rate (to 0.01 %) whose margin is not negative
    below = pricing_simulate(PricingInputs(**{**inputs.__dict__,
                                              "rate_percent": result.break_even_rate_percent - D("0.01")}))
    at = pricing_simulate(PricingInputs(**{**inputs.__dict__, "rate_percent": result.break_even_rate_percent}))
    assert below.margin < 0 <= at.margin
    assert result.break_even_rate_percent == D("7.86")  # 7 % does not cover the costs and a 1.7 % expected loss
    assert result.margin < 0


def test_the_pages_need_the_permission_and_refuse_bad_input(client, loan):
    business_date_set(date=ON, reason="test")
    clerk = make_staff("clerk", loan.branch)
    elsewhere = grant(make_staff("elsewhere", make_branch("sz")), "workflows.view_unit_economics")
    client.force_login(clerk)
    assert client.get("/tools/economics/").status_code == 403
    grant(clerk, "workflows.view_unit_economics")
    page = client.get("/tools/economics/", {"group": "grade"})
    assert page.status_code == 200
    text = page.content.decode()
    assert loan.number in text and "-467.81" in text
    client.force_login(elsewhere)  # another branch's manager: not this loan
    assert loan.number not in client.get("/tools/economics/").content.decode()
    client.force_login(clerk)
    bad = client.get("/tools/economics/", {"value_from": "2027-02-01", "value_to": "2027-01-01"})
    assert bad.status_code == 200 and "The end of the range is before its start." in bad.content.decode()
    pricing = client.get("/tools/economics/pricing/", {
        "product": "EDUCATION", "amount": "20000", "term": "12", "method": "equal_installment", "rate_percent": "7",
        "cost_of_funds_percent": "3.5", "acquisition_cost": "100", "data_cost": "20", "payment_cost": "1",
        "grade_B": "90"})
    assert pricing.status_code == 200 and "The grade shares must add up to 100 %." in pricing.content.decode()


def test_the_collection_cost_is_commission_on_what_was_repaid_while_assigned_and_the_contacts(loan):
    """An agency held the loan's case from 2027-01-05 to 2027-01-15 at 20 %: of three repayments
    (2027-01-04 before it, 2027-01-10 during it — 1,000.00 of which 100.00 went to the credit
    balance —, 2027-01-15 on the day it ended) only the middle one's 900.00 earns commission:
    180.00. Two calls at 1.20 and an SMS at 0.05 (configured per channel): 2.45."""
    from collection.models import AgencyAssignment, Contact
    from servicing.models import Repayment
    from tests.collection.factories import make_agency, make_case
    from workflows.models import CollectionContactCost

    case = make_case(loan, opened_on=datetime.date(2027, 1, 5))
    AgencyAssignment.objects.create(case=case, agency=make_agency(), commission_percent=D("20"),
                                    start=datetime.date(2027, 1, 5), end=datetime.date(2027, 1, 15))
    for number, day, amount, credit in (("R1", 4, "1730.53", "0"), ("R2", 10, "1000.00", "100.00"),
                                        ("R3", 15, "500.00", "0")):
        Repayment.objects.create(loan=loan, number=number, source="api", amount=D(amount), reference=number,
                                 value_date=datetime.date(2027, 1, day), status="posted", credit_balance=D(credit))
    CollectionContactCost.objects.create(channel="call", cost=D("1.20"))
    CollectionContactCost.objects.create(channel="sms", cost=D("0.05"))
    at = datetime.datetime(2027, 1, 6, 10, tzinfo=datetime.timezone.utc)
    for channel in ("call", "call", "sms", "visit"):  # a visit has no configured cost
        Contact.objects.create(case=case, applicant=loan.applicant, channel=channel, party="borrower",
                               result="reached", at=at, local_date=at.date())
    e = loan_economics(loan, on=ON)
    assert e.collection_cost == D("182.45")
    assert e.margin == D("-467.81") - D("182.45")
