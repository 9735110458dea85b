"""The business date starts at the day the database is created (Asia/Shanghai): one row, so a
read never writes (and the first page of the back office reads like every other)."""

from django.db import migrations
from django.utils import timezone


def create_row(apps, schema_editor):
    BusinessDate = apps.get_model("servicing", "BusinessDate")
    BusinessDate.objects.get_or_create(pk=1, defaults={"date": timezone.localdate(), "reason": "initial"})


class Migration(migrations.Migration):

    dependencies = [
        ("servicing", "0005_funding_sandbox_bank"),
    ]

    operations = [
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
