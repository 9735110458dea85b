"""Admin of funding: the lists, a co-lending pair's shares must add up to 100 %, and "test this
routing" explains a sample drawdown without taking quota."""

from decimal import Decimal

import pytest

from servicing.models import CoLendingPair, CoLendingShare, Funder, FunderQuotaDay
from tests.factories import make_product

from .funding_factories import english, make_channel, make_funder, make_pair, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_funding_admin_lists_open(admin_client):
    own = make_funder("own", name="Own funds", daily_quota="50000.00")
    make_rule("Own first", funder=own, amount_max=Decimal("30000.00"), grades=["A", "B"])
    make_pair("pair", [(own, "30"), (make_funder("co", name="Co-lender"), "70")], name="Pair 30/70")
    make_channel()
    for url, text in [("/admin/servicing/funder/", "Own funds"),
                      ("/admin/servicing/routingrule/", "amount … – 30,000.00; grades A, B"),
                      ("/admin/servicing/colendingpair/", "Co-lender 70% / Own funds 30%"),
                      ("/admin/servicing/paymentchannel/", "Sandbox bank")]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url
    assert "/admin/servicing/routingrule/test/" in admin_client.get("/admin/servicing/routingrule/").content.decode()


def _pair_post(shares):
    data = {"code": "duo", "name": "Duo", "active": "on", "shares-TOTAL_FORMS": str(len(shares)),
            "shares-INITIAL_FORMS": "0", "shares-MIN_NUM_FORMS": "0", "shares-MAX_NUM_FORMS": "1000"}
    for i, (funder, percent) in enumerate(shares):
        data.update({f"shares-{i}-funder": str(funder.pk), f"shares-{i}-share_percent": percent})
    return data


def test_a_pair_whose_shares_do_not_add_up_to_100_is_refused(admin_client):
    a, b = make_funder("a"), make_funder("b")
    response = admin_client.post("/admin/servicing/colendingpair/add/", _pair_post([(a, "30"), (b, "60")]))
    assert response.status_code == 200
    assert "The shares must add up to 100% (they add up to 90%)." in response.content.decode()
    assert CoLendingPair.objects.count() == 0
    response = admin_client.post("/admin/servicing/colendingpair/add/", _pair_post([(a, "30"), (b, "70")]))
    assert response.status_code == 302
    assert sorted(CoLendingShare.objects.values_list("funder__code", "share_percent")) == [
        ("a", Decimal("30.000000")), ("b", Decimal("70.000000"))]


def test_testing_a_routing_shows_why_and_takes_nothing(admin_client):
    product = make_product("EDUCATION")
    own = make_funder("own", name="Own funds", daily_quota="50000.00")
    bank = make_funder("bank", name="Bank A", kind="facilitation")
    make_rule("Own up to 30,000", funder=own, priority=1, amount_max=Decimal("30000.00"))
    make_rule("Bank for the rest", funder=bank, fallback=True)
    response = admin_client.post("/admin/servicing/routingrule/test/", {
        "product": product.pk, "amount": "45000.00", "term": "12", "grade": "b", "region": "11"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Result: funded by Bank A" in page
    assert "Rule “Own up to 30,000” does not match. amount 45,000.00 is above 30,000.00." in page
    assert "A test: no quota was taken." in page
    assert FunderQuotaDay.objects.count() == 0
    assert Funder.objects.get(code="bank").total_used == Decimal("0.00")


def test_the_routing_test_form_names_bad_fields(admin_client):
    response = admin_client.post("/admin/servicing/routingrule/test/", {"amount": "-1", "term": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"product", "amount", "term"}


def test_disbursements_and_the_sandbox_book_are_read_only_in_admin(admin_client, django_capture_on_commit_callbacks):
    from servicing.services.payments import disbursement_send

    from .funding_factories import make_drawdown

    make_channel()
    drawdown = make_drawdown(status="disbursing")
    with django_capture_on_commit_callbacks(execute=True):
        disbursement = disbursement_send(drawdown=drawdown)
    page = admin_client.get(f"/admin/servicing/disbursement/{disbursement.pk}/change/").content.decode()
    assert disbursement.reference in page and "Callback" in page and "Sent to the channel" in page
    assert admin_client.get("/admin/servicing/disbursement/add/").status_code == 403
    assert disbursement.reference in admin_client.get("/admin/servicing/sandboxbanktransfer/").content.decode()
