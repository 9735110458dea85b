"""core.dbvalues: a value the fast paths send unprepared must be exactly what the field's own
``get_db_prep_save`` sends — for every field of every model, so a Django upgrade that changes the
preparation chain fails here."""

import enum
import uuid
from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models

from creditfactory.core.dbvalues import as_is_types, db_value
from creditfactory.core.pii import EncryptedTextField
from creditfactory.partners.models import WebhookEvent
from servicing.models import Drawdown, Installment, Loan


class _Kind(models.TextChoices):
    OWN = "own", "own"


class _Count(enum.IntEnum):
    TWO = 2


SAMPLES = [
    None, "", "education", _Kind.OWN, 7, 0, -3, _Count.TWO, True, False, date(2026, 12, 6),
    datetime(2026, 12, 6, 7, 30, tzinfo=dt_timezone.utc), Decimal("20000.00"), Decimal("0.000001"),
    Decimal("-1.5"), Decimal("NaN"), Decimal("Infinity"), 2.5, "12.50", uuid.UUID("12345678-1234-5678-1234-567812345678"),
]


def _outcome(call):
    try:
        value = call()
    except (ValidationError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        return ("raises", type(exc))
    return ("value", type(value), value)


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_every_field_sends_what_its_own_preparation_sends():
    checked = fast = 0
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not as_is_types(field):
                continue
            for sample in SAMPLES:
                expected = _outcome(lambda: field.get_db_prep_save(sample, connection))
                got = _outcome(lambda: db_value(field, sample, connection))
                assert got == expected, (model.__name__, field.name, sample)
                checked += 1
                fast += got[0] == "value" and got[2] is sample
    assert checked > 5000 and fast > 1000


def test_plain_fields_are_sent_as_they_are_and_the_rest_through_the_field():
    amount, due_date, term = Drawdown._meta.get_field("amount"), Installment._meta.get_field("due_date"), \
        Drawdown._meta.get_field("term")
    assert as_is_types(amount) == (Decimal,) and as_is_types(due_date) == (date,) and as_is_types(term) == (int,)
    assert as_is_types(Loan._meta.get_field("drawdown")) == (int,)  # a foreign key to an integer key
    assert as_is_types(Drawdown._meta.get_field("status")) == (str,)
    assert as_is_types(Drawdown._meta.get_field("created_at")) == (datetime,)
    # an encrypting, a serialising and a naive-datetime value go through the field
    assert isinstance(Drawdown._meta.get_field("bank_account"), EncryptedTextField)
    assert as_is_types(Drawdown._meta.get_field("bank_account")) == ()
    assert as_is_types(WebhookEvent._meta.get_field("payload")) == ()
    value = Decimal("20000.00")
    assert db_value(amount, value, connection) is value
    sealed = db_value(Drawdown._meta.get_field("bank_account"), "6222021234567890128", connection)
    assert sealed != "6222021234567890128" and sealed.startswith("gAAAA")
    with pytest.raises(ValidationError):
        db_value(amount, Decimal("NaN"), connection)
    naive = datetime(2026, 12, 6, 7, 30)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        aware = db_value(Drawdown._meta.get_field("created_at"), naive, connection)
    assert aware.utcoffset() is not None
