"""Process-node configuration: defaults, validation against the real flow, the admin inline on
the product, the snapshot taken at start, and claim rights that stay with the stored queue."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from viewflow.workflow.models import Task

from creditfactory.organisations import services as org_services
from tests.factories import make_product, make_staff
from workflows.flows import CreditApplicationFlow
from workflows.models import ProcessNodeConfig, ProductFlowSettings
from workflows.services import applications as services
from workflows.services.configuration import node_config_ensure_defaults, node_config_snapshot

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    def run(o, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            application = create_application(o, **kwargs)
        application.refresh_from_db()
        return application

    return run


def rows(product):
    return {row.node: (row.enabled, row.work_group.code if row.work_group_id else None, row.sla_hours)
            for row in ProcessNodeConfig.objects.filter(product=product).select_related("work_group")}


def test_defaults_are_created_once_and_routed_to_the_default_work_groups():
    from tests.factories import make_branch

    branch = make_branch("hq")
    org_services.work_group_create(code="review", name="Review", branch=branch)
    product = make_product("EDUCATION")
    node_config_ensure_defaults(product)
    assert rows(product) == {"review": (True, "review", 8), "approval": (True, None, 8),
                             "signing": (False, None, 72), "contract": (True, None, None)}
    flow_settings = ProductFlowSettings.objects.get(product=product)
    assert (flow_settings.auto_approval_enabled, flow_settings.approval_threshold) == (False, None)
    ProcessNodeConfig.objects.filter(product=product, node="review").update(sla_hours=3)
    node_config_ensure_defaults(product)
    assert ProcessNodeConfig.objects.filter(product=product).count() == 4
    assert rows(product)["review"] == (True, "review", 3)  # what an admin set stays


def config(product, **fields):
    return ProcessNodeConfig(product=product, **fields)


def errors_of(row):
    with pytest.raises(ValidationError) as caught:
        row.full_clean(validate_unique=False, validate_constraints=False)
    return caught.value.message_dict


def test_nodes_are_validated_against_the_real_flow():
    o = setup_origination()
    assert errors_of(config(o.product, node="underwriting")) == {
        "node": ["Credit application has no node named underwriting."]}
    assert errors_of(config(o.product, node="route")) == {"node": ["Node route cannot be configured."]}
    assert errors_of(config(o.product, node="review", enabled=False, work_group=o.review_group)) == {
        "enabled": ["Manual review (审查) is a mandatory node and cannot be disabled."]}
    assert errors_of(config(o.product, node="contract", enabled=False, work_group=o.review_group)) == {
        "enabled": ["Contract acceptance is a mandatory node and cannot be disabled."],
        "work_group": ["Contract acceptance is done by the applicant: it has no work group."]}
    assert errors_of(config(o.product, node="approval", work_group=o.approval_group, assignee=o.reviewer)) == {
        "assignee": [f"{o.reviewer} does not work on the queue of Approval."]}
    assert errors_of(config(o.product, node="approval")) == {
        "work_group": ["Choose the work group whose queue receives Approval (审批) tasks."]}
    config(o.product, node="approval", enabled=False).full_clean(validate_unique=False, validate_constraints=False)  # optional: may be off
    config(o.product, node="approval", work_group=o.approval_group, assignee=o.approver,
           sla_hours=4).full_clean(validate_unique=False, validate_constraints=False)
    assert CreditApplicationFlow.instance.node("approval") is not None


def test_the_configuration_names_the_real_flow_and_its_nodes():
    from workflows.models import CREDIT_FLOW, NODE_SPECS
    from workflows.models.configuration import flow_class_for

    assert flow_class_for(CREDIT_FLOW) is CreditApplicationFlow
    assert CreditApplicationFlow.instance.flow_label == CREDIT_FLOW
    assert all(CreditApplicationFlow.instance.node(name) is not None for name in NODE_SPECS[CREDIT_FLOW])
    assert flow_class_for("nosuchflow") is None
    o = setup_origination()
    assert errors_of(config(o.product, flow="nosuchflow", node="review"))["flow"][-1] == "Unknown flow nosuchflow."


def _admin_post_data(response) -> dict:
    """The POST body the admin change form would send, from the rendered form's values."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for sub in formset.forms:
            for name in sub.fields:
                value = sub[name].value()
                if value is None or value is False:
                    continue
                data[sub.add_prefix(name)] = getattr(value, "pk", value)
    return data


def test_the_admin_product_page_has_the_flow_inlines_and_validates_them(admin_client):
    o = setup_origination()
    url = f"/admin/products/loanproduct/{o.product.pk}/change/"
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Process nodes (流程节点)" in html and "Product flow settings (产品流程设置)" in html

    data = _admin_post_data(response)
    index = next(i for i in range(4) if data.get(f"flow_nodes-{i}-node") == "review")
    data.pop(f"flow_nodes-{index}-enabled", None)  # switch the mandatory review off
    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert "Manual review (审查) is a mandatory node and cannot be disabled." in refused.content.decode()
    assert ProcessNodeConfig.objects.get(product=o.product, node="review").enabled is True

    data[f"flow_nodes-{index}-enabled"] = "on"
    data[f"flow_nodes-{index}-sla_hours"] = "5"
    data["flow_settings-0-approval_threshold"] = "30000.00"
    saved = admin_client.post(url, data)
    assert saved.status_code == 302, re.sub(r"\s+", " ", saved.content.decode())[:2000]
    assert ProcessNodeConfig.objects.get(product=o.product, node="review").sla_hours == 5
    assert ProductFlowSettings.objects.get(product=o.product).approval_threshold == Decimal("30000.00")


def test_a_product_added_in_admin_gets_default_nodes(admin_client):
    response = admin_client.get("/admin/products/loanproduct/add/")
    assert response.status_code == 200
    data = {"code": "CASHX", "name": "Cash", "product_type": "cash", "amount_min": "1000", "amount_max": "5000",
            "term_unit": "months", "term_min": "1", "term_max": "12", "rate_basis": "annual",
            "rate_min_percent": "6", "rate_default_percent": "7", "rate_max_percent": "8", "day_count": "ACT/360",
            "penalty_rate_multiplier": "1.5", "apr_cap_percent": "24", "repayment_methods": ["equal_installment"],
            "interest_every_months": "1", "grace_days": "3", "upfront_fee_percent": "0", "prepayment_allowed": "on",
            "prepayment_fee_percent": "0", "purposes": ["consumption"], "age_min": "18", "age_max": "60",
            "line_validity_months": "12", "allocation_mode": "installment",
            "prepayment_recompute": "reduce_installment", "write_off_dpd": "180",
            "flow_settings-TOTAL_FORMS": "1", "flow_settings-INITIAL_FORMS": "0", "flow_settings-MIN_NUM_FORMS": "0",
            "flow_settings-MAX_NUM_FORMS": "1", "flow_settings-0-auto_approval_ceiling": "0.00",
            "flow_settings-0-qa_sample_percent": "0.00",
            "flow_nodes-TOTAL_FORMS": "0", "flow_nodes-INITIAL_FORMS": "0", "flow_nodes-MIN_NUM_FORMS": "0",
            "flow_nodes-MAX_NUM_FORMS": "1000"}
    saved = admin_client.post("/admin/products/loanproduct/add/", data)
    assert saved.status_code == 302, re.sub(r"\s+", " ", saved.content.decode())[:3000]
    from products.models import LoanProduct

    product = LoanProduct.objects.get(code="CASHX")
    assert sorted(rows(product)) == ["approval", "contract", "review", "signing"]
    assert ProductFlowSettings.objects.filter(product=product).count() == 1


def test_the_configuration_is_snapshotted_and_an_admin_edit_affects_new_applications_only(submit):
    o = setup_origination(approval_threshold=Decimal("50000.00"))
    running = submit(o, sequence="991", amount=Decimal("20000.00"))
    snapshot = running.process.data["config"]
    assert snapshot["settings"]["approval_threshold"] == "50000.00"
    assert snapshot["nodes"]["review"] == {"enabled": True, "work_group": o.review_group.pk,
                                           "work_group_code": "review", "assignee": None, "sla_hours": 8}

    # the admin now wants every application approved, and signing
    ProductFlowSettings.objects.filter(product=o.product).update(approval_threshold=Decimal("0.00"))
    ProcessNodeConfig.objects.filter(product=o.product, node="signing").update(enabled=True)

    newer = submit(o, sequence="991", amount=Decimal("20000.00"))
    services.application_approve(application=running, actor=o.reviewer)
    services.application_approve(application=newer, actor=o.reviewer)
    running.refresh_from_db()
    newer.refresh_from_db()
    assert running.status == "contract"  # the old rules: below 50,000, no approver, no signing
    assert newer.status == "in_approval"
    assert running.process.data["config"] == snapshot
    assert node_config_snapshot(o.product)["settings"]["approval_threshold"] == "0.00"


def test_claim_rights_follow_the_stored_work_group_after_rerouting(submit):
    o = setup_origination()
    pending = submit(o, sequence="991")
    other = make_staff("other", o.branch)
    new_group = org_services.work_group_create(code="review-2", name="Review 2", branch=o.branch, members=[other])
    ProcessNodeConfig.objects.filter(product=o.product, node="review").update(work_group=new_group)

    task = Task.objects.get(process=pending.process, flow_task=CreditApplicationFlow.review)
    node = task.flow_task
    assert task.owner_permission_obj == o.review_group
    assert node.can_assign(o.reviewer, task) is True
    assert node.can_assign(other, task) is False
    assert list(Task.objects.queue([CreditApplicationFlow], o.reviewer)) == [task]
    assert list(Task.objects.queue([CreditApplicationFlow], other)) == []
    with pytest.raises(PermissionDenied):
        services.application_claim(application=pending, actor=other)
    services.application_claim(application=pending, actor=o.reviewer)
    task.refresh_from_db()
    assert task.owner == o.reviewer

    rerouted = submit(o, sequence="991")
    new_task = Task.objects.get(process=rerouted.process, flow_task=CreditApplicationFlow.review)
    assert new_task.owner_permission_obj == new_group
    assert node.can_assign(other, new_task) is True
    assert node.can_assign(o.reviewer, new_task) is False


def test_the_demo_configures_the_four_products_once():
    from django.apps import apps

    from creditfactory.organisations.demo import seed_organisation
    from creditfactory.organisations.roles import sync_standard_roles
    from products.demo import seed_products
    from workflows.demo_flow import seed_flows

    sync_standard_roles(apps)
    seed_organisation(log=lambda line: None)
    seed_products(log=lambda line: None)
    first, second = [], []
    seed_flows(log=first.append)
    seed_flows(log=second.append)
    assert first == [f"  credit flow of {code} configured" for code in ("EMERGENCY", "EDUCATION", "RENOVATION",
                                                                         "BUSINESS")]
    assert second == []
    from products.models import LoanProduct

    summary = {}
    for product in LoanProduct.objects.all():
        flow_settings = ProductFlowSettings.objects.get(product=product)
        summary[product.code] = (flow_settings.auto_approval_enabled, flow_settings.auto_approval_ceiling,
                                 flow_settings.approval_threshold, {k: v[:2] for k, v in rows(product).items()})
    assert summary == {
        "EMERGENCY": (True, Decimal("5000.00"), None, {"review": (True, "review"), "approval": (False, "approval"),
                                                      "signing": (False, "signing"), "contract": (True, None)}),
        "EDUCATION": (False, Decimal("0.00"), Decimal("50000.00"),
                      {"review": (True, "review"), "approval": (True, "approval"), "signing": (False, "signing"),
                       "contract": (True, None)}),
        "RENOVATION": (False, Decimal("0.00"), Decimal("0.00"),
                       {"review": (True, "review"), "approval": (True, "approval"), "signing": (True, "signing"),
                        "contract": (True, None)}),
        "BUSINESS": (False, Decimal("0.00"), Decimal("0.00"),
                     {"review": (True, "review"), "approval": (True, "approval"), "signing": (True, "signing"),
                      "contract": (True, None)}),
    }
