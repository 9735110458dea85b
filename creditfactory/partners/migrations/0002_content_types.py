"""The moved models' content types follow them to ``partners``: renamed in place (same id), so
every row that names a content type stays attached — model and object permissions (groups,
users, guardian), the state-change log, admin log entries."""

from django.db import migrations

MOVED = {
    "organisations": ("partner", "partnerapikey", "historicalpartner", "historicalpartner_products"),
    "core": ("idempotencykey", "webhookendpoint", "webhookevent", "webhookdelivery", "webhookdeliveryattempt",
             "apiusage"),
}


def _move(apps, *, forward: bool) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old_label, models in MOVED.items():
        source, target = (old_label, "partners") if forward else ("partners", old_label)
        for model in models:
            found = ContentType.objects.filter(app_label=source, model=model).first()
            if found is None:
                continue
            # One made for the new place meanwhile (a partial migrate's post_migrate) names nothing
            # yet: it gives way to the one every row points to.
            ContentType.objects.filter(app_label=target, model=model).delete()
            found.app_label = target
            found.save(update_fields=["app_label"])
    from django.contrib.contenttypes.models import ContentType as LiveContentType

    LiveContentType.objects.clear_cache()


def forwards(apps, schema_editor):
    _move(apps, forward=True)


def backwards(apps, schema_editor):
    _move(apps, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("partners", "0001_initial"),
        ("core", "0003_partner_platform_moved"),
        ("organisations", "0003_partner_platform_moved"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
