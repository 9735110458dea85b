"""The collections permissions of the standard roles (roles.py's ``_COLLECTING`` for collectors,
``_COLLECTION_LEAD`` for post-loan managers). Additive, like every role migration."""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from creditfactory.organisations.roles import sync_standard_roles

    sync_standard_roles(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("collections", "0003_coll_permissions"), ("organisations", "0002_standard_roles")]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
