"""The post-loan permissions of the standard roles (roles.py's ``_POST_LOAN``, ``_GROWTH_CONFIG``
and the ledger check runs in ``_LOANS``): post-loan managers register and verify offline
repayments (two people: maker-checker) and read the credit growth reviews; product admins keep the
credit growth policies. Additive, like every role migration; permissions of models a later
migration creates are picked up by the next role sync."""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from creditfactory.organisations.roles import sync_standard_roles

    sync_standard_roles(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("servicing", "0012_credit_growth")]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
