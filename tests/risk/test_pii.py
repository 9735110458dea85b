import logging
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ValidationError
from django.db import connection

from creditfactory.core import pii
from creditfactory.core.pii import (
    PIIMaskingFilter,
    blind_index,
    mask_bank_account,
    mask_id_number,
    mask_mobile,
    mask_text,
    reencrypt_queryset,
)
from risk.models import Applicant
from risk.serializers.applicants import ApplicantInputSerializer, ApplicantOutputSerializer
from risk.services.applicants import applicant_get_or_create
from tests.risk.factories import make_applicant
from workflows.selectors.assessment import assessment_request

ID = "11010519491231002X"
MOBILE = "13800138000"
ACCOUNT = "6222021234567890123"


def _create(**overrides):
    values = dict(actor=None, name="李四", id_number=ID, mobile=MOBILE, monthly_income="8000", employment="employed",
                  address="北京市东城区", bank_account=ACCOUNT)
    return applicant_get_or_create(**{**values, **overrides})


def test_masking_helpers():
    assert mask_id_number(ID) == "110105********002X"
    assert mask_mobile(MOBILE) == "138****8000"
    assert mask_mobile("+86 138 0013 8000") == "138****8000"
    assert mask_bank_account(ACCOUNT) == "***************0123"
    assert mask_id_number("") == ""


def test_raw_sql_shows_no_plain_identifier(db):
    applicant, created = _create()
    assert created is True
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Applicant._meta.db_table} WHERE id = %s", [applicant.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert ID not in row and ID[:17] not in row
    assert MOBILE not in row
    assert ACCOUNT not in row
    assert "110105********002X" in row and "138****8000" in row
    fresh = Applicant.objects.get(pk=applicant.pk)
    assert (fresh.id_number, fresh.mobile, fresh.bank_account) == (ID, MOBILE, ACCOUNT)
    assert (fresh.birth_date.isoformat(), fresh.sex, fresh.province) == ("1949-12-31", "F", "11")


def test_blind_index_finds_the_applicant_and_a_second_application_reuses_it(db):
    applicant, _ = _create()
    assert Applicant.objects.get(id_number_index=blind_index("id_number", "11010519491231002x")) == applicant
    assert Applicant.objects.get(mobile_index=blind_index("mobile", "+86 138-0013-8000")) == applicant
    again, created = _create(mobile="13900139000", monthly_income="9500.00", name="李四")
    assert (again.pk, created) == (applicant.pk, False)
    assert Applicant.objects.count() == 1
    again.refresh_from_db()
    assert (again.mobile, again.mobile_masked, again.monthly_income) == ("13900139000", "139****9000", Decimal("9500.00"))
    assert again.mobile_index == blind_index("mobile", "13900139000")
    assert again.bank_account == ACCOUNT  # not given the second time: kept


def test_blind_index_depends_on_kind_and_key(settings):
    assert blind_index("id_number", ID) != blind_index("mobile", ID)
    before = blind_index("mobile", MOBILE)
    settings.PII_HMAC_KEY = "another-secret"
    assert blind_index("mobile", MOBILE) != before
    assert len(before) == 64


def test_encrypted_field_refuses_lookups_on_ciphertext(db):
    with pytest.raises(FieldError):
        list(Applicant.objects.filter(id_number=ID))


def test_key_rotation_first_key_encrypts_all_keys_decrypt(db, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [old]
    applicant, _ = _create()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id_number FROM {Applicant._meta.db_table} WHERE id = %s", [applicant.pk])
        (token_before,) = cursor.fetchone()
    assert Fernet(old.encode()).decrypt(token_before.encode()).decode() == ID

    settings.PII_ENCRYPTION_KEYS = [new, old]
    assert Applicant.objects.get(pk=applicant.pk).id_number == ID
    assert reencrypt_queryset(Applicant.objects.all(), ["id_number", "mobile", "bank_account"]) == 1
    settings.PII_ENCRYPTION_KEYS = [new]
    assert Applicant.objects.get(pk=applicant.pk).mobile == MOBILE

    settings.PII_ENCRYPTION_KEYS = [old]
    with pytest.raises(pii.PIIDecryptionError):
        Applicant.objects.get(pk=applicant.pk)


def test_invalid_input_names_the_field_and_writes_nothing(db):
    with pytest.raises(ValidationError) as info:
        _create(id_number="340524198001010013", mobile="12345", monthly_income="-1", employment="astronaut")
    assert sorted(info.value.message_dict) == ["employment", "id_number", "mobile", "monthly_income"]
    assert info.value.message_dict["id_number"] == ["The ID number's check character is wrong; please check the number."]
    assert Applicant.objects.count() == 0


def test_input_serializer_normalises_and_names_fields():
    data = {"name": "王五", "id_number": "11010519491231002x", "mobile": "+86 138 0013 8000",
            "monthly_income": "12000.00", "employment": "employed", "address": "上海市", "bank_account": "6222 0212 3456 7890 123"}
    serializer = ApplicantInputSerializer(data=data)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["id_number"] == ID
    assert serializer.validated_data["mobile"] == MOBILE
    assert serializer.validated_data["bank_account"] == ACCOUNT
    bad = ApplicantInputSerializer(data={**data, "id_number": "340524198001010013", "mobile": "110"})
    assert not bad.is_valid()
    assert sorted(bad.errors) == ["id_number", "mobile"]
    assert bad.errors["mobile"] == ["Enter a mainland mobile number: 11 digits starting with 13-19."]


def test_output_serializer_shows_masked_identifiers_only(db):
    applicant, _ = _create()
    data = ApplicantOutputSerializer(applicant).data
    assert data["id_number_masked"] == "110105********002X"
    assert data["mobile_masked"] == "138****8000"
    assert data["bank_account_masked"] == "***************0123"
    text = str(data)
    assert ID not in text and MOBILE not in text and ACCOUNT not in text
    assert "id_number" not in data and "mobile" not in data


def test_mask_text_masks_identifiers_in_free_text():
    text = f"applicant {ID} mobile {MOBILE} +8613912345678 card {ACCOUNT} at 1700000000000 ms, amount 20000"
    assert mask_text(text) == ("applicant 110105********002X mobile 138****8000 +86139****5678 card ****0123 "
                               "at 1700000000000 ms, amount 20000")


def test_the_log_filter_masks_messages_and_arguments(caplog):
    logger = logging.getLogger("tests.pii")
    handler_filter = PIIMaskingFilter()
    with caplog.at_level(logging.INFO, logger="tests.pii"):
        logger.addFilter(handler_filter)
        try:
            logger.info("checking %s with %s", ID, MOBILE)
            logger.info(f"inline {ID.lower()}")
        finally:
            logger.removeFilter(handler_filter)
    assert [record.getMessage() for record in caplog.records] == [
        "checking 110105********002X with 138****8000", "inline 110105********002x"]
    assert ID not in caplog.text and MOBILE not in caplog.text


def test_the_log_filter_is_installed_on_the_console_handler(settings):
    handler = settings.LOGGING["handlers"]["console"]
    assert "mask_pii" in handler["filters"]
    assert settings.LOGGING["filters"]["mask_pii"]["()"] == "creditfactory.core.pii.PIIMaskingFilter"
    root_filters = [f for h in logging.getLogger().handlers for f in h.filters]
    assert any(isinstance(f, PIIMaskingFilter) for f in root_filters)
    # Celery workers keep these handlers instead of installing their own.
    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False


def test_factory_applicant_is_masked_in_str(db):
    applicant = make_applicant(sequence="123")
    assert str(applicant) == f"张三 ({applicant.id_number_masked})"
    assert applicant.id_number_masked.startswith("110105") and "*" * 8 in applicant.id_number_masked


def test_admin_lists_applicants_masked_and_finds_them_by_exact_identifier(admin_client):
    from django.urls import reverse

    applicant, _ = _create()
    url = reverse("admin:risk_applicant_changelist")
    page = admin_client.get(url).content.decode()
    assert "110105********002X" in page and "138****8000" in page
    assert ID not in page and MOBILE not in page
    for term in (ID.lower(), "+86 138 0013 8000", ACCOUNT):
        response = admin_client.get(url, {"q": term})
        assert list(response.context["cl"].result_list) == [applicant], term
    assert list(admin_client.get(url, {"q": "11010519491231003X"}).context["cl"].result_list) == []
    assert list(admin_client.get(url, {"q": "李四"}).context["cl"].result_list) == [applicant]
    change = admin_client.get(reverse("admin:risk_applicant_change", args=[applicant.pk])).content.decode()
    assert "110105********002X" in change and ID not in change and MOBILE not in change and ACCOUNT not in change


def test_admin_reveal_needs_the_permission_and_is_logged(admin_client, django_user_model):
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.models import Permission
    from django.test import Client
    from django.urls import reverse

    applicant, _ = _create()
    url = reverse("admin:risk_applicant_reveal", args=[applicant.pk])
    clerk = django_user_model.objects.create_user("clerk", password="pass-1234-word", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_applicant"))
    client = Client()
    client.force_login(clerk)
    assert client.post(url).status_code == 403
    assert LogEntry.objects.count() == 0

    confirm = admin_client.get(url).content.decode()
    assert ID not in confirm
    revealed = admin_client.post(url).content.decode()
    assert ID in revealed and MOBILE in revealed and ACCOUNT in revealed
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.change_message) == (str(applicant.pk), "Revealed the unmasked identifiers.")


def test_data_source_call_admin_is_read_only_and_masked(admin_client):
    from django.urls import reverse

    from risk.features import gather_features
    from tests.risk.factories import make_application

    application = make_application(applicant=make_applicant())
    gather_features(assessment_request(application))
    url = reverse("admin:risk_datasourcecall_changelist")
    page = admin_client.get(url)
    assert page.status_code == 200
    assert len(page.context["cl"].result_list) == 5
    assert application.applicant.id_number not in page.content.decode()
    call = application.data_source_calls.first()
    assert admin_client.get(reverse("admin:risk_datasourcecall_change", args=[call.pk])).status_code == 200
    assert admin_client.post(reverse("admin:risk_datasourcecall_delete", args=[call.pk])).status_code == 403
    found = admin_client.get(url, {"q": application.applicant.id_number})
    assert len(found.context["cl"].result_list) == 5


def test_the_provider_query_hides_identifiers_in_its_repr():
    from risk.datasources import Query

    query = Query(id_number=ID, name="李四", mobile=MOBILE, device_id="dev")
    assert repr(query) == "Query(<protected>)"
    assert ID not in str(query)
