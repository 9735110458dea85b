"""core.prepared.execute (core.rows.execute): prebuilt statements prepared once per connection on PostgreSQL."""

import logging

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditfactory.core import fastpath
from creditfactory.core.models import StateTransition
from creditfactory.core.rows import execute, prepared_text, typed_placeholder
from tests.risk.factories import make_application
from workflows.models import CreditApplication

pytestmark = pytest.mark.django_db

SQUARE = "SELECT %s::int * %s::int, 'a%%b'"


def _prepared_here() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _run(sql, params):
    with connection.cursor() as cursor:
        execute(cursor, sql, params)
        return cursor.fetchall()


def test_a_statement_is_prepared_once_per_connection_and_then_executed_by_name():
    with CaptureQueriesContext(connection) as queries:
        first = _run(SQUARE, [6, 7])
        second = _run(SQUARE, [3, 5])
    assert first == [(42, "a%b")] and second == [(15, "a%b")]
    # the PREPARE itself is not among the logged statements: the count does not depend on whether
    # this connection prepared the statement before
    assert len(queries) == 2
    assert queries[0]["sql"].startswith("EXECUTE cf_") and queries[0]["sql"].endswith("(6, 7)")
    assert prepared_text(queries[1]["sql"]) == SQUARE
    name = queries[0]["sql"].split()[1].split("(")[0]
    assert f"PREPARE {name} AS SELECT $1::int * $2::int, 'a%b'" in _prepared_here()[name]


def test_named_parameters_are_numbered_once_each():
    sql = "SELECT %(a)s::int + %(b)s::int + %(a)s::int"
    assert _run(sql, {"b": 10, "a": 1}) == [(12,)]
    assert _run(sql, {"a": 2, "b": 20}) == [(24,)]


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    assert _run(SQUARE, [2, 2]) == [(4, "a%b")]
    connection.close()
    assert _run(SQUARE, [2, 3]) == [(6, "a%b")]
    assert any(text.endswith("'a%b'") for text in _prepared_here().values())


def test_a_statement_prepared_in_a_rolled_back_transaction_stays_prepared():
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            _run("SELECT %s::int + 100", [1])
            1 / 0
    assert _run("SELECT %s::int + 100", [2]) == [(102,)]


def test_a_statement_that_cannot_be_prepared_is_sent_as_it_is_and_the_transaction_goes_on(settings, caplog):
    settings.DATABASE_PREPARED_STATEMENTS = "on"
    application = make_application()
    with caplog.at_level(logging.WARNING, logger="creditfactory.core.prepared"), transaction.atomic():
        # PostgreSQL cannot infer the type of a parameter only tested for NULL
        assert _run("SELECT %s IS NULL, 'cannot-prepare'", [None]) == [(True, "cannot-prepare")]
        assert CreditApplication.objects.filter(pk=application.pk).exists()  # the transaction is intact
        assert _run("SELECT %s IS NULL, 'cannot-prepare'", [1]) == [(False, "cannot-prepare")]
    assert [r.getMessage()[:43] for r in caplog.records if r.name == "creditfactory.core.prepared"] \
        == ["prebuilt statement sent unprepared (could n"]
    assert not any("cannot-prepare" in text for text in _prepared_here().values())


def test_under_strict_a_statement_that_cannot_be_prepared_raises_and_leaves_the_transaction_usable(settings):
    settings.DATABASE_PREPARED_STATEMENTS = "strict"
    with transaction.atomic():
        with pytest.raises(DatabaseError, match="could not determine data type of parameter"):
            _run("SELECT %s IS NULL, 'strict'", [None])
        assert _run("SELECT 1 + %s::int", [1]) == [(2,)]


def test_off_sends_the_statement_itself(settings):
    settings.DATABASE_PREPARED_STATEMENTS = "off"
    with CaptureQueriesContext(connection) as queries:
        assert _run("SELECT %s::int - 1, 'off'", [5]) == [(4, "off")]
    assert queries[0]["sql"] == "SELECT 5::int - 1, 'off'"
    assert not any("'off'" in text for text in _prepared_here().values())


def test_a_typed_select_parameter_keeps_the_columns_own_limits():
    assert typed_placeholder(StateTransition._meta.get_field("field")) == "%s::varchar"
    assert typed_placeholder(CreditApplication._meta.get_field("amount")) == "%s::numeric"
    application = make_application()
    content_type = ContentType.objects.get_for_model(CreditApplication).pk
    log = {"content_type": content_type, "object_id": str(application.pk), "field": "x" * 65,
           "from_state": application.status, "to_state": "assessing", "actor_id": None, "actor_label": "system",
           "reason": "", "at": timezone.now()}
    # a value longer than the column is refused, as by an INSERT … VALUES, never cut to fit
    with pytest.raises(DataError, match="too long"), transaction.atomic():
        fastpath.state_move_and_log(CreditApplication, application.pk, field="status",
                                    from_state=application.status, values={"status": "assessing"}, log=log)
    log["field"] = "status"
    assert fastpath.state_move_and_log(CreditApplication, application.pk, field="status",
                                       from_state=application.status, values={"status": "assessing"}, log=log)
    entry = StateTransition.objects.get(object_id=str(application.pk), to_state="assessing")
    assert (entry.content_type_id, entry.field) == (content_type, "status")
    application.refresh_from_db()
    assert application.status == "assessing"
