from django.core.management import call_command

from creditfactory.organisations.models import Role, WorkGroup
from products.models import LoanProduct, ProductStatus


def test_login_page_and_redirect(client, db):
    assert client.get("/accounts/login/").status_code == 200
    response = client.get("/")
    assert response.status_code in (301, 302)


def test_back_office_home_for_a_logged_in_officer(client, django_user_model, db):
    user = django_user_model.objects.create_user("o", password="x")
    client.force_login(user)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith("/tools/calculator/")


def test_admin_and_api_docs_are_served(admin_client):
    assert admin_client.get("/admin/").status_code == 200
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200
    assert "cdn" not in docs.content.decode().lower()
    assert admin_client.get("/api/schema/").status_code == 200
    assert admin_client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_demo_command_is_idempotent(db, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")
    first = capsys.readouterr().out
    call_command("demo")
    second = capsys.readouterr().out
    assert "admin login:  admin / creditfactory-demo" in first
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
    assert statuses == {"DEMO-001": "contract", "DEMO-002": "in_review", "DEMO-003": "in_review",
                        "DEMO-004": "rejected", "DEMO-005": "in_review", "DEMO-006": "rejected"}


def test_language_switch_to_chinese(client, db, django_user_model):
    user = django_user_model.objects.create_user("zh", password="x")
    client.force_login(user)
    response = client.get("/tools/calculator/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    body = response.content.decode()
    assert ">计算<" in body  # the "Calculate" button, translated
    assert "还款方式" in body
