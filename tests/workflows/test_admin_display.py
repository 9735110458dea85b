"""Django admin shows money, rates and times as the back office does (issue 14, A5)."""

from decimal import Decimal

import pytest
from django.utils import translation

from creditfactory.core.state import transitions_for

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db


def test_admin_lists_and_read_only_pages_format_money_and_local_times(admin_client):
    o = setup_origination()
    application = create_application(o, amount=Decimal("23456.70"))
    with translation.override("en"):
        listing = admin_client.get("/admin/workflows/creditapplication/").content.decode()
        page = admin_client.get(f"/admin/workflows/creditapplication/{application.pk}/change/").content.decode()
    assert '<td class="field-amount">23,456.70</td>' in listing
    assert "23,456.70" in page and "23456.70" not in page
    submitted = transitions_for(application).get(to_state="submitted")
    from django.utils import timezone
    local = timezone.localtime(submitted.at).strftime("%Y-%m-%d %H:%M")
    assert f"{local} · Status: Draft → Submitted" in page
    assert "draft → submitted" not in page
    assert "张*" in listing and "张三" not in listing


def test_admin_shows_rates_with_their_basis(admin_client):
    o = setup_origination()
    version = o.product.current_version
    with translation.override("en"):
        page = admin_client.get(f"/admin/products/productversion/{version.pk}/change/").content.decode()
    basis = "annual" if version.rate_basis == "annual" else "daily"
    expected = f"{basis} {version.rate_default_percent:.2f} %"
    assert expected in page
    assert f"{version.rate_default_percent:.6f}" not in page


def test_the_process_node_inline_fits_a_laptop_screen(admin_client):
    o = setup_origination()
    with translation.override("en"):
        page = admin_client.get(f"/admin/products/loanproduct/{o.product.pk}/change/").content.decode()
    inline = page[page.index('id="flow_nodes-group"'):]
    assert "backoffice/admin.css" in page
    assert "related-widget-wrapper-link" not in inline  # no add / change / delete / view icons
    assert 'name="flow_nodes-0-sla_hours"' in inline
    assert "Manual review (审查) *" in inline and "review · " not in inline


def test_admin_shows_a_product_versions_lists_of_codes_as_labels(admin_client):
    o = setup_origination()
    version = o.product.current_version
    with translation.override("en"):
        page = admin_client.get(f"/admin/products/productversion/{version.pk}/change/").content.decode()
    assert "Equal installment (等额本息)" in page
    assert "Education" in page
    assert "equal_installment" not in page and "[&quot;" not in page
