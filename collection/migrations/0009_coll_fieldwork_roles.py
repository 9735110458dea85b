"""The standard roles' permissions on field visits and legal referrals (collectors see them,
post-loan managers approve referrals). Additive, like every role migration."""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from creditfactory.organisations.roles import sync_standard_roles

    sync_standard_roles(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("collections", "0008_coll_fieldwork")]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
