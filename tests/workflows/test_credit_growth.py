"""Credit growth (额度动态调整): the periodic review of lines per the product's policy — on-time
history raises the limit and lowers the rate within the product's bounds, late history lowers the
limit or freezes, each change through the line-change flow (source system, the finding as its
reason), the borrower told (SMS for the own channel, ``line.changed`` for a partner's)."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from creditfactory.core.models import SmsMessage
from creditfactory.core.state import transitions_for
from creditfactory.partners.models import WebhookEvent
from servicing.models import CreditGrowthPolicy, CreditLine, CreditLineReview, Installment, Loan
from servicing.services.calendar import business_date_set
from servicing.services.loans import loan_book
from tests.partners.factories import make_partner
from tests.servicing.factories import make_drawdown, make_line
from workflows.services.credit_growth import credit_growth_review
from workflows.tasks import credit_growth_review as review_task

pytestmark = pytest.mark.django_db

D = Decimal
BOOKED = datetime.date(2026, 9, 4)
REVIEW = datetime.date(2026, 12, 5)  # a quarter after the lines were granted


def _line(sequence, *, limit="50000.00", rate="7", used="0.00", partner=None, loans=1):
    """A line granted on 2026-09-01 with ``loans`` 12-month loans of 10,000.00 booked on 2026-09-04
    (installments due 10-04, 11-04, 12-04, …), each installment settled on its due date so far."""
    business_date_set(date=BOOKED, reason="test")
    line = make_line(sequence=sequence, limit=D(limit), rate_percent=D(rate), valid_from=datetime.date(2026, 9, 1),
                     partner=partner)
    for _ in range(loans):
        loan_book(drawdown=make_drawdown(line=line, amount=D("10000.00"), term=12, value_date=BOOKED))
    for row in Installment.objects.filter(loan__credit_line=line, due_date__lt=REVIEW):
        Installment.objects.filter(pk=row.pk).update(status="paid", settled_on=row.due_date)
    CreditLine.objects.filter(pk=line.pk).update(used=D(used))
    line.refresh_from_db()
    return line


@pytest.fixture
def policy():
    business_date_set(date=BOOKED, reason="test")
    line = make_line(sequence="100")  # only to have the product
    return CreditGrowthPolicy.objects.create(product=line.product_version.product)  # quarterly, +10 %, −0.5, −20 %


def _review():
    business_date_set(date=REVIEW, reason="test")
    return credit_growth_review()


def test_an_on_time_line_gets_10_percent_more_and_half_a_point_less(policy):
    line = _line("201")
    counts = _review()
    assert (counts["reviewed"], counts["on_time"], counts["changed"]) == (1, 1, 1)
    line.refresh_from_db()
    assert (line.limit, line.rate_percent) == (D("55000.00"), D("6.5000"))
    review = CreditLineReview.objects.get(credit_line=line)
    assert (review.finding, review.installments_due, review.installments_late, review.window_start) == (
        "on_time", 3, 0, datetime.date(2026, 9, 5))
    change = review.change
    assert (change.kind, change.source, change.status, change.requested_by, change.new_limit, change.new_rate_percent,
            change.limit_before, change.limit_after, change.rate_before, change.rate_after) == (
        "increase", "system", "applied", None, D("55000.00"), D("6.5000"), D("50000.00"), D("55000.00"),
        D("7.0000"), D("6.5000"))
    assert change.reason == ("Credit growth review of 2026-12-05: 3 installment(s) due since 2026-09-05, "
                             "none overdue.")
    moves = {t.field: (t.from_state, t.to_state, t.actor_label, t.reason) for t in transitions_for(line)
             if t.field in ("limit", "rate_percent")}
    assert moves == {"limit": ("50000.00", "55000.00", "system", change.reason),
                     "rate_percent": ("7", "6.5", "system", change.reason)}
    [sms] = SmsMessage.objects.filter(template="credit_line_review")
    assert sms.text.endswith("您的授信额度经定期评估已调整：额度55,000.00元，利率年化 6.50 %，状态有效。")


def test_the_product_bounds_cap_the_limit_and_floor_the_rate(policy):
    capped = _line("202", limit="95000.00", rate="6.2")
    rate_only = _line("203", limit="100000.00", rate="7")
    at_bounds = _line("204", limit="100000.00", rate="6")
    assert _review()["changed"] == 2
    for line in (capped, rate_only, at_bounds):
        line.refresh_from_db()
    assert (capped.limit, capped.rate_percent) == (D("100000.00"), D("6.0000"))
    assert (rate_only.limit, rate_only.rate_percent) == (D("100000.00"), D("6.5000"))
    assert rate_only.growth_reviews.get().change.kind == "rate"
    assert (at_bounds.limit, at_bounds.rate_percent) == (D("100000.00"), D("6.0000"))
    review = at_bounds.growth_reviews.get()
    assert (review.finding, review.change, review.note) == (
        "on_time", None, "The limit and the rate are at the product's bounds.")


def test_a_late_installment_in_the_window_lowers_the_limit_by_20_percent_not_below_drawn(policy):
    late = _line("205", used="20000.00")
    Installment.objects.filter(loan__credit_line=late, number=2).update(settled_on=datetime.date(2026, 11, 6))
    floor = _line("206", used="45000.00")
    Installment.objects.filter(loan__credit_line=floor, number=3).update(status="overdue", settled_on=None)
    Loan.objects.filter(credit_line=floor).update(status="overdue", days_past_due=1)
    full = _line("207", used="50000.00")
    Loan.objects.filter(credit_line=full).update(days_past_due=1)
    counts = _review()
    assert (counts["late"], counts["changed"]) == (3, 3)
    for line in (late, floor, full):
        line.refresh_from_db()
    assert (late.limit, late.status) == (D("40000.00"), "active")
    assert (floor.limit, floor.status) == (D("45000.00"), "active")
    assert (full.limit, full.status) == (D("50000.00"), "frozen")  # nothing left to lower: frozen
    review = floor.growth_reviews.get()
    assert (review.finding, review.installments_late, review.max_days_past_due, review.change.kind) == (
        "late", 1, 1, "decrease")
    assert review.change.reason == ("Credit growth review of 2026-12-05: 1 installment(s) overdue since 2026-09-05, "
                                    "1 day(s) past due now.")


def test_the_freeze_policy_freezes_a_late_line(policy):
    policy.late_action = "freeze"
    policy.save()
    line = _line("208")
    Installment.objects.filter(loan__credit_line=line, number=1).update(settled_on=datetime.date(2026, 10, 5))
    _review()
    line.refresh_from_db()
    assert (line.limit, line.status, line.growth_reviews.get().change.kind) == (D("50000.00"), "frozen", "freeze")


def test_lateness_before_the_window_does_not_count_nor_does_a_line_without_history(policy):
    business_date_set(date=datetime.date(2026, 6, 4), reason="test")
    old = make_line(sequence="209", valid_from=datetime.date(2026, 6, 1))
    loan_book(drawdown=make_drawdown(line=old, amount=D("10000.00"), term=12, value_date=datetime.date(2026, 6, 4)))
    for row in Installment.objects.filter(loan__credit_line=old, due_date__lt=REVIEW):
        Installment.objects.filter(pk=row.pk).update(settled_on=row.due_date)
    # Due 2026-08-04, settled 2026-08-20: late, but before the window (2026-09-05, 2026-12-05].
    Installment.objects.filter(loan__credit_line=old, number=2).update(settled_on=datetime.date(2026, 8, 20))
    business_date_set(date=BOOKED, reason="test")
    empty = make_line(sequence="210", valid_from=datetime.date(2026, 9, 1))
    counts = _review()
    assert (counts["on_time"], counts["no_history"], counts["changed"]) == (1, 1, 1)
    old.refresh_from_db()
    assert old.limit == D("55000.00")
    assert (empty.growth_reviews.get().finding, empty.growth_reviews.get().change) == ("no_history", None)


def test_a_line_is_reviewed_once_per_cadence(policy):
    line = _line("211")
    assert _review()["reviewed"] == 1
    assert credit_growth_review()["reviewed"] == 0  # the same date again
    assert credit_growth_review(business_date=datetime.date(2027, 3, 4))["reviewed"] == 0  # not a quarter yet
    for row in Installment.objects.filter(loan__credit_line=line, due_date__lt=datetime.date(2027, 3, 5)):
        Installment.objects.filter(pk=row.pk).update(status="paid", settled_on=row.due_date)
    assert credit_growth_review(business_date=datetime.date(2027, 3, 5))["changed"] == 1
    line.refresh_from_db()
    assert (line.limit, line.rate_percent) == (D("60500.00"), D("6.0000"))
    policy.enabled = False
    policy.save()
    assert credit_growth_review(business_date=datetime.date(2027, 6, 5))["reviewed"] == 0


def test_a_partners_borrower_is_told_through_line_changed(policy):
    partner = make_partner("ACME")
    line = _line("212", partner=partner)
    _review()
    [event] = WebhookEvent.objects.filter(partner=partner, event="line.changed")
    assert (event.payload["credit_line"]["limit"], event.payload["credit_line"]["rate_percent"]) == ("55000.00", "6.5")
    assert (event.payload["change"]["kind"], event.payload["change"]["source"], event.payload["change"]["rate_before"],
            event.payload["change"]["rate_after"]) == ("increase", "system", "7", "6.5")
    assert not SmsMessage.objects.filter(template="credit_line_review").exists()


def test_the_command_and_the_beat_task(policy, settings, capsys):
    _line("213")
    business_date_set(date=REVIEW, reason="test")
    call_command("credit_growth_review")
    assert "reviewed=1 on_time=1 late=0 no_history=0 changed=1" in capsys.readouterr().out
    assert review_task.apply(kwargs={"on_date": "2026-12-05"}).get()["reviewed"] == 0
    entry = settings.CELERY_BEAT_SCHEDULE["workflows.credit-growth-review"]
    assert entry["task"] == "workflows.credit_growth_review"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({1}, {0})


def test_the_admin_edits_policies_and_shows_reviews_read_only(admin_client, policy):
    _line("214")
    _review()
    assert admin_client.get("/admin/servicing/creditgrowthpolicy/").status_code == 200
    page = admin_client.get(f"/admin/servicing/creditgrowthpolicy/{policy.pk}/change/",
                            HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "评估周期（月）" in page and "提额比例（%）" in page
    reviews = admin_client.get("/admin/servicing/creditlinereview/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "按时还款" in reviews
    assert admin_client.get("/admin/servicing/creditlinereview/add/").status_code == 403
    assert admin_client.get("/admin/servicing/ledgercheckrun/").status_code == 200


def test_the_line_page_shows_the_reviews_change_with_its_rates(admin_client, policy):
    line = _line("215")
    _review()
    page = admin_client.get(f"/servicing/lines/{line.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    change = line.growth_reviews.get().change
    row = page[page.index(f'id="change-{change.number}"'):]
    row = row[:row.index("</tr>")]
    assert "55,000.00 · 年化 6.50 %" in row and "50,000.00 → 55,000.00" in row
    assert "年化 7.00 % → 年化 6.50 %" in row and "Credit growth review of 2026-12-05" in row  # written in the language of the run
