"""Seed the standard roles with their model permissions (additive; see roles.py).

Depends on every app whose permissions the roles name, so that on a fresh database those
permissions exist when this runs. Later capabilities add a migration calling the same function.
"""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from creditfactory.organisations.roles import sync_standard_roles

    sync_standard_roles(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("organisations", "0001_initial"),
        ("core", "0002_initial"),
        ("products", "0001_initial"),
        ("risk", "0002_initial"),
        ("servicing", "0002_initial"),
        ("workflows", "0001_initial"),
        ("viewflow", "0015_task_scheduled"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
