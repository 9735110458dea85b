from decimal import Decimal

from django.contrib.auth.models import Permission

from products.models import LoanProduct, ProductStatus, ProductVersion
from tests.factories import make_product, make_staff

FORM = {
    "code": "CAR", "name": "Car loan", "product_type": "consumer", "description": "",
    "amount_min": "20000.00", "amount_max": "300000.00", "term_unit": "months", "term_min": "12", "term_max": "60",
    "rate_basis": "annual", "rate_min_percent": "4", "rate_default_percent": "5", "rate_max_percent": "8",
    "day_count": "ACT/360", "penalty_rate_multiplier": "1.50", "apr_cap_percent": "24",
    "repayment_methods": ["equal_installment"], "interest_every_months": "1", "grace_days": "3",
    "upfront_fee_percent": "0", "prepayment_allowed": "on", "prepayment_fee_percent": "1",
    "purposes": ["durable_goods"], "age_min": "22", "age_max": "60", "line_validity_months": "6",
    "allocation_mode": "installment", "prepayment_recompute": "reduce_installment", "write_off_dpd": "180",
    "line_revolving": "on",
}


def test_admin_creates_a_draft(admin_client):
    response = admin_client.post("/admin/products/loanproduct/add/", FORM)
    assert response.status_code == 302, response.content.decode()[:3000]
    product = LoanProduct.objects.get(code="CAR")
    assert product.status == ProductStatus.DRAFT
    assert product.repayment_methods == ["equal_installment"]


def test_admin_form_shows_the_apr_cap_error_and_saves_nothing(admin_client):
    response = admin_client.post("/admin/products/loanproduct/add/",
                                 {**FORM, "rate_max_percent": "30", "upfront_fee_percent": "2"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "rate_max_percent" in errors
    assert "above the APR cap of 24.00 %" in errors["rate_max_percent"][0]
    assert not LoanProduct.objects.filter(code="CAR").exists()


def test_admin_edit_of_an_active_product_publishes_the_next_version(admin_client):
    product = make_product()
    data = {**FORM, "name": "Education loan", "product_type": "consumer", "amount_min": "10000.00",
            "amount_max": "90000.00", "term_min": "6", "term_max": "36", "rate_min_percent": "6",
            "rate_default_percent": "7", "rate_max_percent": "8", "repayment_methods": ["equal_installment"],
            "purposes": ["education"]}
    data.pop("code")
    response = admin_client.post(f"/admin/products/loanproduct/{product.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    product.refresh_from_db()
    assert product.current_version.version == 2
    assert product.current_version.amount_max == Decimal("90000.00")
    assert ProductVersion.objects.get(product=product, version=1).amount_max == Decimal("100000.00")
    assert product.code == "EDUCATION"


def test_publish_and_retire_actions(admin_client):
    product = make_product(publish=False)
    response = admin_client.post("/admin/products/loanproduct/",
                                 {"action": "publish_selected", "_selected_action": [product.pk]})
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.status == ProductStatus.ACTIVE and product.current_version.version == 1
    admin_client.post("/admin/products/loanproduct/", {"action": "retire_selected", "_selected_action": [product.pk]})
    product.refresh_from_db()
    assert product.status == ProductStatus.RETIRED


def test_publish_action_needs_the_publish_permission(client, db):
    product = make_product(publish=False)
    editor = make_staff("editor", is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_loanproduct", "change_loanproduct"]))
    client.force_login(editor)
    client.post("/admin/products/loanproduct/", {"action": "publish_selected", "_selected_action": [product.pk]})
    product.refresh_from_db()
    assert product.status == ProductStatus.DRAFT


def test_admin_change_page_groups_the_six_elements(admin_client):
    product = make_product()
    body = admin_client.get(f"/admin/products/loanproduct/{product.pk}/change/").content.decode()
    for heading in ("1 · Product type (产品类型)", "2 · Amount (额度)", "3 · Term (期限)", "4 · Rate (利率)",
                    "5 · Repayment method and fees (还款方式)", "6 · Purpose (贷款用途)"):
        assert heading in body
    assert admin_client.get(f"/admin/products/loanproduct/{product.pk}/history/").status_code == 200
    assert admin_client.get("/admin/products/loanproduct/?status__exact=active&q=EDU").status_code == 200


def test_versions_are_read_only_in_admin(admin_client):
    version = make_product().current_version
    assert admin_client.get("/admin/products/productversion/add/").status_code == 403
    response = admin_client.post(f"/admin/products/productversion/{version.pk}/change/", {"name": "hacked"})
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.name == "Education loan"


def test_admin_form_sets_the_servicing_terms_and_refuses_a_component_twice(admin_client):
    response = admin_client.post("/admin/products/loanproduct/add/", {
        **FORM, "allocation_order_0": "interest", "allocation_order_1": "principal", "allocation_order_2": "penalty",
        "allocation_order_3": "fee", "collection_retry_days": "2， 5", "prepayment_recompute": "reduce_term"})
    assert response.status_code == 302
    product = LoanProduct.objects.get(code="CAR")
    assert product.allocation_order == ["interest", "principal", "penalty", "fee"]
    assert product.collection_retry_days == [2, 5]
    assert product.prepayment_recompute == "reduce_term"

    response = admin_client.post("/admin/products/loanproduct/add/", {
        **FORM, "code": "CAR2", "allocation_order_0": "interest", "allocation_order_1": "interest",
        "allocation_order_2": "penalty", "allocation_order_3": "fee", "collection_retry_days": "1, x"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "allocation_order" in errors and "collection_retry_days" in errors
    assert not LoanProduct.objects.filter(code="CAR2").exists()


def test_a_new_product_allocates_mifos_standard_by_default(admin_client):
    admin_client.post("/admin/products/loanproduct/add/", FORM)
    product = LoanProduct.objects.get(code="CAR")
    assert product.allocation_order == ["penalty", "fee", "interest", "principal"]
    assert product.allocation_mode == "installment"
    assert product.penalty_compound is False


def test_admin_form_sets_the_line_and_the_disbursement_review(admin_client):
    """The credit line's kind and when a drawdown needs a disbursement review (放款审核) are set on the
    product page like every other term, and frozen into the published version."""
    body = admin_client.get("/admin/products/loanproduct/add/").content.decode()
    assert "Credit line and drawdowns (额度与借款)" in body
    for label in ("Repayment methods:", "Allowed purposes:", "Allocation order:", "Collection retry days:",
                  "Purposes needing disbursement review:"):  # capitalised like the model fields' labels
        assert f"{label}</label>" in body, label
    response = admin_client.post("/admin/products/loanproduct/add/", {
        **FORM, "line_revolving": "", "drawdown_review_above": "150000.00",
        "drawdown_review_purposes": ["durable_goods"]})
    assert response.status_code == 302, response.content.decode()[:3000]
    product = LoanProduct.objects.get(code="CAR")
    assert (product.line_revolving, product.drawdown_review_above, product.drawdown_review_purposes) == (
        False, Decimal("150000.00"), ["durable_goods"])
    admin_client.post("/admin/products/loanproduct/", {"action": "publish_selected", "_selected_action": [product.pk]})
    version = LoanProduct.objects.get(code="CAR").current_version
    assert (version.line_revolving, version.drawdown_review_above, version.drawdown_review_purposes) == (
        False, Decimal("150000.00"), ["durable_goods"])

    response = admin_client.post("/admin/products/loanproduct/add/", {**FORM, "code": "CAR2"})
    assert response.status_code == 302
    product = LoanProduct.objects.get(code="CAR2")
    assert (product.line_revolving, product.drawdown_review_above, product.drawdown_review_purposes) == (
        True, None, [])
