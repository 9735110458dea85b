from creditfactory.organisations.roles import role_group
from tests.factories import make_branch, make_staff


def test_queue_new_button_leads_to_the_application_form(client, db):
    officer = make_staff("q-officer", make_branch("sh"))
    officer.groups.add(role_group("credit_reviewer"))
    client.force_login(officer)
    response = client.get("/workflow/queue/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/origination/applications/new/"' in body
    assert "New process" not in body


# --- issue 14, A2: what an officer picks work by ---------------------------------------------------

import re  # noqa: E402
from datetime import timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402

import pytest  # noqa: E402
from django.utils import timezone, translation  # noqa: E402

from workflows.models import TaskSla  # noqa: E402

from .flow_factories import applicant_data, create_application, setup_origination  # noqa: E402


@pytest.fixture
def two_in_review(db, django_capture_on_commit_callbacks):
    o = setup_origination()
    with django_capture_on_commit_callbacks(execute=True):
        small = create_application(o, sequence="991", amount=Decimal("12000.00"))
        large = create_application(o, sequence="991", amount=Decimal("34567.80"),
                                   applicant=applicant_data("991", mobile="13900000001", name="王小明"))
    small.refresh_from_db()
    large.refresh_from_db()
    return o, small, large


def _rows(html):
    return re.findall(r'<tr data-row-id="\d+">(.*?)</tr>', html, re.S)


def test_queue_rows_show_number_applicant_product_amount_branch_step_sla_and_age(client, two_in_review):
    o, small, large = two_in_review
    TaskSla.objects.filter(application=small).update(due_at=timezone.now() - timedelta(hours=1))
    client.force_login(o.reviewer)
    with translation.override("en"):
        html = client.get("/workflow/queue/").content.decode()
    rows = _rows(html)
    assert len(rows) == 2
    for header in ("Application", "Applicant", "Product", "Amount", "Branch", "Step", "SLA due", "Age"):
        assert f"<span>{header}</span>" in html
    assert "<span>Brief</span>" not in html and f"#{small.process_id}/" not in html
    large_row = next(r for r in rows if large.number in r)
    assert f'href="/origination/applications/{large.pk}/"' in large_row
    assert "王**" in large_row and "王小明" not in html
    assert o.product.name in large_row
    assert "34,567.80" in large_row
    assert o.branch.name in large_row
    assert "Manual review" in large_row
    assert "bo-overdue" not in large_row
    due = TaskSla.objects.get(application=large).due_at
    assert timezone.localtime(due).strftime("%Y-%m-%d %H:%M") in large_row
    small_row = next(r for r in rows if small.number in r)
    assert "Overdue" in small_row and "bo-overdue" in small_row


def test_queue_sorts_by_amount_and_sla(client, two_in_review):
    o, small, large = two_in_review
    client.force_login(o.reviewer)
    descending = client.get("/workflow/queue/", {"_orderby": "-amount"}).content.decode()
    assert descending.index(large.number) < descending.index(small.number)
    ascending = client.get("/workflow/queue/", {"_orderby": "amount"}).content.decode()
    assert ascending.index(small.number) < ascending.index(large.number)
    TaskSla.objects.filter(application=large).update(due_at=timezone.now() - timedelta(days=1))
    by_due = client.get("/workflow/queue/", {"_orderby": "sla"}).content.decode()
    assert by_due.index(large.number) < by_due.index(small.number)


def test_inbox_shows_the_same_columns_for_my_tasks(client, two_in_review):
    from workflows.services.applications import application_claim

    o, small, large = two_in_review
    application_claim(application=large, actor=o.reviewer)
    client.force_login(o.reviewer)
    with translation.override("en"):
        html = client.get("/workflow/inbox/").content.decode()
    rows = _rows(html)
    assert len(rows) == 1 and large.number in rows[0] and "34,567.80" in rows[0] and "王**" in rows[0]
