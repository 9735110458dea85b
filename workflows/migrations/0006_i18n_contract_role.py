"""Customer managers may record a contract acceptance (roles.py's ``_CONTRACT``): grant the new
permission to the standard role (additive, like every role migration)."""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from creditfactory.organisations.roles import sync_standard_roles

    sync_standard_roles(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0005_i18n_contract_acceptance"),
        ("organisations", "0003_partner_platform_moved"),
    ]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
