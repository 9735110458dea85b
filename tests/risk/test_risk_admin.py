"""Django admin of the risk configuration and decisions: expression errors on the form, publish
(button, action, permission), the "test this rule set" page, bins, read-only masked decisions,
the champion/challenger report, and the roles' permissions."""

import json

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.urls import reverse

from creditfactory.organisations.models import Role
from creditfactory.organisations.roles import sync_standard_roles
from risk.models import Characteristic, Rule, RuleSet, RuleSetVersion, ScoreBin
from risk.services.decisions import risk_assess
from risk.services.policies import rule_set_create
from tests.factories import make_branch, make_product, make_staff
from tests.risk.factories import make_applicant, make_application
from workflows.selectors.assessment import assessment_request

from .policy_factories import ADMISSION_RULES, configure_sources, make_policy, make_scorecard

pytestmark = pytest.mark.django_db


def rule_set_form(**rule):
    data = {"code": "ADM", "name": "Admission", "stage": "admission", "description": "",
            "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "0", "rules-MIN_NUM_FORMS": "0",
            "rules-MAX_NUM_FORMS": "1000"}
    values = {"code": "AGE", "priority": "10", "active": "on", "expression": "age < 22", "outcome": "reject",
              "reason_code": "AGE", "customer_reason_zh": "年龄不符", "customer_reason_en": "Age", "description": ""}
    values.update(rule)
    data.update({f"rules-0-{name}": value for name, value in values.items()})
    return data


def test_an_unknown_feature_is_reported_on_the_expression_field(admin_client):
    response = admin_client.post(reverse("admin:risk_ruleset_add"),
                                 rule_set_form(expression="bureau.overdue_cnt > 0 and age < 22"))
    assert response.status_code == 200
    [formset] = [inline.formset for inline in response.context["inline_admin_formsets"]]
    assert formset.errors[0]["expression"] == [
        "Unknown feature “bureau.overdue_cnt” (did you mean “bureau.overdue_count”?). The features are listed in "
        "the feature catalogue."]
    assert "bureau.overdue_cnt" in response.content.decode()
    assert not RuleSet.objects.exists()
    assert not Rule.objects.exists()


def test_a_valid_rule_set_is_saved_then_published_with_the_button(admin_client, admin_user):
    response = admin_client.post(reverse("admin:risk_ruleset_add"), rule_set_form())
    assert response.status_code == 302
    rule_set = RuleSet.objects.get(code="ADM")
    assert rule_set.current_version is None
    change = admin_client.get(reverse("admin:risk_ruleset_change", args=[rule_set.pk])).content.decode()
    assert reverse("admin:risk_ruleset_publish", args=[rule_set.pk]) in change
    assert reverse("admin:risk_ruleset_test", args=[rule_set.pk]) in change

    response = admin_client.post(reverse("admin:risk_ruleset_publish", args=[rule_set.pk]))
    assert response.status_code == 302
    version = RuleSetVersion.objects.get()
    assert (version.rule_set, version.version, version.published_by) == (rule_set, 1, admin_user)
    assert [rule["code"] for rule in version.definition["rules"]] == ["AGE"]


def test_publishing_needs_the_publish_permission(client):
    rule_set = rule_set_create(actor=None, code="ADM", name="Admission", stage="admission", rules=ADMISSION_RULES)
    editor = make_staff("editor")
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_ruleset", "change_ruleset"]))
    client.force_login(editor)
    assert client.post(reverse("admin:risk_ruleset_publish", args=[rule_set.pk])).status_code == 403
    response = client.post(reverse("admin:risk_ruleset_changelist"),
                           {"action": "publish_selected", "_selected_action": [rule_set.pk]})
    assert response.status_code == 200  # the action is not offered: "No action selected"
    assert not RuleSetVersion.objects.exists()


def test_the_publish_action_reports_what_cannot_be_published(admin_client):
    good = rule_set_create(actor=None, code="GOOD", name="Good", stage="admission", rules=ADMISSION_RULES)
    empty = RuleSet.objects.create(code="EMPTY", name="Empty", stage="admission")
    response = admin_client.post(reverse("admin:risk_ruleset_changelist"),
                                 {"action": "publish_selected", "_selected_action": [good.pk, empty.pk]},
                                 follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["EMPTY not published: A rule set needs at least one active rule.",
                        "GOOD: version 1 is current."]
    assert list(RuleSetVersion.objects.values_list("rule_set__code", flat=True)) == ["GOOD"]


def test_the_test_page_runs_the_working_copy_against_sample_features(admin_client):
    rule_set = rule_set_create(actor=None, code="ADM", name="Admission", stage="admission", rules=ADMISSION_RULES)
    url = reverse("admin:risk_ruleset_test", args=[rule_set.pk])
    page = admin_client.get(url)
    assert json.loads(page.context["form"]["features"].value())["bureau.score"] == 720

    response = admin_client.post(url, {"features": json.dumps({"age": 20, "monthly_income": "8000"})})
    results = [(r.rule_code, r.status) for r in response.context["results"]]
    assert results == [("AGE_RANGE", "matched"), ("LOW_INCOME", "not_matched")]
    assert "fired" in response.content.decode()

    Rule.objects.filter(code="LOW_INCOME").update(expression="monthly_income < 9000")  # unpublished edit
    response = admin_client.post(url, {"features": json.dumps({"monthly_income": 8000})})
    assert [(r.rule_code, r.status) for r in response.context["results"]] == [
        ("AGE_RANGE", "not_matched"), ("LOW_INCOME", "matched")]


def test_the_test_page_names_bad_input(admin_client):
    rule_set = rule_set_create(actor=None, code="ADM", name="Admission", stage="admission", rules=ADMISSION_RULES)
    url = reverse("admin:risk_ruleset_test", args=[rule_set.pk])
    response = admin_client.post(url, {"features": json.dumps({"agee": 20, "age": "old", "fraud.id_hit": "no"})})
    assert response.context["results"] is None
    assert response.context["form"].errors == {"features": [
        "Unknown feature “agee”.", "“age” must be a int.", "“fraud.id_hit” must be a bool."]}
    response = admin_client.post(url, {"features": "{not json"})
    assert response.context["form"].errors["features"][0].startswith("Not valid JSON")
    response = admin_client.post(url, {"application": "CA-NOPE"})
    assert response.context["form"].errors == {"application": ["No decision for application CA-NOPE."]}


def test_the_test_page_can_use_an_applications_decision_snapshot(admin_client):
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    application = make_application(product=product, applicant=make_applicant(sequence="981"))
    decision = risk_assess(request=assessment_request(application))
    rule_set = RuleSet.objects.get(code="T_DIRECT")
    response = admin_client.post(reverse("admin:risk_ruleset_test", args=[rule_set.pk]),
                                 {"application": decision.application.number})
    assert [(r.rule_code, r.status) for r in response.context["results"]] == [
        ("SEVERE_OVERDUE", "matched"), ("DISHONEST", "not_matched"), ("THIN_FILE", "not_matched")]


def test_overlapping_bins_are_refused_on_the_characteristic_page(admin_client):
    scorecard = make_scorecard()
    characteristic = Characteristic.objects.get(scorecard=scorecard, feature="bureau.score")
    bins = list(characteristic.bins.order_by("position"))
    data = {"scorecard": scorecard.pk, "feature": "bureau.score", "label": "Bureau score", "position": "0",
            "default_points": "0", "bins-TOTAL_FORMS": str(len(bins)), "bins-INITIAL_FORMS": str(len(bins)),
            "bins-MIN_NUM_FORMS": "0", "bins-MAX_NUM_FORMS": "1000"}
    for index, item in enumerate(bins):
        data.update({f"bins-{index}-id": item.pk, f"bins-{index}-characteristic": characteristic.pk,
                     f"bins-{index}-position": item.position, f"bins-{index}-label": item.label,
                     f"bins-{index}-lower": item.lower or "", f"bins-{index}-upper": item.upper or "",
                     f"bins-{index}-categories": "", f"bins-{index}-points": item.points})
    data["bins-2-lower"] = "650"  # now overlaps 600–699
    response = admin_client.post(reverse("admin:risk_characteristic_change", args=[characteristic.pk]), data)
    assert response.status_code == 200
    [formset] = [inline.formset for inline in response.context["inline_admin_formsets"]]
    assert formset.non_form_errors() == ["bins 600–699 and 700+ overlap."]
    assert ScoreBin.objects.get(label="700+").lower == 700


def test_decisions_are_read_only_masked_and_branch_scoped(admin_client, client):
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    applicant = make_applicant(sequence="123", mobile="13812345678")
    decision = risk_assess(request=assessment_request(make_application(product=product, applicant=applicant)))
    page = admin_client.get(reverse("admin:risk_decision_change", args=[decision.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "T_ADMISSION" in body and "AGE_RANGE" in body
    assert applicant.id_number not in body
    assert "13812345678" not in body
    assert admin_client.post(reverse("admin:risk_decision_change", args=[decision.pk]), {}).status_code == 403
    listing = admin_client.get(reverse("admin:risk_decision_changelist")).content.decode()
    assert decision.application.number in listing

    outsider = make_staff("outsider", make_branch("far"), is_staff=True)
    outsider.user_permissions.add(Permission.objects.get(codename="view_decision"))
    client.force_login(outsider)
    assert decision.application.number not in client.get(reverse("admin:risk_decision_changelist")).content.decode()
    assert client.get(reverse("admin:risk_decision_change", args=[decision.pk])).status_code == 302  # not found


def test_the_replay_action_confirms_a_decision(admin_client):
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    decision = risk_assess(request=assessment_request(make_application(product=product)))
    response = admin_client.post(reverse("admin:risk_decision_changelist"),
                                 {"action": "replay_selected", "_selected_action": [decision.pk]}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"{decision}: replay reproduces the decision."]


def test_the_challenger_report_page(admin_client):
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product, challenger_scorecard=make_scorecard(code="C_SCORE", cutoffs={"A": 700, "B": 660, "C": 630,
                                                                                      "D": 600}))
    risk_assess(request=assessment_request(make_application(product=product)))
    body = admin_client.get(reverse("admin:risk_riskpolicy_challenger_report")).content.decode()
    assert 'id="report-EDUCATION"' in body
    assert "1 decision" in body and "0.0 %" in body


def test_roles_grant_risk_permissions():
    sync_standard_roles(apps)

    def perms(code):
        return set(Role.objects.get(code=code).group.permissions.values_list("codename", flat=True))

    admin_perms = perms("risk_policy_admin")
    assert {"add_ruleset", "change_rule", "publish_ruleset", "publish_scorecard", "publish_limitstrategy",
            "publish_pricingstrategy", "change_riskpolicy", "add_scorebin", "view_decision"} <= admin_perms
    assert "change_decision" not in admin_perms
    assert "view_decision" in perms("credit_reviewer")
    assert "view_decision" in perms("credit_approver")
    assert "view_decision" not in perms("customer_manager")
    assert "publish_ruleset" not in perms("auditor")
    assert "view_rulesetversion" in perms("auditor")


def test_the_rule_set_list_does_not_query_per_row(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:risk_ruleset_changelist")
    rule_set_create(actor=None, code="A1", name="A1", stage="admission", rules=ADMISSION_RULES)
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url)
    for code in ("A2", "A3", "A4"):
        rule_set_create(actor=None, code=code, name=code, stage="admission", rules=ADMISSION_RULES)
    with CaptureQueriesContext(connection) as four:
        body = admin_client.get(url).content.decode()
    assert body.count('class="field-code"') == 4
    assert len(four.captured_queries) == len(one.captured_queries)


@pytest.mark.parametrize("model", ["ruleset", "rulesetversion", "scorecard", "scorecardversion", "limitstrategy",
                                   "limitstrategyversion", "pricingstrategy", "pricingstrategyversion",
                                   "riskpolicy", "decision"])
def test_every_risk_configuration_page_renders(admin_client, model):
    configure_sources()
    product = make_product("EDUCATION")
    policy = make_policy(product)
    decision = risk_assess(request=assessment_request(make_application(product=product)))
    objects = {"ruleset": policy.rule_sets.first(), "scorecard": policy.scorecard,
               "limitstrategy": policy.limit_strategy, "pricingstrategy": policy.pricing_strategy,
               "riskpolicy": policy, "decision": decision,
               "rulesetversion": policy.rule_sets.first().current_version,
               "scorecardversion": policy.scorecard.current_version,
               "limitstrategyversion": policy.limit_strategy.current_version,
               "pricingstrategyversion": policy.pricing_strategy.current_version}
    assert admin_client.get(reverse(f"admin:risk_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:risk_{model}_change", args=[objects[model].pk])).status_code == 200
    if model in ("ruleset", "scorecard", "limitstrategy", "pricingstrategy", "riskpolicy"):
        assert admin_client.get(reverse(f"admin:risk_{model}_add")).status_code == 200
