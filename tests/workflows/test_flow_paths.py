"""The credit flow end to end on PostgreSQL with eager Celery and the real ``risk_assess`` on the
sandbox providers (zero latency): every path from an application to a line or a rejection."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.core.exceptions import ValidationError
from viewflow.workflow.status import PROCESS, STATUS

from creditfactory.core.rows import prepared_text
from creditfactory.core.state import transitions_for
from creditfactory.partners.models import WebhookEvent
from risk.models import Decision
from products.engine.dates import add_months
from servicing.models import CreditLine
from tests.partners.factories import make_partner
from tests.documents import png_bytes
from tests.workflows.factories import at, make_schedule
from workflows.flows import CreditApplicationFlow
from workflows.models import CreditApplication
from workflows.selectors.applications import application_decision_summary
from workflows.services import applications as services
from workflows.services.signing import signing_book, signing_complete

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Create and submit an application; the assessment job runs (eagerly) on commit."""

    def run(o, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            application = create_application(o, **kwargs)
        application.refresh_from_db()
        return application

    return run


def nodes(application):
    return [(t.flow_task.name, t.status) for t in application.process.task_set.order_by("id")]


def statuses(application):
    return [(t.from_state, t.to_state) for t in transitions_for(application).filter(field="status").order_by("id")]


def test_a_rejected_decision_ends_the_flow_with_the_reasons(submit):
    o = setup_origination()
    application = submit(o, sequence="981")  # sandbox: delinquent → BUREAU_SEVERE_OVERDUE
    assert application.status == "rejected"
    assert application.process.status == PROCESS.DONE
    assert nodes(application) == [("start", "DONE"), ("assess", "DONE"), ("assess__error", "CANCELED"),
                                  ("route", "DONE"), ("reject", "DONE"), ("rejected", "DONE")]
    assert statuses(application) == [("draft", "submitted"), ("submitted", "assessing"), ("assessing", "rejected")]
    last = transitions_for(application).filter(field="status").order_by("id").last()
    assert (last.reason, last.actor, last.actor_label) == (
        "Risk decision: reject (BUREAU_SEVERE_OVERDUE).", None, "system")
    assert application.process.data["decision"]["outcome"] == "reject"
    assert application_decision_summary(application, language="en") == {
        "outcome": "reject", "reasons": ["Credit record does not qualify"]}
    assert CreditLine.objects.count() == 0


def test_straight_through_within_the_ceiling_waits_only_for_the_contract(submit):
    o = setup_origination("EMERGENCY", auto_approval=True, ceiling=Decimal("20000.00"), approval=False)
    application = submit(o, amount=Decimal("20000.00"))  # sandbox 123: approve
    assert application.status == "contract"
    assert [n for n, _s in nodes(application)] == ["start", "assess", "assess__error", "route", "approve",
                                                  "needs_signing", "contract"]
    assert (application.approval_mode, application.approved_by) == ("straight_through", None)
    services.application_accept_contract(application=application, actor_label="partner:test")
    application.refresh_from_db()
    assert application.status == "approved"
    line = CreditLine.objects.get(application=application)
    assert (line.limit, line.rate_percent, line.grade, line.status) == (
        Decimal("40000.00"), Decimal("7.000000"), "C", "active")


def test_an_approve_decision_above_the_ceiling_goes_to_review(submit):
    o = setup_origination("EMERGENCY", auto_approval=True, ceiling=Decimal("19999.99"), approval=False)
    application = submit(o, amount=Decimal("20000.00"))
    assert application.status == "in_review"
    assert application.process.data["decision"]["outcome"] == "approve"
    assert nodes(application)[-1] == ("review", STATUS.NEW)


def test_an_approve_decision_without_straight_through_goes_to_review(submit):
    o = setup_origination(auto_approval=False)
    assert submit(o).status == "in_review"


def test_refer_review_approval_signing_contract_to_an_active_line(submit):
    o = setup_origination(approval_threshold=Decimal("15000.00"), signing=True)
    application = submit(o, sequence="991", amount=Decimal("20000.00"))  # thin file: refer
    decision = Decision.objects.get(application=application)
    assert (decision.outcome, decision.grade) == ("refer", "D")
    assert application.status == "in_review"

    services.application_approve(application=application, actor=o.reviewer, note="Income verified")
    application.refresh_from_db()
    assert application.status == "in_approval"  # 20,000 > threshold 15,000
    assert (application.reviewed_by, application.approved_by) == (o.reviewer, None)

    services.application_approve(application=application, actor=o.approver)
    application.refresh_from_db()
    assert (application.status, application.approved_by, application.approval_mode) == (
        "signing", o.approver, "approval")

    # remote signing: booked and passed through the signing service, which moves the flow on
    signers = o.review_group  # any work group with a schedule will do; the reviewer signs
    schedule = make_schedule(work_group=signers, weekdays=range(7), capacity=1)
    tomorrow = timezone.localdate() + timedelta(days=1)
    appointment = signing_book(application=application, slot_start=at(tomorrow, 9), schedule=schedule,
                               actor=o.reviewer)
    signing_complete(appointment=appointment, officer=o.reviewer, result="passed", recording_ref="rec-1",
                     now=at(tomorrow, 9, 20))
    application.refresh_from_db()
    assert application.status == "contract"

    services.application_accept_contract(application=application, actor_label="partner:test")
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.process.status == PROCESS.DONE
    line = CreditLine.objects.get(application=application)
    assert (line.limit, line.rate_percent, line.rate_basis, line.grade, line.status, line.decision) == (
        decision.limit, decision.rate_percent, "annual", "D", "active", decision)
    assert line.valid_until == add_months(line.valid_from, 12)  # the product's line validity
    assert statuses(application) == [
        ("draft", "submitted"), ("submitted", "assessing"), ("assessing", "in_review"), ("in_review", "in_approval"),
        ("in_approval", "signing"), ("signing", "contract"), ("contract", "approved")]
    moves = {t.to_state: t for t in transitions_for(application).filter(field="status")}
    assert moves["in_approval"].actor == o.reviewer
    assert moves["signing"].actor == o.approver
    assert moves["contract"].actor == o.reviewer  # the signing officer
    assert (moves["approved"].actor, moves["approved"].actor_label) == (None, "partner:test")


def test_a_review_approval_below_the_threshold_needs_no_approver(submit):
    o = setup_origination(approval_threshold=Decimal("50000.00"))
    application = submit(o, sequence="991", amount=Decimal("20000.00"))
    services.application_approve(application=application, actor=o.reviewer)
    application.refresh_from_db()
    assert (application.status, application.approved_by, application.approval_mode) == (
        "contract", o.reviewer, "review")
    assert "approval" not in [n for n, _s in nodes(application)]


def test_the_reviewer_may_ask_for_an_approver(submit):
    o = setup_origination(approval_threshold=Decimal("50000.00"))
    application = submit(o, sequence="991", amount=Decimal("20000.00"))
    services.application_approve(application=application, actor=o.reviewer, request_approval=True)
    application.refresh_from_db()
    assert application.status == "in_approval"


def test_asking_for_an_approver_where_the_product_has_none_is_refused(submit):
    o = setup_origination(approval=False)
    application = submit(o, sequence="991")
    with pytest.raises(ValidationError) as caught:
        services.application_approve(application=application, actor=o.reviewer, request_approval=True)
    assert caught.value.message_dict == {"request_approval": ["This product has no approval step."]}
    application.refresh_from_db()
    assert application.status == "in_review"


def test_a_reviewer_rejects_with_a_reason(submit):
    o = setup_origination()
    application = submit(o, sequence="991")
    with pytest.raises(ValidationError) as caught:
        services.application_reject(application=application, actor=o.reviewer, reason=" ")
    assert caught.value.message_dict == {"reason": ["Give the reason for rejecting."]}
    services.application_reject(application=application, actor=o.reviewer, reason="Income not credible")
    application.refresh_from_db()
    assert application.status == "rejected"
    last = transitions_for(application).filter(field="status").order_by("id").last()
    assert (last.reason, last.actor) == ("Income not credible", o.reviewer)


def test_return_for_documents_and_resume_goes_back_to_the_step_that_asked(submit):
    partner = make_partner("CHAN")
    o = setup_origination(approval_threshold=Decimal("0.00"))
    partner.products.add(o.product)
    application = submit(o, sequence="991", partner=partner)

    services.application_return_for_documents(application=application, actor=o.reviewer,
                                              reason="Need payslips", documents=["income_proof"])
    application.refresh_from_db()
    assert application.status == "returned"
    returned = WebhookEvent.objects.get(event="application.returned")
    assert (returned.partner, returned.payload["reason"], returned.payload["documents"]) == (
        partner, "Need payslips", ["income_proof"])
    assert returned.payload["application"]["current_node"] == "await_documents"

    services.application_resume_after_documents(application=application, actor_label="partner:CHAN")
    application.refresh_from_db()
    assert application.status == "in_review"

    services.application_approve(application=application, actor=o.reviewer)
    services.application_return_for_documents(application=application, actor=o.approver, reason="Need a bank statement")
    application.refresh_from_db()
    assert (application.status, application.process.data["returned_from"]) == ("returned", "approval")
    services.application_resume_after_documents(application=application, actor=o.reviewer)
    application.refresh_from_db()
    assert application.status == "in_approval"
    assert [n for n, _s in nodes(application)].count("review") == 2
    assert [n for n, _s in nodes(application)].count("approval") == 2


def test_resume_is_refused_when_nothing_waits_for_documents(submit):
    o = setup_origination()
    application = submit(o, sequence="991")
    with pytest.raises(ValidationError) as caught:
        services.application_resume_after_documents(application=application, actor=o.reviewer)
    assert caught.value.message_dict == {
        "status": [f"Application {application.number} is not waiting for documents."]}


def test_partner_webhooks_follow_the_application(submit):
    partner = make_partner("CHAN")
    o = setup_origination("EMERGENCY", auto_approval=True, ceiling=Decimal("50000.00"), approval=False)
    partner.products.add(o.product)
    application = submit(o, partner=partner)
    services.application_accept_contract(application=application, actor_label=partner.actor_label)
    events = list(WebhookEvent.objects.filter(partner=partner).order_by("id").values_list("event", flat=True))
    assert events == ["application.created", "application.decided", "application.approved", "contract.ready",
                      "contract.accepted", "line.granted"]
    granted = WebhookEvent.objects.get(event="line.granted").payload
    assert granted["line"]["limit"] == "40000.00" and granted["application"]["status"] == "approved"
    decided = WebhookEvent.objects.get(event="application.decided").payload
    assert decided["decision"] == {"outcome": "approve", "reasons": []}


def test_a_failing_assessment_job_routes_to_manual_review(submit):
    o = setup_origination(risk_policy=False)  # no policy: the job raises PolicyNotReady
    application = submit(o)
    assert application.status == "in_review"
    assert nodes(application) == [("start", "DONE"), ("assess", "ERROR"), ("assess__error", "DONE"),
                                  ("review", "NEW")]
    job = application.process.task_set.get(flow_task=CreditApplicationFlow.assess)
    assert job.data["_exception"]["title"] == "No active risk policy for this product."
    assert job.data["_exception"]["locals"] == {}  # the failing frame's variables are not kept
    last = transitions_for(application).filter(field="status").order_by("id").last()
    assert last.reason == "The automated assessment failed: manual review."


def test_a_data_source_outage_is_retried_then_decided_as_refer(submit, settings):
    settings.RISK_DECISION_MAX_ATTEMPTS = 3
    o = setup_origination()
    application = submit(o, sequence="911")  # the sandbox bureau never answers
    decision = Decision.objects.get(application=application)
    assert (decision.outcome, decision.tolerated_failures, decision.unavailable_sources) == ("refer", True, ["bureau"])
    assert application.status == "in_review"
    from risk.models import DataSourceCall

    assert DataSourceCall.objects.filter(source="bureau", applicant=application.applicant).count() == 3


def test_withdrawing_cancels_the_flow(submit):
    partner = make_partner("CHAN")
    o = setup_origination()
    partner.products.add(o.product)
    application = submit(o, sequence="991", partner=partner)
    services.application_withdraw(application=application, reason="Changed my mind", actor_label="partner:CHAN")
    application.refresh_from_db()
    assert application.status == "withdrawn"
    assert application.process.status == PROCESS.CANCELED
    assert application.process.task_set.filter(status=STATUS.NEW).count() == 0
    assert WebhookEvent.objects.filter(event="application.withdrawn").count() == 1
    with pytest.raises(ValidationError):
        services.application_withdraw(application=application, reason="again", actor_label="partner:CHAN")


def test_create_refuses_bad_input_naming_the_fields_and_writes_nothing():
    o = setup_origination()
    with pytest.raises(ValidationError) as caught:
        create_application(o, amount=Decimal("5.00"), term=99, consents={"credit_report": True},
                           applicant={"name": "张三", "id_number": "110105199005201230", "mobile": "123",
                                      "monthly_income": "10000", "employment": "employed"})
    assert caught.value.message_dict == {
        "consents": ["The applicant must consent to: personal_information."],
        "amount": ["The amount must be between 10000.00 and 100000.00."],
        "term": ["The term must be between 6 and 36."],
        "applicant.id_number": caught.value.message_dict["applicant.id_number"],
        "applicant.mobile": caught.value.message_dict["applicant.mobile"],
    }
    assert CreditApplication.objects.count() == 0


def test_the_flow_takes_viewflows_select_for_update_lock_with_a_memo_per_round(submit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from viewflow.workflow import lock

    from workflows.locks import application_lock, round_memo

    from workflows.locks import PrebuiltSelectForUpdateLock

    wrapped = CreditApplicationFlow.lock_impl.wrapped
    assert isinstance(wrapped, PrebuiltSelectForUpdateLock) and isinstance(wrapped, lock.SelectForUpdateLock)
    assert (wrapped.nowait, wrapped.attempts) == (True, lock.select_for_update_lock.attempts) == (True, 5)
    o = setup_origination()
    application = submit(o, amount=Decimal("20000.00"))
    assert round_memo() is None
    # Outside a locked round every read is fresh.
    assert application_lock(application.pk) is not application_lock(application.pk)
    with CaptureQueriesContext(connection) as queries:
        with CreditApplicationFlow.lock(application.process_id):
            first = application_lock(application.pk)
            assert application_lock(application.pk) is first  # read once per round
            assert round_memo() == {("application", application.pk): first}
    assert round_memo() is None
    process_table = CreditApplicationFlow.process_class._meta.db_table
    locks = [prepared_text(q["sql"]) for q in queries.captured_queries if "FOR UPDATE NOWAIT" in prepared_text(q["sql"])]
    assert len(locks) == 1 and process_table in locks[0]
    # The next round reads afresh.
    with CreditApplicationFlow.lock(application.process_id):
        assert application_lock(application.pk) is not first


def test_the_locked_application_is_one_statement_with_its_product_and_partner(submit):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from workflows.locks import application_lock

    o = setup_origination()
    partner = make_partner(branch=o.branch, products=[o.product])
    application = submit(o, amount=Decimal("20000.00"), partner=partner)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = application_lock(application.pk)
        # what the steps and webhooks read of it comes with it
        seen = (found.product_code, found.product_version.code, found.partner_id, found.partner,
                found.number, found.amount, found.status)
    assert len(queries) == 1
    assert prepared_text(queries[0]["sql"]).rstrip().endswith('FOR UPDATE OF t0')  # its own row alone is locked
    assert seen == (o.product.code, o.product.current_version.code, partner.pk, partner, application.number,
                    Decimal("20000.00"), application.status)
    with pytest.raises(CreditApplication.DoesNotExist):
        application_lock(application.pk + 1000)


def _stored_files(storage, path="") -> set[str]:
    directories, files = storage.listdir(path)
    found = {f"{path}/{name}".lstrip("/") for name in files}
    for directory in directories:
        found |= _stored_files(storage, f"{path}/{directory}".lstrip("/"))
    return found


def test_an_upload_whose_transaction_fails_leaves_no_file_behind(submit, monkeypatch):
    from django.core.files.storage import default_storage
    from django.core.files.uploadedfile import SimpleUploadedFile

    from workflows.models import ApplicationDocument

    o = setup_origination()
    application = submit(o, sequence="991")
    services.application_return_for_documents(application=application, actor=o.reviewer, reason="Need payslips",
                                              documents=["income_proof"])
    before = _stored_files(default_storage)

    def resume_fails(**kwargs):
        raise RuntimeError("the flow could not move")

    monkeypatch.setattr(services, "application_resume_after_documents", resume_fails)
    upload = SimpleUploadedFile("payslip.png", png_bytes(), content_type="image/png")
    with pytest.raises(RuntimeError):
        services.application_add_document(application=application, file=upload, kind="income_proof",
                                          actor=o.clerk, resume=True)
    assert ApplicationDocument.objects.count() == 0
    assert _stored_files(default_storage) == before
    # The same upload succeeds once the flow can move, and its file is kept.
    monkeypatch.undo()
    upload.seek(0)
    document = services.application_add_document(application=application, file=upload, kind="income_proof",
                                                 actor=o.clerk, resume=True)
    assert _stored_files(default_storage) - before == {document.file.name}


@pytest.mark.django_db(transaction=True)
def test_the_prebuilt_process_lock_waits_as_viewflows_and_fails_when_the_row_stays_locked(monkeypatch):
    """Another transaction holding the process row: every attempt fails at once (NOWAIT), with
    viewflow's back-off between them, then ``FlowLockFailed``; once it commits, the lock is taken."""
    import psycopg2
    from django.db import connection
    from viewflow.workflow.exceptions import FlowLockFailed
    from viewflow.workflow.models import Process

    from workflows import locks

    process = Process.objects.create(flow_class=CreditApplicationFlow)
    settings_dict = connection.settings_dict
    other = psycopg2.connect(dbname=settings_dict["NAME"], user=settings_dict["USER"] or "postgres",
                             host=settings_dict["HOST"] or "127.0.0.1", port=settings_dict["PORT"] or 5432)
    sleeps = []
    monkeypatch.setattr(locks.time, "sleep", sleeps.append)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT 1 FROM viewflow_process WHERE id = %s FOR UPDATE", [process.pk])
        with pytest.raises(FlowLockFailed):
            with CreditApplicationFlow.lock(process.pk):
                raise AssertionError("the lock was taken while another transaction held the row")
        assert len(sleeps) == 4 and all(0 < pause < 10 for pause in sleeps)
        other.commit()
        with CreditApplicationFlow.lock(process.pk):
            assert connection.in_atomic_block
    finally:
        other.close()
