"""The drawdown page's funding section: the explanation, the parts, the disbursement and its
events — translated labels, money with separators, no codes."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from servicing.funding_display import drawdown_funding_context
from servicing.services import funding_route
from servicing.services.payments import disbursement_send

from .funding_factories import english, make_channel, make_drawdown, make_funder, make_pair, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_funding_section_shows_why_the_parts_and_every_exchange(django_capture_on_commit_callbacks):
    pair = make_pair("duo", [(make_funder("minor", name="Bank Minor"), "30"),
                             (make_funder("major", name="Bank Major"), "70")], name="Duo 30/70")
    make_rule("Co-lend everything", pair=pair)
    make_channel()
    drawdown = make_drawdown(amount="12345.67", status="disbursing")
    funding_route(drawdown=drawdown, now=datetime.datetime(2026, 12, 4, 12, tzinfo=ZoneInfo("Asia/Shanghai")))
    with django_capture_on_commit_callbacks(execute=True):
        disbursement_send(drawdown=drawdown)
    drawdown.refresh_from_db()
    context = drawdown_funding_context(drawdown=drawdown)
    assert [(p["funder"], p["share"], p["principal"], p["lead"]) for p in context["parts"]] == [
        ("Bank Major", "70", "8,641.97", True), ("Bank Minor", "30", "3,703.70", False)]
    assert [(e["kind"], e["result"]) for e in context["events"]] == [
        ("Sent to the channel", "accepted"), ("Callback", "paid")]
    html = render_to_string("servicing/_drawdown_funding.html", context)
    assert "Co-lent by Duo 30/70." in html and "12,345.67" in html and "Paid" in html
    with translation.override("zh-hans"):
        html = render_to_string("servicing/_drawdown_funding.html", drawdown_funding_context(drawdown=drawdown))
    assert "由 Duo 30/70 联合出资。" in html and "Bank Major 出资 70% = 8,641.97。" in html
    assert Decimal(context["parts"][0]["principal"].replace(",", "")) + Decimal("3703.70") == Decimal("12345.67")
