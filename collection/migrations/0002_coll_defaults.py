"""The policy defaults (docs/collections.md): DPD buckets, classification thresholds (五级分类) and
the compliance policy. The lender's to confirm and edit in admin, not law."""

import datetime

from django.db import migrations

BUCKETS = [("M0", "M0", -3, 0), ("M1", "M1", 1, 30), ("M2", "M2", 31, 60), ("M3", "M3", 61, 90),
           ("M3+", "M3+", 91, None)]
THRESHOLDS = [("normal", 0), ("special_mention", 1), ("substandard", 91), ("doubtful", 271), ("loss", 361)]


def seed(apps, schema_editor):
    Bucket = apps.get_model("collections", "Bucket")
    for code, name, lo, hi in BUCKETS:
        Bucket.objects.get_or_create(code=code, defaults={"name": name, "min_dpd": lo, "max_dpd": hi})
    Threshold = apps.get_model("collections", "ClassificationThreshold")
    for classification, min_dpd in THRESHOLDS:
        Threshold.objects.get_or_create(classification=classification, defaults={"min_dpd": min_dpd})
    Policy = apps.get_model("collections", "CompliancePolicy")
    if not Policy.objects.exists():
        Policy.objects.create(timezone="Asia/Shanghai", contact_from=datetime.time(8), contact_until=datetime.time(21),
                              max_contacts_per_day=3, hardship_days=30)


class Migration(migrations.Migration):
    dependencies = [("collections", "0001_coll_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
