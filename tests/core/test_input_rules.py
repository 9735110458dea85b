"""The input rules every channel shares (API, back-office forms, batch import, services): numbers
in ASCII digits only — full-width ``２００００`` is refused, naming the field — and free text
without control characters (tabs and line breaks only where several lines are expected). Plus a
guard walking every serializer and form of the project, so a new number field cannot use the
lenient DRF/Django one."""

import importlib
import pkgutil
import uuid
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

from creditfactory.core import forms as core_forms
from creditfactory.core.api import fields as api_fields
from creditfactory.core.money import MoneyError, to_decimal
from creditfactory.core.numbers import NumberError, parse_int
from creditfactory.core.validators import validate_multi_line_text, validate_single_line_text
from risk.models import Applicant
from risk.services.applicants import applicant_get_or_create, enterprise_get_or_create
from tests.workflows.api_factories import URL, api_setup, body
from tests.workflows.flow_factories import applicant_data, setup_origination
from workflows.models import BatchImportRow, CreditApplication
from workflows.services import batch_upload as batch_services

pytestmark = pytest.mark.django_db

FULL_WIDTH = "２００００"
NON_ASCII_MESSAGE = "Write the number with the digits 0-9; full-width or other digits are not accepted."


# --- the rules themselves ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [FULL_WIDTH, "２0000", "٢٠٠٠٠", "𝟐0000", "2000０"])
def test_money_and_whole_numbers_refuse_other_digits(text):
    with pytest.raises(MoneyError):
        to_decimal(text)
    with pytest.raises(MoneyError):
        to_decimal(text + ".00")
    with pytest.raises(NumberError):
        parse_int(text)


def test_ascii_numbers_still_parse():
    assert to_decimal(" 20000.50 ") == Decimal("20000.50")
    assert (parse_int(" 12 "), parse_int("-3"), parse_int(7)) == (12, -3, 7)
    for bad in ("1.0", "1_000", "", "12a", True, None, 1.5):
        with pytest.raises(NumberError):
            parse_int(bad)


@pytest.mark.parametrize("text", ["张三\x01", "\x1b[31m红色\x1b[0m", "a\x7fb", "a\x85b", "admin\u202etxt.exe",
                                  "a\u2066b", "a\x00b"])
def test_control_and_bidi_characters_are_refused_in_any_text(text):
    with pytest.raises(ValidationError) as single:
        validate_single_line_text(text)
    with pytest.raises(ValidationError):
        validate_multi_line_text(text)
    assert "U+" in single.value.messages[0]


def test_tabs_and_line_breaks_only_in_multi_line_text():
    for text in ("张\t三", "张三\n", "a\rb", "a\u2028b"):
        with pytest.raises(ValidationError) as caught:
            validate_single_line_text(text)
        assert caught.value.messages == ["Write this on one line: tabs and line breaks are not allowed here."]
        validate_multi_line_text(text)
    validate_single_line_text("欧阳·娜娜 O'Brien-Smith（北京）100号")


# --- the API ----------------------------------------------------------------------------------------


@pytest.fixture
def api():
    return api_setup()


def _post(api, payload, **headers):
    return api.client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **headers)


@pytest.mark.parametrize(("override", "field"), [
    ({"amount": FULL_WIDTH}, "amount"),
    ({"term": "１２"}, "term"),
    ({"applicant": {**body()["applicant"], "monthly_income": "１００００"}}, "applicant.monthly_income"),
    ({"applicant": {**body()["applicant"], "years_at_employer": "４"}}, "applicant.years_at_employer"),
])
def test_the_api_refuses_full_width_numbers_naming_the_field(api, override, field):
    response = _post(api, body(**override))
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {field: [NON_ASCII_MESSAGE]}
    assert CreditApplication.objects.count() == 0


def test_the_calculator_refuses_full_width_numbers(api_client):
    response = api_client.post("/api/v1/calculator/schedule", {
        "principal": "１00000.00", "annual_rate_percent": "６", "term": "１２", "method": "equal_installment",
        "start_date": "2026-01-15"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {name: [NON_ASCII_MESSAGE]
                                         for name in ("principal", "annual_rate_percent", "term")}


@pytest.mark.parametrize(("override", "field"), [
    ({"applicant": {**body()["applicant"], "name": "张三\x01"}}, "applicant.name"),
    ({"applicant": {**body()["applicant"], "name": "\x1b[31m张三"}}, "applicant.name"),
    ({"applicant": {**body()["applicant"], "name": "张\t三"}}, "applicant.name"),
    ({"applicant": {**body()["applicant"], "address": "北京\n朝阳"}}, "applicant.address"),
    ({"applicant": {**body()["applicant"], "employer_name": "示例\u202e公司"}}, "applicant.employer_name"),
    ({"external_reference": "REF\x1b[0m"}, "external_reference"),
    ({"external_reference": "REF\t1"}, "external_reference"),
    ({"device_id": "dev\n1"}, "device_id"),
])
def test_the_api_refuses_control_characters_naming_the_field(api, override, field):
    response = _post(api, body(**override))
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert CreditApplication.objects.count() == 0 and Applicant.objects.count() == 0


def test_the_api_refuses_control_characters_in_every_string_and_key(api):
    response = api.client.post("/api/v1/webhooks", {"url": "https://hooks.example.cn/h", "events": ["line.granted"],
                                                    "description": "ok", "extra\x07": {"deep": ["x\x1by"]}},
                               format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"extra\x07", "extra\x07.deep.0"}


def test_multi_line_text_may_hold_line_breaks_through_the_api(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(api, body())
    response = api.client.post(f"{URL}/{created.json()['id']}/withdraw", {"reason": "客户来电：\n不再需要"},
                               format="json")
    assert response.status_code == 200, response.content
    refused = api.client.post(f"{URL}/{created.json()['id']}/withdraw", {"reason": "x\x1b[2J"}, format="json")
    assert refused.status_code in (400, 409)


def test_a_multipart_note_with_control_characters_is_refused(api, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.workflows.api_factories import PNG

    with django_capture_on_commit_callbacks(execute=True):
        created = _post(api, body())
    response = api.client.post(f"{URL}/{created.json()['id']}/documents",
                               {"file": SimpleUploadedFile("p.png", PNG), "note": "pay\x1bslip"}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["note"]


# --- the back office and batch import -------------------------------------------------------------


@pytest.fixture
def o():
    return setup_origination()


def _new_application_data(o, **overrides):
    data = {"product": "EDUCATION", "branch": o.branch.pk, "amount": "20000.00", "term": "12",
            "repayment_method": "equal_installment", "purpose": "education", **applicant_data("991"),
            "consent_credit_report": "on", "consent_personal_information": "on"}
    data.update(overrides)
    return data


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", FULL_WIDTH, NON_ASCII_MESSAGE),
    ("term", "１２", NON_ASCII_MESSAGE),
    ("monthly_income", "１００００", NON_ASCII_MESSAGE),
    ("years_at_employer", "４", NON_ASCII_MESSAGE),
    ("name", "张三\x01", "U+0001"),
    ("address", "\x1b[31m北京", "U+001B"),
])
def test_the_new_application_form_refuses_them_on_the_field(client, o, field, value, message):
    client.force_login(o.clerk)
    response = client.post("/origination/applications/new/", _new_application_data(o, **{field: value}))
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="field-{field}"' in html and message in html
    assert CreditApplication.objects.count() == 0 and Applicant.objects.count() == 0


def test_action_forms_refuse_control_characters(client, o):
    from workflows.forms.applications import RejectForm, WithdrawForm

    assert not WithdrawForm({"withdraw-reason": "x\x1b[0m"}).is_valid()
    form = RejectForm({"reject-reason": "line one\nline two\x07"})
    assert not form.is_valid() and "reason" in form.errors
    assert RejectForm({"reject-reason": "line one\nline two"}).is_valid()


def _batch(officer, branch, rows, capture):
    from tests.workflows.test_batch_import import csv_bytes

    with capture(execute=True):
        batch = batch_services.batch_import_create(
            actor=officer, branch=branch, filename="a.csv", content=csv_bytes(rows),
            consents={"credit_report": True, "personal_information": True})
    batch.refresh_from_db()
    return batch


def test_batch_rows_with_full_width_numbers_or_control_characters_are_rejected(o, django_capture_on_commit_callbacks):
    from tests.workflows.test_batch_import import OFFICER_PERMISSIONS, row
    from tests.factories import make_staff
    from tests.workflows.flow_factories import grant

    officer = grant(make_staff("cm", o.branch), *OFFICER_PERMISSIONS)
    rows = [row("123", amount=FULL_WIDTH), row("130", mobile="13900000003", term="１２"),
            row("131", mobile="13900000004", years_at_employer="４"),
            row("132", mobile="13900000005", name="张三\x01"),
            row("133", mobile="13900000006", address="北京\x1b[31m"),
            row("134", mobile="13900000007", external_reference="R\x1b1"),
            row("135", mobile="13900000008")]
    batch = _batch(officer, o.branch, rows, django_capture_on_commit_callbacks)
    assert (batch.accepted, batch.rejected) == (1, 6)
    fields = {r.row: [e["field"] for e in r.errors]
              for r in BatchImportRow.objects.filter(batch=batch, application__isnull=True)}
    assert fields == {2: ["amount"], 3: ["term"], 4: ["applicant.years_at_employer"], 5: ["applicant.name"],
                      6: ["applicant.address"], 7: ["external_reference"]}
    assert Applicant.objects.count() == 1


def test_the_services_refuse_them_whoever_calls(db):
    person = applicant_data("123")
    for field, value in (("name", "张三\x1b[31m"), ("address", "a\tb"), ("employer_name", "x\x01"),
                         ("monthly_income", "１００００")):
        with pytest.raises(ValidationError) as caught:
            applicant_get_or_create(actor=None, **{**person, field: value})
        assert list(caught.value.message_dict) == [field]
    from risk.validators import build_credit_code

    for field, value in (("name", "公司\x01"), ("annual_revenue", "１０"), ("years_in_business", "３")):
        with pytest.raises(ValidationError) as caught:
            enterprise_get_or_create(actor=None, **{"name": "示例公司", "credit_code": build_credit_code(
                "91110105MA01ABCD0"), "years_in_business": 3, "annual_revenue": "10", field: value})
        assert list(caught.value.message_dict) == [field]
    assert Applicant.objects.count() == 0


def _one_full_width_digit(number: str, position: int) -> str:
    return number[:position] + chr(ord(number[position]) - ord("0") + ord("０")) + number[position + 1:]


@pytest.mark.parametrize("field,position", [("id_number", 3), ("mobile", 4)])
def test_identifiers_with_a_full_width_digit_are_refused(field, position):
    person = applicant_data("123")
    value = _one_full_width_digit(person[field], position)
    with pytest.raises(ValidationError) as caught:
        applicant_get_or_create(actor=None, **{**person, field: value})
    assert list(caught.value.message_dict) == [field]


def test_admin_money_fields_refuse_full_width_digits():
    from products.forms import LoanProductForm

    field = LoanProductForm.base_fields["amount_max"]
    with pytest.raises(ValidationError):
        field.clean(FULL_WIDTH)
    assert field.clean("20000") == Decimal("20000")


# --- the guard: every number field of every serializer and form ----------------------------------

PROJECT = ("creditfactory", "products", "risk", "workflows", "servicing", "collection")


def _import_project():
    for package_name in PROJECT:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if ".migrations" in module.name or module.name.startswith(("creditfactory.settings",)):
                continue
            importlib.import_module(module.name)


def _subclasses(base):
    seen, stack = set(), [base]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return [cls for cls in seen if cls.__module__.split(".")[0] in PROJECT]


def _serializer_fields(serializer, prefix=""):
    for name, field in serializer.fields.items():
        path = f"{prefix}{name}"
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.BaseSerializer) and hasattr(field, "fields"):
            yield from _serializer_fields(field, f"{path}.")
        else:
            yield path, field


def _lenient(field, strict_classes, lenient_classes) -> bool:
    return isinstance(field, lenient_classes) and not isinstance(field, strict_classes)


def test_every_writable_number_field_of_the_project_takes_ascii_digits_only():
    """Input serializers (``*InputSerializer``, ``*QuerySerializer`` and what they nest — the
    project's naming of what parses a request) and every form's declared fields."""
    _import_project()
    lenient = []
    strict_api = (api_fields.DecimalField, api_fields.IntegerField)
    inputs = [cls for cls in _subclasses(serializers.Serializer)
              if cls.__name__.endswith(("InputSerializer", "QuerySerializer"))]
    assert len(inputs) >= 10
    for cls in inputs:
        for path, field in _serializer_fields(cls()):
            if not field.read_only and _lenient(field, strict_api, (serializers.DecimalField,
                                                                    serializers.IntegerField)):
                lenient.append(f"{cls.__module__}.{cls.__name__}.{path}")
    strict_forms = (core_forms.DecimalField, core_forms.IntegerField)
    for cls in _subclasses(forms.BaseForm):
        for name, field in getattr(cls, "declared_fields", {}).items():
            if _lenient(field, strict_forms, (forms.DecimalField, forms.IntegerField)):
                lenient.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert not lenient, "number fields that accept full-width digits:\n" + "\n".join(sorted(lenient))
