"""An in-loan rule that freezes the line (issue 15 §3): the drawdown is rejected, its reservation
released, and the line frozen through the line-change flow — recorded with the rule's reasons."""

from decimal import Decimal

import pytest

from creditfactory.core.state import transitions_for
from servicing.models import CreditLine, Drawdown
from servicing.models.lines import CreditLineChange
from tests.factories import make_product
from tests.risk.factories import make_applicant
from tests.risk.policy_factories import configure_sources, make_in_loan_policy
from workflows.services.drawdowns import drawdown_request

from .drawdown_factories import drawdown_body, line_api

pytestmark = pytest.mark.django_db


def test_a_list_hit_in_the_drawdown_check_rejects_it_and_freezes_the_line(django_capture_on_commit_callbacks):
    configure_sources()
    product = make_product("EDUCATION")
    make_in_loan_policy(product)
    api = line_api(product=product, applicant=make_applicant(sequence="950", mobile="13812345678"))  # ID on the fraud list
    with django_capture_on_commit_callbacks(execute=True):
        drawdown = drawdown_request(line=api.line, data=drawdown_body(), partner=api.partner,
                                    actor_label=api.partner.actor_label)
    drawdown = Drawdown.objects.get(pk=drawdown.pk)
    line = CreditLine.objects.get(pk=api.line.pk)

    assert (drawdown.status, drawdown.check_outcome) == ("rejected", "freeze")
    assert (line.status, line.held, line.used) == ("frozen", Decimal("0.00"), Decimal("0.00"))
    change = CreditLineChange.objects.get(credit_line=line)
    assert (change.kind, change.source, change.status) == ("freeze", "rule", "applied")
    assert change.reason == "The borrower is on a risk list"
    line_moves = [(t.from_state, t.to_state) for t in transitions_for(line).order_by("at", "id")]
    assert ("active", "frozen") in line_moves
    # a further drawdown on the frozen line is refused
    response = api.client.post(f"/api/v1/credit-lines/{line.pk}/drawdowns", drawdown_body(),
                               format="json", HTTP_IDEMPOTENCY_KEY="freeze-2")
    assert (response.status_code, response.json()["code"]) == (409, "line_frozen")
