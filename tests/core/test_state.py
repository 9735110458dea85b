"""The state helpers: a conditional move and its log entry in one statement."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from creditfactory.core.state import IllegalTransition, change_state_where, transitions_for
from tests.factories import make_staff
from tests.workflows.factories import make_application
from workflows.models import APPLICATION_MACHINE, CreditApplication

pytestmark = pytest.mark.django_db


def test_a_conditional_move_updates_and_logs_in_one_statement():
    application = make_application(status="submitted")
    officer = make_staff("officer1")
    before = CreditApplication.objects.values_list("updated_at", flat=True).get(pk=application.pk)
    ContentType.objects.get_for_model(CreditApplication)  # cached per process, as in service
    with CaptureQueriesContext(connection) as queries:
        moved = change_state_where(CreditApplication, application.pk, from_state="submitted", to_state="assessing",
                                   machine=APPLICATION_MACHINE, actor=officer, reason="Started.")
    assert moved is True
    assert len(queries) == 1
    application.refresh_from_db()
    assert application.status == "assessing" and application.updated_at > before
    record = transitions_for(application).get()
    assert (record.field, record.from_state, record.to_state, record.actor, record.actor_label, record.reason) == (
        "status", "submitted", "assessing", officer, "", "Started.")
    assert record.at == application.updated_at


def test_a_row_not_in_the_expected_state_is_neither_moved_nor_logged():
    application = make_application(status="withdrawn")
    moved = change_state_where(CreditApplication, application.pk, from_state="submitted", to_state="assessing",
                               machine=APPLICATION_MACHINE, actor_label="system")
    assert moved is False
    application.refresh_from_db()
    assert application.status == "withdrawn"
    assert not transitions_for(application).exists()


def test_the_system_is_the_actor_when_nobody_is_named_and_an_illegal_move_is_refused():
    application = make_application(status="submitted")
    assert change_state_where(CreditApplication, application.pk, from_state="submitted", to_state="assessing",
                              machine=APPLICATION_MACHINE) is True
    assert transitions_for(application).get().actor_label == "system"
    with pytest.raises(IllegalTransition):
        change_state_where(CreditApplication, application.pk, from_state="submitted", to_state="approved",
                           machine=APPLICATION_MACHINE)
