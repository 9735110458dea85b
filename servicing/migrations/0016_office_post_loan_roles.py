"""The post-loan back office's permissions of the standard roles (roles.py's ``_POST_LOAN_OFFICE``
and ``_WRITE_OFF_APPROVAL``): post-loan managers request and approve credit-balance refunds (two
people: maker-checker), read and start the daily close, propose write-offs; credit approvers
decide write-offs. Additive, like every role migration."""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from creditfactory.organisations.roles import sync_standard_roles

    sync_standard_roles(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("servicing", "0015_office_write_off_proposer_run_close")]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
