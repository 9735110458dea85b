"""decision_replay recomputes a stored decision from its snapshot and the versions it recorded —
not the current working copies — and reproduces it exactly."""

from decimal import Decimal

import pytest

from risk.models import Decision, Rule, ScoreBin
from risk.services.decisions import decision_replay, risk_assess
from risk.services.policies import rule_set_publish, scorecard_publish
from tests.factories import make_product
from tests.risk.factories import make_applicant, make_application
from workflows.selectors.assessment import assessment_request

from .policy_factories import configure_sources, make_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy():
    configure_sources()
    return make_policy(make_product("EDUCATION"))


def _application(policy, **applicant):
    return make_application(product=policy.product, applicant=make_applicant(**applicant) if applicant else None)


@pytest.mark.parametrize("sequence", ["123", "981", "991", "961", "911"])
def test_replay_reproduces_each_kind_of_decision(policy, sequence):
    decision = risk_assess(request=assessment_request(_application(policy, sequence=sequence)), tolerate_failures=True)
    result = decision_replay(decision)
    assert (result.matches, result.differences, result.shadow_matches) == (True, (), None)
    assert result.replayed["outcome"] == decision.outcome
    assert result.replayed["reasons"] == decision.reasons
    assert result.replayed["rule_results"] == decision.rule_results


def test_replay_uses_the_stored_versions_after_the_rules_and_scorecard_were_republished(policy):
    decision = risk_assess(request=assessment_request(_application(policy)))
    assert (decision.outcome, decision.grade, decision.score, decision.limit) == (
        "approve", "C", 620, Decimal("40000.00"))

    admission = policy.rule_sets.get(code="T_ADMISSION")
    Rule.objects.filter(rule_set=admission, code="AGE_RANGE").update(expression="age < 40 or age > 55")
    rule_set_publish(rule_set=admission, actor=None)
    ScoreBin.objects.filter(characteristic__scorecard=policy.scorecard, label="Employed").update(points=80)
    scorecard_publish(scorecard=policy.scorecard, actor=None)

    # The edits are live: the same applicant assessed again is rejected on version 2.
    again = risk_assess(request=assessment_request(decision.application), force=True, note="policy changed")
    assert (again.outcome, again.versions["rule_sets"][0]["version"], again.versions["scorecard"]["version"]) == (
        "reject", 2, 2)

    decision.refresh_from_db()
    result = decision_replay(decision)
    assert (result.matches, result.differences) == (True, ())
    assert (result.replayed["outcome"], result.replayed["score"], result.replayed["limit"]) == (
        "approve", 620, "40000.00")
    assert decision_replay(again).matches is True


def test_replay_reports_what_differs_from_the_stored_decision(policy):
    decision = risk_assess(request=assessment_request(_application(policy)))
    Decision.objects.filter(pk=decision.pk).update(outcome="reject", limit=Decimal("90000.00"))
    decision.refresh_from_db()
    result = decision_replay(decision)
    assert (result.matches, result.differences) == (False, ("outcome", "limit"))
