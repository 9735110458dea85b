"""Post-loan managers read booked loans and their ledger (roles.py's ``_LOANS``): grant the view
permissions to the standard role (additive, like every role migration)."""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from creditfactory.organisations.roles import sync_standard_roles

    sync_standard_roles(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("servicing", "0006_business_date_row"),
        ("organisations", "0003_partner_platform_moved"),
    ]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
