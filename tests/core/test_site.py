import re
from decimal import Decimal

from django.core.management import call_command

from creditfactory.organisations.models import Role, WorkGroup
from products.models import LoanProduct, ProductStatus


def test_login_page_and_redirect(client, db):
    assert client.get("/accounts/login/").status_code == 200
    response = client.get("/")
    assert response.status_code in (301, 302)


def test_back_office_home_lands_each_user_on_a_page_they_may_open(client, django_user_model, db):
    reviewer = django_user_model.objects.create_user("reviewer", password="x")
    reviewer.groups.add(Role.objects.get(code="credit_reviewer").group)
    client.force_login(reviewer)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/workflow/inbox/"  # an officer starts at their tasks

    product_admin = django_user_model.objects.create_user("products", password="x")
    product_admin.groups.add(Role.objects.get(code="product_admin").group)
    client.force_login(product_admin)
    response = client.get("/", follow=True)
    assert response.status_code == 200  # not the inbox, which would be a 403 without workflow rights
    assert response.redirect_chain[-1][0] != "/workflow/inbox/"

    nobody = django_user_model.objects.create_user("o", password="x")
    client.force_login(nobody)
    assert client.get("/", follow=True).status_code == 200

    client.logout()
    assert client.get("/")["Location"] == "/accounts/login/?next=/"


def test_admin_and_api_docs_are_served(admin_client):
    assert admin_client.get("/admin/").status_code == 200
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI is served from our own static files (drf-spectacular-sidecar), never
    # a CDN: every script and stylesheet it loads is a local /static/ path. (A bare
    # "cdn" substring check failed whenever the page's random CSRF token held it.)
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.content.decode())
    assert assets and all(url.startswith("/static/") for url in assets), assets
    assert admin_client.get("/api/schema/").status_code == 200
    assert admin_client.get("/healthz").json() == {"status": "ok", "database": "ok", "cache": "ok",
                                                   "broker": "not configured"}


def test_demo_command_is_idempotent(db, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")
    first = capsys.readouterr().out
    with django_capture_on_commit_callbacks(execute=True):  # the applications assessed after the first commit
        call_command("demo", base_url="http://127.0.0.1:8011/")  # get their contract and a drawdown
    second = capsys.readouterr().out
    assert "admin login:  admin / creditfactory-demo" in first
    assert "Back office:  http://127.0.0.1:8000/\n" in first  # make run's address by default
    assert "Django admin: http://127.0.0.1:8011/admin/\n" in second
    assert "created" not in second and "published" not in second
    products = {p.code: p for p in LoanProduct.objects.select_related("current_version")}
    assert set(products) == {"EMERGENCY", "RENOVATION", "EDUCATION", "BUSINESS"}
    assert all(p.status == ProductStatus.ACTIVE and p.current_version.version == 1 for p in products.values())
    assert products["BUSINESS"].interest_every_months == 3
    assert products["EMERGENCY"].rate_basis == "daily"
    assert WorkGroup.objects.count() == 8
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    for role in Role.objects.all():
        assert users.filter(groups=role.group).exists(), role.code
    assert users.get(username="admin").is_superuser
    from workflows.models import CreditApplication

    statuses = dict(CreditApplication.objects.values_list("external_reference", "status"))
    assert statuses == {"DEMO-001": "approved", "DEMO-002": "in_review", "DEMO-003": "in_review",
                        "DEMO-004": "rejected", "DEMO-005": "in_review", "DEMO-006": "rejected",
                        "DEMO-L01": "approved", "DEMO-L02": "approved"}
    # the straight-through ones got their contract recorded and a drawdown booked as a loan (demo_loans)
    from servicing.models import Loan
    from servicing.services.ledger import reconcile

    assert sorted(Loan.objects.values_list("drawdown__external_reference", "principal")) == [
        ("DEMO-001-DD", Decimal("2000.00")), ("DEMO-L01-DD", Decimal("4000.00")), ("DEMO-L02-DD", Decimal("3000.00"))]
    assert reconcile() == []


def test_language_switch_to_chinese(client, db, django_user_model):
    user = django_user_model.objects.create_user("zh", password="x")
    client.force_login(user)
    response = client.get("/tools/calculator/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    body = response.content.decode()
    assert ">计算<" in body  # the "Calculate" button, translated
    assert "还款方式" in body
