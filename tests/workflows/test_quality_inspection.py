"""Quality inspection (抽样质检): the daily sample of straight-through approvals (exact size per
product's percentage, deterministic, idempotent per date, Asia/Shanghai days), the inspection's
recorded state changes, and the branch-scoped QA queue and inspect form in the back office."""

import hashlib
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from creditfactory.core.state import transitions_for
from products.models import LoanProduct
from tests.factories import make_branch, make_product, make_staff
from workflows.models import CreditApplication, ProductFlowSettings, QualityInspection
from workflows.services.quality import quality_inspection_complete, quality_sample, quality_sample_size
from workflows.tasks import quality_sample as quality_sample_task

from .factories import make_application
from .flow_factories import create_application, grant, setup_origination

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2030, 3, 4)
INSPECTOR_PERMISSIONS = ("workflows.view_qualityinspection", "workflows.change_qualityinspection",
                         "workflows.view_creditapplication")


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=SHANGHAI)


def set_percent(code: str, percent: str) -> LoanProduct:
    product = LoanProduct.objects.filter(code=code).first() or make_product(code)
    ProductFlowSettings.objects.update_or_create(product=product, defaults={"qa_sample_percent": Decimal(percent)})
    return product


def approved(branch, *, when: datetime, product: str = "EDUCATION", mode: str = "straight_through",
             **fields) -> CreditApplication:
    return make_application(branch=branch, product_code=product, status="contract", approval_mode=mode,
                            approved_at=when, **fields)


def expected_sample(applications, day: date, size: int) -> set:
    """The test's own reading of the rule: the first ``size`` by SHA-256 of "number:date"."""
    keyed = sorted(applications, key=lambda a: hashlib.sha256(f"{a.number}:{day.isoformat()}".encode()).hexdigest())
    return {a.pk for a in keyed[:size]}


@pytest.fixture
def branch():
    return make_branch("hq", name="Head office")


# --- the sample ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("approvals", "percent", "size"), [
    (25, "10", 3), (20, "10", 2), (10, "10", 1), (1, "5", 1), (3, "1", 1), (200, "5", 10), (7, "50", 4),
    (3, "100", 3), (0, "10", 0), (7, "0", 0), (9, "12.5", 2),
])
def test_sample_size_is_the_percentage_rounded_up(approvals, percent, size):
    assert quality_sample_size(approvals=approvals, percent=Decimal(percent)) == size


def test_each_product_is_sampled_by_its_own_percentage_deterministically(branch):
    set_percent("EDUCATION", "10")
    set_percent("EMERGENCY", "50")
    set_percent("RENOVATION", "0")
    education = [approved(branch, when=at(DAY, 9, i)) for i in range(20)]
    emergency = [approved(branch, when=at(DAY, 14, i), product="EMERGENCY") for i in range(7)]
    renovation = [approved(branch, when=at(DAY, 15, i), product="RENOVATION") for i in range(5)]
    # Not of the day, or not straight through: never sampled.
    approved(branch, when=at(DAY - timedelta(days=1), 23, 59, 59))
    approved(branch, when=at(DAY + timedelta(days=1), 0, 0))
    approved(branch, when=at(DAY, 10), mode="review")

    result = quality_sample(business_date=DAY)

    assert (result.approvals, result.sampled) == (32, 6)
    assert result.per_product == {
        "EDUCATION": {"approvals": 20, "percent": "10.00", "selected": 2, "created": 2},
        "EMERGENCY": {"approvals": 7, "percent": "50.00", "selected": 4, "created": 4},
        "RENOVATION": {"approvals": 5, "percent": "0.00", "selected": 0, "created": 0},
    }
    sampled = set(QualityInspection.objects.values_list("application_id", flat=True))
    assert sampled == expected_sample(education, DAY, 2) | expected_sample(emergency, DAY, 4)
    assert not sampled & {a.pk for a in renovation}
    assert set(QualityInspection.objects.values_list("business_date", "status").distinct()) == {(DAY, "pending")}


def test_the_day_is_a_shanghai_day(branch):
    set_percent("EDUCATION", "100")
    first = approved(branch, when=at(DAY, 0, 0))  # 2030-03-03 16:00 UTC
    last = approved(branch, when=at(DAY, 23, 59, 59))
    approved(branch, when=datetime(2030, 3, 3, 15, 59, 59, tzinfo=ZoneInfo("UTC")))  # 23:59:59 the day before
    assert quality_sample(business_date=DAY).sampled == 2
    assert set(QualityInspection.objects.values_list("application_id", flat=True)) == {first.pk, last.pk}


def test_at_least_one_is_sampled_when_there_were_approvals(branch):
    set_percent("EDUCATION", "1")
    approvals = [approved(branch, when=at(DAY, 11, i)) for i in range(3)]
    assert quality_sample(business_date=DAY).sampled == 1
    assert set(QualityInspection.objects.values_list("application_id", flat=True)) == expected_sample(approvals, DAY, 1)


def test_another_date_picks_by_its_own_key(branch):
    set_percent("EDUCATION", "25")
    other_day = DAY + timedelta(days=1)
    first = [approved(branch, when=at(DAY, 9, i)) for i in range(8)]
    second = [approved(branch, when=at(other_day, 9, i)) for i in range(8)]
    quality_sample(business_date=DAY)
    quality_sample(business_date=other_day)
    assert set(QualityInspection.objects.filter(business_date=DAY).values_list("application_id", flat=True)) == (
        expected_sample(first, DAY, 2))
    assert set(QualityInspection.objects.filter(business_date=other_day).values_list("application_id", flat=True)) == (
        expected_sample(second, other_day, 2))


def test_rerunning_a_date_samples_nothing_twice(branch):
    set_percent("EDUCATION", "20")
    [approved(branch, when=at(DAY, 9, i)) for i in range(10)]
    assert quality_sample_task.delay(DAY.isoformat()).get() == {"business_date": "2030-03-04", "approvals": 10,
                                                                "sampled": 2}
    first = set(QualityInspection.objects.values_list("pk", "application_id"))
    transitions = sum(transitions_for(i).count() for i in QualityInspection.objects.all())
    assert quality_sample_task.delay(DAY.isoformat()).get() == {"business_date": "2030-03-04", "approvals": 10,
                                                                "sampled": 0}
    assert quality_sample(business_date=DAY).sampled == 0
    assert set(QualityInspection.objects.values_list("pk", "application_id")) == first
    assert sum(transitions_for(i).count() for i in QualityInspection.objects.all()) == transitions == 2


def test_the_beat_task_samples_yesterday_by_default(branch):
    set_percent("EDUCATION", "100")
    yesterday = timezone.localdate() - timedelta(days=1)
    application = approved(branch, when=at(yesterday, 12))
    approved(branch, when=at(timezone.localdate(), 0, 0))  # today's: sampled tomorrow
    result = quality_sample_task.delay().get()
    assert result["business_date"] == yesterday.isoformat()
    assert QualityInspection.objects.get().application == application
    entry = settings.CELERY_BEAT_SCHEDULE["workflows.quality-sample"]
    assert entry["task"] == "workflows.quality_sample"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({1}, {30})


def test_a_real_straight_through_approval_is_sampled(django_capture_on_commit_callbacks):
    o = setup_origination(auto_approval=True, ceiling=Decimal("50000.00"))
    set_percent(o.product.code, "5")
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="123")
    application.refresh_from_db()
    assert (application.status, application.approval_mode) == ("contract", "straight_through")
    result = quality_sample(business_date=timezone.localdate(application.approved_at))
    assert (result.approvals, result.sampled) == (1, 1)
    assert QualityInspection.objects.get().application == application


# --- the inspection --------------------------------------------------------------------------------


@pytest.fixture
def inspection(branch):
    set_percent("EDUCATION", "100")
    approved(branch, when=at(DAY, 9))
    quality_sample(business_date=DAY)
    return QualityInspection.objects.get()


@pytest.fixture
def inspector(branch):
    return grant(make_staff("qa", branch), *INSPECTOR_PERMISSIONS)


def test_an_inspection_passes_and_every_change_is_recorded(inspection, inspector):
    quality_inspection_complete(inspection=inspection, actor=inspector, result="passed", findings="")
    inspection.refresh_from_db()
    assert (inspection.status, inspection.inspector, inspection.findings) == ("passed", inspector, "")
    assert inspection.inspected_at is not None
    log = [(t.from_state, t.to_state, t.actor, t.actor_label, t.reason)
           for t in transitions_for(inspection).order_by("at", "id")]
    assert log == [
        ("", "pending", None, "system",
         "Sampled for quality inspection: 100.00% of 1 straight-through approvals of 2030-03-04."),
        ("pending", "passed", inspector, "", "Passed."),
    ]


def test_a_failed_inspection_needs_findings_and_cannot_be_redone(inspection, inspector):
    with pytest.raises(ValidationError) as caught:
        quality_inspection_complete(inspection=inspection, actor=inspector, result="failed", findings="  ")
    assert caught.value.message_dict == {"findings": ["Describe what was wrong."]}
    with pytest.raises(ValidationError) as caught:
        quality_inspection_complete(inspection=inspection, actor=inspector, result="maybe")
    assert caught.value.message_dict == {"result": ["Choose passed or failed."]}
    inspection.refresh_from_db()
    assert inspection.status == "pending" and transitions_for(inspection).count() == 1

    quality_inspection_complete(inspection=inspection, actor=inspector, result="failed",
                                findings="Income proof missing from the file.")
    with pytest.raises(ValidationError) as caught:
        quality_inspection_complete(inspection=inspection, actor=inspector, result="passed")
    assert caught.value.message_dict == {"status": ["This inspection was completed already (failed)."]}
    inspection.refresh_from_db()
    assert (inspection.status, inspection.findings) == ("failed", "Income proof missing from the file.")
    assert [t.to_state for t in transitions_for(inspection).order_by("at", "id")] == ["pending", "failed"]


def test_who_may_inspect(inspection, branch):
    nobody = make_staff("nobody", branch)
    with pytest.raises(PermissionDenied):
        quality_inspection_complete(inspection=inspection, actor=nobody, result="passed")
    elsewhere = grant(make_staff("sz", make_branch("sz")), *INSPECTOR_PERMISSIONS)
    with pytest.raises(PermissionDenied):
        quality_inspection_complete(inspection=inspection, actor=elsewhere, result="passed")
    clerk = grant(make_staff("clerk", branch), *INSPECTOR_PERMISSIONS)
    CreditApplication.objects.filter(pk=inspection.application_id).update(created_by=clerk)
    with pytest.raises(ValidationError) as caught:
        quality_inspection_complete(inspection=inspection, actor=clerk, result="passed")
    assert caught.value.message_dict == {"actor": ["You entered this application: someone else must inspect it."]}
    inspection.refresh_from_db()
    assert inspection.status == "pending" and inspection.inspector is None


# --- the back office -------------------------------------------------------------------------------


def test_the_queue_shows_pending_inspections_of_the_inspectors_branches(client, inspection, inspector, branch):
    child = make_branch("hq-east", name="East", parent=branch)
    other = make_branch("bj", name="Beijing")
    set_percent("EDUCATION", "100")
    in_child = approved(child, when=at(DAY, 10))
    elsewhere = approved(other, when=at(DAY, 11))
    quality_sample(business_date=DAY)
    assert QualityInspection.objects.count() == 3

    client.force_login(inspector)
    page = client.get("/origination/quality/").content.decode()
    assert inspection.application.number in page and in_child.number in page
    assert elsewhere.number not in page
    assert '<span id="inspection-count">2</span>' in page
    other_inspection = QualityInspection.objects.get(application=elsewhere)
    assert client.get(f"/origination/quality/{other_inspection.pk}/").status_code == 404
    assert client.post(f"/origination/quality/{other_inspection.pk}/", {"result": "passed"}).status_code == 404


def test_the_inspect_form(client, inspection, inspector):
    client.force_login(inspector)
    url = f"/origination/quality/{inspection.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and 'id="inspect-form"' in page.content.decode()

    response = client.post(url, {"result": "failed", "findings": ""})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="field-findings"' in html and "Describe what was wrong." in html
    response = client.post(url, {"findings": "x"})
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    inspection.refresh_from_db()
    assert inspection.status == "pending"

    response = client.post(url, {"result": "failed", "findings": "Employer could not be confirmed."})
    assert response.status_code == 303 and response["Location"] == "/origination/quality/"
    inspection.refresh_from_db()
    assert (inspection.status, inspection.inspector) == ("failed", inspector)
    assert f'href="{url}"' not in client.get("/origination/quality/").content.decode()
    assert f'href="{url}"' in client.get("/origination/quality/?status=failed").content.decode()
    assert 'id="inspect-form"' not in client.get(url).content.decode()


def test_the_pages_need_their_permissions(client, inspection, branch):
    viewer = grant(make_staff("viewer", branch), "workflows.view_qualityinspection")
    client.force_login(viewer)
    assert client.get("/origination/quality/").status_code == 200
    assert client.post(f"/origination/quality/{inspection.pk}/", {"result": "passed"}).status_code == 403
    client.force_login(make_staff("plain", branch))
    assert client.get("/origination/quality/").status_code == 403
    inspection.refresh_from_db()
    assert inspection.status == "pending"


def test_sample_count_matches_math_for_a_larger_day(branch):
    set_percent("EDUCATION", "7.5")
    approvals = [approved(branch, when=at(DAY, 8 + i // 60, i % 60)) for i in range(41)]
    result = quality_sample(business_date=DAY)
    assert result.sampled == math.ceil(41 * 7.5 / 100) == 4
    assert set(QualityInspection.objects.values_list("application_id", flat=True)) == expected_sample(approvals, DAY, 4)


def test_admin_shows_inspections_read_only(admin_client, inspection):
    listing = admin_client.get("/admin/workflows/qualityinspection/")
    assert listing.status_code == 200 and inspection.application.number in listing.content.decode()
    page = admin_client.get(f"/admin/workflows/qualityinspection/{inspection.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
