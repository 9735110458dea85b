"""core.rows: reads and writes built once per process must give exactly what the ORM gives."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection
from django.db.models import signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from viewflow.workflow.models import Process, Task

from creditfactory.core.models import StateTransition
from creditfactory.core.rows import RowReader, RowWriter, prepared_text, save_fields
from creditfactory.partners.models import PartnerApiKey
from risk.models import Applicant, Decision, RiskPolicy
from tests.factories import make_branch, make_staff
from tests.partners.factories import issue_key, make_partner
from tests.risk.factories import make_applicant, make_application, make_enterprise
from workflows.flows import CreditApplicationFlow
from workflows.models import CreditApplication, FlowTask

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_a_read_with_joins_equals_select_related_in_one_statement():
    application = make_application(applicant=make_applicant(), enterprise=make_enterprise())
    expected = CreditApplication.objects.select_related("applicant", "enterprise").get(pk=application.pk)
    reader = RowReader(CreditApplication, related=("applicant", "enterprise"))
    with CaptureQueriesContext(connection) as queries:
        found = reader.get(application.pk)
        # the joined rows are cached on their foreign keys: touching them sends nothing
        applicant, enterprise = found.applicant, found.enterprise
    assert len(queries) == 1
    assert type(found) is CreditApplication and found._state.adding is False and found._state.db == "default"
    assert _fields(found) == _fields(expected)
    assert _fields(applicant) == _fields(expected.applicant)
    assert _fields(enterprise) == _fields(expected.enterprise)
    # converted as the ORM converts: decrypted PII, Decimals, aware datetimes
    assert applicant.id_number == expected.applicant.id_number and len(applicant.id_number) == 18
    assert applicant.name == "张三" and applicant.monthly_income == Decimal("10000.00")
    assert found.amount == Decimal("20000.00") and found.created_at.tzinfo is not None


def test_a_null_foreign_key_is_cached_as_none_and_a_missing_row_reads_none():
    application = make_application()
    assert application.enterprise_id is None
    reader = RowReader(CreditApplication, related=("enterprise",))
    found = reader.get(application.pk)
    with CaptureQueriesContext(connection) as queries:
        assert found.enterprise is None
    assert len(queries) == 0
    assert reader.get(application.pk + 1000) is None


def test_a_read_by_another_column_follows_a_path_of_foreign_keys():
    branch = make_branch("sz", name="深圳分行")
    partner = make_partner("ACME", branch=branch)
    plaintext = issue_key(partner, "first")
    issue_key(partner, "second")
    key = PartnerApiKey.objects.get(partner=partner, name="first")
    found = RowReader(PartnerApiKey, related=("partner__branch",), by="prefix").filter(key.prefix)
    assert [item.pk for item in found] == [key.pk]
    assert found[0].key_hash == key.key_hash and plaintext.startswith(found[0].prefix)
    with CaptureQueriesContext(connection) as queries:
        assert (found[0].partner.code, found[0].partner.branch.name) == ("ACME", "深圳分行")
    assert len(queries) == 0


def test_a_locking_read_locks_only_the_row_it_reads():
    applicant = make_applicant()
    reader = RowReader(Applicant, by="id_number_index", lock=True)
    with CaptureQueriesContext(connection) as queries:
        found = reader.get(applicant.id_number_index)
    assert found.pk == applicant.pk
    assert prepared_text(queries[0]["sql"]).endswith("FOR UPDATE OF t0")


def test_a_read_refuses_what_is_not_a_forward_foreign_key():
    with pytest.raises(ValueError, match="forward foreign key"):
        RowReader(CreditApplication, related=("risk_decisions",)).get(1)


def test_an_insert_writes_what_save_writes_in_one_statement():
    application = make_application()
    officer = make_staff("officer1")
    content_type = ContentType.objects.get_for_model(CreditApplication)
    writer = RowWriter(StateTransition)
    before = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        record = writer.insert(StateTransition(content_type=content_type, object_id=str(application.pk),
                                               from_state="draft", to_state="submitted", actor=officer,
                                               reason="Submitted."))
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith("INSERT INTO")
    assert record.pk is not None and record._state.adding is False
    stored = StateTransition.objects.get(pk=record.pk)
    assert (stored.field, stored.from_state, stored.to_state, stored.actor_id, stored.reason) == (
        "status", "draft", "submitted", officer.pk, "Submitted.")  # field: the model's default
    assert before <= stored.at <= timezone.now()
    assert _fields(stored) == _fields(record)


def test_many_rows_go_in_one_insert_with_their_keys_returned():
    application = make_application()
    content_type = ContentType.objects.get_for_model(CreditApplication)
    rows = [StateTransition(content_type=content_type, object_id=str(application.pk), from_state=str(n),
                            to_state=str(n + 1)) for n in range(3)]
    with CaptureQueriesContext(connection) as queries:
        written = RowWriter(StateTransition).insert_many(rows)
    assert len(queries) == 1
    stored = list(StateTransition.objects.filter(pk__in=[row.pk for row in written]).order_by("pk"))
    assert [(row.from_state, row.to_state) for row in stored] == [("0", "1"), ("1", "2"), ("2", "3")]
    assert [row.pk for row in written] == [row.pk for row in stored]


def test_an_update_writes_every_column_and_reports_a_missing_row():
    application = make_application()
    content_type = ContentType.objects.get_for_model(CreditApplication)
    writer = RowWriter(StateTransition)
    record = writer.insert(StateTransition(content_type=content_type, object_id=str(application.pk),
                                           to_state="submitted"))
    record.reason, record.to_state = "Corrected.", "assessing"
    with CaptureQueriesContext(connection) as queries:
        assert writer.update(record) is True
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith("UPDATE")
    stored = StateTransition.objects.get(pk=record.pk)
    assert (stored.to_state, stored.reason) == ("assessing", "Corrected.")
    record.pk = record.pk + 1000
    assert writer.update(record) is False
    assert not StateTransition.objects.filter(pk=record.pk).exists()


def test_a_model_with_save_receivers_is_written_through_the_orm():
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((instance.to_state, created))

    signals.post_save.connect(receiver, sender=StateTransition)
    try:
        content_type = ContentType.objects.get_for_model(CreditApplication)
        writer = RowWriter(StateTransition)
        assert writer.fast() is False
        record = writer.insert(StateTransition(content_type=content_type, object_id="1", to_state="submitted"))
        record.to_state = "assessing"
        writer.update(record)
    finally:
        signals.post_save.disconnect(receiver, sender=StateTransition)
    assert seen == [("submitted", True), ("assessing", False)]
    assert RowWriter(StateTransition).fast() is True


def test_a_model_with_its_own_save_or_another_table_behind_it_is_refused():
    with pytest.raises(ValueError, match="overrides save"):
        RowWriter(Applicant)
    assert RowWriter(Decision) and RowWriter(RiskPolicy.rule_sets.through)


def test_the_flow_task_saves_in_one_statement_as_viewflow_would():
    application = make_application()
    process = Process.objects.create(flow_class=CreditApplicationFlow, data={"application_id": application.pk})
    node = CreditApplicationFlow.review
    task = FlowTask(process=process, flow_task=node)
    with CaptureQueriesContext(connection) as queries:
        task.save()
    assert len(queries) == 1
    stored = Task.objects.get(pk=task.pk)
    assert (stored.flow_task, stored.flow_task_type, stored.status, stored.process_id) == (
        node, node.task_type, "NEW", process.pk)
    assert stored.created is not None
    task.status, task.started = "STARTED", timezone.now()
    with CaptureQueriesContext(connection) as queries:
        task.save()
    assert len(queries) == 1
    stored.refresh_from_db()
    assert (stored.status, stored.started) == ("STARTED", task.started)
    task.finished, task.status = task.started + timedelta(minutes=1), "DONE"
    with CaptureQueriesContext(connection) as queries:
        task.save(update_fields=["finished"])  # that column alone, as Model.save would
    assert len(queries) == 1
    stored.refresh_from_db()
    assert (stored.finished, stored.status) == (task.finished, "STARTED")
    gone = FlowTask.objects.get(pk=task.pk)
    Task.objects.filter(pk=task.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        gone.save(update_fields=["status"])
    assert FlowTask._meta.verbose_name == Task._meta.verbose_name  # viewflow's lists show the same name


def test_save_fields_updates_those_columns_in_one_statement():
    application = make_application()
    before = application.updated_at
    application.status, application.amount = "submitted", Decimal("1.00")  # the amount is not saved
    with CaptureQueriesContext(connection) as queries:
        save_fields(application, ["status", "updated_at"])
    assert len(queries) == 1
    assert prepared_text(queries[0]["sql"]).startswith('UPDATE "workflows_creditapplication" SET "status" = ')
    assert '"amount"' not in prepared_text(queries[0]["sql"])
    stored = CreditApplication.objects.get(pk=application.pk)
    assert (stored.status, stored.amount) == ("submitted", Decimal("20000.00"))
    assert stored.updated_at == application.updated_at and application.updated_at > before  # auto_now applied
    CreditApplication.objects.filter(pk=application.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        save_fields(application, ["status"])


def test_save_fields_of_a_model_with_its_own_save_goes_through_that_save():
    applicant = make_applicant()
    applicant.mobile = "13900001111"
    save_fields(applicant, ["mobile", "updated_at"])
    stored = Applicant.objects.get(pk=applicant.pk)
    # Applicant.save adds the derived columns: the blind index and the masked copy follow the mobile
    assert (stored.mobile, stored.mobile_masked) == ("13900001111", "139****1111")
    assert Applicant.objects.filter(mobile_index=applicant.mobile_index).get() == stored


def test_the_applicant_saves_in_one_statement_with_its_derived_columns():
    applicant = Applicant(name="李四", id_number="110105199005201234", mobile="13812345678",
                          monthly_income=Decimal("8000.00"), employment="employed", birth_date=date(1990, 5, 20))
    with CaptureQueriesContext(connection) as queries:
        applicant.save()
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith('INSERT INTO "risk_applicant"')
    stored = Applicant.objects.get(pk=applicant.pk)
    assert (stored.id_number, stored.id_number_masked, stored.mobile_masked) == (
        "110105199005201234", applicant.id_number_masked, "138****5678")
    assert stored.id_number_index == applicant.id_number_index != ""
    applicant.mobile = "13700002222"
    with CaptureQueriesContext(connection) as queries:
        applicant.save(update_fields=["mobile"])
    assert len(queries) == 1
    sql = prepared_text(queries[0]["sql"])
    assert '"mobile_index"' in sql and '"mobile_masked"' in sql
    stored.refresh_from_db()
    assert (stored.mobile, stored.mobile_masked) == ("13700002222", "137****2222")


def test_a_plain_save_of_a_partly_loaded_instance_writes_only_the_loaded_columns():
    application = make_application()
    process = Process.objects.create(flow_class=CreditApplicationFlow, data={"application_id": application.pk})
    task = FlowTask(process=process, flow_task=CreditApplicationFlow.review)
    task.save()
    partial = FlowTask.objects.only("id", "status", "flow_task", "flow_task_type").get(pk=task.pk)
    Task.objects.filter(pk=task.pk).update(external_task_id="changed elsewhere")  # meanwhile
    partial.status = "STARTED"
    with CaptureQueriesContext(connection) as queries:
        partial.save()  # as Model.save: the loaded columns only, nothing read for the others
    assert len(queries) == 1 and '"external_task_id"' not in prepared_text(queries[0]["sql"])
    stored = Task.objects.get(pk=task.pk)
    assert (stored.status, stored.external_task_id) == ("STARTED", "changed elsewhere")


def _stored_token(model, pk, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM {model._meta.db_table} WHERE id = %s', [pk])
        return cursor.fetchone()[0]


def test_a_read_leaves_encrypted_columns_sealed_until_first_read_and_a_save_keeps_an_unread_token():
    from creditfactory.core.pii import Sealed
    from creditfactory.partners.models import Partner

    partner = make_partner("SEAL", require_signature=True)
    webhook_secret, signing_secret = partner.webhook_secret, partner.signing_secret
    assert webhook_secret != signing_secret and len(webhook_secret) >= 32
    webhook_token = _stored_token(Partner, partner.pk, "webhook_secret")
    signing_token = _stored_token(Partner, partner.pk, "signing_secret")
    assert webhook_secret not in webhook_token
    found = RowReader(Partner).get(partner.pk)
    # read but not decrypted: the instance holds the stored token, never shown
    assert type(found.__dict__["webhook_secret"]) is Sealed and repr(found.__dict__["webhook_secret"]) == "Sealed(…)"
    assert found.signing_secret == signing_secret  # the first read decrypts (and keeps the plaintext)
    assert found.__dict__["signing_secret"] == signing_secret
    found.name = "Sealed Ltd"
    found.save()
    # the unread secret went back as stored (a new encryption would differ); the read one was encrypted again
    assert _stored_token(Partner, partner.pk, "webhook_secret") == webhook_token
    assert _stored_token(Partner, partner.pk, "signing_secret") != signing_token
    stored = Partner.objects.get(pk=partner.pk)
    assert (stored.name, stored.webhook_secret, stored.signing_secret) == ("Sealed Ltd", webhook_secret, signing_secret)
    # a queryset decrypts as it reads, values lists included
    assert type(stored.__dict__["webhook_secret"]) is str
    assert list(Partner.objects.filter(pk=partner.pk).values_list("webhook_secret", flat=True)) == [webhook_secret]


def test_a_sealed_value_survives_pickling_and_a_new_value_replaces_it():
    import pickle

    from creditfactory.partners.models import Partner

    partner = make_partner("SEAL2")
    found = RowReader(Partner).get(partner.pk)
    copy = pickle.loads(pickle.dumps(found))
    assert copy.webhook_secret == partner.webhook_secret
    found.webhook_secret = "whsec-0004"  # set before ever reading it
    found.save(update_fields=["webhook_secret"])
    assert Partner.objects.get(pk=partner.pk).webhook_secret == "whsec-0004"


def test_a_read_builds_its_instances_as_from_db_does_and_init_receivers_still_run():
    application = make_application(applicant=make_applicant())
    reader = RowReader(CreditApplication, related=("applicant",))
    assert all(part.plain for part in reader._compile()[1])  # built without __init__
    found = reader.get(application.pk)
    expected = CreditApplication.objects.get(pk=application.pk)
    assert {k: v for k, v in found.__dict__.items() if k != "_state"} == {
        k: v for k, v in expected.__dict__.items() if k != "_state"}
    assert (found._state.adding, found._state.db) == (False, "default")
    found.status = found.status  # a stored instance saves as an update
    found.save(update_fields=["status"])
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(receiver, sender=CreditApplication)
    try:
        again = reader.get(application.pk)  # with a receiver: through from_db (and __init__)
    finally:
        signals.post_init.disconnect(receiver, sender=CreditApplication)
    assert seen == [again] and again.pk == application.pk
