"""core's prebuilt statements write exactly what the ORM would."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditfactory.core.rows import prepared_text
from creditfactory.core import fastpath
from creditfactory.core.models import StateTransition
from creditfactory.core.state import record_transition
from tests.factories import make_staff
from tests.workflows.factories import make_application
from workflows.models import CreditApplication

pytestmark = pytest.mark.django_db


def _fields(instance, *, leave_out=()) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
            if field.attname not in leave_out}


def test_a_log_entry_is_inserted_as_save_inserts_it_in_one_statement():
    application = make_application()
    officer = make_staff("officer1")
    values = dict(content_type=ContentType.objects.get_for_model(CreditApplication), object_id=str(application.pk),
                  field="status", from_state="draft", to_state="submitted", actor=officer, reason="Submitted.")
    by_orm = StateTransition.objects.create(**values)
    with CaptureQueriesContext(connection) as queries:
        entry = fastpath.state_transition_insert(StateTransition(**values))
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith("INSERT INTO")
    stored = StateTransition.objects.get(pk=entry.pk)
    assert _fields(stored) == _fields(entry)
    assert _fields(stored, leave_out=("id", "at")) == _fields(by_orm, leave_out=("id", "at"))
    assert by_orm.at <= stored.at


def test_a_move_and_its_log_write_what_an_update_and_record_transition_write():
    moved_here, moved_by_orm = make_application(status="submitted"), make_application(status="submitted")
    officer = make_staff("officer1")
    content_type = ContentType.objects.get_for_model(CreditApplication)
    now = timezone.now()
    log = {"content_type_id": content_type.pk, "object_id": str(moved_here.pk), "field": "status",
           "from_state": "submitted", "to_state": "assessing", "actor_id": officer.pk, "actor_label": "",
           "reason": "Started.", "at": now}
    with CaptureQueriesContext(connection) as queries:
        assert fastpath.state_move_and_log(CreditApplication, moved_here.pk, field="status", from_state="submitted",
                                           values={"status": "assessing", "updated_at": now}, log=log) is True
    assert len(queries) == 1
    # The same move through the ORM.
    CreditApplication.objects.filter(pk=moved_by_orm.pk, status="submitted").update(status="assessing",
                                                                                     updated_at=now)
    by_orm = record_transition(moved_by_orm, from_state="submitted", to_state="assessing", actor=officer,
                               reason="Started.")

    here, there = (CreditApplication.objects.get(pk=a.pk) for a in (moved_here, moved_by_orm))
    assert (here.status, here.updated_at) == (there.status, there.updated_at) == ("assessing", now)
    entry = StateTransition.objects.get(content_type=content_type, object_id=str(moved_here.pk))
    assert _fields(entry, leave_out=("id", "object_id", "at")) == _fields(by_orm, leave_out=("id", "object_id", "at"))
    assert entry.at == now

    assert fastpath.state_move_and_log(CreditApplication, moved_here.pk, field="status", from_state="submitted",
                                       values={"status": "approved"}, log={**log, "to_state": "approved"}) is False
    assert CreditApplication.objects.get(pk=moved_here.pk).status == "assessing"
    assert StateTransition.objects.filter(content_type=content_type, object_id=str(moved_here.pk)).count() == 1


def test_a_state_save_and_its_log_in_one_statement_write_what_the_two_saves_write():
    from creditfactory.core.state import transition_entry

    officer = make_staff("officer2")
    here, by_orm = make_application(status="submitted"), make_application(status="submitted")
    before = CreditApplication.objects.get(pk=here.pk)

    def entry(application):
        return transition_entry(application, from_state="submitted", to_state="assessing", actor=officer,
                                reason="Assessment started.")

    for application in (here, by_orm):
        application.status = "assessing"
        application.consents = {"terms": True, "注": "为什么"}
    by_orm.save(update_fields=["status", "consents", "updated_at"])
    entry(by_orm).save()
    log = entry(here)
    with CaptureQueriesContext(connection) as queries:
        assert fastpath.state_fields_save_and_log(here, ["status", "consents", "updated_at"], log)
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith("WITH new AS (UPDATE")
    stored_here, stored_orm = (CreditApplication.objects.get(pk=here.pk),
                               CreditApplication.objects.get(pk=by_orm.pk))
    written = ("status", "consents")
    assert [getattr(stored_here, name) for name in written] == [getattr(stored_orm, name) for name in written]
    untouched = (*written, "updated_at")
    assert _fields(stored_here, leave_out=untouched) == _fields(before, leave_out=untouched)
    assert stored_here.updated_at == here.updated_at  # auto_now applied as save applies it
    type_ = ContentType.objects.get_for_model(CreditApplication)
    logged_here = StateTransition.objects.get(content_type=type_, object_id=str(here.pk), to_state="assessing")
    logged_orm = StateTransition.objects.get(content_type=type_, object_id=str(by_orm.pk), to_state="assessing")
    leave = ("id", "object_id", "at")
    assert _fields(logged_here, leave_out=leave) == _fields(logged_orm, leave_out=leave)
    # a row that is gone: nothing logged, and the error save gives
    gone = CreditApplication(pk=here.pk + 10_000, status="assessing")
    from django.db import DatabaseError

    with pytest.raises(DatabaseError):
        fastpath.state_fields_save_and_log(gone, ["status"], entry(gone))
    assert not StateTransition.objects.filter(object_id=str(gone.pk)).exists()
