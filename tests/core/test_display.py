"""One way to show money, rates, times and codes (creditfactory.core.display), in the back
office's template filters and in Django admin."""

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from creditfactory.core import display
from creditfactory.core.models import StateTransition


def test_money_has_thousands_separators_and_two_decimals():
    assert display.format_money(Decimal("12345")) == "12,345.00"
    assert display.format_money(Decimal("1234567.891")) == "1,234,567.89"
    assert display.format_money("0.005") == "0.01"
    assert display.format_money(None) == "—"


def test_rates_carry_their_basis_and_no_trailing_zeros_beyond_two_decimals():
    with translation.override("en"):
        assert display.format_rate(Decimal("7.000000"), "annual") == "annual 7.00 %"
        assert display.format_rate(Decimal("0.050000"), "daily") == "daily 0.05 %"
        assert display.format_rate(Decimal("0.035000"), "daily") == "daily 0.035 %"
    with translation.override("zh-hans"):
        assert display.format_rate(Decimal("6.000000"), "annual") == "年化 6.00 %"
        assert display.format_rate(Decimal("0.050000"), "daily") == "日 0.05 %"
    assert display.format_percent(Decimal("30.000000")) == "30.00 %"


def test_times_are_in_shanghai_in_one_format_in_both_languages():
    at = datetime.datetime(2026, 12, 4, 14, 56, 18, tzinfo=datetime.UTC)
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert display.format_datetime(at) == "2026-12-04 22:56"
            assert display.format_date(at) == "2026-12-04"
            assert Template("{{ at }}").render(Context({"at": at})) == "2026-12-04 22:56"


def test_template_filters():
    at = datetime.datetime(2026, 1, 31, 16, 30, tzinfo=datetime.UTC)
    html = Template('{% load cf_display %}{{ a|money }}|{{ r|rate:"daily" }}|{{ at|dt }}|{{ at|d }}|{{ n|masked_name }}'
                    ).render(Context({"a": Decimal("200000"), "r": Decimal("0.05"), "at": at, "n": "王小明"}))
    with translation.override("en"):
        assert html == "200,000.00|daily 0.05 %|2026-02-01 00:30|2026-02-01|王**"


def test_codes_become_registered_labels_or_choice_labels():
    display.register_labels("test_kind", {"direct_reject": "Rejected outright"})
    assert display.label("test_kind", "direct_reject") == "Rejected outright"
    assert display.label("test_kind", "something_else") == "Something else"
    with translation.override("en"):
        assert display.state_label(StateTransition, "nonexistent", "") == "—"


@pytest.mark.django_db
def test_state_log_rows_read_as_labels(admin_user):
    from tests.factories import make_product

    product = make_product(publish=False)
    transition = StateTransition.objects.create(
        content_type_id=__import__("django.contrib.contenttypes.models", fromlist=["ContentType"])
        .ContentType.objects.get_for_model(product).pk,
        object_id=str(product.pk), field="status", from_state="draft", to_state="active", actor=admin_user,
        reason="x")
    StateTransition.objects.filter(pk=transition.pk).update(at=datetime.datetime(2026, 3, 1, 1, 2, tzinfo=datetime.UTC))
    transition.refresh_from_db()
    with translation.override("en"):
        row = display.transition_display(transition)
    assert row["at"] == "2026-03-01 09:02"
    assert row["field"] == "Status"
    assert (row["from_state"], row["to_state"]) == ("Draft", "Active")
    assert timezone.is_aware(transition.at)
