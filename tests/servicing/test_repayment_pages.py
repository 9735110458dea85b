"""The loan page's quote, transactions and repayments, offline repayments (线下还款: an officer
registers a bank transfer, a second person verifies or rejects it — four eyes) and credit-balance
refunds (maker-checker) through the back office, with exact figures."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from creditfactory.core.state import transitions_for
from creditfactory.organisations.roles import role_group
from servicing.models import CreditBalanceRefund, JournalEntry, Repayment
from servicing.services.calendar import business_date_set
from servicing.services.ledger import reconcile
from servicing.services.repayments import (
    loan_quote, offline_repayment_register, offline_repayment_verify, repayment_post,
)
from tests.factories import make_product, make_staff
from tests.servicing.repayment_factories import close_through, make_loan

pytestmark = pytest.mark.django_db

D = Decimal
VALUE = datetime.date(2026, 12, 4)
DUE1 = datetime.date(2027, 1, 4)


@pytest.fixture
def loan():
    """The worked example of docs/servicing.md §8 on its first due date: 1,730.53 payable."""
    business_date_set(date=VALUE, reason="test")
    loan = make_loan(product=make_product("EARLY", prepayment_fee_percent=D("1")))
    close_through(DUE1 - datetime.timedelta(days=1))
    return loan


def _officer(name, loan, role="post_loan_manager"):
    user = make_staff(name, loan.branch)
    user.groups.add(role_group(role))
    return user


@pytest.fixture
def maker(loan):
    return _officer("maker", loan)


@pytest.fixture
def checker(loan):
    return _officer("checker", loan)


def _page(client, loan, **query):
    return client.get(f"/lending/loans/{loan.pk}/", query, HTTP_ACCEPT_LANGUAGE="en")


# --- the loan page: quote, transactions ------------------------------------------------------------


def test_the_loan_page_quotes_what_the_api_quotes(client, maker, loan):
    client.force_login(maker)
    page = _page(client, loan).content.decode()
    payoff = loan_quote(loan=loan, kind="payoff")
    assert (payoff.payable, payoff.principal, payoff.interest, payoff.prepayment_fee, payoff.total) == (
        D("1730.53"), D("18386.14"), D("0.00"), D("183.86"), D("20300.53"))
    assert "Quote for 2027-01-04 (business date)" in page
    assert "1,730.53" in page and "18,386.14" in page and "183.86" in page and "20,300.53" in page
    prepayment = _page(client, loan, principal="5000.00").content.decode()
    assert loan_quote(loan=loan, kind="prepayment", principal=D("5000.00")).total == D("6780.53")
    assert 'id="quote-prepayment"' in prepayment and "5,000.00" in prepayment and "50.00" in prepayment
    assert "6,780.53" in prepayment


def test_a_wrong_prepayment_principal_is_a_form_error(client, maker, loan):
    client.force_login(maker)
    too_much = _page(client, loan, principal="18386.14")
    assert too_much.status_code == 200
    html = too_much.content.decode()
    assert "At most 18386.13 of principal can be prepaid" in html and 'id="quote-prepayment"' not in html
    assert 'bo-field--error' in html
    letters = _page(client, loan, principal="abc").content.decode()
    assert "Enter a number." in letters and 'id="quote-prepayment"' not in letters


def test_the_loan_page_in_chinese_labels_the_quote_and_transactions(client, maker, loan):
    repayment_post(loan=loan, amount="1730.53", reference="BANK-1", actor=None)
    client.force_login(maker)
    html = client.get(f"/lending/loans/{loan.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "提前结清" in html and "交易流水" in html and "放款" in html and "登记线下还款" in html
    assert "BANK-1" in html and "1,613.86" in html and "116.67" in html


# --- offline repayments: register → verify / reject ---------------------------------------------------


def _register(client, loan, **data):
    body = {"amount": "1730.53", "kind": "regular", "reference": "ICBC-20270104-001", "note": "transfer"}
    body.update(data)
    return client.post(f"/lending/loans/{loan.pk}/repayments/", body)


def test_a_registered_transfer_posts_only_when_someone_else_verifies_it(client, maker, checker, loan):
    client.force_login(maker)
    response = _register(client, loan)
    assert response.status_code == 303 and response["Location"] == f"/lending/loans/{loan.pk}/"
    repayment = Repayment.objects.get(loan=loan)
    assert (repayment.status, repayment.source, repayment.amount, repayment.entered_by, repayment.value_date) == (
        "pending_verification", "backoffice", D("1730.53"), maker, None)
    assert not JournalEntry.objects.filter(kind="repayment").exists()
    loan.refresh_from_db()
    assert loan.principal_outstanding == D("20000.00")
    # The maker cannot verify it (four eyes), and nothing is posted.
    assert client.post(f"/lending/verification/repayments/{repayment.pk}/verify/").status_code == 403
    repayment.refresh_from_db()
    assert repayment.status == "pending_verification" and not JournalEntry.objects.filter(kind="repayment").exists()
    queue = client.get("/lending/verification/").content.decode()
    assert "Entered by you: someone else verifies it." in queue

    client.force_login(checker)
    queue = client.get("/lending/verification/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span id="count-repayments">1</span>' in queue and "ICBC-20270104-001" in queue
    response = client.post(f"/lending/verification/repayments/{repayment.pk}/verify/")
    assert response.status_code == 303
    repayment.refresh_from_db()
    assert (repayment.status, repayment.verified_by, repayment.value_date, repayment.principal,
            repayment.interest) == ("posted", checker, DUE1, D("1613.86"), D("116.67"))
    first = loan.installments.get(number=1)
    assert (first.status, first.settled_on) == ("paid", DUE1)
    loan.refresh_from_db()
    assert loan.principal_outstanding == D("18386.14")
    assert sorted((t.from_state, t.to_state) for t in transitions_for(repayment)) == [
        ("", "pending_verification"), ("pending_verification", "posted")]
    assert '<span id="count-repayments">0</span>' in client.get("/lending/verification/").content.decode()
    assert reconcile() == []
    # Verified once: a second verification is refused with the reason, nothing posts twice.
    again = client.post(f"/lending/verification/repayments/{repayment.pk}/verify/")
    assert again.status_code == 422 and "This repayment was decided already." in again.content.decode()
    assert JournalEntry.objects.filter(kind="repayment").count() == 1


def test_a_registered_transfer_is_rejected_with_a_reason(client, maker, checker, loan):
    client.force_login(maker)
    _register(client, loan)
    repayment = Repayment.objects.get(loan=loan)
    client.force_login(checker)
    blank = client.post(f"/lending/verification/repayments/{repayment.pk}/reject/", {"reason": ""})
    assert blank.status_code == 422 and "This field is required." in blank.content.decode()
    response = client.post(f"/lending/verification/repayments/{repayment.pk}/reject/",
                           {"reason": "No such transfer on the statement"})
    assert response.status_code == 303
    repayment.refresh_from_db()
    assert (repayment.status, repayment.verified_by) == ("rejected", checker)
    assert sorted(t.to_state for t in transitions_for(repayment)) == ["pending_verification", "rejected"]
    assert not JournalEntry.objects.filter(kind="repayment").exists()
    loan.refresh_from_db()
    assert loan.principal_outstanding == D("20000.00")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"kind": "payoff", "amount": "20000.00"}, "amount", "Today&#x27;s quote is 20300.53."),
    ({"kind": "prepayment", "amount": "6780.53"}, "principal", "Name the principal to prepay."),
    ({"kind": "prepayment", "amount": "6780.00", "principal": "5000.00"}, "amount", "Today&#x27;s quote is 6780.53."),
    ({"kind": "regular", "principal": "5000.00"}, "principal", "Only a prepayment names a principal."),
    ({"amount": "１７３０.５３"}, "amount", "digits"),
    ({"amount": "0"}, "amount", "greater than or equal to 0.01"),
    ({"reference": ""}, "reference", "This field is required."),
])
def test_a_wrong_registration_is_a_form_error_and_writes_nothing(client, maker, loan, data, field, message):
    client.force_login(maker)
    response = _register(client, loan, **data)
    assert response.status_code == 422
    html = response.content.decode()
    field_html = html[html.index(f'id="field-{field}"'):]
    assert message in field_html[:field_html.index("</div>\n", field_html.index("bo-errors"))]
    assert not Repayment.objects.exists()


def test_a_reference_registered_twice_is_refused_on_the_reference(client, maker, loan):
    client.force_login(maker)
    _register(client, loan)
    response = _register(client, loan, amount="100.00")
    assert response.status_code == 422
    assert "A repayment with this reference exists already." in response.content.decode()
    assert Repayment.objects.count() == 1


def test_a_prepayment_registered_at_its_quote_posts_when_verified(client, maker, checker, loan):
    client.force_login(maker)
    assert _register(client, loan, kind="prepayment", amount="6780.53", principal="5000.00").status_code == 303
    repayment = Repayment.objects.get(loan=loan)
    client.force_login(checker)
    assert client.post(f"/lending/verification/repayments/{repayment.pk}/verify/").status_code == 303
    repayment.refresh_from_db()
    assert (repayment.status, repayment.principal, repayment.prepayment_fee) == ("posted", D("6613.86"), D("50.00"))
    loan.refresh_from_db()
    assert loan.principal_outstanding == D("13386.14")
    assert reconcile() == []


def test_a_clerk_without_the_permissions_is_refused(client, maker, loan):
    clerk = make_staff("clerk", loan.branch)
    clerk.user_permissions.add(Permission.objects.get(codename="view_loan"))
    client.force_login(clerk)
    page = _page(client, loan).content.decode()
    assert 'id="register-form"' not in page and "20,300.53" in page  # sees the quote, not the form
    assert _register(client, loan).status_code == 403
    assert client.post(f"/lending/loans/{loan.pk}/refunds/", {"amount": "1.00", "reason": "x"}).status_code == 403
    assert not Repayment.objects.exists() and not CreditBalanceRefund.objects.exists()
    assert client.get("/lending/verification/").status_code == 403
    with pytest.raises(Exception) as refused:
        offline_repayment_register(loan=loan, amount="1730.53", reference="X-1", actor=clerk)
    assert type(refused.value).__name__ == "PermissionDenied"
    pending = offline_repayment_register(loan=loan, amount="1730.53", reference="X-2", actor=maker)
    assert client.post(f"/lending/verification/repayments/{pending.pk}/verify/").status_code == 403
    assert client.post(f"/lending/verification/repayments/{pending.pk}/reject/", {"reason": ""}).status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending_verification"


def test_the_service_enforces_four_eyes(maker, loan):
    pending = offline_repayment_register(loan=loan, amount="1730.53", reference="X-3", actor=maker)
    with pytest.raises(Exception) as refused:
        offline_repayment_verify(repayment=pending, actor=maker)
    assert type(refused.value).__name__ == "PermissionDenied"
    pending.refresh_from_db()
    assert pending.status == "pending_verification" and pending.verified_by is None


def test_staff_of_another_branch_do_not_see_the_transfer(client, maker, loan):
    from tests.factories import make_branch

    pending = offline_repayment_register(loan=loan, amount="1730.53", reference="X-4", actor=maker)
    outsider = make_staff("outsider", make_branch("sz"))
    outsider.groups.add(role_group("post_loan_manager"))
    client.force_login(outsider)
    assert "X-4" not in client.get("/lending/verification/").content.decode()
    assert client.post(f"/lending/verification/repayments/{pending.pk}/verify/").status_code == 404


# --- credit-balance refunds: request → approve / reject -----------------------------------------------


def test_a_credit_balance_refund_is_requested_and_approved_by_another(client, maker, checker, loan):
    repayment_post(loan=loan, amount="1800.00", reference="BANK-OVER", actor=None)
    loan.refresh_from_db()
    assert loan.credit_balance == D("69.47")
    client.force_login(maker)
    too_much = client.post(f"/lending/loans/{loan.pk}/refunds/", {"amount": "70.00", "reason": "Paid twice"})
    assert too_much.status_code == 422
    assert "The credit balance is 69.47; no more can be refunded." in too_much.content.decode()
    response = client.post(f"/lending/loans/{loan.pk}/refunds/", {"amount": "69.47", "reason": "Paid twice"})
    assert response.status_code == 303
    refund = CreditBalanceRefund.objects.get(loan=loan)
    assert (refund.status, refund.amount, refund.requested_by) == ("requested", D("69.47"), maker)
    assert client.post(f"/lending/verification/refunds/{refund.pk}/approve/").status_code == 403
    client.force_login(checker)
    assert '<span id="count-refunds">1</span>' in client.get("/lending/verification/").content.decode()
    assert client.post(f"/lending/verification/refunds/{refund.pk}/approve/").status_code == 303
    refund.refresh_from_db()
    loan.refresh_from_db()
    assert (refund.status, refund.decided_by, refund.value_date, loan.credit_balance) == (
        "paid", checker, DUE1, D("0.00"))
    entry = JournalEntry.objects.get(reference=f"{loan.number}/refund/{refund.pk}/own")
    assert sorted((line.account.number, line.debit, line.credit) for line in entry.lines.all()) == [
        ("own-1002", D("0"), D("69.47")), ("own-2241", D("69.47"), D("0"))]
    assert reconcile() == []
    page = _page(client, loan).content.decode()
    assert refund.number in page and "Credit balance refunded" in page


def test_a_refund_rejected_moves_no_money(client, maker, checker, loan):
    repayment_post(loan=loan, amount="1800.00", reference="BANK-OVER", actor=None)
    client.force_login(maker)
    client.post(f"/lending/loans/{loan.pk}/refunds/", {"amount": "20.00", "reason": "Asked"})
    refund = CreditBalanceRefund.objects.get(loan=loan)
    client.force_login(checker)
    assert client.post(f"/lending/verification/refunds/{refund.pk}/reject/", {"reason": "Keep for February"}
                       ).status_code == 303
    refund.refresh_from_db()
    loan.refresh_from_db()
    assert (refund.status, loan.credit_balance) == ("rejected", D("69.47"))
    assert not JournalEntry.objects.filter(kind="refund").exists()


def test_a_revolving_loan_quotes_its_payoff_and_offers_no_prepayment(client):
    product = make_product("FLEX", product_type="revolving_line", amount_min=D("1000.00"), amount_max=D("5000.00"),
                           term_unit="days", term_min=30, term_max=90, rate_basis="daily",
                           rate_min_percent=D("0.03"), rate_default_percent=D("0.05"), rate_max_percent=D("0.05"),
                           repayment_methods=["revolving"], purposes=["education"], apr_cap_percent=D("36"))
    business_date_set(date=VALUE, reason="test")
    flex = make_loan(product=product, amount=D("3000.00"), term=30, method="revolving", rate_percent=D("0.05"))
    close_through(datetime.date(2026, 12, 13))  # 10 days × round(3000.00 × 0.05 %) = 15.00
    client.force_login(_officer("flex-officer", flex))
    html = _page(client, flex).content.decode()
    assert 'id="prepayment-quote-form"' not in html
    assert "3,015.00" in html  # payoff = 3,000.00 principal + 15.00 interest, no fee


def test_a_product_without_early_repayment_says_so_on_the_loan_page(client, maker, loan):
    from products.models import ProductVersion

    ProductVersion.objects.filter(pk=loan.product_version_id).update(prepayment_allowed=False)
    client.force_login(maker)
    html = _page(client, loan).content.decode()
    assert "The product does not allow early repayment." in html and 'id="prepayment-quote-form"' not in html
    assert "1,730.53" in html  # what is due today is still quoted


def test_the_queue_reads_a_fixed_number_of_queries_however_long(client, maker, checker, loan):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/lending/verification/").status_code == 200
        return len(captured)

    offline_repayment_register(loan=loan, amount="1730.53", reference="Q-1", actor=maker)
    client.force_login(checker)
    one = queries()
    for n in range(2, 6):
        offline_repayment_register(loan=loan, amount="1730.53", reference=f"Q-{n}", actor=maker)
    assert queries() == one
    assert '<span id="count-repayments">5</span>' in client.get("/lending/verification/").content.decode()


def test_the_queue_in_chinese(client, maker, checker, loan):
    offline_repayment_register(loan=loan, amount="1730.53", reference="ZH-1", actor=maker)
    client.force_login(checker)
    html = client.get("/lending/verification/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "复核队列" in html and "待复核的线下还款" in html and "复核并入账" in html and "正常还款" in html
